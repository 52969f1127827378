// A submitted job's state: its result from the driver's WAIT reply, and its
// report to the Device open's job tracer.
#include <cerrno>

#include "monotonic.hpp"
#include "npu/errors.hpp"
#include "queue_object.hpp"
#include "resident_kernel.hpp"

namespace npu::detail {
namespace {

JobStatus status_of(std::uint32_t status) {
  switch (status) {
    case KNPU_JOB_OK:
      return JobStatus::ok;
    case KNPU_JOB_FAILED:
      return JobStatus::failed;
    default:
      return JobStatus::canceled;
  }
}

// The device's Q_ERROR_INFO operand field when it names no operand.
constexpr std::uint32_t kNoOperand = 0xff;

JobResult job_result_of(const drm_knpu_wait& wait) {
  JobResult result{status_of(wait.status), static_cast<JobError>(wait.error), wait.error_addr};
  if (result.status == JobStatus::ok && wait.start_ns != 0 && wait.end_ns != 0) {
    // std::chrono::steady_clock is CLOCK_MONOTONIC, the driver's clock.
    using std::chrono::nanoseconds;
    result.device_times =
        JobResult::Times{std::chrono::steady_clock::time_point(nanoseconds(wait.start_ns)),
                         std::chrono::steady_clock::time_point(nanoseconds(wait.end_ns))};
  }
  if (result.status != JobStatus::failed) {
    return result;
  }
  result.error_info = wait.error_info;
  if (wait.error_pc != KNPU_ERROR_PC_NONE) {
    result.error_offset = wait.error_pc;
    if (const std::uint32_t operand = wait.error_info & 0xffU; operand != kNoOperand) {
      result.error_operand = static_cast<std::uint8_t>(operand);
    }
  }
  return result;
}

}  // namespace

void JobState::report(const JobResult& result) const {
  const JobTracer& tracer = queue->file()->job_tracer();
  if (tracer.enabled() && !traced.exchange(true)) {
    tracer.report(
        {queue->id(), sequence_number, kernel ? kernel->name : std::string(), submitted, result});
  }
}

JobResult JobState::result_of(const WaitReply& reply) const {
  if (reply.error == ETIME || reply.error == ETIMEDOUT) {
    return {JobStatus::timeout, JobError::none, 0};
  }
  JobResult result;
  if (reply.error == ENODEV) {
    result = {JobStatus::canceled, JobError::device_lost, 0};
  } else if (reply.error != 0) {
    throw ioctl_error("DRM_IOCTL_KNPU_WAIT", reply.error);
  } else {
    result = job_result_of(reply.wait);
  }
  report(result);
  return result;
}

JobState::~JobState() {
  if (!queue || sequence_number == 0 || traced || !queue->file()->job_tracer().enabled()) {
    return;
  }
  try {
    // A finished job is reported by result_of(); one still running as such.
    const JobResult result = result_of(queue->wait(sequence_number, deadline_after({})));
    if (result.status == JobStatus::timeout) {
      report(result);
    }
  } catch (const std::system_error&) {
    // Nothing to report for a job the driver no longer answers for.
  }
}

}  // namespace npu::detail
