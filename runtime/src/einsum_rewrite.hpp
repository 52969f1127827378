// Einsum (ONNX opset 12) as the nodes the ISA runs: transformer exports
// written with torch.einsum ("bhqd,bhkd->bhqk"), bilinear and outer
// products, sums and transposes spelled as equations.
#pragma once

#include <cstddef>

#include "graph.hpp"

namespace npu::onnx_runtime {

// Rewrites every Einsum of one or two operands whose equation has no index
// repeated within an operand (a diagonal) into Transpose, ReduceSum,
// Reshape and MatMul nodes: indices only one operand has and the output
// lacks are summed first; the indices both operands and the output have
// are the MatMul's batch, those only one operand and the output have its
// rows or columns, those both operands have and the output lacks the
// contracted ones; a last Transpose puts the output's indices in order.
// An Einsum it cannot take stays, and the lowering refuses it by name.
// Returns the nodes rewritten.
std::size_t rewrite_einsum(Graph& graph);

}  // namespace npu::onnx_runtime
