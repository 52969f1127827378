// The driver side of a queue: create and destroy it, submit raw jobs (small
// argument tables staged in the queue's ArgumentRing), wait for them, read
// its status.
#pragma once

#include <drm/knpu_accel.h>

#include <memory>
#include <mutex>
#include <optional>
#include <span>

#include "argument_ring.hpp"
#include "drm_file.hpp"
#include "file_descriptor.hpp"
#include "npu/buffer.hpp"
#include "npu/queue.hpp"

namespace npu::detail {

struct ResidentKernel;

// The reply of DRM_IOCTL_KNPU_WAIT, or the errno it failed with.
struct WaitReply {
  int error = 0;
  drm_knpu_wait wait{};
};

class QueueObject {
 public:
  QueueObject(std::shared_ptr<const DrmFile> file, QueuePriority priority);
  ~QueueObject();
  QueueObject(const QueueObject&) = delete;
  QueueObject& operator=(const QueueObject&) = delete;

  // What the driver returns for a submitted job.
  struct Submitted {
    std::uint64_t sequence_number;
    std::optional<FileDescriptor> fence;  // with SubmitOptions::export_fence
  };

  // Submits `job`; throws ioctl_error.
  Submitted submit(const RawJob& job, const SubmitOptions& options) const;
  // Submits `job` with `table` staged in the argument ring (tables up to
  // ArgumentRing::kSlotBytes). Never blocks: when the next slot's previous
  // job has not finished, submits nothing and returns nullopt.
  std::optional<Submitted> try_submit_with_ring(RawJob job, std::span<const std::uint64_t> table,
                                                const SubmitOptions& options);
  [[nodiscard]] WaitReply wait(std::uint64_t sequence_number, std::int64_t deadline_ns) const;
  [[nodiscard]] drm_knpu_queue_status status() const;

  [[nodiscard]] std::shared_ptr<const DrmFile> file() const { return file_; }
  [[nodiscard]] std::uint32_t id() const { return id_; }
  [[nodiscard]] QueuePriority priority() const { return priority_; }

 private:
  [[nodiscard]] bool has_finished(std::uint64_t sequence_number) const;

  std::shared_ptr<const DrmFile> file_;
  QueuePriority priority_;
  std::uint32_t id_ = 0;
  std::mutex ring_mutex_;  // the ring's slots and the order of its submissions
  std::optional<ArgumentRing> ring_;
};

// What a job keeps alive until its handle is gone.
struct JobState {
  std::shared_ptr<QueueObject> queue;
  std::uint64_t sequence_number;
  std::optional<FileDescriptor> fence;  // the exported sync_file
  std::shared_ptr<const ResidentKernel> kernel;
  std::optional<Buffer> argument_table;  // a table too large for the ring
};

}  // namespace npu::detail
