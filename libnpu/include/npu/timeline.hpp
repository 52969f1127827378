// Timeline: a 64-bit counter on the device side (a DRM timeline syncobj).
// Jobs advance it to a point when they finish and wait for a point before
// they start; the host can read, wait for and advance it. One timeline can
// order a whole pipeline across queues without a new event per step.
//
//   npu::Timeline steps = device.create_timeline();
//   queue_a.submit(stage1, args1, {.signal_points = {{steps, 1}}});
//   queue_b.submit(stage2, args2, {.wait_for_points = {{steps, 1}},
//                                  .signal_points = {{steps, 2}}});
//   steps.wait(2);
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>

namespace npu {

namespace detail {
class DrmFile;
class SyncObject;
}  // namespace detail

// Copies refer to the same timeline. Needs Capability::timeline_syncobj.
// Safe to use from any number of threads.
class Timeline {
 public:
  // A new timeline at 0.
  explicit Timeline(std::shared_ptr<const detail::DrmFile> file);

  // The last point reached.
  [[nodiscard]] std::uint64_t value() const;
  // Waits until `point` is reached (also for a job that will signal it but is
  // not submitted yet); false when `timeout` passed first.
  [[nodiscard]] bool wait(std::uint64_t point,
                          std::chrono::nanoseconds timeout = std::chrono::nanoseconds::max()) const;
  // Advances it to `point` from the host (points only grow).
  void signal(std::uint64_t point) const;

  [[nodiscard]] std::uint32_t handle() const;

 private:
  std::shared_ptr<const detail::SyncObject> object_;
};

// A point on a timeline, for SubmitOptions.
struct TimelinePoint {
  Timeline timeline;
  std::uint64_t point;
};

}  // namespace npu
