#include "external_data.hpp"

#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <optional>
#include <string>

#include "onnx_import.hpp"

namespace npu::onnx_runtime {

using npu::onnx::ModelError;

namespace {

// Bytes read per call: a tensor of any size goes through this much at a time.
constexpr std::uint64_t kReadChunk = std::uint64_t{4} << 20;

struct ExternalRange {
  std::filesystem::path file;
  std::uint64_t offset = 0;
  std::optional<std::uint64_t> length;  // none: to the end of the file
};

std::uint64_t parse_count(const std::string& tensor, const std::string& key,
                          const std::string& text) {
  std::uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || text.empty()) {
    throw ModelError(
        fmt::format("tensor '{}': external data {} '{}' is not a byte count", tensor, key, text));
  }
  return value;
}

// The file and byte range of `tensor`'s external data; the location must
// name a file inside `directory` (no absolute path, no way out by "..").
ExternalRange external_range(const ::onnx::TensorProto& tensor,
                             const std::filesystem::path& directory) {
  ExternalRange range;
  std::string location;
  for (const auto& entry : tensor.external_data()) {
    if (entry.key() == "location") {
      location = entry.value();
    } else if (entry.key() == "offset") {
      range.offset = parse_count(tensor.name(), entry.key(), entry.value());
    } else if (entry.key() == "length") {
      range.length = parse_count(tensor.name(), entry.key(), entry.value());
    }
  }
  if (location.empty()) {
    throw ModelError(fmt::format("tensor '{}' keeps its data in an external file but names none",
                                 tensor.name()));
  }
  const std::filesystem::path relative(location);
  const std::filesystem::path root = std::filesystem::weakly_canonical(directory);
  const std::filesystem::path file = std::filesystem::weakly_canonical(root / relative);
  const auto [root_end, file_it] = std::ranges::mismatch(root, file);
  if (relative.is_absolute() || relative.has_root_name() || root_end != root.end() ||
      file_it == file.end()) {
    throw ModelError(
        fmt::format("tensor '{}': external data location '{}' is outside the model's directory {}",
                    tensor.name(), location, root.string()));
  }
  range.file = file;
  return range;
}

// The bytes the tensor's type and shape need.
std::uint64_t expected_bytes(const ::onnx::TensorProto& tensor) {
  try {
    return static_cast<std::uint64_t>(
               element_count(Shape(tensor.dims().begin(), tensor.dims().end()))) *
           raw_element_size(tensor.data_type());
  } catch (const std::runtime_error& e) {
    throw ModelError(fmt::format("tensor '{}': {}", tensor.name(), e.what()));
  }
}

void load_tensor(::onnx::TensorProto& tensor, const std::filesystem::path& directory) {
  const ExternalRange range = external_range(tensor, directory);
  std::error_code error;
  const std::filesystem::file_status status = std::filesystem::status(range.file, error);
  if (!std::filesystem::is_regular_file(status)) {
    throw ModelError(
        fmt::format("tensor '{}': external data file {} {}", tensor.name(), range.file.string(),
                    std::filesystem::exists(status) ? "is not a regular file" : "does not exist"));
  }
  const std::uintmax_t file_size = std::filesystem::file_size(range.file, error);
  if (error) {
    throw ModelError(fmt::format("tensor '{}': external data file {}: {}", tensor.name(),
                                 range.file.string(), error.message()));
  }
  if (range.offset > file_size || (range.length && *range.length > file_size - range.offset)) {
    throw ModelError(fmt::format(
        "tensor '{}': external data at offset {} length {} is outside {} ({} bytes)", tensor.name(),
        range.offset, range.length ? fmt::to_string(*range.length) : "(to the end)",
        range.file.string(), file_size));
  }
  const std::uint64_t length = range.length.value_or(file_size - range.offset);
  if (raw_element_size(tensor.data_type()) == 0) {
    throw ModelError(fmt::format("tensor '{}': external data of element type {} is not supported",
                                 tensor.name(), tensor.data_type()));
  }
  const std::uint64_t want = expected_bytes(tensor);
  if (length != want) {
    throw ModelError(fmt::format(
        "tensor '{}' has {} bytes of external data for shape {} ({} bytes)", tensor.name(), length,
        to_string(Shape(tensor.dims().begin(), tensor.dims().end())), want));
  }
  std::ifstream in(range.file, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(range.offset));
  std::string& bytes = *tensor.mutable_raw_data();
  bytes.resize(static_cast<std::size_t>(length));
  for (std::uint64_t done = 0; done < length && in;) {
    const std::uint64_t chunk = std::min(kReadChunk, length - done);
    in.read(bytes.data() + done, static_cast<std::streamsize>(chunk));
    done += chunk;
  }
  if (!in) {
    throw ModelError(fmt::format("tensor '{}': reading external data from {} failed", tensor.name(),
                                 range.file.string()));
  }
  tensor.clear_external_data();
  tensor.set_data_location(::onnx::TensorProto::DEFAULT);
}

}  // namespace

void load_external_data(::onnx::ModelProto& model, const std::filesystem::path& model_path) {
  const std::filesystem::path directory =
      model_path.has_parent_path() ? model_path.parent_path() : std::filesystem::path(".");
  for (auto& tensor : *model.mutable_graph()->mutable_initializer()) {
    if (tensor.data_location() == ::onnx::TensorProto::EXTERNAL) {
      load_tensor(tensor, directory);
    }
  }
  // A Constant node's value: named for the messages as the initializer it
  // becomes (inline_constant_nodes).
  for (auto& node : *model.mutable_graph()->mutable_node()) {
    for (auto& attribute : *node.mutable_attribute()) {
      if (!attribute.has_t() || attribute.t().data_location() != ::onnx::TensorProto::EXTERNAL) {
        continue;
      }
      ::onnx::TensorProto& tensor = *attribute.mutable_t();
      if (tensor.name().empty() && node.output_size() > 0) {
        tensor.set_name(node.output(0));
      }
      load_tensor(tensor, directory);
    }
  }
}

}  // namespace npu::onnx_runtime
