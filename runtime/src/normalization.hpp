// InstanceNormalization and GroupNormalization rewritten into what the
// device runs: a "NormalizeGroups" node (the runtime's own op; attributes
// `groups` and `epsilon`), which normalizes each of the N x groups rows of
// the input (one LAYERNORM with unit gamma and zero beta), followed by a
// BatchNormalization with mean 0, variance 1 and epsilon 0 carrying the
// per-channel scale and bias (lower_batch_norm makes it a depthwise 1x1
// Conv on a 4-D input, a Mul and an Add on [N, C] and [N, C, L]); an
// identity affine (scale 1, bias 0) adds no node.
#pragma once

#include <cstddef>

#include "graph.hpp"

namespace npu::onnx_runtime {

// Rewrites every InstanceNormalization and GroupNormalization whose scale
// and bias are constants (InstanceNormalization and GroupNormalization from
// opset 21: one value per channel; GroupNormalization of opsets 18-20: one
// per group) and whose input is of rank 2 to 4 (InstanceNormalization: 3 to
// 4) with channels a multiple of the groups. Others stay, and the lowering
// refuses them naming the node. Returns the nodes rewritten.
std::size_t lower_group_norm(Graph& graph);

}  // namespace npu::onnx_runtime
