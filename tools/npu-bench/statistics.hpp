// Latency samples summarised as a person reads them: median and 99th
// percentile, in microseconds.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <optional>
#include <vector>

#include "npu/queue.hpp"

namespace npu_bench {

struct LatencyStats {
  double median_us = 0;
  double p99_us = 0;
  std::size_t samples = 0;
};

// Nearest-rank percentiles of the samples.
inline LatencyStats summarize(std::vector<std::chrono::nanoseconds> samples) {
  LatencyStats stats{0, 0, samples.size()};
  if (samples.empty()) {
    return stats;
  }
  std::ranges::sort(samples);
  const auto at = [&](double fraction) {
    const auto rank = static_cast<std::size_t>(fraction * static_cast<double>(samples.size() - 1));
    return static_cast<double>(samples[rank].count()) / 1000.0;
  };
  stats.median_us = at(0.5);
  stats.p99_us = at(0.99);
  return stats;
}

// Calls `once` `count` times and returns each call's duration.
template <class F>
std::vector<std::chrono::nanoseconds> time_each(std::size_t count, F&& once) {
  std::vector<std::chrono::nanoseconds> samples;
  samples.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    const auto start = std::chrono::steady_clock::now();
    once();
    samples.push_back(std::chrono::steady_clock::now() - start);
  }
  return samples;
}

// Untimed runs of each throughput and copy figure first, on both sides:
// primitive creation, caches, and the device model's staging memory, which
// glibc faults in anew for the first two jobs of a size (docs/performance.md).
constexpr unsigned kWarmupRuns = 3;

// The device's own time of one job (the driver's job timestamps: a core took
// it, it finished); empty when the device does not report them.
using DeviceJobTime = std::optional<std::chrono::nanoseconds>;

inline DeviceJobTime job_time(const npu::JobResult& result) {
  if (!result.device_times) {
    return std::nullopt;
  }
  return std::chrono::duration_cast<std::chrono::nanoseconds>(result.device_times->end -
                                                              result.device_times->start);
}

// The median of the last `runs` job times (median_seconds()'s timed calls,
// after its warm-up), or nothing unless every one of them has a time.
inline std::optional<double> median_job_seconds(const std::vector<DeviceJobTime>& times,
                                                unsigned runs) {
  if (times.size() < runs || runs == 0) {
    return std::nullopt;
  }
  std::vector<std::chrono::nanoseconds> timed;
  for (auto t = times.end() - runs; t != times.end(); ++t) {
    if (!*t) {
      return std::nullopt;
    }
    timed.push_back(**t);
  }
  std::ranges::sort(timed);
  return std::chrono::duration<double>(timed[runs / 2]).count();
}

// The median duration of `runs` calls of `once` after kWarmupRuns untimed ones.
template <class F>
double median_seconds(unsigned runs, F&& once) {
  time_each(kWarmupRuns, once);
  std::vector<std::chrono::nanoseconds> samples = time_each(runs, once);
  std::ranges::sort(samples);
  return std::chrono::duration<double>(samples[samples.size() / 2]).count();
}

}  // namespace npu_bench
