#include "latency.hpp"

#include <unistd.h>
#include <xf86drm.h>

#include <array>
#include <chrono>
#include <deque>
#include <latch>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "drm/knpu_accel.h"
#include "kernel_trace.hpp"
#include "npu/npu.hpp"

namespace npu_bench {
namespace {

constexpr std::size_t kWarmup = 10;
// Warm-up samples of N jobs each.
constexpr std::size_t kSubmissionWarmup = 2;
// Jobs each queue keeps in flight in the throughput figure.
constexpr std::size_t kThroughputDepth = 8;

// What the stages of a round trip are read from (round_trip_stages.cpp).
const std::vector<std::string> kStageEvents = {
    "knpu/knpu_job_submit",  "knpu/knpu_job_run",      "knpu/knpu_hwq_doorbell",
    "irq/irq_handler_entry", "knpu/knpu_job_complete", "dma_fence/dma_fence_signaled",
};

StageBreakdown stages_unavailable(std::string why) {
  StageBreakdown breakdown;
  breakdown.unavailable = std::move(why);
  return breakdown;
}

std::chrono::nanoseconds since_epoch(std::chrono::steady_clock::time_point t) {
  return t.time_since_epoch();
}

class Pipe {
 public:
  Pipe() {
    if (::pipe(fds_.data()) != 0) {
      throw std::system_error(errno, std::generic_category(), "pipe");
    }
  }
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;
  ~Pipe() {
    ::close(fds_[0]);
    ::close(fds_[1]);
  }
  void send() const {
    const char byte = 0;
    if (::write(fds_[1], &byte, 1) != 1) {
      throw std::system_error(errno, std::generic_category(), "write");
    }
  }
  // False at end of file (the writer is closed).
  bool receive() const {
    char byte = 0;
    return ::read(fds_[0], &byte, 1) == 1;
  }
  void close_writer() {
    ::close(fds_[1]);
    fds_[1] = -1;
  }

