// Queue and JobHandle: submission with staged argument tables, and waiting
// with results instead of exceptions.
#include "npu/queue.hpp"

#include <cerrno>

#include "monotonic.hpp"
#include "npu/errors.hpp"
#include "queue_object.hpp"
#include "resident_kernel.hpp"

namespace npu {
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

// A table the queue's argument ring cannot take (too large, or its next slot
// still in use) gets a buffer of its own.
Buffer dedicated_table(std::shared_ptr<const detail::DrmFile> file,
                       const std::vector<std::uint64_t>& table) {
  Buffer buffer(std::move(file), table.size() * sizeof(std::uint64_t),
                {MemoryPlacement::host, true});
  detail::store_table(buffer.map(), table);
  return buffer;
}

void record(detail::JobState& state, detail::QueueObject::Submitted submitted) {
  state.sequence_number = submitted.sequence_number;
  state.fence = std::move(submitted.fence);
}

}  // namespace

JobHandle::JobHandle(std::shared_ptr<const detail::JobState> state) : state_(std::move(state)) {}

std::uint64_t JobHandle::sequence_number() const {
  return state_->sequence_number;
}
std::uint32_t JobHandle::queue_id() const {
  return state_->queue->id();
}
int JobHandle::fence_fd() const {
  return state_->fence ? state_->fence->get() : -1;
}

JobResult JobHandle::wait(std::chrono::nanoseconds timeout) const {
  const detail::WaitReply reply =
      state_->queue->wait(state_->sequence_number, detail::deadline_after(timeout));
  if (reply.error == ETIME || reply.error == ETIMEDOUT) {
    return {JobStatus::timeout, JobError::none, 0};
  }
  if (reply.error == ENODEV) {
    return {JobStatus::canceled, JobError::device_lost, 0};
  }
  if (reply.error != 0) {
    throw ioctl_error("DRM_IOCTL_KNPU_WAIT", reply.error);
  }
  return {status_of(reply.wait.status), static_cast<JobError>(reply.wait.error),
          reply.wait.error_addr};
}

Queue::Queue(std::shared_ptr<const detail::DrmFile> file, QueuePriority priority)
    : object_(std::make_shared<detail::QueueObject>(std::move(file), priority)) {}

std::uint32_t Queue::id() const {
  return object_->id();
}
QueuePriority Queue::priority() const {
  return object_->priority();
}

JobHandle Queue::submit(const Kernel& kernel, const KernelArguments& arguments,
                        const SubmitOptions& options) {
  const std::vector<std::uint64_t> table = arguments.table();
  RawJob job{kernel.program_address(), kernel.program_size(), 0, 0, arguments.buffer_handles()};
  job.buffer_handles.push_back(kernel.program_handle());
  auto state = std::make_shared<detail::JobState>(
      detail::JobState{object_, 0, std::nullopt, kernel.resident_, std::nullopt});
  if (table.empty()) {
    record(*state, object_->submit(job, options));
    return JobHandle(std::move(state));
  }
  if (table.size() * sizeof(std::uint64_t) <= detail::ArgumentRing::kSlotBytes) {
    if (auto submitted = object_->try_submit_with_ring(job, table, options)) {
      record(*state, std::move(*submitted));
      return JobHandle(std::move(state));
    }
  }
  state->argument_table = dedicated_table(object_->file(), table);
  job.arguments_address = state->argument_table->device_address();
  job.arguments_size = static_cast<std::uint32_t>(table.size() * sizeof(std::uint64_t));
  job.buffer_handles.push_back(state->argument_table->handle());
  record(*state, object_->submit(job, options));
  return JobHandle(std::move(state));
}

JobHandle Queue::submit(const RawJob& job, const SubmitOptions& options) {
  auto state = std::make_shared<detail::JobState>(
      detail::JobState{object_, 0, std::nullopt, nullptr, std::nullopt});
  record(*state, object_->submit(job, options));
  return JobHandle(std::move(state));
}

QueueStatus Queue::status() const {
  const drm_knpu_queue_status status = object_->status();
  return {status.state == KNPU_QUEUE_STATE_BANNED ? QueueState::banned : QueueState::active,
          static_cast<JobError>(status.error),
          status.error_seqno,
          status.error_addr,
          status.completed_seqno,
          status.reset_count};
}

}  // namespace npu
