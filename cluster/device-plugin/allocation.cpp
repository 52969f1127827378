#include "allocation.hpp"

#include <algorithm>
#include <string_view>

#include "knpu_cluster/cdi_spec.hpp"
#include "npu/device.hpp"

namespace knpu::cluster {

v1beta1::ContainerAllocateResponse container_allocation(std::span<const DeviceState> devices) {
  v1beta1::ContainerAllocateResponse response;
  std::string visible;
  for (const DeviceState& device : devices) {
    v1beta1::DeviceSpec* spec = response.add_devices();
    spec->set_container_path(device.device_node);
    spec->set_host_path(device.device_node);
    spec->set_permissions("rw");
    response.add_cdi_devices()->set_name(cdi_device_name(device.id));
    visible += (visible.empty() ? "" : ",") + device.id;
  }
  (*response.mutable_envs())[std::string(npu::kVisibleDevicesVariable)] = visible;
  return response;
}

std::vector<std::string> preferred_devices(std::span<const std::string> available,
                                           std::span<const std::string> must_include,
                                           std::size_t size) {
  std::vector<std::string> chosen(must_include.begin(), must_include.end());
  std::vector<std::string> rest(available.begin(), available.end());
  std::ranges::sort(rest);
  for (const std::string& id : rest) {
    if (chosen.size() >= size) {
      break;
    }
    if (std::ranges::find(chosen, id) == chosen.end()) {
      chosen.push_back(id);
    }
  }
  return chosen;
}

}  // namespace knpu::cluster
