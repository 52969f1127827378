// Resizes the RESIZE instruction does not compute (make_resize_models.py):
// one product per resized axis by its interpolation matrix, and the
// matrices themselves (interpolation.cpp, a pure function).
#include <gtest/gtest.h>

#include <vector>

#include "interpolation.hpp"
#include "test_graphs.hpp"

namespace {

using namespace npu::onnx_runtime;
using npu::isa::Instruction;
using npu::isa::Opcode;

std::vector<float> row(const InterpolationMatrix& m, std::int64_t in, std::int64_t j) {
  const auto begin = m.weights.begin() + j * in;
  return {begin, begin + in};
}

void expect_row(const InterpolationMatrix& m, std::int64_t in, std::int64_t j,
                const std::vector<float>& want) {
  const std::vector<float> got = row(m, in, j);
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t k = 0; k < want.size(); ++k) {
    EXPECT_NEAR(got[k], want[k], 1e-6) << "row " << j << " column " << k;
  }
}

TEST(OnnxInterpolation, LinearHalfPixelClampsToTheEdges) {
  // x = (j + 0.5) / 2 - 0.5: -0.25 (clamped to 0), 0.25, 0.75, 1.25 (to 1).
  const InterpolationMatrix m =
      interpolation_matrix({.in = 2, .out = 4, .scale = 2.0}, {.mode = InterpolationMode::linear});
  expect_row(m, 2, 0, {1, 0});
  expect_row(m, 2, 1, {0.75F, 0.25F});
  expect_row(m, 2, 2, {0.25F, 0.75F});
  expect_row(m, 2, 3, {0, 1});
}

TEST(OnnxInterpolation, CubicWeightsFoldOntoTheEdgeOrAreDroppedWithExcludeOutside) {
  // Asymmetric, x = 0.5: neighbours -1..2 weigh -0.09375, 0.59375,
  // 0.59375, -0.09375 (a = -0.75); -1 is the edge element 0.
  const Interpolation cubic{.mode = InterpolationMode::cubic,
                            .transform = CoordinateTransform::asymmetric};
  const InterpolationMatrix edge = interpolation_matrix({.in = 4, .out = 8, .scale = 2.0}, cubic);
  expect_row(edge, 4, 1, {0.5F, 0.59375F, -0.09375F, 0});
  expect_row(edge, 4, 2, {0, 1, 0, 0});  // x = 1: the element itself
  Interpolation excluding = cubic;
  excluding.exclude_outside = true;
  const InterpolationMatrix inside =
      interpolation_matrix({.in = 4, .out = 8, .scale = 2.0}, excluding);
  expect_row(inside, 4, 1, {0.59375F / 1.09375F, 0.59375F / 1.09375F, -0.09375F / 1.09375F, 0});
}

TEST(OnnxInterpolation, NearestRoundsTiesAsItsModeSays) {
  // Asymmetric x = j / 2: 0, 0.5, 1, 1.5.
  Interpolation nearest{.transform = CoordinateTransform::asymmetric};
  const ResizedAxis axis{.in = 2, .out = 4, .scale = 2.0};
  expect_row(interpolation_matrix(axis, nearest), 2, 1, {1, 0});
  nearest.nearest = NearestMode::round_prefer_ceil;
  expect_row(interpolation_matrix(axis, nearest), 2, 1, {0, 1});
  nearest.nearest = NearestMode::ceil;
  expect_row(interpolation_matrix(axis, nearest), 2, 3, {0, 1});  // 1.5 -> 2, clamped
}

TEST(OnnxInterpolation, TfCropAndResizeMarksRowsOutsideTheInput) {
  // roi -0.5 .. 1.5 of 3 elements: x = -1, 0, 1, 2, 3 -> the first and last outside.
  const InterpolationMatrix m = interpolation_matrix(
      {.in = 3, .out = 5, .scale = 1.0, .roi_start = -0.5, .roi_end = 1.5},
      {.mode = InterpolationMode::linear, .transform = CoordinateTransform::tf_crop_and_resize});
  EXPECT_EQ(m.outside, (std::vector<bool>{true, false, false, false, true}));
  expect_row(m, 3, 0, {0, 0, 0});
  expect_row(m, 3, 2, {0, 1, 0});
}

