// npu-smi reset: a function-level reset of one device through the PCI
// core (sysfs "reset"), then the health job proves the device works.
#pragma once

#include <cstddef>

#include "exit_status.hpp"

namespace npu_smi {

ExitStatus reset_device(std::size_t index);

}  // namespace npu_smi
