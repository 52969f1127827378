#include "validate.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <optional>
#include <vector>

#include "format.hpp"
#include "health_job.hpp"
#include "npu/npu.hpp"

namespace npu_run {
namespace {

std::string version_text(std::uint32_t version) {
  return fmt::format("{}.{}", version >> 16, version & 0xffff);
}

std::string firmware_text(std::uint32_t version) {
  return fmt::format("{}.{}.{}", version >> 24, (version >> 16) & 0xff, version & 0xffff);
}

std::string supported_ops(const npu::DeviceProperties& properties) {
  std::vector<std::string_view> names;
  for (const npu::isa::OpcodeInfo& op : npu::isa::opcode_table()) {
    if (properties.supports(op.opcode)) {
      names.push_back(op.mnemonic);
    }
  }
  return fmt::format("{}", fmt::join(names, " "));
}

std::string supported_dtypes(const npu::DeviceProperties& properties) {
  std::vector<std::string_view> names;
  for (auto dtype : {npu::isa::DataType::fp32, npu::isa::DataType::fp16, npu::isa::DataType::bf16,
                     npu::isa::DataType::int8, npu::isa::DataType::int32}) {
    if (properties.supports(dtype)) {
      names.push_back(npu::isa::name(dtype));
    }
  }
  return names.empty() ? std::string("(none: byte-oriented instructions only)")
                       : fmt::format("{}", fmt::join(names, " "));
}

void print_properties(const npu::Device& device) {
  const npu::DeviceInfo& info = device.info();
  const npu::DeviceProperties& p = device.properties();
  fmt::print("Device {}: {}  {}\n", info.index, info.pci_address, info.device_node);
  fmt::print("  {:<15} {} (uapi {})\n", "driver", device.driver_version().to_string(),
             version_text(p.uapi_version));
  fmt::print("  {:<15} {:04x}:{:04x} rev {}, hw {}, firmware {}, serial {:#x}\n", "hardware",
             info.vendor_id, info.device_id, p.revision, version_text(p.hw_version),
             firmware_text(p.fw_version), p.serial);
  fmt::print("  {:<15} {} at {} MHz\n", "cores", p.num_cores, device.clock_mhz());
  fmt::print("  {:<15} {}\n", "queues", p.num_queues);
  fmt::print("  {:<15} {} per core\n", "sram", format_bytes(p.sram_size));
  fmt::print("  {:<15} {}\n", "device memory", format_bytes(p.devmem_size));
  fmt::print("  {:<15} {}\n", "ops", supported_ops(p));
  fmt::print("  {:<15} {}\n", "dtypes", supported_dtypes(p));
}

bool run_fill_copy(const npu::Device& device, npu::Queue& queue, std::uint64_t bytes) {
  const npu_tools::FillCopyOutcome outcome = npu_tools::run_fill_copy(device, queue, bytes);
  if (!outcome.job.ok()) {
    fmt::print("  {:<15} FAIL: {}\n", "dma fill+copy", npu_tools::describe_failed_job(outcome.job));
    return false;
  }
  if (const std::optional<npu_tools::PatternMismatch>& m = outcome.mismatch) {
    fmt::print("  {:<15} FAIL: {} byte {} is {:#04x}\n", "dma fill+copy", m->buffer, m->offset,
               m->actual);
    return false;
  }
  fmt::print("  {:<15} {} verified, job round trip {}\n", "dma fill+copy", format_bytes(bytes),
             format_duration(outcome.round_trip));
  return true;
}

bool measure_empty_jobs(const npu::Device& device, npu::Queue& queue, int samples) {
  const npu_tools::EmptyJobLatency latency = npu_tools::measure_empty_jobs(device, queue, samples);
  if (const std::optional<npu::JobResult>& failed = latency.failed_job) {
    fmt::print("  {:<15} FAIL: empty job {} ({})\n", "latency", npu::to_string(failed->status),
               npu::to_string(failed->error));
    return false;
  }
  fmt::print("  {:<15} empty job round trip: min {}, median {} ({} jobs)\n", "latency",
             format_duration(latency.min), format_duration(latency.median), samples);
  return true;
}

bool validate_device(const npu::DeviceInfo& info, const ValidateOptions& options) {
  try {
    const npu::Device device = npu::Device::open(info.index);
    print_properties(device);
    npu::Queue queue = device.create_queue();
    const bool passed = run_fill_copy(device, queue, options.bytes) &&
                        measure_empty_jobs(device, queue, options.latency_samples);
    fmt::print("  {:<15} {}\n", "result", passed ? "PASS" : "FAIL");
    return passed;
  } catch (const std::exception& e) {
    fmt::print("Device {}: {}  {}\n  {:<15} FAIL: {}\n", info.index, info.pci_address,
               info.device_node, "error", e.what());
    return false;
  }
}

}  // namespace

int validate_devices(const ValidateOptions& options) {
  const std::vector<npu::DeviceInfo> devices = npu::enumerate_devices();
  if (devices.empty()) {
    fmt::print(
        "No knpu device found: is knpu.ko loaded (lsmod), is there a /dev/accel/accel* node, "
        "and does {} hide them?\n",
        npu::kVisibleDevicesVariable);
    return 1;
  }
  std::size_t passed = 0;
  for (const npu::DeviceInfo& info : devices) {
    passed += validate_device(info, options) ? 1U : 0U;
  }
  fmt::print("Validation: {} of {} device(s) passed\n", passed, devices.size());
  return passed == devices.size() ? 0 : 1;
}

}  // namespace npu_run
