#include "knpu_cluster/npu_description.hpp"

#include <fmt/format.h>

#include <exception>

#include "npu/device.hpp"

namespace knpu::cluster {
namespace {

std::string firmware_text(std::uint32_t version) {
  return fmt::format("{}.{}.{}", version >> 24, (version >> 16) & 0xff, version & 0xffff);
}

NpuDescription describe(const npu::DeviceInfo& info) {
  NpuDescription npu;
  npu.physical_index = info.physical_index;
  npu.pci_address = info.pci_address;
  npu.device_node = info.device_node;
  npu.vendor_id = info.vendor_id;
  npu.device_id = info.device_id;
  try {
    const npu::Device device = npu::Device::open_node(info.device_node);
    const npu::DriverVersion& driver = device.driver_version();
    npu.driver_version = fmt::format("{}.{}.{}", driver.major, driver.minor, driver.patch);
    npu.firmware_version = firmware_text(device.properties().fw_version);
    npu.memory_bytes = device.properties().devmem_size;
    npu.cores = device.properties().num_cores;
  } catch (const std::exception& e) {
    npu.open_error = e.what();
  }
  return npu;
}

}  // namespace

std::vector<NpuDescription> describe_npus() {
  std::vector<NpuDescription> npus;
  for (const npu::DeviceInfo& info : npu::enumerate_devices()) {
    npus.push_back(describe(info));
  }
  return npus;
}

std::string product_id(const NpuDescription& npu) {
  return fmt::format("{:04x}:{:04x}", npu.vendor_id, npu.device_id);
}

}  // namespace knpu::cluster
