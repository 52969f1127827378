// Queues, submission and waiting.
#include "npu/queue.hpp"

#include <drm/knpu_accel.h>
#include <fmt/format.h>
#include <time.h>

#include <array>
#include <cerrno>
#include <limits>
#include <optional>

#include "drm_file.hpp"
#include "npu/errors.hpp"
#include "resident_kernel.hpp"

namespace npu::detail {

class QueueObject {
 public:
  QueueObject(std::shared_ptr<const DrmFile> file, QueuePriority priority)
      : file_(std::move(file)), priority_(priority) {
    drm_knpu_queue_create create{};
    create.priority = static_cast<std::uint32_t>(priority);
    NPU_IOCTL(*file_, DRM_IOCTL_KNPU_QUEUE_CREATE, &create);
    id_ = create.queue_id;
  }
  ~QueueObject() {
    drm_knpu_queue_destroy destroy{};
    destroy.queue_id = id_;
    static_cast<void>(file_->try_ioctl(DRM_IOCTL_KNPU_QUEUE_DESTROY, &destroy));
  }
  QueueObject(const QueueObject&) = delete;
  QueueObject& operator=(const QueueObject&) = delete;

  [[nodiscard]] const DrmFile& file() const { return *file_; }
  [[nodiscard]] std::shared_ptr<const DrmFile> shared_file() const { return file_; }
  [[nodiscard]] std::uint32_t id() const { return id_; }
  [[nodiscard]] QueuePriority priority() const { return priority_; }

 private:
  std::shared_ptr<const DrmFile> file_;
  QueuePriority priority_;
  std::uint32_t id_ = 0;
};

// What a job keeps alive until its handle is gone.
struct JobState {
  std::shared_ptr<const QueueObject> queue;
  std::uint64_t sequence_number;
  std::shared_ptr<const ResidentKernel> kernel;
  std::optional<Buffer> argument_table;
};

}  // namespace npu::detail

namespace npu {
namespace {

constexpr std::array<std::string_view, 13> kDeviceErrorNames{"NONE",
                                                             "DESC_INVALID",
                                                             "PROGRAM_INVALID",
                                                             "OPCODE_INVALID",
                                                             "OPCODE_UNSUPPORTED",
                                                             "OPERAND_INVALID",
                                                             "ARG_INDEX_INVALID",
                                                             "ALIGNMENT",
                                                             "MMU_FAULT",
                                                             "BUS_ERROR",
                                                             "UNCORRECTABLE",
                                                             "CONFIG_INVALID",
                                                             "TAIL_INVALID"};

std::int64_t monotonic_now_ns() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return std::int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec;
}

// The absolute CLOCK_MONOTONIC deadline of a relative timeout, saturating.
std::int64_t deadline_after(std::chrono::nanoseconds timeout) {
  const std::int64_t now = monotonic_now_ns();
  const std::int64_t relative = std::max<std::int64_t>(timeout.count(), 0);
  return relative > std::numeric_limits<std::int64_t>::max() - now
             ? std::numeric_limits<std::int64_t>::max()
             : now + relative;
}

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

// Writes the argument table into a buffer of its own.
Buffer stage_argument_table(std::shared_ptr<const detail::DrmFile> file,
                            const std::vector<std::uint64_t>& table) {
  Buffer buffer(std::move(file), table.size() * sizeof(std::uint64_t), {});
  std::span<std::byte> bytes = buffer.map();
  for (std::size_t slot = 0; slot < table.size(); ++slot) {
    for (std::size_t b = 0; b < 8; ++b) {
      bytes[slot * 8 + b] = static_cast<std::byte>((table[slot] >> (8 * b)) & 0xff);
    }
  }
  return buffer;
}

std::uint64_t submit_ioctl(const detail::QueueObject& queue, const RawJob& job) {
  drm_knpu_submit submit{};
  submit.queue_id = queue.id();
  submit.program_va = job.program_address;
  submit.program_size = job.program_size;
  submit.args_va = job.arguments_address;
  submit.args_size = job.arguments_size;
  submit.bo_handles = reinterpret_cast<std::uintptr_t>(job.buffer_handles.data());
  submit.bo_count = static_cast<std::uint32_t>(job.buffer_handles.size());
  NPU_IOCTL(queue.file(), DRM_IOCTL_KNPU_SUBMIT, &submit);
  return submit.seqno;
}

}  // namespace

