#include "tensor_files.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <stdexcept>

namespace npu_run {

InputTensor read_input(const InputSpec& spec) {
  InputTensor tensor{spec, {}, {}};
  if (spec.npy) {
    NpyArray array = read_npy_file(spec.path);
    tensor.header = std::move(array.header);
    tensor.data = std::move(array.data);
  } else {
    std::ifstream in(spec.path, std::ios::binary);
    if (!in) {
      throw std::runtime_error(fmt::format("{}: cannot open", spec.path));
    }
    std::vector<char> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    const auto view = std::as_bytes(std::span(bytes));
    tensor.data.assign(view.begin(), view.end());
  }
  if (tensor.data.empty()) {
    throw std::invalid_argument(fmt::format("--input {}: {} holds no data", spec.name, spec.path));
  }
  return tensor;
}

std::optional<NpyHeader> output_header(const OutputSpec& spec,
                                       std::span<const InputTensor> inputs) {
  if (!spec.npy || spec.header) {
    return spec.header;
  }
  const auto input = std::ranges::find_if(
      inputs, [&](const InputTensor& t) { return t.spec.name == spec.name && t.header; });
  if (input == inputs.end()) {
    throw std::invalid_argument(
        fmt::format("--output {}={}: give its type and shape (FILE.npy:TYPE:SHAPE), or an "
                    ".npy --input of the same name",
                    spec.name, spec.path));
  }
  return input->header;
}

std::size_t output_size(const OutputSpec& spec, const std::optional<NpyHeader>& header,
                        std::size_t buffer_size) {
  const std::uint64_t size = header ? header->data_size() : spec.raw_size.value_or(buffer_size);
  if (size > buffer_size) {
    throw std::invalid_argument(fmt::format("--output {}: needs {} bytes, the buffer has {}",
                                            spec.name, size, buffer_size));
  }
  return static_cast<std::size_t>(size);
}

void write_output(const OutputSpec& spec, const std::optional<NpyHeader>& header,
                  std::span<const std::byte> bytes) {
  if (header) {
    write_npy_file(spec.path, *header, bytes);
    return;
  }
  std::ofstream out(spec.path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) {
    throw std::runtime_error(fmt::format("{}: cannot write", spec.path));
  }
}

}  // namespace npu_run
