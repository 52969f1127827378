// What enumeration knows about one device node, for Device::open_node().
#pragma once

#include <optional>
#include <string>

#include "npu/device.hpp"

namespace npu::detail {

// The udev record of a knpu accel node, or nothing for another node.
std::optional<DeviceInfo> describe_node(const std::string& device_node);

}  // namespace npu::detail
