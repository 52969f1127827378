#include "health_monitor.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <vector>

#include "device_health.hpp"
#include "npu/device.hpp"

namespace knpu::cluster {

HealthMonitor::HealthMonitor(DeviceBoard& board, HealthMonitorOptions options)
    : board_(board), options_(options) {}

void HealthMonitor::refresh() {
  std::vector<npu::DeviceInfo> present;
  try {
    present = npu::enumerate_devices();
  } catch (const std::exception& e) {
    fmt::print(stderr, "npu-device-plugin: enumerating devices failed: {}\n", e.what());
  }
  std::map<std::string, DeviceState> next;
  for (const auto& [id, state] : known_) {
    next[id] = state;
    next[id].healthy = false;
    next[id].reason = "device gone (no knpu accel node for this PCI device)";
  }
  for (const npu::DeviceInfo& info : present) {
    const HealthVerdict verdict =
        judge_health(probe_device(info.device_node, options_.probe_timeout));
    next[info.pci_address] = {.id = info.pci_address,
                              .device_node = info.device_node,
                              .physical_index = info.physical_index,
                              .healthy = verdict.healthy,
                              .reason = verdict.reason};
  }
  std::vector<DeviceState> devices;
  for (const auto& [id, state] : next) {
    const auto before = known_.find(id);
    if (before == known_.end() || before->second.healthy != state.healthy ||
        before->second.reason != state.reason) {
      log_change(before == known_.end() ? DeviceState{} : before->second, state);
    }
    devices.push_back(state);
  }
  known_ = std::move(next);
  board_.publish(std::move(devices));  // ordered by PCI address, as the map is
}

void HealthMonitor::run(std::stop_token stop) {
  std::mutex mutex;
  std::condition_variable_any wake;  // woken only by a stop request
  for (;;) {
    {
      std::unique_lock lock(mutex);
      wake.wait_for(lock, stop, options_.interval, [] { return false; });
    }
    if (stop.stop_requested()) {
      return;
    }
    refresh();
  }
}

void HealthMonitor::log_change(const DeviceState& before, const DeviceState& now) const {
  if (now.healthy) {
    fmt::print(stderr, "npu-device-plugin: {} ({}) Healthy{}\n", now.id, now.device_node,
               before.id.empty() ? "" : " again");
  } else {
    fmt::print(stderr, "npu-device-plugin: {} ({}) Unhealthy: {}\n", now.id, now.device_node,
               now.reason);
  }
}

}  // namespace knpu::cluster
