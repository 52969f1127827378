// DMA copy bandwidth: one DMA_COPY job between buffers in host memory and in
// the device's own memory, against memcpy of the same bytes in this process
// (and, with a host baseline, natively on the host). A job's time is submit
// to wake-up, as a program sees it; the device's own time for the job (when
// a core took it to when it finished, JobResult::device_times) is reported
// beside it, so the copy and the round trip around it show apart.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "npu/device.hpp"

namespace npu_bench {

struct CopyResult {
  std::string name;  // "host -> host", "host -> device", "device -> device"
  std::uint64_t bytes = 0;
  double memcpy_seconds = 0;                  // median, memcpy in this process
  std::optional<double> device_seconds;       // median, when the device ran it
  std::optional<double> device_job_seconds;   // median of the device's own times, if it has them
  std::optional<std::string> device_skipped;  // why it did not
  std::optional<double> native_memcpy_gbps;   // from --host-baseline

  [[nodiscard]] double memcpy_gbps() const;
  [[nodiscard]] std::optional<double> device_gbps() const;
  [[nodiscard]] std::optional<double> device_job_gbps() const;
  // Device bandwidth over memcpy's in this process, and over the native host's.
  [[nodiscard]] std::optional<double> ratio() const;
  [[nodiscard]] std::optional<double> native_ratio() const;
};

// The three copies of `bytes` (< 4 GiB) each, `runs` timed runs after a warm-up. With
// no device (npu-bench --host-only), memcpy alone. A copy whose bytes differ
// from the source's throws std::runtime_error.
std::vector<CopyResult> measure_copy_bandwidth(const npu::Device* device, std::uint64_t bytes,
                                               unsigned runs);

}  // namespace npu_bench