 private:
  std::array<int, 2> fds_{-1, -1};
};

npu::Kernel empty_kernel(const npu::Device& device) {
  npu::KernelBuilder builder("empty");
  builder.nop();
  return device.load_kernel(builder.build());
}

void expect_ok(const npu::JobHandle& job) {
  const npu::JobResult result = job.wait(std::chrono::seconds(10));
  if (!result.ok()) {
    throw std::runtime_error("empty job: " + npu::to_string(result.error));
  }
}

// Samples of `submit_all` (which submits and returns the last job): the
// time it took, and until the last job finished.
template <class F>
SubmissionStats time_submissions(std::size_t samples, F&& submit_all) {
  std::vector<std::chrono::nanoseconds> submit;
  std::vector<std::chrono::nanoseconds> total;
  for (std::size_t i = 0; i < kSubmissionWarmup + samples; ++i) {
    const auto start = std::chrono::steady_clock::now();
    const npu::JobHandle last = submit_all();
    const auto submitted = std::chrono::steady_clock::now();
    expect_ok(last);
    if (i >= kSubmissionWarmup) {
      submit.push_back(submitted - start);
      total.push_back(std::chrono::steady_clock::now() - start);
    }
  }
  return {summarize(std::move(submit)), summarize(std::move(total))};
}

}  // namespace

LatencyStats measure_empty_job(const npu::Device& device, std::size_t samples) {
  const npu::Kernel kernel = empty_kernel(device);
  const npu::KernelArguments args = kernel.make_arguments();
  npu::Queue queue = device.create_queue();
  const auto once = [&] { expect_ok(queue.submit(kernel, args)); };
  time_each(kWarmup, once);
  return summarize(time_each(samples, once));
}

StageBreakdown measure_round_trip_stages(const npu::Device& device, std::size_t samples) {
  if (!device.properties().has(npu::Capability::job_timestamps)) {
    return stages_unavailable("the driver reports no job times (KNPU_CAP_JOB_TIMESTAMPS)");
  }
  const npu::Kernel kernel = empty_kernel(device);
  const npu::KernelArguments args = kernel.make_arguments();
  npu::Queue queue = device.create_queue();
  time_each(kWarmup, [&] { expect_ok(queue.submit(kernel, args)); });
  try {
    KernelTrace trace(kStageEvents);
    std::vector<RoundTripSample> taken;
    taken.reserve(samples);
    trace.start();
    for (std::size_t i = 0; i < samples; ++i) {
      const auto submitted = std::chrono::steady_clock::now();
      const npu::JobHandle job = queue.submit(kernel, args);
      const npu::JobResult result = job.wait(std::chrono::seconds(10));
      const auto woken = std::chrono::steady_clock::now();
      if (!result.ok() || !result.device_times) {
        throw std::runtime_error("empty job: " + npu::to_string(result.error));
      }
      taken.push_back({job.queue_id(), job.sequence_number(), since_epoch(submitted),
                       since_epoch(result.device_times->start),
                       since_epoch(result.device_times->end), since_epoch(woken)});
    }
    return break_down(taken, parse_trace(trace.stop()));
  } catch (const TraceUnavailable& e) {
    return stages_unavailable(e.what());
  }
}

LatencyStats measure_null_ioctl(const npu::Device& device, std::size_t samples) {
  const int fd = device.native_handle();
  const auto once = [fd] {
    drm_knpu_get_param param{};
    param.param = KNPU_PARAM_NUM_CORES;
    if (drmIoctl(fd, DRM_IOCTL_KNPU_GET_PARAM, &param) != 0) {
      throw std::system_error(errno, std::generic_category(), "DRM_IOCTL_KNPU_GET_PARAM");
    }
  };
  time_each(kWarmup, once);
  return summarize(time_each(samples, once));
}

LatencyStats measure_ping_pong(std::size_t samples) {
  Pipe ping;
  Pipe pong;
  std::thread echo([&] {
    while (ping.receive()) {
      pong.send();
    }
  });
  const auto once = [&] {
    ping.send();
    pong.receive();
  };
  time_each(kWarmup, once);
  const LatencyStats stats = summarize(time_each(samples, once));
  ping.close_writer();
  echo.join();
  return stats;
}

SubmissionCost measure_submission(const npu::Device& device, std::size_t jobs,
                                  std::size_t samples) {
  const npu::Kernel kernel = empty_kernel(device);
  const npu::KernelArguments args = kernel.make_arguments();
  // Slots for every job in flight: neither path grows the ring while measured.
  const npu::Queue queue =
      device.create_queue({.argument_slots = static_cast<std::uint32_t>(2 * jobs)});
  npu::CommandList list;
  for (std::size_t i = 0; i < jobs; ++i) {
    list.launch(kernel, args);
  }
  SubmissionCost cost;
  cost.jobs = jobs;
  cost.batch_ioctl = device.properties().has(npu::Capability::submit_batch);
  cost.single = time_submissions(samples, [&] {
    for (std::size_t i = 1; i < jobs; ++i) {
      static_cast<void>(queue.submit(kernel, args));
    }
    return queue.submit(kernel, args);
  });
  cost.batch = time_submissions(samples, [&] { return queue.submit(list).jobs.back(); });
  return cost;
}

QueueThroughput measure_queue_throughput(const npu::Device& device, std::size_t queues,
                                         std::size_t jobs_per_queue) {
  const npu::Kernel kernel = empty_kernel(device);
  const npu::KernelArguments args = kernel.make_arguments();
  std::vector<npu::Queue> queue_list;
  for (std::size_t q = 0; q < queues; ++q) {
    queue_list.push_back(device.create_queue({.argument_slots = 2 * kThroughputDepth}));
  }
  // Each queue's thread keeps kThroughputDepth jobs in flight.
  const auto run_all = [&](std::size_t jobs) {
    std::latch ready(static_cast<std::ptrdiff_t>(queues) + 1);
    std::vector<std::jthread> threads;
    for (npu::Queue& queue : queue_list) {
      threads.emplace_back([&, jobs] {
        ready.arrive_and_wait();
        std::deque<npu::JobHandle> in_flight;
        for (std::size_t i = 0; i < jobs; ++i) {
          if (in_flight.size() == kThroughputDepth) {
            expect_ok(in_flight.front());
            in_flight.pop_front();
          }
          in_flight.push_back(queue.submit(kernel, args));
        }
        for (const npu::JobHandle& job : in_flight) {
          expect_ok(job);
        }
      });
    }
    ready.arrive_and_wait();
    const auto start = std::chrono::steady_clock::now();
    threads.clear();  // joins
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  run_all(std::max<std::size_t>(1, jobs_per_queue / 10));
  const double seconds = run_all(jobs_per_queue);
  return {queues, queues * jobs_per_queue, seconds};
}

}  // namespace npu_bench
