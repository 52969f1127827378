#include "device_health.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <exception>
#include <filesystem>

#include "npu/npu.hpp"

namespace knpu::cluster {
namespace {

constexpr std::uint32_t kProbePattern = 0x4b4e'5055;  // "KNPU"
constexpr std::uint64_t kProbeBytes = 256;

npu::KernelImage probe_kernel() {
  npu::KernelBuilder b("health_probe");
  auto dst = b.arg_buffer("dst");
  auto bytes = b.arg_scalar("bytes");
  auto pattern = b.arg_scalar("pattern");
  b.dma_fill(dst, bytes, pattern);
  return b.build();
}

bool holds_pattern(std::span<const std::byte> bytes) {
  for (std::size_t i = 0; i < kProbeBytes; ++i) {
    if (bytes[i] != static_cast<std::byte>((kProbePattern >> (8 * (i % 4))) & 0xff)) {
      return false;
    }
  }
  return true;
}

}  // namespace

HealthVerdict judge_health(const HealthProbe& probe) {
  if (!probe.node_present) {
    return {false, "device node missing"};
  }
  if (!probe.error.empty()) {
    return {false, probe.error};
  }
  if (!probe.job) {
    return {false, "probe job not submitted"};
  }
  if (probe.job->status == npu::JobStatus::timeout) {
    return {false, "probe job did not finish in time (device wedged or stopped)"};
  }
  if (!probe.job->ok()) {
    return {false, fmt::format("probe job {} ({})", npu::to_string(probe.job->status),
                               npu::to_string(probe.job->error))};
  }
  if (!probe.output_verified) {
    return {false, "probe job completed but its output is wrong"};
  }
  return {true, {}};
}

HealthProbe probe_device(const std::string& device_node, std::chrono::milliseconds job_timeout) {
  HealthProbe probe;
  probe.node_present = std::filesystem::exists(device_node);
  if (!probe.node_present) {
    return probe;
  }
  try {
    const npu::Device device = npu::Device::open_node(device_node);
    npu::Queue queue = device.create_queue(npu::QueuePriority::low);
    const npu::Kernel kernel = device.load_kernel(probe_kernel());
    npu::Buffer output = device.allocate(kProbeBytes);
    std::ranges::fill(output.map(), std::byte{0});
    npu::KernelArguments args = kernel.make_arguments();
    args.set("dst", output).set("bytes", kProbeBytes).set("pattern", kProbePattern);
    probe.job = queue.submit(kernel, args).wait(job_timeout);
    probe.output_verified = probe.job->ok() && holds_pattern(output.map());
  } catch (const std::exception& e) {
    probe.error = e.what();
  }
  return probe;
}

}  // namespace knpu::cluster
