// npu-launch-bench: what a launch costs the host through each path, as
// ratios (docs/libnpu.md, "Measured"). Run in the guest:
//   make guest-run CMD='build/libnpu/npu-launch-bench [JOBS]'
// For each path it submits JOBS small DMA jobs (64-byte fills) on one
// queue, waits for the last, and prints the time per job spent in submit
// calls and per job end to end:
//   by-name   KernelArguments built and set by name for every launch
//   launch    one npu::Launch, one slot set by index per launch
//   batch     a CommandList of JOBS launches replayed with one submit(list)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "npu/npu.hpp"

namespace {

using Clock = std::chrono::steady_clock;

struct Cost {
  double submit_us;  // per job, in submit calls
  double total_us;   // per job, first submit to last job finished
};

double per_job_us(Clock::duration d, int jobs) {
  return std::chrono::duration<double, std::micro>(d).count() / jobs;
}

template <class SubmitAll>
Cost measure(int jobs, SubmitAll&& submit_all) {
  const Clock::time_point start = Clock::now();
  const npu::JobHandle last = submit_all();
  const Clock::time_point submitted = Clock::now();
  if (!last.wait(std::chrono::seconds(60)).ok()) {
    std::fprintf(stderr, "a job failed\n");
    std::exit(1);
  }
  return {per_job_us(submitted - start, jobs), per_job_us(Clock::now() - start, jobs)};
}

}  // namespace

int main(int argc, char** argv) {
  const int jobs = argc > 1 ? std::stoi(argv[1]) : 256;
  const npu::Device device = npu::Device::open(0);
  const npu::Queue queue = device.create_queue({.argument_slots = 1024});
  const npu::Kernel fill = device.load_kernel(
      npu::assemble(".kernel fill\n.arg buffer dst\n.arg scalar bytes\n.arg scalar pattern\n"
                    "    dma_fill @dst, @bytes, @pattern\n"));
  const npu::Buffer buffer = device.allocate(64);

  const auto by_name = [&] {
    std::optional<npu::JobHandle> last;
    for (int i = 0; i < jobs; ++i) {
      npu::KernelArguments args = fill.make_arguments();
      args.set("dst", buffer).set("bytes", 64).set("pattern", static_cast<std::uint64_t>(i));
      last = queue.submit(fill, args);
    }
    return *last;
  };
  npu::Launch launch(fill);
  launch.set("dst", buffer).set("bytes", 64);
  const std::uint32_t pattern = launch.index_of("pattern");
  const auto with_launch = [&] {
    std::optional<npu::JobHandle> last;
    for (int i = 0; i < jobs; ++i) {
      launch.set(pattern, static_cast<std::uint64_t>(i));
      last = queue.submit(launch);
    }
    return *last;
  };
  npu::CommandList list;
  for (int i = 0; i < jobs; ++i) {
    list.launch(launch.set(pattern, static_cast<std::uint64_t>(i)));
  }
  const auto as_batch = [&] { return queue.submit(list).jobs.back(); };

  static_cast<void>(measure(jobs, with_launch));  // warm up: ring, mappings, caches
  const Cost name_cost = measure(jobs, by_name);
  const Cost launch_cost = measure(jobs, with_launch);
  const Cost batch_cost = measure(jobs, as_batch);
  std::printf("%d jobs per path; microseconds per job (submit calls / end to end)\n", jobs);
  std::printf("by-name  %8.1f / %8.1f\n", name_cost.submit_us, name_cost.total_us);
  std::printf("launch   %8.1f / %8.1f\n", launch_cost.submit_us, launch_cost.total_us);
  std::printf("batch    %8.1f / %8.1f\n", batch_cost.submit_us, batch_cost.total_us);
  std::printf(
      "ratios: launch/by-name submit %.2f, batch/launch submit %.2f, "
      "batch/launch end to end %.2f\n",
      launch_cost.submit_us / name_cost.submit_us, batch_cost.submit_us / launch_cost.submit_us,
      batch_cost.total_us / launch_cost.total_us);
  return 0;
}
