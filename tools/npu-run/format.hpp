// Human-readable numbers for the tools' output.
#pragma once

#include <fmt/format.h>

#include <chrono>
#include <cstdint>
#include <string>

namespace npu_run {

inline std::string format_bytes(std::uint64_t bytes) {
  constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  std::size_t unit = 0;
  while (unit + 1 < std::size(kUnits) && bytes >= 1024 && bytes % 1024 == 0) {
    bytes /= 1024;
    ++unit;
  }
  return fmt::format("{} {}", bytes, kUnits[unit]);
}

inline std::string format_duration(std::chrono::nanoseconds duration) {
  return fmt::format("{:.1f} us", static_cast<double>(duration.count()) / 1000.0);
}

}  // namespace npu_run
