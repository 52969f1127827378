// DRM_IOCTL_VERSION of a device node.
#pragma once

#include <string>

#include "drm_file.hpp"
#include "npu/device.hpp"

namespace npu::detail {

DriverVersion read_driver_version(const DrmFile& file);
// Opens the node just long enough to ask; throws std::system_error.
DriverVersion read_driver_version(const std::string& device_node);

}  // namespace npu::detail
