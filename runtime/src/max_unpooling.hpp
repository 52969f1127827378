// MaxPool's Indices output and MaxUnpool, for windows that tile the input
// (kernel_shape = strides, no padding: SegNet's and ENet's 2 x 2 / 2
// encoders and decoders; other windows' Indices: lowering.cpp). POOL2D gives no positions: each
// window's first maximum is found by a comparison with the pooled value spread over its window, and
// MaxUnpool puts each value back where its index says by the same spread (docs/onnx-runtime.md,
// "MaxPool's Indices and MaxUnpool").
#pragma once

#include <string>

#include "graph.hpp"
#include "lowerer.hpp"

namespace npu::onnx_runtime {

// The flat positions (ONNX's n·C·H·W + c·H·W + h·W + w) of the first
// maximum of each window of MaxPool `n` (x its input 0), as exact floats in
// a scratch tensor of the pooled shape; `pooled` holds the MaxPool's
// values, already computed. Unsupported naming what is not taken.
TensorRef max_pool_flat_indices(Lowerer& l, const Node& n, const std::string& pooled);

// Whether MaxPool `n`'s windows tile its input `full` (pooled to `pooled`),
// which max_pool_flat_indices() takes; others take the general windows of
// lowering.cpp.
bool max_pool_windows_tile(const Node& n, const Shape& full, const Shape& pooled);

// MaxUnpool of values by indices made by a MaxPool of the same windows (or
// constant indices, each inside its own window): every other element 0.
void lower_max_unpool(Lowerer& l, const Node& n);

}  // namespace npu::onnx_runtime
