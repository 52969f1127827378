// The empty-job round trip broken into its stages: userspace's submit and
// wake-up times, the device's start and end times of the job (WAIT's
// start_ns/end_ns) and the kernel's trace events in between (tracefs's
// "trace" file with trace_clock "mono", so every time is CLOCK_MONOTONIC).
// Pure functions: the tracefs session is latency.cpp's.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "statistics.hpp"

namespace npu_bench {

// One event of tracefs's text output.
struct TraceEvent {
  std::chrono::nanoseconds time{};                         // microsecond resolution in the text
  std::string name;                                        // "knpu_job_run"
  std::map<std::string, std::string, std::less<>> fields;  // its key=value words
};

// The events of a "trace" file, in its order (by time); lines that are not
// events (the "#" header) are skipped.
std::vector<TraceEvent> parse_trace(std::string_view text);

// What userspace knows of one empty job.
struct RoundTripSample {
  std::uint32_t queue_id = 0;
  std::uint64_t seqno = 0;
  std::chrono::nanoseconds submitted{};  // before Queue::submit
  std::chrono::nanoseconds device_start{};
  std::chrono::nanoseconds device_end{};
  std::chrono::nanoseconds woken{};  // JobHandle::wait returned
};

struct StageInfo {
  std::string_view key;          // JSON
  std::string_view description;  // table
};

// The stages, in order: stage i runs from boundary i to boundary i + 1.
inline constexpr std::array<StageInfo, 9> kRoundTripStages{{
    {"submit", "libnpu + SUBMIT ioctl until the job is pushed"},
    {"sched_run_job", "drm_sched: push until run_job"},
    {"ring_write", "run_job: descriptor and Q_TAIL"},
    {"device_pickup", "doorbell until a device core starts it"},
    {"device_run", "the device runs the job"},
    {"fence_irq", "fence write and MSI-X until the IRQ handler"},
    {"irq_handler", "IRQ handler until the completion is found"},
    {"fence_signal", "hardware fence until the finished fence signals"},
    {"waiter_wake", "the waiter wakes and WAIT returns"},
}};
inline constexpr std::size_t kRoundTripStageCount = kRoundTripStages.size();

using RoundTripBoundaries = std::array<std::chrono::nanoseconds, kRoundTripStageCount + 1>;

// The boundaries of `sample`'s round trip from `events` (sorted by time):
// nullopt when an event of it is missing.
std::optional<RoundTripBoundaries> round_trip_boundaries(const RoundTripSample& sample,
                                                         const std::vector<TraceEvent>& events);

struct StageBreakdown {
  std::array<LatencyStats, kRoundTripStageCount> stages{};
  LatencyStats total;          // submitted -> woken of the samples broken down
  std::size_t samples = 0;     // taken
  std::size_t incomplete = 0;  // an event missing (trace buffer overrun)
  // Boundaries out of order: the device's times are converted from its
  // clock by the driver, within a register read of the truth.
  std::size_t unordered = 0;
  // Each sample's boundaries, of the samples broken down, in their order.
  std::vector<RoundTripBoundaries> boundaries;
  // Why there is no breakdown (no tracefs, not root, an old knpu.ko).
  std::optional<std::string> unavailable;
};

// Each stage's median and p99 over the samples whose boundaries are all
// found and in order; the stages of a sample sum to its total.
StageBreakdown break_down(const std::vector<RoundTripSample>& samples,
                          const std::vector<TraceEvent>& events);

// One line per sample broken down: each stage's duration in microseconds,
// comma-separated, under a header of the stage names.
std::string stages_csv(const StageBreakdown& breakdown);

}  // namespace npu_bench
