// KNPU_VISIBLE_DEVICES: which devices a process sees, and in which order.
#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "npu/device.hpp"
#include "npu/errors.hpp"

namespace npu {
namespace {

[[noreturn]] void reject(std::string_view entry, std::string_view why) {
  throw std::system_error(static_cast<int>(errc::invalid_argument), error_category(),
                          fmt::format("{}: '{}' {}", kVisibleDevicesVariable, entry, why));
}

std::string_view trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) {
    return {};
  }
  return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

std::optional<std::size_t> parse_index(std::string_view entry) {
  std::size_t index = 0;
  const auto [end, ec] = std::from_chars(entry.data(), entry.data() + entry.size(), index);
  if (ec != std::errc{} || end != entry.data() + entry.size()) {
    return std::nullopt;
  }
  return index;
}

// "00:04.0" is "0000:00:04.0": PCI domain 0 when none is given.
std::string full_pci_address(std::string_view entry) {
  const bool has_domain = std::ranges::count(entry, ':') == 2;
  std::string address = has_domain ? std::string(entry) : "0000:" + std::string(entry);
  std::ranges::transform(address, address.begin(), [](unsigned char c) { return std::tolower(c); });
  return address;
}

const DeviceInfo& find_device(const std::vector<DeviceInfo>& all, std::string_view entry) {
  if (const std::optional<std::size_t> index = parse_index(entry)) {
    if (*index >= all.size()) {
      reject(entry, fmt::format("is not a device index (there are {} devices)", all.size()));
    }
    return all[*index];
  }
  const std::string address = full_pci_address(entry);
  const auto it = std::ranges::find(all, address, &DeviceInfo::pci_address);
  if (it == all.end()) {
    reject(entry, "is neither a device index nor the PCI address of a knpu device");
  }
  return *it;
}

}  // namespace

std::vector<DeviceInfo> select_visible_devices(std::vector<DeviceInfo> all, std::string_view spec) {
  std::vector<DeviceInfo> visible;
  if (trim(spec).empty()) {
    return visible;
  }
  std::size_t start = 0;
  while (start <= spec.size()) {
    const std::size_t comma = std::min(spec.find(',', start), spec.size());
    const std::string_view entry = trim(spec.substr(start, comma - start));
    const DeviceInfo& device = find_device(all, entry);
    if (std::ranges::find(visible, device.physical_index, &DeviceInfo::physical_index) !=
        visible.end()) {
      reject(entry, "names a device a second time");
    }
    visible.push_back(device);
    visible.back().index = visible.size() - 1;
    start = comma + 1;
  }
  return visible;
}

}  // namespace npu
