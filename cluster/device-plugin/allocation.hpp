// What the plugin answers the kubelet's Allocate and GetPreferredAllocation:
// pure functions of the devices, so they are tested without a kubelet.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "device_board.hpp"
#include "deviceplugin/v1beta1/api.pb.h"

namespace knpu::cluster {

// The container's edits for `devices` (in the kubelet's order): each device
// node read-write, each device's CDI name (knpu.dev/npu=<PCI address>), and
// KNPU_VISIBLE_DEVICES listing their PCI addresses so libnpu in the container
// sees exactly these devices, in this order.
v1beta1::ContainerAllocateResponse container_allocation(std::span<const DeviceState> devices);

// `size` devices: every one of `must_include`, then the available ones in
// PCI order (lowest first, so allocations pack onto the same devices).
// Fewer when not enough are available.
std::vector<std::string> preferred_devices(std::span<const std::string> available,
                                           std::span<const std::string> must_include,
                                           std::size_t size);

}  // namespace knpu::cluster
