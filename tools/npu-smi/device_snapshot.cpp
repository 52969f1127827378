#include "device_snapshot.hpp"

#include <fmt/format.h>

#include <charconv>
#include <fstream>
#include <numeric>
#include <thread>

#include "npu/device.hpp"

namespace npu_smi {
namespace {

namespace fs = std::filesystem;

std::optional<std::string> read_line(const fs::path& path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) {
    return std::nullopt;
  }
  return line;
}

std::optional<std::uint64_t> read_u64(const fs::path& path) {
  const auto line = read_line(path);
  if (!line) {
    return std::nullopt;
  }
  std::uint64_t value = 0;
  const auto [end, error] = std::from_chars(line->data(), line->data() + line->size(), value);
  if (error != std::errc{} || end != line->data() + line->size()) {
    return std::nullopt;
  }
  return value;
}

std::optional<double> read_scaled(const fs::path& path, double scale) {
  const auto value = read_u64(path);
  return value ? std::optional<double>(static_cast<double>(*value) / scale) : std::nullopt;
}

// The first hwmon directory of a device.
std::optional<fs::path> hwmon_dir(const fs::path& pci) {
  std::error_code ec;
  for (const fs::directory_entry& entry : fs::directory_iterator(pci / "hwmon", ec)) {
    return entry.path();
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::uint64_t> DeviceSnapshot::busy_ns() const {
  if (core_busy_ns.empty()) {
    return std::nullopt;
  }
  return std::accumulate(core_busy_ns.begin(), core_busy_ns.end(), std::uint64_t{0});
}

DeviceSnapshot read_device(const npu::DeviceInfo& info, const fs::path& sys) {
  DeviceSnapshot d;
  d.taken = std::chrono::system_clock::now();
  d.taken_steady = std::chrono::steady_clock::now();
  d.index = info.index;
  d.pci_address = info.pci_address;
  d.device_node = info.device_node;
  if (info.driver_version) {
    d.driver_version = info.driver_version->to_string();
  }
  const fs::path pci = sys / "bus/pci/devices" / info.pci_address;
  d.serial = read_line(pci / "serial_number").value_or("");
  d.hw_version = read_line(pci / "hw_version").value_or("");
  d.fw_version = read_line(pci / "fw_version").value_or("");
  d.state = read_line(pci / "device_state").value_or("lost");
  if (const auto hwmon = hwmon_dir(pci)) {
    d.temperature_c = read_scaled(*hwmon / "temp1_input", 1000.0);
    d.temperature_max_c = read_scaled(*hwmon / "temp1_max", 1000.0);
    d.temperature_crit_c = read_scaled(*hwmon / "temp1_crit", 1000.0);
    d.power_w = read_scaled(*hwmon / "power1_average", 1e6);
  }
  d.clock_mhz = read_u64(pci / "clock_mhz");
  d.clock_max_mhz = read_u64(pci / "clock_max_mhz");
  if (const auto throttled = read_u64(pci / "throttled")) {
    d.throttled = *throttled != 0;
  }
  d.throttle_reasons = read_line(pci / "throttle_reasons").value_or("");
  d.cores = static_cast<std::uint32_t>(read_u64(pci / "num_cores").value_or(0));
  for (std::uint32_t c = 0; c < d.cores; ++c) {
    const auto busy = read_u64(pci / fmt::format("core{}_busy_ns", c));
    if (!busy) {
      d.core_busy_ns.clear();
      break;
    }
    d.core_busy_ns.push_back(*busy);
  }
  d.jobs_completed = read_u64(pci / "jobs_completed");
  d.bytes_moved = read_u64(pci / "bytes_moved");
  d.errors_correctable = read_u64(pci / "errors_correctable");
  d.errors_uncorrectable = read_u64(pci / "errors_uncorrectable");
  d.mmu_faults = read_u64(pci / "mmu_faults");
  d.reset_count = read_u64(pci / "reset_count");
  d.memory_total_bytes = read_u64(pci / "memory_total_bytes");
  d.memory_used_bytes = read_u64(pci / "memory_used_bytes");
  return d;
}

void add_process_usage(std::vector<DeviceSnapshot>& devices, const ProcessScan& scan) {
  for (DeviceSnapshot& d : devices) {
    for (const ProcessUsage& p : scan.processes) {
      if (p.pci_address == d.pci_address) {
        ++d.processes;
      }
    }
  }
}

void add_utilization(DeviceSnapshot& now, const DeviceSnapshot& before) {
  const auto busy_now = now.busy_ns();
  const auto busy_before = before.busy_ns();
  const auto window =
      std::chrono::duration<double, std::nano>(now.taken_steady - before.taken_steady);
  if (!busy_now || !busy_before || *busy_now < *busy_before || now.cores == 0 ||
      window.count() <= 0) {
    return;
  }
  const double busy = static_cast<double>(*busy_now - *busy_before);
  now.utilization_percent = std::min(100.0, 100.0 * busy / (window.count() * now.cores));
}

std::vector<DeviceSnapshot> snapshot_devices(std::chrono::milliseconds sample,
                                             ProcessScan* scan_out) {
  const std::vector<npu::DeviceInfo> infos = npu::enumerate_devices();
  std::vector<DeviceSnapshot> before;
  if (sample.count() > 0 && !infos.empty()) {
    for (const npu::DeviceInfo& info : infos) {
      before.push_back(read_device(info));
    }
    std::this_thread::sleep_for(sample);
  }
  std::vector<DeviceSnapshot> devices;
  for (std::size_t i = 0; i < infos.size(); ++i) {
    devices.push_back(read_device(infos[i]));
    if (!before.empty()) {
      add_utilization(devices.back(), before[i]);
    }
  }
  ProcessScan scan = scan_processes();
  add_process_usage(devices, scan);
  if (scan_out != nullptr) {
    *scan_out = std::move(scan);
  }
  return devices;
}

}  // namespace npu_smi
