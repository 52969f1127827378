// The empty-job round trip (submit -> fence -> wake) and its two floors in
// the same system: a null ioctl on the same device file, and a wake-up
// ping-pong between two threads (what any sleep/interrupt/wake path costs);
// and N empty jobs submitted one by one against N as one batch.
#pragma once

#include <cstddef>

#include "npu/device.hpp"
#include "round_trip_stages.hpp"
#include "statistics.hpp"

namespace npu_bench {

LatencyStats measure_empty_job(const npu::Device& device, std::size_t samples);
// The empty-job round trip again, `samples` times, with the kernel's trace
// events on (tracefs, root): each stage's median and p99.
StageBreakdown measure_round_trip_stages(const npu::Device& device, std::size_t samples);
LatencyStats measure_null_ioctl(const npu::Device& device, std::size_t samples);
// One sample is a round trip: thread A wakes B through a pipe, B wakes A.
LatencyStats measure_ping_pong(std::size_t samples);

// One sample submits `jobs` empty jobs and waits for the last: `submit` is
// the time in submit calls, `total` until the last job finished.
struct SubmissionStats {
  LatencyStats submit;
  LatencyStats total;
};
struct SubmissionCost {
  std::size_t jobs = 0;
  SubmissionStats single;    // one Queue::submit per job
  SubmissionStats batch;     // one Queue::submit(CommandList) of all of them
  bool batch_ioctl = false;  // the driver takes a batch in one ioctl (KNPU_CAP_SUBMIT_BATCH)
};
SubmissionCost measure_submission(const npu::Device& device, std::size_t jobs, std::size_t samples);

// Empty jobs on `queues` queues at once, a thread each keeping 8 in flight:
// `jobs` in all, in `seconds` (after a warm-up of a tenth of them).
struct QueueThroughput {
  std::size_t queues = 0;
  std::size_t jobs = 0;
  double seconds = 0;

  [[nodiscard]] double jobs_per_second() const { return static_cast<double>(jobs) / seconds; }
};
QueueThroughput measure_queue_throughput(const npu::Device& device, std::size_t queues,
                                         std::size_t jobs_per_queue);

}  // namespace npu_bench
