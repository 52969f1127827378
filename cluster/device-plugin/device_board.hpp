// The plugin's view of its devices, shared by the health monitor (writer)
// and the gRPC service (readers: ListAndWatch streams wait for changes).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace knpu::cluster {

struct DeviceState {
  std::string id;  // the PCI address: stable across reboots and driver reloads
  std::string device_node;
  std::size_t physical_index = 0;
  bool healthy = false;
  std::string reason;  // why it is unhealthy

  bool operator==(const DeviceState&) const = default;
};

class DeviceBoard {
 public:
  struct Snapshot {
    std::uint64_t generation = 0;
    std::vector<DeviceState> devices;
  };

  // Replaces the device list; watchers wake only when it changed.
  void publish(std::vector<DeviceState> devices);
  [[nodiscard]] Snapshot snapshot() const;
  // A snapshot newer than `generation`, or nothing after `timeout`.
  [[nodiscard]] std::optional<Snapshot> wait_newer(std::uint64_t generation,
                                                   std::chrono::milliseconds timeout) const;
  [[nodiscard]] std::optional<DeviceState> find(std::string_view id) const;

 private:
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  Snapshot current_;
};

}  // namespace knpu::cluster
