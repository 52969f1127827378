// ReverseSequence and Compress: selections of elements by positions that a
// Gather or GatherElements makes (TensorFlow's bidirectional RNNs reverse
// each sequence up to its length; Compress keeps the slices a mask picks).
#pragma once

#include <cstddef>

#include "graph.hpp"

namespace npu::onnx_runtime {

// Rewrites, where the input's shape is static:
// - each ReverseSequence into one GatherElements along its time axis, of
//   source positions len[b] - 1 - t where t < len[b] and t elsewhere: a
//   constant when sequence_lens is one (after checking each length is at
//   most the time axis), else computed on the device from the lengths
//   (Less, Sub, Where, Expand), so an out-of-range length fails the job;
// - each Compress whose condition is a constant into one Gather of the
//   positions it keeps (of the flattened input without an axis).
// A Compress with a condition computed at run time stays (its output's
// shape depends on the values), and the lowering refuses it by name.
// std::runtime_error naming the node for what ONNX does not define (time
// and batch axes other than 0 and 1, a length beyond the time axis, a
// condition keeping a position beyond the axis, or none). Returns the
// nodes rewritten.
std::size_t rewrite_selections(Graph& graph);

}  // namespace npu::onnx_runtime
