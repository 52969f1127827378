// ScatterND, ScatterElements and Scatter: every output element's source,
// known when compiling (constant indices) or computed on the device from
// indices known at run time, is read by one GATHER from the data and the
// updates side by side (docs/onnx-runtime.md, "Scatter").
#pragma once

#include "graph.hpp"

namespace npu::onnx_runtime {

class Lowerer;

void lower_scatter_nd(Lowerer& l, const Node& node);
void lower_scatter_elements(Lowerer& l, const Node& node);

}  // namespace npu::onnx_runtime
