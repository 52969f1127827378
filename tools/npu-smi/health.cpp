#include "health.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "npu/npu.hpp"

namespace npu_smi {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::uint32_t kPattern = 0xA5C3'5A3C;
constexpr std::uint64_t kBytes = 1 << 20;
constexpr std::chrono::seconds kJobTimeout{30};

npu::KernelImage fill_copy_kernel() {
  npu::KernelBuilder b("npu_smi_fill_copy");
  auto dst = b.arg_buffer("dst");
  auto src = b.arg_buffer("src");
  auto bytes = b.arg_scalar("bytes");
  auto pattern = b.arg_scalar("pattern");
  b.dma_fill(src, bytes, pattern).barrier().dma_copy(dst, src, bytes);
  return b.build();
}

npu::KernelImage empty_kernel() {
  npu::KernelBuilder b("npu_smi_empty");
  b.nop();
  return b.build();
}

std::string job_error(const npu::JobResult& result) {
  return fmt::format("job {} ({}) at {:#x}", npu::to_string(result.status),
                     npu::to_string(result.error), result.error_address);
}

// The first byte of BUFFER that is not the fill pattern, as an error.
std::string check_pattern(std::string_view what, npu::Buffer& buffer) {
  const auto bytes = buffer.map();
  for (std::size_t i = 0; i < kBytes; ++i) {
    const auto expected = static_cast<std::byte>((kPattern >> (8 * (i % 4))) & 0xff);
    if (bytes[i] != expected) {
      return fmt::format("{} byte {} is {:#04x}, expected {:#04x}", what, i,
                         std::to_integer<unsigned>(bytes[i]), std::to_integer<unsigned>(expected));
    }
  }
  return {};
}

}  // namespace

std::string format_us(std::chrono::nanoseconds duration) {
  return fmt::format("{:.1f} us", static_cast<double>(duration.count()) / 1000.0);
}

HealthResult run_health_job(std::size_t index, int latency_samples) {
  HealthResult r;
  try {
    const npu::Device device = npu::Device::open(index);
    npu::Queue queue = device.create_queue();

    const npu::Kernel fill_copy = device.load_kernel(fill_copy_kernel());
    npu::Buffer src = device.allocate(kBytes);
    npu::Buffer dst = device.allocate(kBytes);
    std::ranges::fill(dst.map(), std::byte{0x11});
    npu::KernelArguments args = fill_copy.make_arguments();
    args.set("dst", dst).set("src", src).set("bytes", kBytes).set("pattern", kPattern);
    const auto start = Clock::now();
    const npu::JobResult result = queue.submit(fill_copy, args).wait(kJobTimeout);
    r.fill_copy = Clock::now() - start;
    if (!result.ok()) {
      r.error = "fill+copy " + job_error(result);
      return r;
    }
    if (r.error = check_pattern("source", src); !r.error.empty()) {
      return r;
    }
    if (r.error = check_pattern("destination", dst); !r.error.empty()) {
      return r;
    }

    const npu::Kernel empty = device.load_kernel(empty_kernel());
    std::vector<std::chrono::nanoseconds> times;
    for (int i = 0; i < latency_samples; ++i) {
      const auto job_start = Clock::now();
      const npu::JobResult empty_result =
          queue.submit(empty, empty.make_arguments()).wait(kJobTimeout);
      times.push_back(Clock::now() - job_start);
      if (!empty_result.ok()) {
        r.error = "empty " + job_error(empty_result);
        return r;
      }
    }
    std::ranges::sort(times);
    if (!times.empty()) {
      r.empty_job_min = times.front();
      r.empty_job_median = times[times.size() / 2];
    }
    r.passed = true;
  } catch (const std::exception& e) {
    r.error = e.what();
  }
  return r;
}

}  // namespace npu_smi
