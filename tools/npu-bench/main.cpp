// npu-bench: the performance of a KNPU device as ratios taken side by side in
// one run (docs/performance.md): GEMM and conv2d throughput on the device
// (one job at a time, and streamed: jobs back to back) against the same
// oneDNN primitive natively in this process, and the
// empty-job round trip against a null ioctl and a two-thread wake-up, N
// jobs as one batch against N single submits, the round trip by stage
// (--round-trip-stages), empty jobs on 1-16 queues at once, DMA copies
// against memcpy; with --host-baseline, all of it against a native run too;
// with --model-baseline, ONNX models through npu::onnx against onnxruntime.
#include <fmt/format.h>
#include <omp.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>

#include "copy_bandwidth.hpp"
#include "host_baseline.hpp"
#include "latency.hpp"
#include "models.hpp"
#include "npu/npu.hpp"
#include "report.hpp"
#include "workloads.hpp"

namespace {

using npu::isa::DataType;
using npu_bench::BenchReport;

constexpr int kExitError = 2;

struct Options {
  std::size_t device_index = 0;
  bool host_only = false;
  bool quick = false;
  std::uint32_t gemm_size = 1024;
  std::uint32_t conv_size = 56;  // H = W; 64 -> 64 channels, 3x3
  std::uint32_t copy_mib = 64;   // bytes of each DMA copy
  unsigned runs = 3;
  std::size_t samples = 1000;
  std::size_t batch_jobs = 64;  // jobs per sample of the batch against single submits
  bool round_trip_stages = false;
  std::string stages_csv;  // each sample's stages
  std::vector<std::size_t> queue_counts{1, 2, 4, 8, 16};
  std::size_t queue_jobs = 200;  // empty jobs per queue in the queue throughput figure
  unsigned threads = 0;          // 0: the device's core count
  // Queues of the streamed runs. One, two jobs deep, already keeps the
  // device busy; more run jobs at once on cores that split the host's CPUs
  // between them (docs/performance.md, "Streamed").
  std::size_t streams = 1;
  bool json = false;
  std::string json_file;
  std::string host_baseline;   // npu-bench --host-only's JSON, run natively
  std::string model_baseline;  // scripts/onnx/ort-bench.js's baseline.json
  unsigned model_warmup = 3;
  unsigned model_runs = 10;
};

using npu_bench::median_seconds;

npu_bench::ThroughputResult measure(npu_bench::Workload& workload,
                                    std::optional<std::string> device_skipped, bool device_present,
                                    unsigned runs) {
  npu_bench::ThroughputResult result;
  result.name = workload.name();
  result.flops = workload.flops();
  fmt::print(stderr, "npu-bench: {}\n", result.name);
  result.host_seconds = median_seconds(runs, [&] { workload.run_host(); });
  if (device_skipped) {
    result.device_skipped = std::move(device_skipped);
  } else if (device_present) {
    std::vector<npu_bench::DeviceJobTime> job_times;
    result.device_seconds =
        median_seconds(runs, [&] { job_times.push_back(workload.run_device()); });
    result.device_job_seconds = npu_bench::median_job_seconds(job_times, runs);
    // Two rounds of every stream in each timed run.
    const std::size_t jobs = 2 * npu_bench::kStreamDepth * workload.device_streams();
    result.device_streams = workload.device_streams();
    result.device_streamed_seconds =
        median_seconds(runs, [&] { workload.run_device_streamed(jobs); }) /
        static_cast<double>(jobs);
    result.max_difference = workload.max_difference();
  }
  return result;
}

// Queue counts beyond the device's hardware queues are left out.
void measure_queues(const npu::Device& device, const Options& options,
                    std::vector<npu_bench::QueueThroughput>& results) {
  for (const std::size_t queues : options.queue_counts) {
    if (queues > device.properties().num_queues) {
      fmt::print(stderr, "npu-bench: {} queues: the device has {}\n", queues,
                 device.properties().num_queues);
      continue;
    }
    fmt::print(stderr, "npu-bench: empty jobs on {} queues\n", queues);
    results.push_back(npu_bench::measure_queue_throughput(device, queues, options.queue_jobs));
  }
}

// Each figure's native counterpart, by name (and size, for copies); a figure
// the native run did not measure is named on stderr.
void apply_host_baseline(BenchReport& report) {
  const npu_bench::HostBaseline& native = *report.host_baseline;
  if (native.threads != report.host_threads) {
    fmt::print(stderr, "npu-bench: warning: the host baseline ran {} threads, this run {}\n",
               native.threads, report.host_threads);
  }
  const auto missing = [&](const std::string& name) {
    fmt::print(stderr, "npu-bench: warning: {} has no figure '{}'\n", native.file, name);
  };
  for (npu_bench::ThroughputResult& r : report.throughput) {
    if (const auto it = native.gflops.find(r.name); it != native.gflops.end()) {
      r.native_gflops = it->second;
    } else {
      missing(r.name);
    }
  }
  for (npu_bench::CopyResult& c : report.copy) {
    if (const auto it = native.memcpy_gbps.find({c.name, c.bytes});
        it != native.memcpy_gbps.end()) {
      c.native_memcpy_gbps = it->second;
    } else {
      missing(fmt::format("{}, {} bytes", c.name, c.bytes));
    }
  }
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  if (!out) {
    throw std::runtime_error(path + ": cannot write");
  }
}

BenchReport run(const Options& options) {
  std::optional<npu::Device> device;
  if (!options.host_only) {
    device.emplace(npu::Device::open(options.device_index));
  }
  BenchReport report;
  report.host_threads =
      options.threads != 0 ? options.threads : (device ? device->properties().num_cores : 1);
  // oneDNN's CPU engine in Debian runs on OpenMP: as many threads as the
  // device has cores, so the two sides use the same parallelism.
  omp_set_num_threads(static_cast<int>(report.host_threads));
  report.device = device ? fmt::format("{} ({} cores)", device->info().pci_address,
                                       device->properties().num_cores)
                         : std::string("none (--host-only)");
  const npu::Device* dev = device ? &*device : nullptr;
  const auto skipped = [&](npu::isa::Opcode op, DataType dtype) -> std::optional<std::string> {
    return device ? npu_bench::unsupported(*device, op, dtype) : std::nullopt;
  };

  // Latency first: after a oneDNN primitive, OpenMP's idle threads spin on
  // the CPUs for a while and would be measured as wake-up latency.
  fmt::print(stderr, "npu-bench: latency, {} samples each\n", options.samples);
  if (device) {
    report.latency.empty_job = npu_bench::measure_empty_job(*device, options.samples);
    report.latency.null_ioctl = npu_bench::measure_null_ioctl(*device, options.samples);
    report.latency.submission = npu_bench::measure_submission(
        *device, options.batch_jobs, std::max<std::size_t>(5, options.samples / 20));
    if (options.round_trip_stages) {
      report.latency.empty_job_stages =
          npu_bench::measure_round_trip_stages(*device, options.samples);
    }
    measure_queues(*device, options, report.latency.queue_throughput);
  }
  report.latency.ping_pong = npu_bench::measure_ping_pong(options.samples);
  report.copy =
      npu_bench::measure_copy_bandwidth(dev, std::uint64_t{options.copy_mib} << 20, options.runs);

  const std::uint32_t g = options.gemm_size;
  for (DataType dtype : {DataType::fp32, DataType::int8}) {
    const auto workload = npu_bench::make_gemm(dev, {g, g, g, dtype}, options.streams);
    report.throughput.push_back(measure(*workload, skipped(npu::isa::Opcode::gemm, dtype),
                                        device.has_value(), options.runs));
  }
  const std::uint32_t hw = options.conv_size;
  const std::uint32_t channels = options.quick ? 8 : 64;
  const auto conv =
      npu_bench::make_conv2d(dev, {1, channels, hw, hw, channels, 3, 3, 1, 1}, options.streams);
  report.throughput.push_back(measure(*conv, skipped(npu::isa::Opcode::conv2d, DataType::fp32),
                                      device.has_value(), options.runs));

  if (!options.host_baseline.empty()) {
    report.host_baseline = npu_bench::read_host_baseline(options.host_baseline);
    apply_host_baseline(report);
  }
  if (!options.model_baseline.empty()) {
    report.model_baseline = npu_bench::read_model_baseline(options.model_baseline);
    if (report.model_baseline->threads != report.host_threads) {
      fmt::print(stderr,
                 "npu-bench: warning: the model baseline ran {} threads, the device has {} cores\n",
                 report.model_baseline->threads, report.host_threads);
    }
    report.models = npu_bench::measure_models(dev, *report.model_baseline, options.model_warmup,
                                              options.model_runs);
  }
  return report;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Measure a KNPU device against native baselines, as ratios in one run."};
  app.footer("Exit status: 0 measured; 2 a usage, device or job error.");
  Options options;
  app.add_option("-D,--device", options.device_index, "visible device index");
  app.add_flag("--host-only", options.host_only,
               "no device: only the native baselines (to run outside the guest)");
  app.add_flag("--quick", options.quick,
               "small sizes and few samples: checks that everything runs");
  app.add_option("--gemm-size", options.gemm_size, "M = N = K of the GEMMs")
      ->check(CLI::Range(1U, 8192U));
  app.add_option("--conv-size", options.conv_size, "H = W of the convolution")
      ->check(CLI::Range(3U, 1024U));
  app.add_option("--copy-mib", options.copy_mib, "MiB of each DMA copy")
      ->check(CLI::Range(1U, 512U));
  app.add_option("--runs", options.runs, "timed runs of each workload (median)")
      ->check(CLI::Range(1U, 1000U));
  app.add_option("--samples", options.samples, "latency samples of each kind")
      ->check(CLI::Range(std::size_t{1}, std::size_t{10'000'000}));
  app.add_option("--batch-jobs", options.batch_jobs,
                 "empty jobs per sample, submitted singly and as one batch")
      ->check(CLI::Range(std::size_t{1}, std::size_t{4096}));
  app.add_flag("--round-trip-stages", options.round_trip_stages,
               "break the empty-job round trip into stages with the kernel's trace events "
               "(tracefs, root)");
  app.add_option("--round-trip-csv", options.stages_csv,
                 "with --round-trip-stages: each sample's stages (us) into this CSV file");
  app.add_option("--queues", options.queue_counts,
                 "queue counts of the empty-job throughput figure [1 2 4 8 16]")
      ->check(CLI::Range(std::size_t{1}, std::size_t{64}));
  app.add_option("--queue-jobs", options.queue_jobs, "empty jobs per queue in that figure")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}));
  app.add_option("--threads", options.threads, "host threads [the device's core count]")
      ->check(CLI::Range(1U, 1024U));
  app.add_option("--streams", options.streams,
                 "queues of the streamed GEMM and conv2d runs, two jobs in flight on each [1]")
      ->check(CLI::Range(std::size_t{1}, std::size_t{64}));
  app.add_option("--host-baseline", options.host_baseline,
                 "the device against the native host too: npu-bench --host-only's --json-file")
      ->check(CLI::ExistingFile);
  app.add_option("--model-baseline", options.model_baseline,
                 "ONNX models against onnxruntime: the baseline.json of scripts/onnx/ort-bench.js")
      ->check(CLI::ExistingFile);
  app.add_option("--model-warmup", options.model_warmup, "untimed runs of each model first")
      ->check(CLI::Range(0U, 1000U));
  app.add_option("--model-runs", options.model_runs, "timed runs of each model")
      ->check(CLI::Range(1U, 100000U));
  app.add_flag("--json", options.json, "print JSON instead of the table");
  app.add_option("--json-file", options.json_file, "also write the JSON to this file");
  CLI11_PARSE(app, argc, argv);
  if (options.quick) {
    options.gemm_size = std::min(options.gemm_size, 64U);
    options.conv_size = std::min(options.conv_size, 8U);
    options.copy_mib = 1;
    options.runs = 1;
    options.samples = std::min<std::size_t>(options.samples, 20);
    options.queue_jobs = std::min<std::size_t>(options.queue_jobs, 20);
    options.model_warmup = std::min(options.model_warmup, 1U);
    options.model_runs = std::min(options.model_runs, 2U);
  }
  try {
    const BenchReport report = run(options);
    const nlohmann::json json = npu_bench::to_json(report);
    if (options.json) {
      fmt::print("{}\n", json.dump(2));
    } else {
      npu_bench::print_table(stdout, report);
    }
    if (!options.stages_csv.empty() && report.latency.empty_job_stages) {
      write_file(options.stages_csv, npu_bench::stages_csv(*report.latency.empty_job_stages));
    }
    if (!options.json_file.empty()) {
      write_file(options.json_file, json.dump(2) + '\n');
    }
    return 0;
  } catch (const std::exception& e) {
    fmt::print(stderr, "npu-bench: {}\n", e.what());
    return kExitError;
  }
}
