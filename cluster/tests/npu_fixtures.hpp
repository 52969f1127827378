// Two described NPUs as describe_npus() reports them on a two-card node,
// for tests of the pure parts (no device needed).
#pragma once

#include <vector>

#include "knpu_cluster/npu_description.hpp"

namespace knpu::cluster::testing {

inline std::vector<NpuDescription> two_npus() {
  NpuDescription first;
  first.physical_index = 0;
  first.pci_address = "0000:01:00.0";
  first.device_node = "/dev/accel/accel0";
  first.vendor_id = 0x1234;
  first.device_id = 0x4b4e;
  first.driver_version = "1.0.0";
  first.firmware_version = "1.0.0";
  first.memory_bytes = 256ULL << 20;
  first.cores = 4;
  NpuDescription second = first;
  second.physical_index = 1;
  second.pci_address = "0000:02:00.0";
  second.device_node = "/dev/accel/accel1";
  return {first, second};
}

}  // namespace knpu::cluster::testing
