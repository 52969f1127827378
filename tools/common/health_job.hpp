// The health job of `npu-run validate` and `npu-smi validate/doctor/reset`
// (like xrt-smi validate): a DMA fill + copy whose source and destination
// are checked byte for byte, and the round trip of empty jobs. Each tool
// reports the outcome in its own words.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "npu/npu.hpp"

namespace npu_tools {

// The first byte of a fill + copy buffer that does not hold the pattern.
struct PatternMismatch {
  std::string_view buffer;  // "source" or "destination"
  std::size_t offset = 0;
  unsigned actual = 0;
  unsigned expected = 0;
};

struct FillCopyOutcome {
  npu::JobResult job;
  std::optional<PatternMismatch> mismatch;  // only checked when the job succeeded
  std::chrono::nanoseconds round_trip{};    // submit to the end of the wait

  bool passed() const { return job.ok() && !mismatch; }
};

// Fills a BYTES-long source with a 32-bit pattern on the device, copies it to
// a destination the host filled with something else, and checks both.
FillCopyOutcome run_fill_copy(const npu::Device& device, npu::Queue& queue, std::uint64_t bytes);

struct EmptyJobLatency {
  std::optional<npu::JobResult> failed_job;  // the first empty job that failed
  std::chrono::nanoseconds min{};
  std::chrono::nanoseconds median{};

  bool passed() const { return !failed_job; }
};

// Times SAMPLES empty jobs, one after the other, from submit to the end of
// the wait. Stops at the first that fails.
EmptyJobLatency measure_empty_jobs(const npu::Device& device, npu::Queue& queue, int samples);

// "job <status> (<error>) at <address>".
std::string describe_failed_job(const npu::JobResult& result);

}  // namespace npu_tools
