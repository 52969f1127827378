// DFT (opset 17, and 20's axis input) and STFT (opset 17): the Fourier
// transforms of audio front ends (spectrograms, log-mel features) and of
// FNet's token mixing, as MatMuls by constant DFT matrices, which the ISA
// runs as one GEMM each.
#pragma once

#include <cstddef>

#include "graph.hpp"

namespace npu::onnx_runtime {

// Rewrites each DFT and STFT whose dft_length, axis and frame_step are
// constants and whose input shape is static:
// - DFT: the axis moved next to the last (a Transpose, unless it is there),
//   the rows of samples (real, or (re, im) pairs) times the DFT matrix of
//   spectral_constants.hpp, the bins moved back;
// - STFT: the frames gathered from the signal (a Gather of constant
//   indices), weighed by the window (folded into the matrix when it is a
//   constant, a Mul otherwise), times the DFT matrix of frame_length.
// A node with a value known only at run time stays, and the lowering
// refuses it by name. std::runtime_error naming the node for what ONNX does
// not define (an axis on the complex dimension, onesided of a complex
// signal, a dft_length below 1, a window of another length than the frame,
// a signal shorter than one frame). Returns the nodes rewritten.
std::size_t rewrite_spectral(Graph& graph);

}  // namespace npu::onnx_runtime
