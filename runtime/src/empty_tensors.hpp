// Tensors without elements (a dimension of 0: a slice past the end, a
// split of size 0, a batch of none): such a value is all known once its
// shape is, so the compiler takes it as a constant and the device never
// computes it (the device has no zero-sized operands).
#pragma once

#include <cstddef>

#include "constant_folding.hpp"
#include "graph.hpp"

namespace npu::onnx_runtime {

// In `graph`, whose shapes are inferred:
// - a node whose outputs all have no elements folds away, its outputs
//   empty constants of their shapes and types;
// - a reduction (Reduce*) of an input without elements into an output with
//   some is its value over the empty set, as ONNX defines it: 0 for
//   ReduceSum, ReduceSumSquare, ReduceL1 and ReduceL2, 1 for ReduceProd,
//   the type's lowest value for ReduceMax (-inf) and highest for ReduceMin
//   (+inf), -inf for ReduceLogSum and ReduceLogSumExp (ln 0), NaN for
//   ReduceMean (0 / 0); a MatMul whose inner dimension is 0 is zeros, a
//   Pad (mode constant) its pad value everywhere;
// - a Concat drops its inputs without elements;
// - the nodes that read a graph input without elements read an empty
//   constant of its shape instead (the input stays one: the caller gives
//   it, zero bytes, and the compiled model checks its shape).
// The constants with elements are spent from `budget`. Returns the nodes
// folded away; the rewrites in place are made again on each call, so a
// graph rebuilt from its proto gets them again.
std::size_t fold_empty_tensors(Graph& graph, FoldBudget& budget);

}  // namespace npu::onnx_runtime
