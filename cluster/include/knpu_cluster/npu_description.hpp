// What the cluster integration (CDI specs, node labels, the device plugin)
// needs to know about each NPU of this node, gathered through libnpu.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace knpu::cluster {

struct NpuDescription {
  std::size_t physical_index = 0;  // position among all knpu devices (PCI order)
  std::string pci_address;         // "0000:01:00.0"
  std::string device_node;         // "/dev/accel/accel0"
  std::uint16_t vendor_id = 0;
  std::uint16_t device_id = 0;
  // Known only when the node could be opened (see open_error).
  std::string driver_version;    // "1.0.0"
  std::string firmware_version;  // "1.0.0"
  std::uint64_t memory_bytes = 0;
  std::uint32_t cores = 0;
  std::string open_error;
};

// The knpu devices libnpu enumerates (KNPU_VISIBLE_DEVICES applies), each
// opened once to read its versions and memory.
std::vector<NpuDescription> describe_npus();

// "1234:4b4e": the PCI vendor and device ID, how NFD names PCI devices too.
std::string product_id(const NpuDescription& npu);

}  // namespace knpu::cluster
