#include "health.hpp"

#include <fmt/format.h>

#include <optional>

#include "health_job.hpp"
#include "npu/npu.hpp"

namespace npu_smi {
namespace {

constexpr std::uint64_t kFillCopyBytes = 1 << 20;

}  // namespace

std::string format_us(std::chrono::nanoseconds duration) {
  return fmt::format("{:.1f} us", static_cast<double>(duration.count()) / 1000.0);
}

HealthResult run_health_job(std::size_t index, int latency_samples) {
  HealthResult r;
  try {
    const npu::Device device = npu::Device::open(index);
    npu::Queue queue = device.create_queue();

    const npu_tools::FillCopyOutcome fill_copy =
        npu_tools::run_fill_copy(device, queue, kFillCopyBytes);
    r.fill_copy = fill_copy.round_trip;
    if (!fill_copy.job.ok()) {
      r.error = "fill+copy " + npu_tools::describe_failed_job(fill_copy.job);
      return r;
    }
    if (const std::optional<npu_tools::PatternMismatch>& m = fill_copy.mismatch) {
      r.error = fmt::format("{} byte {} is {:#04x}, expected {:#04x}", m->buffer, m->offset,
                            m->actual, m->expected);
      return r;
    }

    const npu_tools::EmptyJobLatency latency =
        npu_tools::measure_empty_jobs(device, queue, latency_samples);
    if (latency.failed_job) {
      r.error = "empty " + npu_tools::describe_failed_job(*latency.failed_job);
      return r;
    }
    r.empty_job_min = latency.min;
    r.empty_job_median = latency.median;
    r.passed = true;
  } catch (const std::exception& e) {
    r.error = e.what();
  }
  return r;
}

}  // namespace npu_smi
