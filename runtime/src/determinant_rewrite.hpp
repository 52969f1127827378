// Det of small matrices (2 x 2 and 3 x 3 in geometry: areas, orientations,
// the volume change of a transform), as the sum over permutations the ISA
// computes with a Gather, a ReduceProd and a MatMul.
#pragma once

#include <cstddef>

#include "graph.hpp"

namespace npu::onnx_runtime {

// Rewrites each Det of a static [..., n, n] input with n at most
// kMaxDetOrder by Leibniz's formula: det X = sum over the permutations p of
// sign(p) · prod_i X[i, p(i)]: the n! products' factors gathered from each
// flattened matrix (one Gather of constant positions), multiplied (one
// ReduceProd), summed with their signs (one MatMul by a constant column).
// A larger or unshaped Det stays, and the lowering refuses it by name.
// Returns the nodes rewritten.
std::size_t rewrite_determinants(Graph& graph);

inline constexpr std::int64_t kMaxDetOrder = 4;

}  // namespace npu::onnx_runtime
