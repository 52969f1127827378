#include "queue_object.hpp"

#include <cerrno>

#include "npu/errors.hpp"

namespace npu::detail {

QueueObject::QueueObject(std::shared_ptr<const DrmFile> file, QueuePriority priority)
    : file_(std::move(file)), priority_(priority) {
  drm_knpu_queue_create create{};
  create.priority = static_cast<std::uint32_t>(priority);
  NPU_IOCTL(*file_, DRM_IOCTL_KNPU_QUEUE_CREATE, &create);
  id_ = create.queue_id;
}

QueueObject::~QueueObject() {
  drm_knpu_queue_destroy destroy{};
  destroy.queue_id = id_;
  static_cast<void>(file_->try_ioctl(DRM_IOCTL_KNPU_QUEUE_DESTROY, &destroy));
}

namespace {

std::vector<drm_knpu_sync> syncs_of(const std::vector<Event>& events,
                                    const std::vector<TimelinePoint>& points) {
  std::vector<drm_knpu_sync> syncs;
  for (const Event& event : events) {
    syncs.push_back({event.handle(), 0, 0});
  }
  for (const TimelinePoint& point : points) {
    syncs.push_back({point.timeline.handle(), 0, point.point});
  }
  return syncs;
}

}  // namespace

QueueObject::Submitted QueueObject::submit(const RawJob& job, const SubmitOptions& options) const {
  const std::vector<drm_knpu_sync> in_syncs = syncs_of(options.wait_for, options.wait_for_points);
  const std::vector<drm_knpu_sync> out_syncs = syncs_of(options.signal, options.signal_points);
  drm_knpu_submit submit{};
  submit.queue_id = id_;
  submit.program_va = job.program_address;
  submit.program_size = job.program_size;
  submit.args_va = job.arguments_address;
  submit.args_size = job.arguments_size;
  submit.bo_handles = reinterpret_cast<std::uintptr_t>(job.buffer_handles.data());
  submit.bo_count = static_cast<std::uint32_t>(job.buffer_handles.size());
  submit.in_syncs = reinterpret_cast<std::uintptr_t>(in_syncs.data());
  submit.in_sync_count = static_cast<std::uint32_t>(in_syncs.size());
  submit.out_syncs = reinterpret_cast<std::uintptr_t>(out_syncs.data());
  submit.out_sync_count = static_cast<std::uint32_t>(out_syncs.size());
  if (options.wait_fence_fd >= 0) {
    submit.flags |= KNPU_SUBMIT_FENCE_FD_IN;
    submit.fence_fd = options.wait_fence_fd;
  }
  if (options.export_fence) {
    submit.flags |= KNPU_SUBMIT_FENCE_FD_OUT;
  }
  NPU_IOCTL(*file_, DRM_IOCTL_KNPU_SUBMIT, &submit);
  Submitted submitted{submit.seqno, std::nullopt};
  if (options.export_fence) {
    submitted.fence.emplace(submit.fence_fd);
  }
  return submitted;
}

std::optional<QueueObject::Submitted> QueueObject::try_submit_with_ring(
    RawJob job, std::span<const std::uint64_t> table, const SubmitOptions& options) {
  const std::scoped_lock lock(ring_mutex_);
  if (!ring_) {
    ring_.emplace(file_);
  }
  if (const std::uint64_t previous = ring_->previous_job();
      previous != 0 && !has_finished(previous)) {
    return std::nullopt;
  }
  job.arguments_address = ring_->write(table);
  job.arguments_size = static_cast<std::uint32_t>(table.size_bytes());
  job.buffer_handles.push_back(ring_->handle());
  Submitted submitted = submit(job, options);
  ring_->commit(submitted.sequence_number);
  return submitted;
}

WaitReply QueueObject::wait(std::uint64_t sequence_number, std::int64_t deadline_ns) const {
  WaitReply reply;
  reply.wait.queue_id = id_;
  reply.wait.seqno = sequence_number;
  reply.wait.timeout_ns = deadline_ns;
  reply.error = file_->try_ioctl(DRM_IOCTL_KNPU_WAIT, &reply.wait);
  return reply;
}

// Whatever its outcome; a lost device runs nothing any more.
bool QueueObject::has_finished(std::uint64_t sequence_number) const {
  const WaitReply reply = wait(sequence_number, 0);
  if (reply.error == ETIME || reply.error == ETIMEDOUT) {
    return false;
  }
  if (reply.error != 0 && reply.error != ENODEV) {
    throw ioctl_error("DRM_IOCTL_KNPU_WAIT", reply.error);
  }
  return true;
}

drm_knpu_queue_status QueueObject::status() const {
  drm_knpu_queue_status status{};
  status.queue_id = id_;
  NPU_IOCTL(*file_, DRM_IOCTL_KNPU_QUEUE_STATUS, &status);
  return status;
}

}  // namespace npu::detail
