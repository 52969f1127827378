// The empty-job round trip (submit -> fence -> wake) and its two floors in
// the same system: a null ioctl on the same device file, and a wake-up
// ping-pong between two threads (what any sleep/interrupt/wake path costs).
#pragma once

#include <cstddef>

#include "npu/device.hpp"
#include "statistics.hpp"

namespace npu_bench {

LatencyStats measure_empty_job(const npu::Device& device, std::size_t samples);
LatencyStats measure_null_ioctl(const npu::Device& device, std::size_t samples);
// One sample is a round trip: thread A wakes B through a pipe, B wakes A.
LatencyStats measure_ping_pong(std::size_t samples);

}  // namespace npu_bench
