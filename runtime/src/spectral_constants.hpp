// The constant matrices of signal processing front ends (spectrograms,
// log-mel features): the DFT as a matrix the device multiplies by, and
// ONNX's MelWeightMatrix, folded on the host.
#pragma once

#include <cstdint>
#include <vector>

#include "graph.hpp"

namespace npu::onnx_runtime {

// One DFT along an axis, as ONNX's DFT and STFT define it: the first
// `samples` values along the axis are read (real, or complex as (re, im)
// pairs), truncated or zero-padded to `length`; bins 0 .. `bins` - 1 are
// written as (re, im) pairs. Forward: X[k] = sum x[n] e^(-2 pi i k n / L);
// inverse: e^(+2 pi i k n / L), divided by L.
struct DftSpec {
  std::int64_t samples = 0;
  std::int64_t length = 0;
  std::int64_t bins = 0;
  bool complex_input = false;
  bool inverse = false;
  std::vector<float> window;  // empty, or `samples` weights of the read values
};

// The matrix W with x · W = X for x a row of `samples` values (times 2,
// interleaved, when complex) and X a row of `bins` (re, im) pairs: shape
// [samples · (1 or 2), 2 · bins], float32. Its angles are reduced modulo
// 2 pi exactly (k · n mod L) and computed in double.
Constant dft_matrix(const DftSpec& spec);

// MelWeightMatrix (opset 17) of its five constant inputs, as ONNX's
// reference computes it: [dft_length / 2 + 1, num_mel_bins] triangles on the
// mel scale 2595 log10(1 + f / 700), in `output_datatype`.
// std::runtime_error naming the node for an input or type it cannot take.
Constant mel_weight_matrix(const Node& node, const Graph& graph);

}  // namespace npu::onnx_runtime
