// ONNX's recurrent layers, LSTM, GRU and RNN, unrolled over their static
// sequence into the v1.1 instructions (docs/onnx-runtime.md, "Recurrent
// layers").
#pragma once

#include "graph.hpp"

namespace npu::onnx_runtime {

class Lowerer;

void lower_lstm(Lowerer& l, const Node& node);
void lower_gru(Lowerer& l, const Node& node);
void lower_rnn(Lowerer& l, const Node& node);

}  // namespace npu::onnx_runtime
