// npu::onnx::UnsupportedOperators: its message, every operator named.
#include <fmt/format.h>

#include <algorithm>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "npu/onnx/model.hpp"

namespace npu::onnx {

namespace {

std::string describe(const std::vector<UnsupportedOperators::Entry>& entries) {
  std::string text = "operators the device cannot run:";
  for (const auto& entry : entries) {
    text += fmt::format(
        "\n  {} ({} node{}: {}{}): {}", entry.op, entry.nodes.size(),
        entry.nodes.size() == 1 ? "" : "s",
        fmt::join(entry.nodes.begin(),
                  entry.nodes.begin() +
                      static_cast<std::ptrdiff_t>(std::min<std::size_t>(entry.nodes.size(), 3)),
                  ", "),
        entry.nodes.size() > 3 ? ", ..." : "", entry.reason);
  }
  return text;
}

}  // namespace

UnsupportedOperators::UnsupportedOperators(std::vector<Entry> entries)
    : ModelError(describe(entries)), entries_(std::move(entries)) {}

}  // namespace npu::onnx
