#include "health_job.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <span>
#include <vector>

namespace npu_tools {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::uint32_t kPattern = 0xA5C3'5A3C;
constexpr std::byte kHostPattern{0x11};
constexpr std::chrono::seconds kJobTimeout{30};

npu::KernelImage fill_copy_kernel() {
  npu::KernelBuilder b("health_fill_copy");
  auto dst = b.arg_buffer("dst");
  auto src = b.arg_buffer("src");
  auto bytes = b.arg_scalar("bytes");
  auto pattern = b.arg_scalar("pattern");
  b.dma_fill(src, bytes, pattern).barrier().dma_copy(dst, src, bytes);
  return b.build();
}

npu::KernelImage empty_kernel() {
  npu::KernelBuilder b("health_empty");
  b.nop();
  return b.build();
}

// The first of COUNT bytes that is not byte (i mod 4) of the pattern.
std::optional<PatternMismatch> first_mismatch(std::string_view what,
                                              std::span<const std::byte> bytes,
                                              std::uint64_t count) {
  for (std::size_t i = 0; i < count; ++i) {
    const auto expected = static_cast<std::byte>((kPattern >> (8 * (i % 4))) & 0xff);
    if (bytes[i] != expected) {
      return PatternMismatch{what, i, std::to_integer<unsigned>(bytes[i]),
                             std::to_integer<unsigned>(expected)};
    }
  }
  return std::nullopt;
}

}  // namespace

FillCopyOutcome run_fill_copy(const npu::Device& device, npu::Queue& queue, std::uint64_t bytes) {
  const npu::Kernel kernel = device.load_kernel(fill_copy_kernel());
  npu::Buffer src = device.allocate(bytes);
  npu::Buffer dst = device.allocate(bytes);
  std::ranges::fill(dst.map(), kHostPattern);
  npu::KernelArguments args = kernel.make_arguments();
  args.set("dst", dst).set("src", src).set("bytes", bytes).set("pattern", kPattern);
  FillCopyOutcome outcome;
  const auto start = Clock::now();
  outcome.job = queue.submit(kernel, args).wait(kJobTimeout);
  outcome.round_trip = Clock::now() - start;
  if (outcome.job.ok()) {
    outcome.mismatch = first_mismatch("source", src.map(), bytes);
    if (!outcome.mismatch) {
      outcome.mismatch = first_mismatch("destination", dst.map(), bytes);
    }
  }
  return outcome;
}

EmptyJobLatency measure_empty_jobs(const npu::Device& device, npu::Queue& queue, int samples) {
  const npu::Kernel kernel = device.load_kernel(empty_kernel());
  EmptyJobLatency latency;
  std::vector<std::chrono::nanoseconds> times;
  for (int i = 0; i < samples; ++i) {
    const auto start = Clock::now();
    const npu::JobResult result = queue.submit(kernel, kernel.make_arguments()).wait(kJobTimeout);
    times.push_back(Clock::now() - start);
    if (!result.ok()) {
      latency.failed_job = result;
      return latency;
    }
  }
  std::ranges::sort(times);
  if (!times.empty()) {
    latency.min = times.front();
    latency.median = times[times.size() / 2];
  }
  return latency;
}

std::string describe_failed_job(const npu::JobResult& result) {
  return fmt::format("job {} ({}) at {:#x}", npu::to_string(result.status),
                     npu::to_string(result.error), result.error_address);
}

}  // namespace npu_tools
