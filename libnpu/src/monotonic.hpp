// Absolute CLOCK_MONOTONIC deadlines, as the uapi's timeouts take them.
#pragma once

#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <limits>

namespace npu::detail {

// The deadline `timeout` from now, in ns, saturating at the largest value.
inline std::int64_t deadline_after(std::chrono::nanoseconds timeout) {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  const std::int64_t now_ns = std::int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec;
  const std::int64_t relative = std::max<std::int64_t>(timeout.count(), 0);
  return relative > std::numeric_limits<std::int64_t>::max() - now_ns
             ? std::numeric_limits<std::int64_t>::max()
             : now_ns + relative;
}

}  // namespace npu::detail