TEST(OnnxInterpolation, HugeAndNanCoordinatesClampToTheEdgeOrLieOutside) {
  // The model fuzzer (stop 39): a scale of 1e-30 put coordinates past
  // 2^63 and an roi of huge values made them NaN, converted to integers.
  const InterpolationMatrix far =
      interpolation_matrix({.in = 3, .out = 2, .scale = 1e-30}, {.mode = InterpolationMode::cubic});
  expect_row(far, 3, 1, {0, 0, 1});
  const InterpolationMatrix nan = interpolation_matrix(
      {.in = 3, .out = 2, .scale = 1.0, .roi_start = -1e308, .roi_end = 1e308},
      {.mode = InterpolationMode::linear, .transform = CoordinateTransform::tf_crop_and_resize});
  EXPECT_EQ(nan.outside, (std::vector<bool>{true, true}));
}

TEST(OnnxInterpolation, AnAxisLeftAsItIsIsTheIdentity) {
  const InterpolationMatrix same =
      interpolation_matrix({.in = 3, .out = 3, .scale = 1.0}, {.mode = InterpolationMode::cubic});
  EXPECT_TRUE(same.is_identity(3, 3));
  // A scale of 1.2 that still gives 3 elements moves the coordinates.
  const InterpolationMatrix moved =
      interpolation_matrix({.in = 3, .out = 3, .scale = 1.2}, {.mode = InterpolationMode::linear});
  EXPECT_FALSE(moved.is_identity(3, 3));
}

TEST(OnnxResize, EachResizedAxisIsOneProductTheLastAxisFirst) {
  const std::vector<Opcode> ops = opcodes_of(lower(fused("resize_general")));
  // cubic_up, cubic_down and cubic_asymmetric: W, then H in N x C
  // batches; crop: W, H and its extrapolation value 10 added; crop_nearest
  // (extrapolation 0: nothing added); channels (C only, N is 1),
  // line_linear and line_nearest (the last axis); trilinear: W, H, D.
  using enum Opcode;
  const std::vector<Opcode> want{gemm,         gemm_batched, gemm,         gemm_batched, gemm,
                                 gemm_batched, gemm,         gemm_batched, eltwise,      gemm,
                                 gemm_batched, gemm,         gemm,         gemm,         gemm,
                                 gemm_batched, gemm_batched};
  EXPECT_EQ(ops, want);
}

TEST(OnnxResize, TheLastAxisIsOneGemmOfTheRowsByTheTransposedMatrix) {
  const std::vector<Instruction> ins = instructions_of(lower(fused("resize_general")));
  // line_linear: [2, 3, 10] -> [2, 3, 25]: 6 rows of 10 by 10 x 25.
  const Instruction& line = ins[12];
  ASSERT_EQ(line.opcode, Opcode::gemm);
  EXPECT_EQ(value(line, 4), 6U);
  EXPECT_EQ(value(line, 5), 25U);
  EXPECT_EQ(value(line, 6), 10U);
  EXPECT_EQ(line.flags & 2U, 2U);  // TRANS_B
  // trilinear's D axis: 2 channels of [6 x 3] by [3 x 40].
  const Instruction& depth = ins[16];
  EXPECT_EQ(value(depth, 4), 6U);
  EXPECT_EQ(value(depth, 5), 40U);
  EXPECT_EQ(value(depth, 6), 3U);
  EXPECT_EQ(value(depth, 11), 2U);  // batch
}

TEST(OnnxResize, Opset9UpsampleOfA3DTensorIsOneProduct) {
  EXPECT_EQ(opcodes_of(lower(fused("upsample_line"))), std::vector{Opcode::gemm});
}

}  // namespace
