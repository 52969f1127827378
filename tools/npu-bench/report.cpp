#include "report.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "workloads.hpp"

namespace npu_bench {
namespace {

constexpr int kSchemaVersion = 1;

nlohmann::json to_json(const LatencyStats& stats) {
  return {{"median_us", stats.median_us}, {"p99_us", stats.p99_us}, {"samples", stats.samples}};
}

template <class T>
nlohmann::json optional_json(const std::optional<T>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

std::optional<double> median_ratio(const std::optional<LatencyStats>& a, const LatencyStats& b) {
  if (!a || b.median_us <= 0) {
    return std::nullopt;
  }
  return a->median_us / b.median_us;
}

nlohmann::json to_json(const SubmissionStats& stats) {
  return {{"submit", to_json(stats.submit)}, {"total", to_json(stats.total)}};
}

// Batch over single submits: (in submit calls, until the last job finished).
std::pair<double, double> batch_ratios(const SubmissionCost& cost) {
  return {cost.batch.submit.median_us / cost.single.submit.median_us,
          cost.batch.total.median_us / cost.single.total.median_us};
}

nlohmann::json to_json(const SubmissionCost& cost) {
  const auto [submit, total] = batch_ratios(cost);
  return {{"jobs", cost.jobs},
          {"batch_ioctl", cost.batch_ioctl},
          {"single", to_json(cost.single)},
          {"batch", to_json(cost.batch)},
          {"batch_over_single_submit", submit},
          {"batch_over_single_total", total}};
}

// GFLOP/s of `flops` in `seconds`, if there is a time.
std::optional<double> gflops(double flops, const std::optional<double>& seconds) {
  if (!seconds || *seconds <= 0) {
    return std::nullopt;
  }
  return flops / *seconds / 1e9;
}

std::optional<double> over(const std::optional<double>& a, const std::optional<double>& b) {
  if (!a || !b || *b <= 0) {
    return std::nullopt;
  }
  return *a / *b;
}

std::string format_optional(const std::optional<double>& value, std::string_view format) {
  return value ? fmt::format(fmt::runtime(format), *value) : std::string("-");
}

nlohmann::json to_json(const StageBreakdown& b) {
  nlohmann::json stages = nlohmann::json::array();
  for (std::size_t i = 0; i < kRoundTripStageCount; ++i) {
    nlohmann::json stage = to_json(b.stages[i]);
    stage["name"] = kRoundTripStages[i].key;
    stage["description"] = kRoundTripStages[i].description;
    stages.push_back(std::move(stage));
  }
  return {{"stages", stages},         {"total", to_json(b.total)},
          {"samples", b.samples},     {"incomplete", b.incomplete},
          {"unordered", b.unordered}, {"unavailable", optional_json(b.unavailable)}};
}

// Jobs per second of each queue count over one queue's.
std::optional<double> over_one_queue(const std::vector<QueueThroughput>& all,
                                     const QueueThroughput& t) {
  if (all.empty() || all.front().queues != 1) {
    return std::nullopt;
  }
  return t.jobs_per_second() / all.front().jobs_per_second();
}

nlohmann::json to_json(const std::vector<QueueThroughput>& all) {
  nlohmann::json rows = nlohmann::json::array();
  for (const QueueThroughput& t : all) {
    rows.push_back({{"queues", t.queues},
                    {"jobs", t.jobs},
                    {"seconds", t.seconds},
                    {"jobs_per_s", t.jobs_per_second()},
                    {"over_one_queue", optional_json(over_one_queue(all, t))}});
  }
  return rows;
}

void print_stages(std::FILE* out, const StageBreakdown& b) {
  if (b.unavailable) {
    fmt::print(out, "\nround trip by stage: not available: {}\n", *b.unavailable);
    return;
  }
  fmt::print(out, "\nround trip by stage ({} of {} samples; {} incomplete, {} out of order)\n",
             b.total.samples, b.samples, b.incomplete, b.unordered);
  fmt::print(out, "{:<52} {:>10} {:>10}\n", "stage", "median us", "p99 us");
  for (std::size_t i = 0; i < kRoundTripStageCount; ++i) {
    fmt::print(out, "{:<52} {:>10.1f} {:>10.1f}\n", kRoundTripStages[i].description,
               b.stages[i].median_us, b.stages[i].p99_us);
  }
  fmt::print(out, "{:<52} {:>10.1f} {:>10.1f}\n", "total, traced", b.total.median_us,
             b.total.p99_us);
}

void print_queue_throughput(std::FILE* out, const std::vector<QueueThroughput>& all) {
  fmt::print(out, "\n{:<36} {:>14} {:>14}\n", "empty jobs on N queues", "jobs/s", "/ one queue");
  for (const QueueThroughput& t : all) {
    fmt::print(out, "{:<36} {:>14.0f} {:>14}\n",
               fmt::format("{} queues, {} jobs", t.queues, t.jobs), t.jobs_per_second(),
               format_optional(over_one_queue(all, t), "{:.2f}"));
  }
}

nlohmann::json to_json(const ModelResult& m) {
  const ModelCase& c = m.baseline_case;
  nlohmann::json device = nullptr;
  if (m.device) {
    device = {{"latency", to_json(m.device->latency)},
              {"job_latency", to_json(m.device->job_latency)},
              {"throughput_per_s", m.device->throughput_per_s}};
  }
  const std::optional<double> ratio = m.latency_ratio();
  return {
      {"name", c.name},
      {"model", c.model.filename().string()},
      {"input_shape", c.input_shape},
      {"precision", m.precision},
      {"baseline", {{"latency", to_json(c.latency)}, {"throughput_per_s", c.throughput_per_s}}},
      {"device", device},
      {"device_skipped", optional_json(m.device_skipped)},
      {"latency_ratio", optional_json(ratio)},
      {"meets_goal", ratio ? nlohmann::json(*ratio <= kModelLatencyGoal) : nlohmann::json(nullptr)},
      {"max_difference",
       m.device ? nlohmann::json(m.device->max_difference) : nlohmann::json(nullptr)}};
}

nlohmann::json models_json(const BenchReport& report) {
  if (!report.model_baseline) {
    return nullptr;
  }
  nlohmann::json cases = nlohmann::json::array();
  for (const ModelResult& m : report.models) {
    cases.push_back(to_json(m));
  }
  return {{"baseline_runtime", report.model_baseline->runtime},
          {"baseline_threads", report.model_baseline->threads},
          {"latency_goal", kModelLatencyGoal},
          {"cases", cases}};
}

void print_models(std::FILE* out, const BenchReport& report) {
  if (!report.model_baseline) {
    return;
  }
  fmt::print(out, "\nmodels against {}, {} threads (goal: device latency <= {}x)\n",
             report.model_baseline->runtime, report.model_baseline->threads, kModelLatencyGoal);
  fmt::print(out, "{:<28} {:>11} {:>11} {:>11} {:>11} {:>8} {:>10}\n", "model", "device ms",
             "p99 ms", "ort ms", "p99 ms", "ratio", "max |diff|");
  for (const ModelResult& m : report.models) {
    const ModelCase& c = m.baseline_case;
    std::string shape;
    for (const std::int64_t dim : c.input_shape) {
      shape += fmt::format("{}{}", shape.empty() ? "" : "x", dim);
    }
    const auto device_ms = [&](double LatencyStats::*field) {
      return m.device ? std::optional(m.device->latency.*field / 1000) : std::nullopt;
    };
    fmt::print(out, "{:<28} {:>11} {:>11} {:>11.2f} {:>11.2f} {:>8} {:>10}\n",
               fmt::format("{} {} {}", c.name, shape, m.precision),
               format_optional(device_ms(&LatencyStats::median_us), "{:.2f}"),
               format_optional(device_ms(&LatencyStats::p99_us), "{:.2f}"),
               c.latency.median_us / 1000, c.latency.p99_us / 1000,
               format_optional(m.latency_ratio(), "{:.2f}"),
               format_optional(m.device ? std::optional(m.device->max_difference) : std::nullopt,
                               "{:.2g}"));
    if (m.device_skipped) {
      fmt::print(out, "  device: {}\n", *m.device_skipped);
    }
  }
}

nlohmann::json host_baseline_json(const BenchReport& report) {
  if (!report.host_baseline) {
    return nullptr;
  }
  return {{"file", report.host_baseline->file}, {"threads", report.host_baseline->threads}};
}

nlohmann::json copy_json(const std::vector<CopyResult>& all) {
  nlohmann::json rows = nlohmann::json::array();
  for (const CopyResult& c : all) {
    rows.push_back({{"name", c.name},
                    {"bytes", c.bytes},
                    {"memcpy_seconds", c.memcpy_seconds},
                    {"memcpy_gbps", c.memcpy_gbps()},
                    {"device_seconds", optional_json(c.device_seconds)},
                    {"device_gbps", optional_json(c.device_gbps())},
                    {"device_job_seconds", optional_json(c.device_job_seconds)},
                    {"device_job_gbps", optional_json(c.device_job_gbps())},
                    {"device_skipped", optional_json(c.device_skipped)},
                    {"ratio", optional_json(c.ratio())},
                    {"native_memcpy_gbps", optional_json(c.native_memcpy_gbps)},
                    {"native_ratio", optional_json(c.native_ratio())}});
  }
  return rows;
}

void print_throughput(std::FILE* out, const std::vector<ThroughputResult>& all) {
  fmt::print(out, "{:<36} {:>14} {:>15} {:>14} {:>8} {:>15} {:>9} {:>10}\n", "throughput",
             "device GFLOP/s", "its job GFLOP/s", "host GFLOP/s", "ratio", "native GFLOP/s",
             "/ native", "max |diff|");
  for (const ThroughputResult& r : all) {
    fmt::print(out, "{:<36} {:>14} {:>15} {:>14.2f} {:>8} {:>15} {:>9} {:>10}\n", r.name,
               format_optional(r.device_gflops(), "{:.2f}"),
               format_optional(r.device_job_gflops(), "{:.2f}"), r.host_gflops(),
               format_optional(r.ratio(), "{:.2f}"), format_optional(r.native_gflops, "{:.2f}"),
               format_optional(r.native_ratio(), "{:.2f}"),
               format_optional(r.max_difference, "{:.2g}"));
    if (r.device_skipped) {
      fmt::print(out, "  device: {}\n", *r.device_skipped);
    }
  }
}

// The same workloads streamed: jobs back to back on --streams queues.
void print_streamed(std::FILE* out, const std::vector<ThroughputResult>& all) {
  const auto streamed = std::ranges::find_if(
      all, [](const ThroughputResult& r) { return r.device_streamed_seconds.has_value(); });
  if (streamed == all.end()) {
    return;
  }
  fmt::print(out, "\n{:<36} {:>14} {:>14} {:>8} {:>15} {:>9}\n",
             fmt::format("streamed, {} queue{} x {} in flight", streamed->device_streams,
                         streamed->device_streams == 1 ? "" : "s", kStreamDepth),
             "device GFLOP/s", "host GFLOP/s", "ratio", "native GFLOP/s", "/ native");
  for (const ThroughputResult& r : all) {
    fmt::print(out, "{:<36} {:>14} {:>14.2f} {:>8} {:>15} {:>9}\n", r.name,
               format_optional(r.device_streamed_gflops(), "{:.2f}"), r.host_gflops(),
               format_optional(r.streamed_ratio(), "{:.2f}"),
               format_optional(r.native_gflops, "{:.2f}"),
               format_optional(r.native_streamed_ratio(), "{:.2f}"));
  }
}

void print_copy(std::FILE* out, const std::vector<CopyResult>& all) {
  if (all.empty()) {
    return;
  }
  fmt::print(out, "\n{:<36} {:>14} {:>14} {:>14} {:>8} {:>15} {:>9}\n",
             fmt::format("DMA copy, {} MiB", all.front().bytes >> 20), "device GB/s",
             "its job GB/s", "memcpy GB/s", "ratio", "native GB/s", "/ native");
  for (const CopyResult& c : all) {
    fmt::print(out, "{:<36} {:>14} {:>14} {:>14.2f} {:>8} {:>15} {:>9}\n", c.name,
               format_optional(c.device_gbps(), "{:.2f}"),
               format_optional(c.device_job_gbps(), "{:.2f}"), c.memcpy_gbps(),
               format_optional(c.ratio(), "{:.2f}"),
               format_optional(c.native_memcpy_gbps, "{:.2f}"),
               format_optional(c.native_ratio(), "{:.2f}"));
    if (c.device_skipped) {
      fmt::print(out, "  device: {}\n", *c.device_skipped);
    }
  }
}

}  // namespace

std::optional<double> ThroughputResult::device_gflops() const {
  if (!device_seconds) {
    return std::nullopt;
  }
  return flops / *device_seconds / 1e9;
}

std::optional<double> ThroughputResult::device_job_gflops() const {
  return gflops(flops, device_job_seconds);
}

std::optional<double> ThroughputResult::device_streamed_gflops() const {
  return gflops(flops, device_streamed_seconds);
}

std::optional<double> ThroughputResult::ratio() const {
  if (!device_seconds) {
    return std::nullopt;
  }
  return host_seconds / *device_seconds;
}

std::optional<double> ThroughputResult::native_ratio() const {
  return over(device_gflops(), native_gflops);
}

std::optional<double> ThroughputResult::streamed_ratio() const {
  return over(host_seconds, device_streamed_seconds);
}

std::optional<double> ThroughputResult::native_streamed_ratio() const {
  return over(device_streamed_gflops(), native_gflops);
}

nlohmann::json to_json(const BenchReport& report) {
  nlohmann::json throughput = nlohmann::json::array();
  for (const ThroughputResult& r : report.throughput) {
    throughput.push_back({{"name", r.name},
                          {"flops", r.flops},
                          {"host_seconds", r.host_seconds},
                          {"host_gflops", r.host_gflops()},
                          {"device_seconds", optional_json(r.device_seconds)},
                          {"device_gflops", optional_json(r.device_gflops())},
                          {"device_job_seconds", optional_json(r.device_job_seconds)},
                          {"device_job_gflops", optional_json(r.device_job_gflops())},
                          {"device_streams", r.device_streams},
                          {"device_streamed_seconds", optional_json(r.device_streamed_seconds)},
                          {"device_streamed_gflops", optional_json(r.device_streamed_gflops())},
                          {"streamed_ratio", optional_json(r.streamed_ratio())},
                          {"native_streamed_ratio", optional_json(r.native_streamed_ratio())},
                          {"device_skipped", optional_json(r.device_skipped)},
                          {"ratio", optional_json(r.ratio())},
                          {"native_gflops", optional_json(r.native_gflops)},
                          {"native_ratio", optional_json(r.native_ratio())},
                          {"max_difference", optional_json(r.max_difference)}});
  }
  const LatencyResults& l = report.latency;
  nlohmann::json latency = {
      {"empty_job", l.empty_job ? to_json(*l.empty_job) : nlohmann::json(nullptr)},
      {"null_ioctl", l.null_ioctl ? to_json(*l.null_ioctl) : nlohmann::json(nullptr)},
      {"ping_pong", to_json(l.ping_pong)},
      {"empty_job_over_ping_pong", optional_json(median_ratio(l.empty_job, l.ping_pong))},
      {"empty_job_over_null_ioctl", l.null_ioctl
                                        ? optional_json(median_ratio(l.empty_job, *l.null_ioctl))
                                        : nlohmann::json(nullptr)},
      {"submission", l.submission ? to_json(*l.submission) : nlohmann::json(nullptr)},
      {"empty_job_stages",
       l.empty_job_stages ? to_json(*l.empty_job_stages) : nlohmann::json(nullptr)},
      {"queue_throughput", to_json(l.queue_throughput)},
  };
  return {{"schema", kSchemaVersion},
          {"device", report.device},
          {"host_threads", report.host_threads},
          {"host_baseline", host_baseline_json(report)},
          {"throughput", throughput},
          {"copy", copy_json(report.copy)},
          {"latency", latency},
          {"models", models_json(report)}};
}

void print_table(std::FILE* out, const BenchReport& report) {
  fmt::print(out, "device: {}; host baseline: oneDNN and memcpy, {} threads, in this process\n",
             report.device, report.host_threads);
  if (report.host_baseline) {
    fmt::print(out, "native: {} (npu-bench --host-only, {} threads)\n", report.host_baseline->file,
               report.host_baseline->threads);
  }
  fmt::print(out, "\n");
  print_throughput(out, report.throughput);
  print_streamed(out, report.throughput);
  print_copy(out, report.copy);
  const LatencyResults& l = report.latency;
  fmt::print(out, "\n{:<36} {:>14} {:>14}\n", "latency", "median us", "p99 us");
  const auto row = [&](std::string_view name, const std::optional<LatencyStats>& stats) {
    fmt::print(out, "{:<36} {:>14} {:>14}\n", name,
               format_optional(stats ? std::optional(stats->median_us) : std::nullopt, "{:.1f}"),
               format_optional(stats ? std::optional(stats->p99_us) : std::nullopt, "{:.1f}"));
  };
  row("empty job (submit -> fence -> wake)", l.empty_job);
  row("null ioctl (GET_PARAM)", l.null_ioctl);
  row("two-thread ping-pong wake-up", l.ping_pong);
  fmt::print(out, "empty job / ping-pong: {}x; empty job / null ioctl: {}x\n",
             format_optional(median_ratio(l.empty_job, l.ping_pong), "{:.1f}"),
             format_optional(l.null_ioctl ? median_ratio(l.empty_job, *l.null_ioctl) : std::nullopt,
                             "{:.0f}"));
  if (const std::optional<SubmissionCost>& s = l.submission) {
    const auto [submit, total] = batch_ratios(*s);
    fmt::print(out, "\n{:<36} {:>14} {:>14}\n", fmt::format("{} empty jobs", s->jobs), "submit us",
               "total us");
    fmt::print(out, "{:<36} {:>14.1f} {:>14.1f}\n", "one submit per job",
               s->single.submit.median_us, s->single.total.median_us);
    fmt::print(out, "{:<36} {:>14.1f} {:>14.1f}\n",
               s->batch_ioctl ? "one batch (SUBMIT_BATCH)" : "one batch (SUBMIT per job)",
               s->batch.submit.median_us, s->batch.total.median_us);
    fmt::print(out, "batch / single: {:.2f} in submit calls, {:.2f} until the last job finished\n",
               submit, total);
  }
  if (l.empty_job_stages) {
    print_stages(out, *l.empty_job_stages);
  }
  if (!l.queue_throughput.empty()) {
    print_queue_throughput(out, l.queue_throughput);
  }
  print_models(out, report);
}

}  // namespace npu_bench
