// A tracing hook: each job of a Device open, reported once with what a
// profiler needs to place it on the host's timeline (when it was submitted,
// when the device ran it, how it ended).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "npu/queue.hpp"

namespace npu {

struct JobTrace {
  std::uint32_t queue_id = 0;
  std::uint64_t sequence_number = 0;
  // The kernel's name ("" for a RawJob; Queue::copy() and fill() run the
  // kernels "copy" and "fill").
  std::string kernel{};
  // When libnpu began the submission, on steady_clock (CLOCK_MONOTONIC),
  // the clock of result.device_times.
  std::chrono::steady_clock::time_point submitted{};
  // How the job ended. JobStatus::timeout: it had not finished when its last
  // JobHandle was dropped without a wait.
  JobResult result{};
};

// Called once per job (Device::set_job_trace): on the thread that first
// waits on the finished job, or, for a job nobody waited for, on the thread
// that drops its last JobHandle (libnpu then asks the driver once, without
// waiting). It runs inside those calls, so it must not block for long nor
// throw; an exception from it terminates the program.
using JobTraceCallback = std::function<void(const JobTrace&)>;

}  // namespace npu
