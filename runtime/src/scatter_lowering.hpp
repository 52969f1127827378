// ScatterND, ScatterElements and Scatter of constant indices: every output
// element's source is known when compiling, so each is a GATHER from the
// data and the updates side by side (docs/onnx-runtime.md, "Scatter").
#pragma once

#include "graph.hpp"

namespace npu::onnx_runtime {

class Lowerer;

void lower_scatter_nd(Lowerer& l, const Node& node);
void lower_scatter_elements(Lowerer& l, const Node& node);

}  // namespace npu::onnx_runtime
