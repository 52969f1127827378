#include "queue_object.hpp"

#include <cerrno>

#include "monotonic.hpp"
#include "npu/errors.hpp"
#include "npu/kernel_builder.hpp"

namespace npu::detail {

QueueObject::QueueObject(std::shared_ptr<const DrmFile> file, const QueueOptions& options)
    : file_(std::move(file)), options_(options) {
  drm_knpu_queue_create create{};
  create.priority = static_cast<std::uint32_t>(options.priority);
  NPU_IOCTL(*file_, DRM_IOCTL_KNPU_QUEUE_CREATE, &create);
  id_ = create.queue_id;
}

QueueObject::~QueueObject() {
  if (retired_.load(std::memory_order_acquire)) {
    return;
  }
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

KernelImage dma_copy_image() {
  KernelBuilder b("npu_copy");
  const auto dst = b.arg_buffer("dst");
  const auto src = b.arg_buffer("src");
  const auto bytes = b.arg_scalar("bytes");
  b.dma_copy(dst, src, bytes);
  return b.build();
}

KernelImage dma_fill_image() {
  KernelBuilder b("npu_fill");
  const auto dst = b.arg_buffer("dst");
  const auto bytes = b.arg_scalar("bytes");
  const auto pattern = b.arg_scalar("pattern");
  b.dma_fill(dst, bytes, pattern);
  return b.build();
}

}  // namespace

QueueObject::Submitted QueueObject::submit_locked(const RawJob& job, const SubmitOptions& options) {
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
  last_submitted_.store(submit.seqno, std::memory_order_relaxed);
  Submitted submitted{submit.seqno, std::nullopt};
  if (options.export_fence) {
    submitted.fence.emplace(submit.fence_fd);
  }
  return submitted;
}

std::optional<QueueObject::Submitted> QueueObject::try_submit_with_ring_locked(
    RawJob job, std::span<const std::uint64_t> table, const SubmitOptions& options) {
  if (!ring_) {
    ring_.emplace(file_, options_.argument_slots);
  }
  if (const std::uint64_t previous = ring_->previous_job();
      previous != 0 && !has_finished(previous) && !ring_->grow()) {
    return std::nullopt;
  }
  job.arguments_address = ring_->write(table);
  job.arguments_size = static_cast<std::uint32_t>(table.size_bytes());
  job.buffer_handles.push_back(ring_->handle());
  Submitted submitted = submit_locked(job, options);
  ring_->commit(submitted.sequence_number);
  return submitted;
}

WaitReply QueueObject::wait(std::uint64_t sequence_number, std::int64_t deadline_ns) const {
  if (retired_.load(std::memory_order_acquire)) {
    return recorded_outcome(sequence_number);
  }
  WaitReply reply;
  reply.wait.queue_id = id_;
  reply.wait.seqno = sequence_number;
  reply.wait.timeout_ns = deadline_ns;
  reply.wait.error_pc = KNPU_ERROR_PC_NONE;  // what a uapi 1.0 driver leaves
  reply.error = file_->try_ioctl(DRM_IOCTL_KNPU_WAIT, &reply.wait);
  if (reply.error == 0) {
    note_completed(sequence_number);
  }
  return reply;
}

void QueueObject::note_completed(std::uint64_t sequence_number) const {
  std::uint64_t known = completed_.load(std::memory_order_relaxed);
  while (known < sequence_number &&
         !completed_.compare_exchange_weak(known, sequence_number, std::memory_order_relaxed)) {
  }
}

bool QueueObject::has_finished(std::uint64_t sequence_number) const {
  if (sequence_number <= completed_.load(std::memory_order_relaxed)) {
    return true;
  }
  drm_knpu_queue_status status{};
  status.queue_id = id_;
  if (file_->try_ioctl(DRM_IOCTL_KNPU_QUEUE_STATUS, &status) != 0) {
    return false;  // the submission that follows reports what is wrong
  }
  note_completed(status.completed_seqno);
  return sequence_number <= status.completed_seqno;
}

drm_knpu_queue_status QueueObject::status() const {
  drm_knpu_queue_status status{};
  status.queue_id = id_;
  status.error_pc = KNPU_ERROR_PC_NONE;  // what a uapi 1.0 driver leaves
  NPU_IOCTL(*file_, DRM_IOCTL_KNPU_QUEUE_STATUS, &status);
  note_completed(status.completed_seqno);
  return status;
}

std::size_t QueueObject::argument_slots() const {
  return ring_ ? ring_->slots() : options_.argument_slots;
}

// Jobs of a queue finish in order: those before the failed one ran to
// completion, those after it were canceled.
WaitReply QueueObject::recorded_outcome(std::uint64_t sequence_number) const {
  WaitReply reply;
  if (sequence_number == 0 || sequence_number > last_submitted_.load(std::memory_order_relaxed)) {
    reply.error = EINVAL;
  } else if (sequence_number < final_status_.error_seqno) {
    reply.wait.status = KNPU_JOB_OK;
  } else if (sequence_number == final_status_.error_seqno) {
    reply.wait.status = KNPU_JOB_FAILED;
    reply.wait.error = final_status_.error;
    reply.wait.error_addr = final_status_.error_addr;
    reply.wait.error_pc = final_status_.error_pc;
    reply.wait.error_info = final_status_.error_info;
  } else {
    reply.wait.status = KNPU_JOB_CANCELED;
  }
  return reply;
}

bool QueueObject::retire() {
  constexpr auto kCancelTime = std::chrono::seconds(2);  // a banned queue cancels at once
  const std::scoped_lock lock(mutex_);
  if (const std::uint64_t last = last_submitted_.load(std::memory_order_relaxed); last != 0) {
    static_cast<void>(wait(last, deadline_after(kCancelTime)));
  }
  const drm_knpu_queue_status final_status = status();
  const std::uint64_t last = last_submitted_.load(std::memory_order_relaxed);
  if (final_status.state != KNPU_QUEUE_STATE_BANNED || final_status.completed_seqno < last ||
      final_status.error_seqno == 0) {
    return false;
  }
  drm_knpu_queue_destroy destroy{};
  destroy.queue_id = id_;
  if (file_->try_ioctl(DRM_IOCTL_KNPU_QUEUE_DESTROY, &destroy) != 0) {
    return false;
  }
  final_status_ = final_status;
  retired_.store(true, std::memory_order_release);
  return true;
}

const Kernel& QueueObject::copy_kernel_locked() {
  if (!copy_kernel_) {
    copy_kernel_.emplace(file_, dma_copy_image());
  }
  return *copy_kernel_;
}

const Kernel& QueueObject::fill_kernel_locked() {
  if (!fill_kernel_) {
    fill_kernel_.emplace(file_, dma_fill_image());
  }
  return *fill_kernel_;
}

void QueueSlot::replace(const std::shared_ptr<QueueObject>& banned) {
  static_cast<void>(banned->retire());  // else the old queue lives on with its handles
  auto fresh = std::make_shared<QueueObject>(banned->file(), banned->options());
  const std::scoped_lock lock(mutex_);
  if (object_ == banned) {
    object_ = std::move(fresh);
  }
}

}  // namespace npu::detail
