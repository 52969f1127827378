// What the driver publishes about one device, read from its standard
// interfaces: the PCI device's sysfs attributes (docs/ABI), hwmon and the
// clients' fdinfo. Reading needs no access to the device node.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "fdinfo.hpp"

namespace npu {
struct DeviceInfo;
}

namespace npu_smi {

struct DeviceSnapshot {
  std::size_t index = 0;
  std::string pci_address;
  std::string device_node;
  std::string driver_version;  // "knpu 1.0.0", empty when the node cannot be opened
  std::string serial;
  std::string hw_version;
  std::string fw_version;
  std::string state;  // "ok", "fatal", "resetting", "lost"
  std::optional<double> temperature_c;
  std::optional<double> temperature_max_c;
  std::optional<double> temperature_crit_c;
  std::optional<double> power_w;
  std::optional<std::uint64_t> clock_mhz;
  std::optional<std::uint64_t> clock_max_mhz;
  std::optional<bool> throttled;
  std::string throttle_reasons;
  std::uint32_t cores = 0;
  std::vector<std::uint64_t> core_busy_ns;  // empty when unreadable
  std::optional<std::uint64_t> jobs_completed;
  std::optional<std::uint64_t> bytes_moved;
  std::optional<std::uint64_t> errors_correctable;
  std::optional<std::uint64_t> errors_uncorrectable;
  std::optional<std::uint64_t> mmu_faults;
  std::optional<std::uint64_t> reset_count;
  std::optional<std::uint64_t> memory_total_bytes;  // on-board device memory
  std::optional<std::uint64_t> memory_used_bytes;   // of it, allocated by any process
  std::size_t processes = 0;                        // visible processes using it
  std::optional<double> utilization_percent;        // busy cores over the sample window
  std::chrono::system_clock::time_point taken;
  std::chrono::steady_clock::time_point taken_steady;

  [[nodiscard]] std::optional<std::uint64_t> busy_ns() const;  // all cores
};

// Reads one device; SYS is the sysfs mount (tests use a copy).
DeviceSnapshot read_device(const npu::DeviceInfo& info, const std::filesystem::path& sys = "/sys");

// Adds per-device process counts from a process scan.
void add_process_usage(std::vector<DeviceSnapshot>& devices, const ProcessScan& scan);

// Sets NOW's utilization from the busy time since BEFORE (the same device).
void add_utilization(DeviceSnapshot& now, const DeviceSnapshot& before);

// Every visible device, read twice SAMPLE apart for the utilization (once,
// without utilization, when SAMPLE is zero), plus the process scan. Throws
// when enumeration fails.
std::vector<DeviceSnapshot> snapshot_devices(std::chrono::milliseconds sample,
                                             ProcessScan* scan_out);

}  // namespace npu_smi
