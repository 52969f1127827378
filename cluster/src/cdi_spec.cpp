#include "knpu_cluster/cdi_spec.hpp"

#include <stdexcept>
#include <string>

namespace knpu::cluster {
namespace {

nlohmann::json device_node_edit(const NpuDescription& npu) {
  // No major/minor: the runtime reads them from the host's node, so the spec
  // stays right when the driver is reloaded and minors change.
  return {{"path", npu.device_node}, {"permissions", "rw"}};
}

nlohmann::json cdi_device(std::string name, nlohmann::json device_nodes) {
  return {{"name", std::move(name)},
          {"containerEdits", {{"deviceNodes", std::move(device_nodes)}}}};
}

}  // namespace

std::string cdi_device_name(std::string_view device) {
  return std::string(kCdiKind) + "=" + std::string(device);
}

nlohmann::json make_cdi_spec(std::span<const NpuDescription> npus) {
  if (npus.empty()) {
    throw std::invalid_argument("no knpu device: a CDI spec needs at least one device");
  }
  nlohmann::json devices = nlohmann::json::array();
  nlohmann::json all_nodes = nlohmann::json::array();
  for (const NpuDescription& npu : npus) {
    devices.push_back(cdi_device(std::to_string(npu.physical_index), {device_node_edit(npu)}));
    devices.push_back(cdi_device(npu.pci_address, {device_node_edit(npu)}));
    all_nodes.push_back(device_node_edit(npu));
  }
  devices.push_back(cdi_device(std::string(kCdiAllDevices), std::move(all_nodes)));
  return {{"cdiVersion", kCdiVersion}, {"kind", kCdiKind}, {"devices", std::move(devices)}};
}

}  // namespace knpu::cluster
