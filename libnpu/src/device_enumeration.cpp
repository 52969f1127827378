// Finding knpu devices with libudev.
#include "device_enumeration.hpp"

#include <libudev.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <system_error>

#include "driver_version.hpp"
#include "npu/device.hpp"

namespace npu {
namespace {

constexpr std::string_view kDriverName = "knpu";

struct UdevDeleter {
  void operator()(udev* context) const { udev_unref(context); }
  void operator()(udev_enumerate* enumerate) const { udev_enumerate_unref(enumerate); }
  void operator()(udev_device* device) const { udev_device_unref(device); }
};
template <class T>
using UdevPtr = std::unique_ptr<T, UdevDeleter>;

std::string or_empty(const char* text) {
  return text == nullptr ? std::string{} : std::string(text);
}

std::uint16_t hex_attribute(udev_device* device, const char* name) {
  const char* text = udev_device_get_sysattr_value(device, name);
  return text == nullptr ? 0 : static_cast<std::uint16_t>(std::strtoul(text, nullptr, 16));
}

// The accel device's record, or nothing when it is not a knpu PCI device.
std::optional<DeviceInfo> describe(udev_device* accel) {
  udev_device* pci = udev_device_get_parent_with_subsystem_devtype(accel, "pci", nullptr);
  if (pci == nullptr || or_empty(udev_device_get_driver(pci)) != kDriverName) {
    return std::nullopt;
  }
  DeviceInfo info;
  info.pci_address = or_empty(udev_device_get_sysname(pci));
  info.device_node = or_empty(udev_device_get_devnode(accel));
  if (info.device_node.empty()) {
    info.device_node = "/dev/accel/" + or_empty(udev_device_get_sysname(accel));
  }
  info.sysfs_path = or_empty(udev_device_get_syspath(accel));
  info.vendor_id = hex_attribute(pci, "vendor");
  info.device_id = hex_attribute(pci, "device");
  info.driver = std::string(kDriverName);
  try {
    info.driver_version = detail::read_driver_version(info.device_node);
  } catch (const std::system_error& e) {
    info.open_error = e.what();
  }
  return info;
}

std::vector<DeviceInfo> enumerate_all() {
  const UdevPtr<udev> context(udev_new());
  if (!context) {
    throw std::system_error(errno, std::system_category(), "udev_new");
  }
  const UdevPtr<udev_enumerate> enumerate(udev_enumerate_new(context.get()));
  udev_enumerate_add_match_subsystem(enumerate.get(), "accel");
  udev_enumerate_scan_devices(enumerate.get());
  std::vector<DeviceInfo> devices;
  udev_list_entry* entry = nullptr;
  udev_list_entry_foreach(entry, udev_enumerate_get_list_entry(enumerate.get())) {
    const UdevPtr<udev_device> accel(
        udev_device_new_from_syspath(context.get(), udev_list_entry_get_name(entry)));
    if (accel) {
      if (std::optional<DeviceInfo> info = describe(accel.get())) {
        devices.push_back(std::move(*info));
      }
    }
  }
  std::ranges::sort(devices, {}, &DeviceInfo::pci_address);
  for (std::size_t i = 0; i < devices.size(); ++i) {
    devices[i].physical_index = i;
    devices[i].index = i;
  }
  return devices;
}

}  // namespace

std::optional<DeviceInfo> detail::describe_node(const std::string& device_node) {
  struct stat node {};
  if (::stat(device_node.c_str(), &node) != 0 || !S_ISCHR(node.st_mode)) {
    return std::nullopt;
  }
  const UdevPtr<udev> context(udev_new());
  if (!context) {
    return std::nullopt;
  }
  const UdevPtr<udev_device> accel(udev_device_new_from_devnum(context.get(), 'c', node.st_rdev));
  return accel ? describe(accel.get()) : std::nullopt;
}

std::vector<DeviceInfo> enumerate_devices() {
  std::vector<DeviceInfo> all = enumerate_all();
  const char* spec = std::getenv(std::string(kVisibleDevicesVariable).c_str());
  return spec == nullptr ? all : select_visible_devices(std::move(all), spec);
}

}  // namespace npu
