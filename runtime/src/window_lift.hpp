// 1-D convolutions and pooling (audio and sequence models: wav2vec-style
// feature extractors, TCNs, text CNNs) as the 2-D ones the ISA has: a
// window over [N, C, L] is the same window over [N, C, 1, L].
#pragma once

#include <cstddef>

#include "graph.hpp"

namespace npu::onnx_runtime {

// Rewrites every Conv, ConvTranspose, MaxPool (without its Indices
// output) and AveragePool whose input is of rank 3 into the same node over
// a height of 1: its input reshaped to [N, C, 1, L], its weights to
// [K, C/g, 1, S] (a constant gets a reshaped copy), its window attributes
// given a leading 1 (pads a leading 0 per side), its output reshaped back
// to rank 3. Reshape is free on the device (an alias). Returns the nodes
// rewritten.
std::size_t lift_1d_windows(Graph& graph);

}  // namespace npu::onnx_runtime
