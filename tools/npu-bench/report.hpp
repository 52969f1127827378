// What one npu-bench run measured, printed as a table or as JSON
// (schema documented in docs/performance.md).
#pragma once

#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "copy_bandwidth.hpp"
#include "host_baseline.hpp"
#include "latency.hpp"
#include "models.hpp"
#include "statistics.hpp"

namespace npu_bench {

struct ThroughputResult {
  std::string name;
  double flops = 0;
  double host_seconds = 0;                   // median of the timed runs
  std::optional<double> device_seconds;      // median, when the device ran it
  std::optional<double> device_job_seconds;  // median of the device's own times, if it has them
  std::optional<double> device_streamed_seconds;  // per job, jobs streamed on device_streams queues
  std::size_t device_streams = 0;
  std::optional<std::string> device_skipped;  // why it did not
  std::optional<double> max_difference;       // |device - host| over the outputs
  std::optional<double> native_gflops;        // from --host-baseline

  [[nodiscard]] double host_gflops() const { return flops / host_seconds / 1e9; }
  [[nodiscard]] std::optional<double> device_gflops() const;
  [[nodiscard]] std::optional<double> device_job_gflops() const;
  [[nodiscard]] std::optional<double> device_streamed_gflops() const;
  // Device throughput over the in-process baseline's, and over the native
  // host's: one job at a time, and streamed.
  [[nodiscard]] std::optional<double> ratio() const;
  [[nodiscard]] std::optional<double> native_ratio() const;
  [[nodiscard]] std::optional<double> streamed_ratio() const;
  [[nodiscard]] std::optional<double> native_streamed_ratio() const;
};

struct LatencyResults {
  std::optional<LatencyStats> empty_job;           // submit -> fence -> wake
  std::optional<LatencyStats> null_ioctl;          // DRM_IOCTL_KNPU_GET_PARAM
  LatencyStats ping_pong;                          // two threads, pipes
  std::optional<SubmissionCost> submission;        // N jobs singly and as one batch
  std::optional<StageBreakdown> empty_job_stages;  // --round-trip-stages
  std::vector<QueueThroughput> queue_throughput;   // empty jobs on 1, 2, 4... queues
};

struct BenchReport {
  std::string device;  // "0000:01:00.0 (4 cores)", or "none (--host-only)"
  unsigned host_threads = 0;
  std::optional<HostBaseline> host_baseline;  // --host-baseline
  std::vector<ThroughputResult> throughput;
  std::vector<CopyResult> copy;
  LatencyResults latency;
  std::optional<ModelBaseline> model_baseline;  // --model-baseline
  std::vector<ModelResult> models;
};

nlohmann::json to_json(const BenchReport& report);
void print_table(std::FILE* out, const BenchReport& report);

}  // namespace npu_bench
