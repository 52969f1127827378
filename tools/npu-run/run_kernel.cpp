#include "run_kernel.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <span>
#include <stdexcept>
#include <vector>

#include "format.hpp"
#include "hexdump.hpp"
#include "npu/npu.hpp"
#include "tensor_files.hpp"

namespace npu_run {
namespace {

using Buffers = std::map<std::string, npu::Buffer, std::less<>>;

void add_buffer(Buffers& buffers, const npu::Device& device, const std::string& name,
                std::uint64_t size, npu::MemoryPlacement placement, std::string_view option) {
  if (buffers.contains(name)) {
    throw std::invalid_argument(fmt::format("{} {}: that buffer is already defined", option, name));
  }
  buffers.emplace(name, device.allocate(size, {.placement = placement}));
}

// Buffers from --buffer, then for each --input and --output that names no
// buffer yet, one of the size of its data.
Buffers allocate_buffers(const npu::Device& device, const RunOptions& options,
                         std::span<const InputTensor> inputs) {
  Buffers buffers;
  for (const BufferSpec& spec : options.buffers) {
    add_buffer(buffers, device, spec.name, spec.size, spec.placement, "--buffer");
  }
  for (const InputTensor& input : inputs) {
    if (!buffers.contains(input.spec.name)) {
      add_buffer(buffers, device, input.spec.name, input.data.size(), input.spec.placement,
                 "--input");
    }
  }
  for (const OutputSpec& output : options.outputs) {
    const std::optional<std::uint64_t> size = output.size();
    if (!buffers.contains(output.name)) {
      if (!size) {
        throw std::invalid_argument(fmt::format(
            "--output {}: no --buffer or --input of that name, and no size to allocate one",
            output.name));
      }
      add_buffer(buffers, device, output.name, *size, npu::MemoryPlacement::host, "--output");
    }
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

void report(const npu::KernelImage& image, const npu::JobResult& result,
            std::chrono::nanoseconds elapsed) {
  if (result.ok() && result.device_times) {
    fmt::print("{}: ok in {} (on the device {})\n", image.name, format_duration(elapsed),
               format_duration(result.device_times->end - result.device_times->start));
  } else if (result.ok()) {
    fmt::print("{}: ok in {}\n", image.name, format_duration(elapsed));
  } else if (result.status == npu::JobStatus::failed) {
    fmt::print("{}: failed: {}\n", image.name, npu::describe(result, &image));
  } else {
    fmt::print("{}: {}\n", image.name, npu::describe(result));
  }
}

struct PlannedOutput {
  const OutputSpec* spec;
  std::optional<NpyHeader> header;
  std::size_t size;
};

// Every output checked against its buffer before anything runs.
std::vector<PlannedOutput> plan_outputs(const RunOptions& options, Buffers& buffers,
                                        std::span<const InputTensor> inputs) {
  std::vector<PlannedOutput> planned;
  for (const OutputSpec& spec : options.outputs) {
    std::optional<NpyHeader> header = output_header(spec, inputs);
    const std::size_t size =
        output_size(spec, header, find_buffer(buffers, spec.name, "--output").size());
    planned.push_back({&spec, std::move(header), size});
  }
  return planned;
}

void load_inputs(Buffers& buffers, std::span<const InputTensor> inputs) {
  for (const InputTensor& input : inputs) {
    const std::span<std::byte> bytes = find_buffer(buffers, input.spec.name, "--input").map();
    if (input.data.size() > bytes.size()) {
      throw std::invalid_argument(fmt::format("--input {}: {} bytes do not fit its {}-byte buffer",
                                              input.spec.name, input.data.size(), bytes.size()));
    }
    std::ranges::copy(input.data, bytes.begin());
  }
}

}  // namespace

int run_kernel(const RunOptions& options) {
  const npu::KernelImage image = npu::read_kernel_file(options.kernel_path);
  std::vector<InputTensor> inputs;
  for (const InputSpec& spec : options.inputs) {
    inputs.push_back(read_input(spec));
  }
  const npu::Device device = npu::Device::open(options.device_index);
  const npu::Kernel kernel = device.load_kernel(image);
  Buffers buffers = allocate_buffers(device, options, inputs);
  const std::vector<PlannedOutput> outputs = plan_outputs(options, buffers, inputs);
  for (const FillSpec& fill : options.fills) {
    std::ranges::fill(find_buffer(buffers, fill.name, "--fill").map(), std::byte{fill.byte});
  }
  load_inputs(buffers, inputs);
  const npu::KernelArguments args = bind_arguments(kernel, buffers, options);
  npu::Queue queue = device.create_queue();
  const auto start = std::chrono::steady_clock::now();
  const npu::JobResult result = queue.submit(kernel, args).wait(options.timeout);
  report(image, result, std::chrono::steady_clock::now() - start);
  for (const std::string& name : options.dumps) {
    npu::Buffer& buffer = find_buffer(buffers, name, "--dump");
    fmt::print("{} ({}):\n", name, format_bytes(buffer.size()));
    hexdump(stdout, buffer.map());
  }
  if (!result.ok()) {
    return 1;
  }
  for (const PlannedOutput& output : outputs) {
    const auto bytes = find_buffer(buffers, output.spec->name, "--output").map().first(output.size);
    write_output(*output.spec, output.header, bytes);
    fmt::print("{}: {} bytes to {}\n", output.spec->name, output.size, output.spec->path);
  }
  return 0;
}

}  // namespace npu_run
