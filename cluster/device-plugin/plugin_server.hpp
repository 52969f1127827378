// The plugin's life with the kubelet: serve the DevicePlugin service on a
// socket in the kubelet's device-plugin directory, register with the
// kubelet, and start over when the kubelet restarts (it deletes the plugin
// sockets and creates kubelet.sock anew).
#pragma once

#include <chrono>
#include <filesystem>
#include <stop_token>
#include <string>

#include "health_monitor.hpp"

namespace knpu::cluster {

inline constexpr std::string_view kDevicePluginApiVersion = "v1beta1";

struct PluginOptions {
  std::filesystem::path plugin_dir = "/var/lib/kubelet/device-plugins";
  std::filesystem::path kubelet_socket;  // empty: plugin_dir / "kubelet.sock"
  std::string endpoint = "knpu-npu.sock";
  std::string resource_name = "knpu.dev/npu";
  HealthMonitorOptions health;
};

// Runs until `stop` is requested; returns the exit status.
int serve(const PluginOptions& options, std::stop_token stop);

}  // namespace knpu::cluster
