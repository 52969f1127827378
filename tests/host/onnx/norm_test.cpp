// Norms on make_test_models.py's graphs (norm_models): ReduceL1, ReduceL2
// and ReduceSumSquare at opsets 11, 13 and 18, ReduceProd, ReduceLogSum's
// noop, LpNormalization, and the layer normalization exporters spell out
// fused into one LAYERNORM whether ReduceMean's axes are an attribute
// (opset 13) or an input (18).
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "test_graphs.hpp"

namespace {

using namespace npu::onnx_runtime;
using npu::isa::DataType;
using npu::isa::Instruction;
using npu::isa::Opcode;

constexpr std::uint32_t kFuncClip = 2, kFuncSqrt = 3, kFuncLog = 7, kFuncAbs = 11;
constexpr std::uint32_t kEltwiseMul = 2, kEltwiseDiv = 3, kReduceSum = 0;

// A REDUCE's outer, length and inner.
std::array<std::uint32_t, 3> extents(const Instruction& reduce) {
  EXPECT_EQ(reduce.opcode, Opcode::reduce);
  EXPECT_EQ(reduce.flags, kReduceSum);
  return {value(reduce, 2), value(reduce, 3), value(reduce, 4)};
}

// ReduceL1: ABS, REDUCE sum; ReduceSumSquare: ELTWISE x * x, REDUCE sum;
// ReduceL2: ReduceSumSquare's and SQRT.
TEST(OnnxNorms, ReduceL1L2AndSumSquareAreTheTermsOneReduceSumAndTheRoot) {
  const Graph graph = fused("reduce_norms");
  EXPECT_EQ(graph.shape("l1"), (Shape{2, 1, 4}));
  EXPECT_EQ(graph.shape("l2"), (Shape{2, 3}));
  EXPECT_EQ(graph.shape("ss"), (Shape{1, 1, 4}));
  EXPECT_EQ(graph.shape("l2_all"), Shape{});
  EXPECT_EQ(graph.shape("l1_first"), (Shape{3, 4}));
  const std::vector<Instruction> ins = instructions_of(lower(graph));
  const std::vector<Opcode> expected{
      Opcode::activation_param, Opcode::reduce,           Opcode::eltwise,          Opcode::reduce,
      Opcode::activation_param, Opcode::eltwise,          Opcode::reduce,           Opcode::eltwise,
      Opcode::reduce,           Opcode::activation_param, Opcode::activation_param, Opcode::reduce};
  ASSERT_EQ(opcodes_of(lower(graph)), expected);
  EXPECT_EQ(ins[0].flags, kFuncAbs);
  EXPECT_EQ(extents(ins[1]), (std::array<std::uint32_t, 3>{2, 3, 4}));  // axis 1
  EXPECT_EQ(ins[2].flags, kEltwiseMul);
  EXPECT_EQ(extents(ins[3]), (std::array<std::uint32_t, 3>{6, 4, 1}));  // axis -1
  EXPECT_EQ(ins[4].flags, kFuncSqrt);
  EXPECT_EQ(extents(ins[6]), (std::array<std::uint32_t, 3>{1, 6, 4}));    // axes 0, 1
  EXPECT_EQ(extents(ins[8]), (std::array<std::uint32_t, 3>{1, 24, 1}));   // every axis
  EXPECT_EQ(extents(ins[11]), (std::array<std::uint32_t, 3>{1, 2, 12}));  // axis 0

  // Before ISA v1.5, |x| is max(x, -x).
  const std::vector<Opcode> v14 =
      opcodes_of(lower(graph, DataType::fp32, every_opcode(), npu::isa::kIsaVersion1_4));
  EXPECT_EQ(std::ranges::count(v14, Opcode::eltwise), 7);
  EXPECT_EQ(std::ranges::count(v14, Opcode::activation_param), 2);  // the SQRTs
}

TEST(OnnxNorms, ReduceNormsOfOpset11) {
  const Graph graph = fused("reduce_norms_opset11");
  EXPECT_EQ(graph.shape("l1"), (Shape{2, 3}));
  EXPECT_EQ(graph.shape("l2"), (Shape{2, 1, 1}));
  EXPECT_EQ(graph.shape("ss"), (Shape{2, 4}));
  EXPECT_EQ(std::ranges::count(opcodes_of(lower(graph)), Opcode::reduce), 3);
}

// Opset 18: the axes an input, through reduced_axes() as the other Reduce*
// operators (negative axes, keepdims); no axes with noop_with_empty_axes is
// the terms without REDUCE, as onnxruntime computes it: |x|, sqrt(x * x),
// x * x.
TEST(OnnxNorms, Opset18AxesInputAndNoopWithEmptyAxes) {
  const Graph graph = fused("reduce_norms_opset18");
  EXPECT_EQ(graph.shape("l1"), (Shape{2, 3}));
  EXPECT_EQ(graph.shape("l2"), (Shape{2, 1, 4}));
  EXPECT_EQ(graph.shape("ss"), (Shape{4}));
  EXPECT_EQ(graph.shape("l2_all"), (Shape{1, 1, 1}));
  for (const char* noop : {"l1_noop", "l2_noop", "ss_noop"}) {
    EXPECT_EQ(graph.shape(noop), graph.shape("x")) << noop;
  }
  const std::vector<Instruction> ins = instructions_of(lower(graph));
  const std::vector<Opcode> expected{
      Opcode::activation_param, Opcode::reduce,           Opcode::eltwise,          Opcode::reduce,
      Opcode::activation_param, Opcode::eltwise,          Opcode::reduce,           Opcode::eltwise,
      Opcode::reduce,           Opcode::activation_param, Opcode::activation_param, Opcode::eltwise,
      Opcode::activation_param, Opcode::eltwise};
  ASSERT_EQ(opcodes_of(lower(graph)), expected);
  EXPECT_EQ(extents(ins[1]), (std::array<std::uint32_t, 3>{6, 4, 1}));   // axis -1
  EXPECT_EQ(extents(ins[3]), (std::array<std::uint32_t, 3>{2, 3, 4}));   // axis 1
  EXPECT_EQ(extents(ins[6]), (std::array<std::uint32_t, 3>{1, 6, 4}));   // axes 0, -2
  EXPECT_EQ(extents(ins[8]), (std::array<std::uint32_t, 3>{1, 24, 1}));  // no axes: every axis
  EXPECT_EQ(ins[10].flags, kFuncAbs);                                    // l1_noop
  EXPECT_EQ(ins[12].flags, kFuncSqrt);                                   // l2_noop
}

TEST(OnnxNorms, AxesComputedAtRunTimeAreRefusedNamingTheNode) {
  try {
    lower(fused("reduce_norm_axes_computed"));
    FAIL() << "lowered";
  } catch (const npu::onnx::UnsupportedOperators& e) {
    ASSERT_EQ(e.entries().size(), 1U);
    EXPECT_EQ(e.entries()[0].op, "ReduceL2");
    EXPECT_EQ(e.entries()[0].nodes, std::vector<std::string>{"y"});
    EXPECT_EQ(e.entries()[0].reason, "axes 'axes' computed at run time; only constant axes");
  }
}

// ReduceProd: the slices' rows multiplied by halves, ELTWISE mul of the first
// floor(rows / 2) by the last, the middle row of an odd count carried by a
// COPY_STRIDED; the reduced axes moved first when they are not.
TEST(OnnxNorms, ReduceProdMultipliesTheRowsByHalves) {
  const Graph graph = fused("reduce_prod");
  EXPECT_EQ(graph.shape("middle"), (Shape{2, 1, 4}));
  EXPECT_EQ(graph.shape("last"), (Shape{2, 3}));
  EXPECT_EQ(graph.shape("first"), (Shape{3, 4}));
  EXPECT_EQ(graph.shape("all"), (Shape{1, 1, 1}));
  const std::vector<Instruction> ins = instructions_of(lower(graph));
  const std::vector<Opcode> expected{
      // axis 1 (outer 2, 3 rows of 4): to 3 rows of 8; 3 -> 2 (row 1
      // carried) -> 1.
      Opcode::copy_strided, Opcode::eltwise, Opcode::copy_strided, Opcode::eltwise,
      // the last axis (outer 6, 4 rows of 1): to 4 rows of 6; 4 -> 2 -> 1.
      Opcode::copy_strided, Opcode::eltwise, Opcode::eltwise,
      // axis 0: 2 rows of 12 in place.
      Opcode::eltwise,
      // every axis: 24 rows of 1; 24 -> 12 -> 6 -> 3 -> 2 (carried) -> 1.
      Opcode::eltwise, Opcode::eltwise, Opcode::eltwise, Opcode::eltwise, Opcode::copy_strided,
      Opcode::eltwise};
  ASSERT_EQ(opcodes_of(lower(graph)), expected);
  const std::vector<std::uint32_t> counts{8, 8, 12, 6, 12, 12, 6, 3, 1, 1};
  std::size_t next = 0;
  for (const Instruction& i : ins) {
    if (i.opcode == Opcode::eltwise) {
      EXPECT_EQ(i.flags, kEltwiseMul);
      ASSERT_LT(next, counts.size());
      EXPECT_EQ(value(i, 3), counts[next]) << "ELTWISE " << next;
      EXPECT_EQ(value(i, 4), counts[next]) << "ELTWISE " << next;
      ++next;
    }
  }
}

// Opset 18: the axes an input; no axes with noop_with_empty_axes the
// identity for ReduceProd and ln x for ReduceLogSum (no sum, the logarithm
// still), as onnxruntime.
TEST(OnnxNorms, ReduceProdOpset18AndReduceLogSumNoopIsTheLogarithm) {
  const Graph graph = fused("reduce_prod_opset18");
  EXPECT_EQ(graph.shape("p"), (Shape{2}));
  EXPECT_EQ(graph.shape("noop"), graph.shape("x"));
  EXPECT_EQ(graph.shape("log_noop"), graph.shape("x"));
  const std::vector<Instruction> ins = instructions_of(lower(graph));
  ASSERT_GE(ins.size(), 3U);
  EXPECT_EQ(ins[1].opcode, Opcode::copy_strided);  // after x + 2: 12 rows of 2
  // x + 2; 12 -> 6 -> 3 -> 2 -> 1 rows.
  EXPECT_EQ(std::ranges::count(opcodes_of(lower(graph)), Opcode::eltwise), 5);
  EXPECT_EQ(ins[ins.size() - 2].flags, kFuncAbs);
  EXPECT_EQ(ins.back().opcode, Opcode::activation_param);
  EXPECT_EQ(ins.back().flags, kFuncLog);
}

// x / max(||x||_p, smallest positive) along the axis: an all-zero slice
// gives 0, as onnxruntime.
TEST(OnnxNorms, LpNormalizationDividesByTheNormClippedAwayFromZero) {
  const Program program = lower(fused("lp_norm"));
  const std::vector<Instruction> ins = instructions_of(program);
  const std::vector<Opcode> expected{
      // p 2 along the last axis: x * x, REDUCE, SQRT, CLIP, the norm
      // expanded along the axis, ELTWISE div.
      Opcode::eltwise, Opcode::reduce, Opcode::activation_param, Opcode::activation_param,
      Opcode::copy_strided, Opcode::eltwise,
      // p 1 along axis 1: ABS, REDUCE, CLIP, expansion, div.
      Opcode::activation_param, Opcode::reduce, Opcode::activation_param, Opcode::copy_strided,
      Opcode::eltwise,
      // p 2 (the default) along axis 0: the norm a trailing block, no expansion.
      Opcode::eltwise, Opcode::reduce, Opcode::activation_param, Opcode::activation_param,
      Opcode::eltwise,
      // p 1 along axis 2.
      Opcode::activation_param, Opcode::reduce, Opcode::activation_param, Opcode::copy_strided,
      Opcode::eltwise};
  ASSERT_EQ(opcodes_of(program), expected);
  EXPECT_EQ(extents(ins[1]), (std::array<std::uint32_t, 3>{6, 4, 1}));
  EXPECT_EQ(ins[2].flags, kFuncSqrt);
  EXPECT_EQ(ins[3].flags, kFuncClip);
  EXPECT_EQ(float_value(ins[3], 3), std::numeric_limits<float>::min());
  EXPECT_EQ(float_value(ins[3], 4), std::numeric_limits<float>::infinity());
  EXPECT_EQ(ins[5].flags, kEltwiseDiv);
  EXPECT_EQ(value(ins[5], 3), 24U);  // count
  EXPECT_EQ(ins[6].flags, kFuncAbs);
  EXPECT_EQ(extents(ins[7]), (std::array<std::uint32_t, 3>{2, 3, 4}));
  EXPECT_EQ(extents(ins[12]), (std::array<std::uint32_t, 3>{1, 2, 12}));
  EXPECT_EQ(value(ins[15], 4), 12U);  // b_count: the norm read in place

  // FP16's smallest positive value (2^-24, a subnormal) is the bound there.
  const std::vector<Instruction> fp16 = instructions_of(lower(fused("lp_norm"), DataType::fp16));
  EXPECT_EQ(float_value(fp16[3], 3), 0x1p-24F);

  // Before ISA v1.5, |x| is max(x, -x): the two p 1 norms' ABS become two
  // ELTWISEs each, beside the four divisions and the two squares.
  const std::vector<Opcode> v14 =
      opcodes_of(lower(fused("lp_norm"), DataType::fp32, every_opcode(), npu::isa::kIsaVersion1_4));
  EXPECT_EQ(std::ranges::count(v14, Opcode::eltwise), 10);
}

TEST(OnnxNorms, LpNormalizationOfAnotherPIsRefusedNamingTheNodeAndP) {
  try {
    lower(fused("lp_norm_bad_p"));
    FAIL() << "lowered";
  } catch (const npu::onnx::UnsupportedOperators& e) {
    ASSERT_EQ(e.entries().size(), 1U);
    EXPECT_EQ(e.entries()[0].op, "LpNormalization");
    EXPECT_EQ(e.entries()[0].nodes, std::vector<std::string>{"lp3"});
    EXPECT_EQ(e.entries()[0].reason, "p 3: ONNX defines 1 and 2");
  }
}

// ReduceMean -> Sub -> Pow 2 -> ReduceMean -> Add eps -> Sqrt -> Div -> Mul
// gamma -> Add beta over the last axis: one LAYERNORM, the axes given as an
// attribute (opset 13) or as an input (18, also as a positive axis).
TEST(OnnxNorms, SpelledOutLayerNormIsOneLayerNormAtOpsets13And18) {
  for (const char* name :
       {"layer_norm_spelled", "layer_norm_spelled_opset18", "layer_norm_spelled_opset18_axis2"}) {
    const Graph graph = fused(name);
    ASSERT_EQ(graph.nodes.size(), 1U) << name;
    EXPECT_EQ(graph.nodes[0].op, "LayerNormalization") << name;
    EXPECT_EQ(graph.nodes[0].get_float("epsilon", 0.0F), 1e-5F) << name;
    EXPECT_EQ(graph.constants.at(graph.nodes[0].inputs[1]).floats.front(), 0.5F) << name;
    EXPECT_EQ(opcodes_of(lower(graph)), std::vector<Opcode>{Opcode::layernorm}) << name;
  }
  // Over a middle axis it is not a LAYERNORM (rows of the last axis): op by op.
  const Graph middle = fused("layer_norm_spelled_opset18_middle");
  EXPECT_EQ(std::ranges::count(opcodes_of(lower(middle)), Opcode::layernorm), 0);
  EXPECT_EQ(std::ranges::count(opcodes_of(lower(middle)), Opcode::reduce), 2);
}

// LayerNormalization over the axes from 1 on: one LAYERNORM over rows of
// 3 x 4, its scale and bias (one value, broadcast on the host) 12 values; the
// Mean and InvStdDev outputs (found unwritten by ONNX's node tests) are a
// REDUCE mean per row, and the centred squares' REDUCE mean + epsilon to
// the power -1/2.
TEST(OnnxNorms, LayerNormOverTrailingAxesWritesMeanAndInvStdDev) {
  const Graph graph = fused("layer_norm_axis1");
  const Program program = lower(graph);
  const std::vector<Opcode> expected{
      Opcode::layernorm, Opcode::reduce, Opcode::copy_strided, Opcode::eltwise,
      Opcode::eltwise,   Opcode::reduce, Opcode::eltwise,      Opcode::activation_param};
  ASSERT_EQ(opcodes_of(program), expected);
  const std::vector<Instruction> ins = instructions_of(program);
  EXPECT_EQ(value(ins[0], 4), 2U);   // rows
  EXPECT_EQ(value(ins[0], 5), 12U);  // the normalized axes' elements
  EXPECT_EQ(float_value(ins[0], 6), 1e-3F);
  EXPECT_TRUE(std::ranges::any_of(program.weights, [](const auto& weight) {
    return weight.second.floats == std::vector<float>(12, 0.25F);  // the bias, broadcast
  }));
  EXPECT_EQ((std::array{value(ins[1], 2), value(ins[1], 3), value(ins[1], 4)}),
            (std::array<std::uint32_t, 3>{2, 12, 1}));
  EXPECT_EQ(ins[7].flags, 5U);  // POW
  EXPECT_EQ(float_value(ins[7], 4), -0.5F);
}

// Dropout at inference: y is x (a copy, both being graph input and output),
// the mask one DMA_FILL of bytes 1.
TEST(OnnxNorms, DropoutMaskIsAllTrue) {
  const Program program = lower(fused("dropout_mask"));
  ASSERT_EQ(opcodes_of(program), (std::vector<Opcode>{Opcode::dma_copy, Opcode::dma_fill}));
  const Instruction fill = instructions_of(program).at(1);
  EXPECT_EQ(value(fill, 1), 15U);
  EXPECT_EQ(value(fill, 2), 0x01010101U);
}

// A constant exponent of several values is one ELTWISE POW reading them
// along the rows (ISA v1.8; refused before, and once ran with the first
// value as the exponent); a Gemm's single C is its bias, N times beta * C.
TEST(OnnxNorms, PowVectorExponentIsEltwisePowAndGemmScalarCIsABias) {
  const std::vector<Instruction> pow = instructions_of(lower(fused("pow_vector_exponent")));
  ASSERT_EQ(pow.size(), 1U);
  EXPECT_EQ(pow[0].opcode, Opcode::eltwise);
  EXPECT_EQ(pow[0].flags, 6U);  // POW
  EXPECT_EQ(value(pow[0], 3), 6U);
  EXPECT_EQ(value(pow[0], 4), 3U);  // the exponents repeat along x's rows
  EXPECT_EQ(refusal(fused("pow_vector_exponent"), every_opcode(), npu::isa::kIsaVersion1_7),
            "Pow: needs ISA v1.8's ELTWISE POW, for an exponent per element (hw-spec 7.4.8); "
            "the device is v1.7");
  const Program gemm = lower(fused("gemm_scalar_c"));
  ASSERT_EQ(opcodes_of(gemm), std::vector<Opcode>{Opcode::gemm});
  std::vector<float> bias;
  for (const auto& [name, weight] : gemm.weights) {
    if (weight.shape == Shape{4}) {
      bias = weight.floats;
    }
  }
  EXPECT_EQ(bias, std::vector<float>(4, 3.0F));
}

// training_mode 1 normalizes by the batch's statistics: neither folded
// into the Conv before it nor lowered as the running statistics' scale and
// shift, but refused naming what the runtime takes (the reason used to be
// "not after a Conv it can be folded into", also for a BN with none).
TEST(OnnxNorms, BatchNormalizationInTrainingModeIsRefused) {
  for (const char* name : {"batch_norm_training", "batch_norm_training_alone"}) {
    const std::string why = refusal(fused(name));
    EXPECT_NE(why.find("BatchNormalization: "), std::string::npos) << name << ": " << why;
    EXPECT_NE(why.find("training_mode 0"), std::string::npos) << name << ": " << why;
  }
}

}  // namespace
