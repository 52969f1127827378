#include "reset.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "health.hpp"
#include "npu/device.hpp"

namespace npu_smi {
namespace {

// Writes "1" to the PCI device's reset attribute; 0 or an errno.
int write_reset(const std::string& address) {
  const std::string path = "/sys/bus/pci/devices/" + address + "/reset";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    return errno;
  }
  const int error = ::write(fd, "1", 1) == 1 ? 0 : errno;
  ::close(fd);
  return error;
}

}  // namespace

ExitStatus reset_device(std::size_t index) {
  const std::vector<npu::DeviceInfo> devices = npu::enumerate_devices();
  if (index >= devices.size()) {
    fmt::print(stderr, "npu-smi reset: no device {} ({} visible)\n", index, devices.size());
    return devices.empty() ? ExitStatus::no_device : ExitStatus::usage;
  }
  const std::string address = devices[index].pci_address;
  fmt::print("Resetting device {} ({})\n", index, address);
  if (const int error = write_reset(address)) {
    fmt::print(stderr, "npu-smi reset: {}: {}\n", address, std::strerror(error));
    return error == EACCES || error == EPERM ? ExitStatus::no_permission : ExitStatus::device_error;
  }

  // The driver may re-probe after the reset: wait for the device to be
  // visible again before the health job.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  std::optional<std::size_t> after;
  while (!after && std::chrono::steady_clock::now() < deadline) {
    for (const npu::DeviceInfo& info : npu::enumerate_devices()) {
      if (info.pci_address == address && info.open_error.empty()) {
        after = info.index;
      }
    }
    if (!after) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  if (!after) {
    fmt::print(stderr, "npu-smi reset: {} did not come back after the reset\n", address);
    return ExitStatus::device_error;
  }
  const HealthResult health = run_health_job(*after, 3);
  if (!health.passed) {
    fmt::print(stderr, "npu-smi reset: {}: the device does not work after the reset: {}\n", address,
               health.error);
    return ExitStatus::device_error;
  }
  fmt::print("Device {} ({}) reset; health job passed (fill+copy {}, empty job {})\n", *after,
             address, format_us(health.fill_copy), format_us(health.empty_job_median));
  return ExitStatus::ok;
}

}  // namespace npu_smi
