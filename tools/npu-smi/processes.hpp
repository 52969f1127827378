// npu-smi ps: per-process usage from fdinfo, as table, CSV or JSON.
#pragma once

#include <span>
#include <string>

#include "device_snapshot.hpp"
#include "fdinfo.hpp"
#include "fields.hpp"

namespace npu_smi {

// DEVICES gives each process's device index; processes on devices not in
// the list (hidden by KNPU_VISIBLE_DEVICES) are left out.
std::string render_processes(const ProcessScan& scan, std::span<const DeviceSnapshot> devices,
                             Format format);

}  // namespace npu_smi
