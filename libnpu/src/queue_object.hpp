// The driver side of a queue: create and destroy it, submit jobs (small
// argument tables staged in the queue's ArgumentRing; many jobs per
// SUBMIT_BATCH where the driver has it), wait for them, read its status;
// and QueueSlot, which lets every copy of a Queue move on to a fresh
// hardware queue after a ban.
#pragma once

#include <drm/knpu_accel.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <span>

#include "argument_ring.hpp"
#include "drm_file.hpp"
#include "file_descriptor.hpp"
#include "npu/buffer.hpp"
#include "npu/kernel.hpp"
#include "npu/queue.hpp"

namespace npu::detail {

struct ResidentKernel;

// The reply of DRM_IOCTL_KNPU_WAIT, or the errno it failed with.
struct WaitReply {
  int error = 0;
  drm_knpu_wait wait{};
};

// One job to submit: what the driver runs (RawJob without its argument
// table), the table, which the queue stages, and its dependencies and signals.
struct PreparedJob {
  RawJob job;
  std::vector<std::uint64_t> table;
  SubmitOptions options;
};

class QueueObject {
 public:
  QueueObject(std::shared_ptr<const DrmFile> file, const QueueOptions& options);
  ~QueueObject();
  QueueObject(const QueueObject&) = delete;
  QueueObject& operator=(const QueueObject&) = delete;

  // What the driver returns for a submitted job, and the buffer of its own
  // its argument table got (too large for the ring, or every slot of the
  // largest ring in use).
  struct Submitted {
    std::uint64_t sequence_number;
    std::optional<FileDescriptor> fence;  // with SubmitOptions::export_fence
    std::optional<Buffer> argument_table;
  };

  // Held across the submissions that must reach the driver back to back
  // (one launch, or a whole batch); the *_locked calls need it.
  [[nodiscard]] std::unique_lock<std::mutex> lock_submissions() { return std::unique_lock(mutex_); }

  // Submits `jobs` in order, back to back: up to KNPU_MAX_BATCH_SUBMITS
  // per SUBMIT_BATCH ioctl with KNPU_CAP_SUBMIT_BATCH, else one SUBMIT
  // each. Tables up to ArgumentRing::kSlotBytes are staged in the ring
  // before the ioctl that submits them; a slot is reused only once its job
  // has finished, so the jobs staged so far are submitted first when the
  // next slot is one of theirs or the ring must grow. Never blocks. Throws
  // ioctl_error for the first job the driver refused; the jobs before it
  // are in flight.
  std::vector<Submitted> submit_locked(std::span<const PreparedJob> jobs);
  [[nodiscard]] WaitReply wait(std::uint64_t sequence_number, std::int64_t deadline_ns) const;
  [[nodiscard]] drm_knpu_queue_status status() const;

  // The DMA kernels behind Queue::copy() and Queue::fill(), loaded on first
  // use; with the submissions lock held.
  [[nodiscard]] const Kernel& copy_kernel_locked();
  [[nodiscard]] const Kernel& fill_kernel_locked();

  // For a banned queue whose jobs have all finished: records how each ended
  // and destroys the driver queue, so that its hardware queue is free while
  // JobHandles of it live on; wait() answers from the record afterwards.
  // False (and nothing done) while a job of it has not finished yet.
  bool retire();

  [[nodiscard]] std::shared_ptr<const DrmFile> file() const { return file_; }
  [[nodiscard]] std::uint32_t id() const { return id_; }
  [[nodiscard]] const QueueOptions& options() const { return options_; }
  [[nodiscard]] std::size_t argument_slots() const;

 private:
  struct Pending;

  [[nodiscard]] Pending pending_job(const PreparedJob& prepared) const;
  // Stages `table` for `job` (in the ring, or in a buffer of its own),
  // first submitting what `pending` holds when the ring needs it.
  void stage_table(std::span<const std::uint64_t> table, Pending& job,
                   std::vector<Pending>& pending, std::vector<Submitted>& submitted);
  // Submits `pending` and moves it to `submitted`; throws for the first
  // job refused, after recording those before it (the ring slots of the
  // others stay staged: submit_locked() releases them).
  void flush(std::vector<Pending>& pending, std::vector<Submitted>& submitted);
  // One SUBMIT_BATCH of `entries`, continued after a signal; sets `count`
  // to the entries submitted and returns 0 or the errno of the first refused.
  int submit_batch(std::span<drm_knpu_submit> entries, std::size_t& count) const;

  void note_completed(std::uint64_t sequence_number) const;
  // Whether `sequence_number` is known to have finished, asking the driver
  // (one QUEUE_STATUS) only when what is known does not tell.
  [[nodiscard]] bool has_finished(std::uint64_t sequence_number) const;

  [[nodiscard]] WaitReply recorded_outcome(std::uint64_t sequence_number) const;

  std::shared_ptr<const DrmFile> file_;
  QueueOptions options_;
  std::uint32_t id_ = 0;
  bool batch_submit_ = false;  // KNPU_CAP_SUBMIT_BATCH
  std::atomic<std::uint64_t> last_submitted_{0};
  // Set once by retire(), then read-only.
  std::atomic<bool> retired_{false};
  drm_knpu_queue_status final_status_{};
  // Every job up to this one has finished (jobs of a queue finish in order).
  mutable std::atomic<std::uint64_t> completed_{0};
  std::mutex mutex_;  // submissions, the ring, the DMA kernels
  std::optional<ArgumentRing> ring_;
  std::optional<Kernel> copy_kernel_;
  std::optional<Kernel> fill_kernel_;
};

// What every copy of a Queue refers to: the hardware queue in use now.
class QueueSlot {
 public:
  explicit QueueSlot(std::shared_ptr<QueueObject> object) : object_(std::move(object)) {}

  [[nodiscard]] std::shared_ptr<QueueObject> current() const {
    const std::scoped_lock lock(mutex_);
    return object_;
  }
  // Replaces `banned` (if still current) with a new queue of the same options.
  void replace(const std::shared_ptr<QueueObject>& banned);

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<QueueObject> object_;
};

// What a job keeps alive until its handle is gone.
struct JobState {
  JobState() = default;
  // Reports the job to the tracer if nothing has yet (JobTraceCallback).
  ~JobState();
  JobState(const JobState&) = delete;
  JobState& operator=(const JobState&) = delete;

  // The job's result from the reply of its WAIT; reports it to the tracer
  // the first time it is final.
  [[nodiscard]] JobResult result_of(const WaitReply& reply) const;
  // Reports `result` to the tracer unless the job was reported already.
  void report(const JobResult& result) const;

  std::shared_ptr<QueueObject> queue;
  std::chrono::steady_clock::time_point submitted = std::chrono::steady_clock::now();
  mutable std::atomic<bool> traced{false};
  std::uint64_t sequence_number = 0;
  std::optional<FileDescriptor> fence;  // the exported sync_file
  std::shared_ptr<const ResidentKernel> kernel;
  std::optional<Buffer> argument_table;  // a table too large for the ring
  std::vector<Buffer> buffers;           // the argument buffers
};

}  // namespace npu::detail
