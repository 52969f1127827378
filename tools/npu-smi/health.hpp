// The health job of validate, doctor and reset (tools/common/health_job.hpp,
// shared with npu-run validate) on one device, as npu-smi reports it.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

namespace npu_smi {

struct HealthResult {
  bool passed = false;
  std::string error;  // why it failed: the job's status, a byte, an exception
  std::chrono::nanoseconds fill_copy{};
  std::chrono::nanoseconds empty_job_median{};
  std::chrono::nanoseconds empty_job_min{};
};

// Opens the visible device INDEX and runs the health job on it.
HealthResult run_health_job(std::size_t index, int latency_samples = 10);

std::string format_us(std::chrono::nanoseconds duration);

}  // namespace npu_smi
