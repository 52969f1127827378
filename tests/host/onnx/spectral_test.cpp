// DFT and STFT on make_operator_models.py's graphs: rewritten into MatMuls
// by constant DFT matrices before lowering (guest-onnx-models checks the
// values against onnxruntime); MelWeightMatrix folded on the host; what
// ONNX does not define refused naming the node.
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <stdexcept>
#include <string>
#include <vector>

#include "fusion.hpp"
#include "test_graphs.hpp"

namespace {

using namespace npu::onnx_runtime;

const Node* producer_of(const Graph& graph, const std::string& value) {
  for (const Node& node : graph.nodes) {
    if (node.outputs.at(0) == value) {
      return &node;
    }
  }
  return nullptr;
}

// The constant matrix of the MatMul among the nodes replacing `output`.
const Constant& dft_matrix_of(const Graph& graph, const std::string& output) {
  for (const Node& node : graph.nodes) {
    if (node.op == "MatMul" && node.outputs.at(0).starts_with(output + ".")) {
      return graph.constants.at(node.inputs.at(1));
    }
  }
  throw std::runtime_error("no MatMul for " + output);
}

float at(const Constant& c, std::int64_t row, std::int64_t column) {
  return c.floats.at(static_cast<std::size_t>(row * c.shape.at(1) + column));
}

TEST(OnnxSpectral, ADftIsOneMatMulByItsMatrixTheAxisMovedNextToThePairs) {
  const Graph graph = fused("spectral");
  for (const Node& node : graph.nodes) {
    EXPECT_NE(node.op, "DFT");
    EXPECT_NE(node.op, "STFT");
  }
  // [2, 16, 4, 1] along axis 1: moved to [2, 4, 16, 1], rows of 16 samples.
  EXPECT_EQ(ops_replacing(graph, "dft_axis1"),
            (std::vector<std::string>{"Transpose", "Reshape", "MatMul", "Reshape", "Transpose"}));
  EXPECT_EQ(graph.shape("dft_axis1"), (Shape{2, 16, 4, 2}));
  // Along axis 2, already next to the pairs: no Transpose.
  EXPECT_EQ(ops_replacing(graph, "dft_onesided_padded"),
            (std::vector<std::string>{"Reshape", "MatMul", "Reshape"}));
  // 4 samples zero-padded to 16, onesided: 9 bins of e^(-2 pi i k n / 16).
  const Constant& padded = dft_matrix_of(graph, "dft_onesided_padded");
  EXPECT_EQ(padded.shape, (Shape{4, 18}));
  const double angle = 2.0 * std::numbers::pi * 3.0 * 2.0 / 16.0;  // n 3, k 2
  EXPECT_FLOAT_EQ(at(padded, 3, 4), static_cast<float>(std::cos(angle)));
  EXPECT_FLOAT_EQ(at(padded, 3, 5), static_cast<float>(-std::sin(angle)));
  // Truncated to 8 of the 16 samples: the last 8 rows are zero.
  const Constant& truncated = dft_matrix_of(graph, "dft_truncated");
  EXPECT_EQ(truncated.shape, (Shape{16, 16}));
  for (std::int64_t column = 0; column < 16; ++column) {
    EXPECT_EQ(at(truncated, 8, column), 0.0F);
    EXPECT_FLOAT_EQ(at(truncated, 0, column), column % 2 == 0 ? 1.0F : 0.0F);
  }
  EXPECT_NO_THROW(lower(graph));
}

TEST(OnnxSpectral, TheInverseOfComplexValuesMixesRealAndImaginaryRowsOverTheLength) {
  const Graph graph = fused("spectral");
  const Constant& inverse = dft_matrix_of(graph, "round_trip");
  ASSERT_EQ(inverse.shape, (Shape{32, 32}));                 // 16 (re, im) pairs in and out
  const double angle = 2.0 * std::numbers::pi * 5.0 / 16.0;  // n 1, k 5
  const auto c = static_cast<float>(std::cos(angle) / 16),
             s = static_cast<float>(std::sin(angle) / 16);
  EXPECT_FLOAT_EQ(at(inverse, 2, 10), c);   // re in, re out
  EXPECT_FLOAT_EQ(at(inverse, 2, 11), s);   // re in, im out: e^(+i)
  EXPECT_FLOAT_EQ(at(inverse, 3, 10), -s);  // im in, re out
  EXPECT_FLOAT_EQ(at(inverse, 3, 11), c);
}

TEST(OnnxSpectral, AnStftGathersItsFramesAndFoldsAConstantWindowIntoTheMatrix) {
  const Graph graph = fused("spectral");
  EXPECT_EQ(ops_replacing(graph, "stft_hann"),
            (std::vector<std::string>{"Gather", "Reshape", "MatMul", "Reshape"}));
  EXPECT_EQ(graph.shape("stft_hann"), (Shape{2, 7, 9, 2}));  // (64 - 16) / 8 + 1 frames
  const Node* gather = producer_of(graph, "stft_hann.x");
  ASSERT_NE(gather, nullptr);
  const Constant& frames = graph.constants.at(gather->inputs.at(1));
  EXPECT_EQ(frames.shape, (Shape{7, 16}));
  EXPECT_EQ(frames.integer(16 + 3), 8 + 3);  // frame 1 starts at sample 8
  // Hann's first weight is 0, its middle one 1.
  const Constant& windowed = dft_matrix_of(graph, "stft_hann");
  EXPECT_EQ(at(windowed, 0, 0), 0.0F);
  EXPECT_FLOAT_EQ(at(windowed, 8, 2), static_cast<float>(std::cos(std::numbers::pi / 8 * 8)));
  // A window computed at run time: one Mul of the frames.
  EXPECT_EQ(ops_replacing(graph, "stft_window"),
            (std::vector<std::string>{"Gather", "Reshape", "Mul", "Reshape", "MatMul", "Reshape"}));
  EXPECT_EQ(graph.shape("stft_window"), (Shape{2, 7, 16, 2}));  // onesided 0
}

TEST(OnnxSpectral, DftOfOpset20TakesItsAxisAsAnInput) {
  const Graph graph = fused("dft_opset20");
  EXPECT_EQ(graph.shape("y"), (Shape{4, 10, 2}));  // axis 0, onesided: 6 / 2 + 1
  EXPECT_EQ(graph.shape("z"), (Shape{6, 10, 2}));  // the default axis -2
  EXPECT_NO_THROW(lower(graph));
}

TEST(OnnxSpectral, MelWeightMatrixIsFoldedAsOnnxsReferenceBuildsIt) {
  const Graph graph = import("mel_weight_matrix");
  const Constant& weights = graph.constants.at("weights");
  ASSERT_EQ(weights.shape, (Shape{33, 5}));
  // The last band's edges fall in bins 8, 11 and 17.
  const std::vector<float> band{0.0F,     1.0F / 3, 2.0F / 3, 1.0F,     5.0F / 6,
                                4.0F / 6, 3.0F / 6, 2.0F / 6, 1.0F / 6, 0.0F};
  for (std::size_t i = 0; i < band.size(); ++i) {
    EXPECT_FLOAT_EQ(at(weights, 8 + static_cast<std::int64_t>(i), 4), band[i]) << i;
  }
  EXPECT_FLOAT_EQ(at(weights, 1, 0), 1.0F);
  EXPECT_FLOAT_EQ(at(weights, 2, 0), 0.5F);
}

TEST(OnnxSpectral, WhatOnnxDoesNotDefineIsRefusedNamingTheNode) {
  expect_error_naming("dft_onesided_complex", "DFT 'bad_dft': onesided of a complex signal");
  expect_error_naming("dft_axis_on_pairs", "DFT 'bad_dft': axis 2 of a rank-3 input");
  expect_error_naming("mel_beyond_nyquist", "MelWeightMatrix 'mel': band edge 6");
}

TEST(OnnxSpectral, ADftLengthKnownOnlyAtRunTimeIsRefusedByName) {
  EXPECT_EQ(refusal(fused("dft_runtime_length")),
            "DFT: dft_length and axis must be constants and the input's shape static (a MatMul "
            "by the DFT matrix)");
}

}  // namespace
