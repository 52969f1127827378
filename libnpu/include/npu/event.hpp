// Event: a device-side signal (a DRM syncobj) for dependencies between
// queues. A job can signal events when it completes; a job on any queue of
// the same device can wait for events before it starts; the host can wait
// for, signal and reset them.
//
//   npu::Event produced = device.create_event();
//   producer_queue.submit(producer, args, {.signal = {produced}});
//   consumer_queue.submit(consumer, args, {.wait_for = {produced}});
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>

namespace npu {

namespace detail {
class DrmFile;
class SyncObject;
}  // namespace detail

// Copies refer to the same event; it is destroyed with the last copy (a job
// that still has to signal or wait for it keeps it alive in the driver).
// Safe to use from any number of threads.
class Event {
 public:
  // A new event, not signaled.
  explicit Event(std::shared_ptr<const detail::DrmFile> file);

  // Waits until the event is signaled (also for a job that signals it but
  // is not submitted yet); false when `timeout` passed first.
  [[nodiscard]] bool wait(std::chrono::nanoseconds timeout = std::chrono::nanoseconds::max()) const;
  [[nodiscard]] bool is_signaled() const { return wait(std::chrono::nanoseconds::zero()); }
  // Signals it from the host.
  void signal() const;
  // Makes it unsignaled again (for reuse).
  void reset() const;

  [[nodiscard]] std::uint32_t handle() const;

 private:
  std::shared_ptr<const detail::SyncObject> object_;
};

}  // namespace npu
