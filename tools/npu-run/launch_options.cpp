#include "launch_options.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <limits>
#include <stdexcept>
#include <utility>

namespace npu_run {
namespace {

// "name=value" split at the first '='.
std::pair<std::string, std::string_view> split_assignment(std::string_view text,
                                                          std::string_view form) {
  const std::size_t equals = text.find('=');
  if (equals == std::string_view::npos || equals == 0) {
    throw std::invalid_argument(fmt::format("'{}' is not of the form {}", text, form));
  }
  return {std::string(text.substr(0, equals)), text.substr(equals + 1)};
}

std::uint64_t multiplier(char suffix) {
  switch (suffix) {
    case 'K':
    case 'k':
      return std::uint64_t{1} << 10;
    case 'M':
    case 'm':
      return std::uint64_t{1} << 20;
    case 'G':
    case 'g':
      return std::uint64_t{1} << 30;
    default:
      return 0;
  }
}

}  // namespace

std::uint64_t parse_number(std::string_view text) {
  int base = 10;
  std::string_view digits = text;
  if (digits.starts_with("0x") || digits.starts_with("0X")) {
    digits.remove_prefix(2);
    base = 16;
  }
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value, base);
  if (digits.empty() || ec != std::errc{} || end != digits.data() + digits.size()) {
    throw std::invalid_argument(fmt::format("'{}' is not a number", text));
  }
  return value;
}

std::uint64_t parse_size(std::string_view text) {
  const std::uint64_t scale = text.empty() ? 0 : multiplier(text.back());
  if (scale == 0) {
    return parse_number(text);
  }
  const std::uint64_t count = parse_number(text.substr(0, text.size() - 1));
  if (count > std::numeric_limits<std::uint64_t>::max() / scale) {
    throw std::invalid_argument(fmt::format("'{}' is too large", text));
  }
  return count * scale;
}

BufferSpec parse_buffer_spec(std::string_view text) {
  auto [name, rest] = split_assignment(text, "NAME=SIZE[@host|@device]");
  BufferSpec spec{std::move(name), 0, npu::MemoryPlacement::host};
  const std::size_t at = rest.find('@');
  if (at != std::string_view::npos) {
    const std::string_view placement = rest.substr(at + 1);
    if (placement == "device") {
      spec.placement = npu::MemoryPlacement::device;
    } else if (placement != "host") {
      throw std::invalid_argument(fmt::format("'{}': placement must be host or device", text));
    }
    rest = rest.substr(0, at);
  }
  spec.size = parse_size(rest);
  if (spec.size == 0) {
    throw std::invalid_argument(fmt::format("'{}': a buffer needs a size above 0", text));
  }
  return spec;
}

ScalarSpec parse_scalar_spec(std::string_view text) {
  auto [name, value] = split_assignment(text, "NAME=VALUE");
  return {std::move(name), parse_size(value)};
}

FillSpec parse_fill_spec(std::string_view text) {
  auto [name, value] = split_assignment(text, "NAME=BYTE");
  const std::uint64_t byte = parse_number(value);
  if (byte > 0xff) {
    throw std::invalid_argument(fmt::format("'{}': the fill value is one byte", text));
  }
  return {std::move(name), static_cast<std::uint8_t>(byte)};
}

std::vector<std::uint64_t> parse_shape(std::string_view text) {
  std::vector<std::uint64_t> shape;
  for (std::size_t start = 0; start <= text.size();) {
    const std::size_t end = std::min(text.find('x', start), text.size());
    const std::uint64_t dimension = parse_number(text.substr(start, end - start));
    if (dimension == 0) {
      throw std::invalid_argument(fmt::format("shape '{}': dimensions must be at least 1", text));
    }
    shape.push_back(dimension);
    start = end + 1;
  }
  return shape;
}

InputSpec parse_input_spec(std::string_view text) {
  auto [name, rest] = split_assignment(text, "NAME=FILE[@host|@device]");
  InputSpec spec{std::move(name), {}, false, npu::MemoryPlacement::host};
  const std::size_t at = rest.rfind('@');
  if (at != std::string_view::npos &&
      (rest.substr(at) == "@device" || rest.substr(at) == "@host")) {
    spec.placement =
        rest.substr(at) == "@device" ? npu::MemoryPlacement::device : npu::MemoryPlacement::host;
    rest = rest.substr(0, at);
  }
  if (rest.empty()) {
    throw std::invalid_argument(fmt::format("'{}': no file", text));
  }
  spec.path = rest;
  spec.npy = rest.ends_with(".npy");
  return spec;
}

OutputSpec parse_output_spec(std::string_view text) {
  auto [name, rest] = split_assignment(text, "NAME=FILE.npy[:TYPE:SHAPE] or NAME=FILE[:BYTES]");
  std::vector<std::string_view> parts;
  for (std::size_t start = 0; start <= rest.size();) {
    const std::size_t end = std::min(rest.find(':', start), rest.size());
    parts.push_back(rest.substr(start, end - start));
    start = end + 1;
  }
  OutputSpec spec{std::move(name), std::string(parts[0]), parts[0].ends_with(".npy"), {}, {}};
  if (spec.path.empty()) {
    throw std::invalid_argument(fmt::format("'{}': no file", text));
  }
  if (spec.npy && parts.size() == 3) {
    spec.header = NpyHeader{parse_npy_type(parts[1]), parse_shape(parts[2]), false};
    static_cast<void>(spec.header->data_size());  // throws on overflow
  } else if (!spec.npy && parts.size() == 2) {
    spec.raw_size = parse_size(parts[1]);
    if (*spec.raw_size == 0) {
      throw std::invalid_argument(fmt::format("'{}': a size above 0", text));
    }
  } else if (parts.size() != 1) {
    throw std::invalid_argument(fmt::format(
        "'{}' is not NAME=FILE.npy[:TYPE:SHAPE] or NAME=FILE[:BYTES] (FILE without ':')", text));
  }
  return spec;
}

std::optional<std::uint64_t> OutputSpec::size() const {
  if (header) {
    return header->data_size();
  }
  return raw_size;
}

}  // namespace npu_run
