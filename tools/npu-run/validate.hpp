// npu-run validate: for every visible device, print its properties, run a
// DMA fill + copy job on one queue, check every byte and report the status
// and round-trip latency (like xrt-smi validate).
#pragma once

#include <cstdint>

namespace npu_run {

struct ValidateOptions {
  std::uint64_t bytes = 1 << 20;  // size of the fill + copy
  int latency_samples = 20;       // empty jobs timed for the round trip
};

// 0 when every visible device passed (and there is at least one).
int validate_devices(const ValidateOptions& options);

}  // namespace npu_run
