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
  drm_knpu_get_param caps{};
  caps.param = KNPU_PARAM_CAPS;
  batch_submit_ = file_->try_ioctl(DRM_IOCTL_KNPU_GET_PARAM, &caps) == 0 &&
                  (caps.value & KNPU_CAP_SUBMIT_BATCH) != 0;
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

// A job staged for the driver, with the arrays its SUBMIT points to.
struct QueueObject::Pending {
  drm_knpu_submit submit{};
  std::vector<std::uint32_t> buffer_handles;
  std::vector<drm_knpu_sync> in_syncs;
  std::vector<drm_knpu_sync> out_syncs;
  std::optional<std::size_t> ring_slot;
  std::optional<Buffer> argument_table;
};

namespace {

std::uint64_t user_pointer(const void* pointer) {
  return reinterpret_cast<std::uintptr_t>(pointer);
}

// A table the queue's argument ring cannot take gets a buffer of its own.
Buffer dedicated_table(std::shared_ptr<const DrmFile> file, std::span<const std::uint64_t> table) {
  Buffer buffer(std::move(file), table.size_bytes(), {MemoryPlacement::host, true});
  store_table(buffer.map(), table);
  return buffer;
}

}  // namespace

QueueObject::Pending QueueObject::pending_job(const PreparedJob& prepared) const {
  Pending job;
  job.submit.queue_id = id_;
  job.submit.program_va = prepared.job.program_address;
  job.submit.program_size = prepared.job.program_size;
  job.submit.args_va = prepared.job.arguments_address;
  job.submit.args_size = prepared.job.arguments_size;
  job.buffer_handles = prepared.job.buffer_handles;
  job.in_syncs = syncs_of(prepared.options.wait_for, prepared.options.wait_for_points);
  job.out_syncs = syncs_of(prepared.options.signal, prepared.options.signal_points);
  if (prepared.options.wait_fence_fd >= 0) {
    job.submit.flags |= KNPU_SUBMIT_FENCE_FD_IN;
    job.submit.fence_fd = prepared.options.wait_fence_fd;
  }
  if (prepared.options.export_fence) {
    job.submit.flags |= KNPU_SUBMIT_FENCE_FD_OUT;
  }
  return job;
}

std::vector<QueueObject::Submitted> QueueObject::submit_locked(std::span<const PreparedJob> jobs) {
  const std::size_t per_ioctl = batch_submit_ ? KNPU_MAX_BATCH_SUBMITS : 1;
  std::vector<Submitted> submitted;
  submitted.reserve(jobs.size());
  std::vector<Pending> pending;
  try {
    for (const PreparedJob& prepared : jobs) {
      Pending job = pending_job(prepared);
      if (!prepared.table.empty()) {
        stage_table(prepared.table, job, pending, submitted);
      }
      pending.push_back(std::move(job));
      if (pending.size() == per_ioctl) {
        flush(pending, submitted);
      }
    }
    flush(pending, submitted);
  } catch (...) {
    if (ring_) {
      ring_->release_staged();  // their jobs were not submitted
    }
    throw;
  }
  return submitted;
}

void QueueObject::stage_table(std::span<const std::uint64_t> table, Pending& job,
                              std::vector<Pending>& pending, std::vector<Submitted>& submitted) {
  job.submit.args_size = static_cast<std::uint32_t>(table.size_bytes());
  if (table.size_bytes() <= ArgumentRing::kSlotBytes) {
    if (!ring_) {
      ring_.emplace(file_, options_.argument_slots);
    }
    if (ring_->next_is_staged()) {
      flush(pending, submitted);  // the slot's job needs its sequence number
    }
    bool slot_free = true;
    if (const std::uint64_t previous = ring_->previous_job();
        previous != 0 && !has_finished(previous)) {
      flush(pending, submitted);  // the jobs staged in the old ring go before it
      slot_free = ring_->grow();
    }
    if (slot_free) {
      const std::size_t slot = ring_->stage(table);
      job.ring_slot = slot;
      job.submit.args_va = ring_->address(slot);
      job.buffer_handles.push_back(ring_->handle());
      return;
    }
  }
  job.argument_table = dedicated_table(file_, table);
  job.submit.args_va = job.argument_table->device_address();
  job.buffer_handles.push_back(job.argument_table->handle());
}

void QueueObject::flush(std::vector<Pending>& pending, std::vector<Submitted>& submitted) {
  if (pending.empty()) {
    return;
  }
  std::vector<drm_knpu_submit> entries;
  entries.reserve(pending.size());
  for (Pending& job : pending) {
    job.submit.bo_handles = user_pointer(job.buffer_handles.data());
    job.submit.bo_count = static_cast<std::uint32_t>(job.buffer_handles.size());
    job.submit.in_syncs = user_pointer(job.in_syncs.data());
    job.submit.in_sync_count = static_cast<std::uint32_t>(job.in_syncs.size());
    job.submit.out_syncs = user_pointer(job.out_syncs.data());
    job.submit.out_sync_count = static_cast<std::uint32_t>(job.out_syncs.size());
    entries.push_back(job.submit);
  }
  std::size_t count = 0;
  int error = 0;
  if (batch_submit_) {
    error = submit_batch(entries, count);
  } else {
    error = file_->try_ioctl(DRM_IOCTL_KNPU_SUBMIT, entries.data());
    count = error == 0 ? 1 : 0;
  }
  for (std::size_t i = 0; i < count; ++i) {
    Pending& job = pending[i];
    const drm_knpu_submit& entry = entries[i];
    if (job.ring_slot) {
      ring_->commit(*job.ring_slot, entry.seqno);
    }
    last_submitted_.store(entry.seqno, std::memory_order_relaxed);
    Submitted& done =
        submitted.emplace_back(entry.seqno, std::nullopt, std::move(job.argument_table));
    if ((entry.flags & KNPU_SUBMIT_FENCE_FD_OUT) != 0) {
      done.fence.emplace(entry.fence_fd);
    }
  }
  pending.clear();
  if (error != 0) {
    throw ioctl_error(batch_submit_ ? "DRM_IOCTL_KNPU_SUBMIT_BATCH" : "DRM_IOCTL_KNPU_SUBMIT",
                      error);
  }
}

int QueueObject::submit_batch(std::span<drm_knpu_submit> entries, std::size_t& count) const {
  count = 0;
  while (count < entries.size()) {
    drm_knpu_submit_batch batch{};
    batch.submits = user_pointer(entries.data() + count);
    batch.count = static_cast<std::uint32_t>(entries.size() - count);
    batch.stride = sizeof(drm_knpu_submit);
    const int error = file_->try_ioctl_once(DRM_IOCTL_KNPU_SUBMIT_BATCH, &batch);
    count += batch.submitted;
    if (error != 0 && error != EINTR && error != EAGAIN) {
      return error;
    }
  }
  return 0;
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
