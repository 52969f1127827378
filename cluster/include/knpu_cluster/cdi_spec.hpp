// Container Device Interface (CDI) spec of this node's NPUs: what a
// container runtime (containerd, CRI-O, podman) injects into a container
// that asks for "knpu.dev/npu=<name>".
//
//   npu-device-plugin cdi generate --output /var/run/cdi/knpu.dev-npu.json
//
// Each device is named twice, by its index among the node's knpu devices
// ("knpu.dev/npu=0") and by its PCI address ("knpu.dev/npu=0000:01:00.0",
// stable across reboots, what the device plugin hands out); "knpu.dev/npu=all"
// is every device. A device's edits are its /dev/accel node, read-write.
#pragma once

#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>

#include "knpu_cluster/npu_description.hpp"

namespace knpu::cluster {

inline constexpr std::string_view kCdiKind = "knpu.dev/npu";
// The CDI specification version the spec follows; 0.5.0 is understood by
// every CDI-aware runtime (podman 4.3 in Debian 12, containerd >= 1.7, CRI-O).
inline constexpr std::string_view kCdiVersion = "0.5.0";
inline constexpr std::string_view kCdiAllDevices = "all";

// "knpu.dev/npu=<device>", the fully qualified CDI device name.
std::string cdi_device_name(std::string_view device);

// Throws std::invalid_argument when `npus` is empty (a spec needs a device).
nlohmann::json make_cdi_spec(std::span<const NpuDescription> npus);

}  // namespace knpu::cluster
