#include "copy_bandwidth.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cstring>
#include <stdexcept>
#include <system_error>
#include <vector>

#include "npu/npu.hpp"
#include "statistics.hpp"

namespace npu_bench {
namespace {

using npu::MemoryPlacement;

constexpr auto kJobTimeout = std::chrono::minutes(1);

struct CopyCase {
  const char* name;
  MemoryPlacement source;
  MemoryPlacement destination;
};

constexpr CopyCase kCases[] = {
    {"host -> host", MemoryPlacement::host, MemoryPlacement::host},
    {"host -> device", MemoryPlacement::host, MemoryPlacement::device},
    {"device -> device", MemoryPlacement::device, MemoryPlacement::device},
};

// Bytes that differ from one copy to the next, so a stale destination shows.
std::vector<std::byte> pattern(std::uint64_t bytes) {
  std::vector<std::byte> data(bytes);
  std::uint32_t x = 0x9e3779b9U;
  for (std::byte& b : data) {
    x = x * 1664525U + 1013904223U;
    b = static_cast<std::byte>(x >> 24);
  }
  return data;
}

double memcpy_seconds(const std::vector<std::byte>& source, unsigned runs) {
  std::vector<std::byte> destination(source.size(), std::byte{0});
  const double seconds =
      median_seconds(runs, [&] { std::memcpy(destination.data(), source.data(), source.size()); });
  if (destination != source) {
    throw std::runtime_error("memcpy baseline: the copy differs from its source");
  }
  return seconds;
}

// The median of submit -> wake-up, and of the device's own times of the
// timed jobs when every one has them.
struct DeviceCopyTimes {
  double seconds = 0;
  std::optional<double> job_seconds;
};

DeviceCopyTimes device_copy_seconds(const npu::Device& device, const CopyCase& c,
                                    const std::vector<std::byte>& source_bytes, unsigned runs) {
  npu::KernelBuilder builder("bench_dma_copy");
  const auto dst = builder.arg_buffer("dst");
  const auto src = builder.arg_buffer("src");
  // An immediate: main() keeps copies within 32 bits.
  builder.dma_copy(dst, src, static_cast<std::uint32_t>(source_bytes.size()));
  const npu::Kernel kernel = device.load_kernel(builder.build());
  const npu::Buffer source = device.allocate(source_bytes.size(), {.placement = c.source});
  const npu::Buffer destination =
      device.allocate(source_bytes.size(), {.placement = c.destination});
  std::memcpy(source.map().data(), source_bytes.data(), source_bytes.size());
  npu::KernelArguments args = kernel.make_arguments();
  args.set("dst", destination).set("src", source);
  npu::Queue queue = device.create_queue();
  std::vector<DeviceJobTime> job_times;
  DeviceCopyTimes times;
  times.seconds = median_seconds(runs, [&] {
    const npu::JobResult result = queue.submit(kernel, args).wait(kJobTimeout);
    if (!result.ok()) {
      throw std::runtime_error(fmt::format("DMA copy {}: {} {}", c.name,
                                           npu::to_string(result.status),
                                           npu::to_string(result.error)));
    }
    job_times.push_back(job_time(result));
  });
  times.job_seconds = median_job_seconds(job_times, runs);
  const auto copied = destination.map();
  if (std::memcmp(copied.data(), source_bytes.data(), source_bytes.size()) != 0) {
    throw std::runtime_error(fmt::format("DMA copy {}: the copy differs from its source", c.name));
  }
  return times;
}

std::optional<std::string> why_not(const npu::Device& device, const CopyCase& c) {
  const bool needs_device_memory =
      c.source == MemoryPlacement::device || c.destination == MemoryPlacement::device;
  if (!device.properties().supports(npu::isa::Opcode::dma_copy)) {
    return "the device does not execute DMA_COPY (OPS)";
  }
  if (needs_device_memory && !device.properties().has(npu::Capability::device_memory)) {
    return "the device has no device memory";
  }
  return std::nullopt;
}

}  // namespace

double CopyResult::memcpy_gbps() const {
  return static_cast<double>(bytes) / memcpy_seconds / 1e9;
}

std::optional<double> CopyResult::device_gbps() const {
  if (!device_seconds) {
    return std::nullopt;
  }
  return static_cast<double>(bytes) / *device_seconds / 1e9;
}

std::optional<double> CopyResult::device_job_gbps() const {
  if (!device_job_seconds || *device_job_seconds <= 0) {
    return std::nullopt;
  }
  return static_cast<double>(bytes) / *device_job_seconds / 1e9;
}

std::optional<double> CopyResult::ratio() const {
  if (!device_seconds) {
    return std::nullopt;
  }
  return memcpy_seconds / *device_seconds;
}

std::optional<double> CopyResult::native_ratio() const {
  const std::optional<double> gbps = device_gbps();
  if (!gbps || !native_memcpy_gbps || *native_memcpy_gbps <= 0) {
    return std::nullopt;
  }
  return *gbps / *native_memcpy_gbps;
}

std::vector<CopyResult> measure_copy_bandwidth(const npu::Device* device, std::uint64_t bytes,
                                               unsigned runs) {
  const std::vector<std::byte> source = pattern(bytes);
  const double baseline = memcpy_seconds(source, runs);
  std::vector<CopyResult> results;
  for (const CopyCase& c : kCases) {
    CopyResult result{c.name, bytes, baseline, {}, {}, {}, {}};
    if (device == nullptr) {
      result.device_skipped = "no device (--host-only)";
    } else if (auto why = why_not(*device, c)) {
      result.device_skipped = std::move(why);
    } else {
      fmt::print(stderr, "npu-bench: DMA copy {}, {} MiB\n", c.name, bytes >> 20);
      try {
        const DeviceCopyTimes times = device_copy_seconds(*device, c, source, runs);
        result.device_seconds = times.seconds;
        result.device_job_seconds = times.job_seconds;
      } catch (const std::system_error& e) {
        // A copy larger than the device can hold is a case it cannot run,
        // as without device memory: skipped with the reason, not a failed run.
        if (e.code() != npu::errc::out_of_device_memory) {
          throw;
        }
        result.device_skipped =
            fmt::format("the device cannot hold the buffers ({} MiB of device memory): {}",
                        device->properties().devmem_size >> 20, e.what());
      }
    }
    results.push_back(std::move(result));
  }
  return results;
}

}  // namespace npu_bench
