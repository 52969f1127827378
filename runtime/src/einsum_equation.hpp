// ONNX Einsum's equations: "bhqd,bhkd->bhqk", implicit outputs, "..."
// (the broadcast axes, aligned from the right).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "graph.hpp"

namespace npu::onnx_runtime {

// One label (a character) per axis of each operand and of the output;
// "..." expanded to labels of its own, the digits, which ONNX's equations
// cannot contain. Without "->" the output is the ellipsis, then the letters
// used once, in alphabetical order.
struct EinsumEquation {
  std::vector<std::string> operands;
  std::string output;
};

// `equation` for operands of `ranks` (spaces ignored); std::nullopt unless
// every term matches its rank, the output repeats no label and every
// output label is an operand's. An operand may repeat a label (a
// diagonal, a trace).
std::optional<EinsumEquation> parse_einsum(std::string equation,
                                           const std::vector<std::size_t>& ranks);

bool has_repeated_label(std::string labels);

// The output's shape for operands of `operands` (each label's size, a size
// of 1 broadcast); std::nullopt where parse_einsum refuses or sizes clash.
std::optional<Shape> einsum_output_shape(const std::string& equation,
                                         const std::vector<Shape>& operands);

}  // namespace npu::onnx_runtime
