// Constant folding: nodes whose inputs are all known on the host (and Shape
// of a value whose shape is static) are evaluated at compile time, so the
// Shape/Gather/Unsqueeze/Concat chains exporters emit to compute reshape
// targets become constants and the device never sees them.
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

#include "graph.hpp"

namespace npu::onnx_runtime {

// Evaluates `node` if it can be folded: its outputs' values, else nullopt.
// std::runtime_error if the node is malformed (names the node).
std::optional<std::vector<Constant>> evaluate_on_host(const Node& node, const Graph& graph);

// Folds every foldable node, in order, until none is left; removes them from
// the graph and records their outputs as constants. Returns how many nodes
// were folded.
std::size_t fold_constants(Graph& graph);

// An ONNX Reshape target resolved against the input shape (0 copies the
// input's dimension unless allowzero, -1 is inferred).
Shape reshape_target(const Node& node, const Shape& input, const std::vector<std::int64_t>& target);

// NumPy broadcasting of two shapes; std::runtime_error if incompatible.
Shape broadcast_shapes(const Shape& a, const Shape& b);

}  // namespace npu::onnx_runtime
