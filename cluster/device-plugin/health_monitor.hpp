// Keeps the DeviceBoard current: every interval it enumerates the knpu
// devices through libnpu and probes each one. A device once seen stays on the
// board (the kubelet keeps counting it), as Unhealthy while it is gone.
#pragma once

#include <chrono>
#include <map>
#include <stop_token>
#include <string>

#include "device_board.hpp"

namespace knpu::cluster {

struct HealthMonitorOptions {
  std::chrono::milliseconds interval{5000};
  std::chrono::milliseconds probe_timeout{5000};
};

class HealthMonitor {
 public:
  HealthMonitor(DeviceBoard& board, HealthMonitorOptions options);

  // One round: enumerate, probe, publish.
  void refresh();
  // Rounds every interval until stop is requested.
  void run(std::stop_token stop);

 private:
  void log_change(const DeviceState& before, const DeviceState& now) const;

  DeviceBoard& board_;
  HealthMonitorOptions options_;
  std::map<std::string, DeviceState> known_;  // by id
};

}  // namespace knpu::cluster