std::string to_string(JobError error) {
  const auto code = static_cast<std::uint32_t>(error);
  if (code < kDeviceErrorNames.size()) {
    return std::string(kDeviceErrorNames[code]);
  }
  switch (error) {
    case JobError::timeout:
      return "TIMEOUT";
    case JobError::device_lost:
      return "DEVICE_LOST";
    default:
      return fmt::format("{:#x}", code);
  }
}

std::string_view to_string(JobStatus status) {
  switch (status) {
    case JobStatus::ok:
      return "ok";
    case JobStatus::failed:
      return "failed";
    case JobStatus::canceled:
      return "canceled";
    case JobStatus::timeout:
      return "timeout";
  }
  return "?";
}

JobHandle::JobHandle(std::shared_ptr<const detail::JobState> state) : state_(std::move(state)) {}

std::uint64_t JobHandle::sequence_number() const {
  return state_->sequence_number;
}
std::uint32_t JobHandle::queue_id() const {
  return state_->queue->id();
}

JobResult JobHandle::wait(std::chrono::nanoseconds timeout) const {
  drm_knpu_wait wait{};
  wait.queue_id = state_->queue->id();
  wait.seqno = state_->sequence_number;
  wait.timeout_ns = deadline_after(timeout);
  const int error = state_->queue->file().try_ioctl(DRM_IOCTL_KNPU_WAIT, &wait);
  if (error == ETIME || error == ETIMEDOUT) {
    return {JobStatus::timeout, JobError::none, 0};
  }
  if (error == ENODEV) {
    return {JobStatus::canceled, JobError::device_lost, 0};
  }
  if (error != 0) {
    throw ioctl_error("DRM_IOCTL_KNPU_WAIT", error);
  }
  return {status_of(wait.status), static_cast<JobError>(wait.error), wait.error_addr};
}

Queue::Queue(std::shared_ptr<const detail::DrmFile> file, QueuePriority priority)
    : object_(std::make_shared<const detail::QueueObject>(std::move(file), priority)) {}

std::uint32_t Queue::id() const {
  return object_->id();
}
QueuePriority Queue::priority() const {
  return object_->priority();
}

JobHandle Queue::submit(const Kernel& kernel, const KernelArguments& arguments) {
  const std::vector<std::uint64_t> table = arguments.table();
  RawJob job{kernel.program_address(), kernel.program_size(), 0, 0, arguments.buffer_handles()};
  job.buffer_handles.push_back(kernel.program_handle());
  std::optional<Buffer> staged;
  if (!table.empty()) {
    staged = stage_argument_table(object_->shared_file(), table);
    job.arguments_address = staged->device_address();
    job.arguments_size = static_cast<std::uint32_t>(table.size() * sizeof(std::uint64_t));
    job.buffer_handles.push_back(staged->handle());
  }
  const std::uint64_t sequence_number = submit_ioctl(*object_, job);
  return JobHandle(std::make_shared<const detail::JobState>(
      detail::JobState{object_, sequence_number, kernel.resident_, std::move(staged)}));
}

JobHandle Queue::submit(const RawJob& job) {
  const std::uint64_t sequence_number = submit_ioctl(*object_, job);
  return JobHandle(std::make_shared<const detail::JobState>(
      detail::JobState{object_, sequence_number, nullptr, std::nullopt}));
}

QueueStatus Queue::status() const {
  drm_knpu_queue_status status{};
  status.queue_id = object_->id();
  NPU_IOCTL(object_->file(), DRM_IOCTL_KNPU_QUEUE_STATUS, &status);
  return {status.state == KNPU_QUEUE_STATE_BANNED ? QueueState::banned : QueueState::active,
          static_cast<JobError>(status.error),
          status.error_seqno,
          status.error_addr,
          status.completed_seqno,
          status.reset_count};
}

}  // namespace npu
