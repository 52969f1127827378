// npu-smi exporter: the devices' telemetry, counters and per-process usage
// in the Prometheus text exposition format, served over HTTP at /metrics.
#pragma once

#include <span>
#include <string>

#include "device_snapshot.hpp"
#include "exit_status.hpp"
#include "fdinfo.hpp"

namespace npu_smi {

// The exposition text for these devices and processes (pure: tests feed it
// made-up snapshots).
std::string render_metrics(std::span<const DeviceSnapshot> devices, const ProcessScan& scan);

// HOST:PORT; a bad address is std::invalid_argument.
struct ListenAddress {
  std::string host;
  int port = 0;
};
ListenAddress parse_listen_address(std::string_view text);

// Serves until SIGINT or SIGTERM. Each scrape reads the devices afresh;
// scrapes that arrive while one is reading share its page.
ExitStatus run_exporter(const ListenAddress& listen);

}  // namespace npu_smi
