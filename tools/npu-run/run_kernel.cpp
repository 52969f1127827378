#include "run_kernel.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <stdexcept>

#include "format.hpp"
#include "hexdump.hpp"
#include "npu/npu.hpp"

namespace npu_run {
namespace {

using Buffers = std::map<std::string, npu::Buffer, std::less<>>;

Buffers allocate_buffers(const npu::Device& device, const RunOptions& options) {
  Buffers buffers;
  for (const BufferSpec& spec : options.buffers) {
    if (buffers.contains(spec.name)) {
      throw std::invalid_argument(fmt::format("--buffer {} given twice", spec.name));
    }
    buffers.emplace(spec.name, device.allocate(spec.size, {.placement = spec.placement}));
  }
  return buffers;
}

npu::Buffer& find_buffer(Buffers& buffers, const std::string& name, std::string_view option) {
  const auto it = buffers.find(name);
  if (it == buffers.end()) {
    throw std::invalid_argument(fmt::format("{} {}: no --buffer of that name", option, name));
  }
  return it->second;
}

npu::KernelArguments bind_arguments(const npu::Kernel& kernel, const Buffers& buffers,
                                    const RunOptions& options) {
  npu::KernelArguments args = kernel.make_arguments();
  for (const auto& [name, buffer] : buffers) {
    args.set(name, buffer);
  }
  for (const ScalarSpec& scalar : options.scalars) {
    args.set(scalar.name, scalar.value);
  }
  return args;
}

void report(const npu::Kernel& kernel, const npu::JobResult& result,
            std::chrono::nanoseconds elapsed) {
  if (result.ok()) {
    fmt::print("{}: ok in {}\n", kernel.name(), format_duration(elapsed));
  } else if (result.status == npu::JobStatus::failed) {
    fmt::print("{}: failed: {} at {:#x}\n", kernel.name(), npu::to_string(result.error),
               result.error_address);
  } else {
    fmt::print("{}: {} {}\n", kernel.name(), npu::to_string(result.status),
               result.error == npu::JobError::none ? "" : npu::to_string(result.error));
  }
}

}  // namespace

int run_kernel(const RunOptions& options) {
  const npu::KernelImage image = npu::read_kernel_file(options.kernel_path);
  const npu::Device device = npu::Device::open(options.device_index);
  const npu::Kernel kernel = device.load_kernel(image);
  Buffers buffers = allocate_buffers(device, options);
  for (const FillSpec& fill : options.fills) {
    std::ranges::fill(find_buffer(buffers, fill.name, "--fill").map(), std::byte{fill.byte});
  }
  const npu::KernelArguments args = bind_arguments(kernel, buffers, options);
  npu::Queue queue = device.create_queue();
  const auto start = std::chrono::steady_clock::now();
  const npu::JobResult result = queue.submit(kernel, args).wait(options.timeout);
  report(kernel, result, std::chrono::steady_clock::now() - start);
  for (const std::string& name : options.dumps) {
    npu::Buffer& buffer = find_buffer(buffers, name, "--dump");
    fmt::print("{} ({}):\n", name, format_bytes(buffer.size()));
    hexdump(stdout, buffer.map());
  }
  return result.ok() ? 0 : 1;
}

}  // namespace npu_run
