// Lowerings of the operators trained networks use beyond the first models:
// ArgMax/ArgMin, InstanceNormalization (and nn.GroupNorm as PyTorch exports
// it), LRN, on make_operator_models.py's graphs; and the refusals of what
// stays unsupported, naming the node's op.
#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "constant_folding.hpp"
#include "normalization.hpp"
#include "npu/kernel_builder.hpp"
#include "test_graphs.hpp"

namespace {

using namespace npu::onnx_runtime;
using npu::isa::DataType;
using npu::isa::Instruction;
using npu::isa::Opcode;

std::uint32_t flags_of(npu::ReduceOp op) {
  return static_cast<std::uint32_t>(op);
}

TEST(OnnxArgMax, IsReduceCompareSelectOfAnIndexRampReduceAndWidenedToInt64) {
  const Program program = lower(fused("argmax"));
  EXPECT_EQ(program.output_types.at("first_c"), ElementType::int64);
  EXPECT_EQ(program.output_types.at("last_min"), ElementType::int64);
  EXPECT_FALSE(program.output_types.contains("am_f"));
  EXPECT_TRUE(program.narrowed_inputs.empty());  // indices made on the device fit 32 bits
  const std::vector<Instruction> ins = instructions_of(program);
  ASSERT_EQ(ins.size(), 30U);
  // ArgMax(x [2, 3, 5], axis 1, keepdims): outer 2, length 3, inner 5.
  const std::vector<Opcode> first{Opcode::reduce,      Opcode::copy_strided, Opcode::compare,
                                  Opcode::select,      Opcode::reduce,       Opcode::dma_fill,
                                  Opcode::copy_strided};
  for (std::size_t i = 0; i < first.size(); ++i) {
    EXPECT_EQ(ins[i].opcode, first[i]) << i;
  }
  EXPECT_EQ(ins[0].dtype, DataType::fp32);
  EXPECT_EQ(ins[0].flags, flags_of(npu::ReduceOp::max));
  EXPECT_EQ(value(ins[0], 2), 2U);
  EXPECT_EQ(value(ins[0], 3), 3U);
  EXPECT_EQ(value(ins[0], 4), 5U);
  // x == max, the maximum expanded along the axis first.
  EXPECT_EQ(ins[2].flags, static_cast<std::uint32_t>(npu::CompareOp::eq));
  EXPECT_EQ(value(ins[2], 4), 30U);
  // The index of every hit from the ramp (3 x 5, a trailing block), the
  // last index for the others; the smallest wins: the first maximum.
  EXPECT_EQ(ins[3].dtype, DataType::int32);
  EXPECT_EQ(value(ins[3], 4), 30U);
  EXPECT_EQ(value(ins[3], 6), 15U);
  EXPECT_EQ(value(ins[3], 7), 1U);
  EXPECT_EQ(program.weights.at("%index_ramp3x5").ints,
            (std::vector<std::int64_t>{0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2}));
  EXPECT_EQ(program.weights.at("%int32_2").ints, std::vector<std::int64_t>{2});
  EXPECT_EQ(ins[4].dtype, DataType::int32);
  EXPECT_EQ(ins[4].flags, flags_of(npu::ReduceOp::min));
  // int64: zeros, then the INT32 indices into the low words.
  EXPECT_EQ(value(ins[5], 1), 2U * 5 * 8);
  EXPECT_EQ(value(ins[5], 2), 0U);
  EXPECT_EQ(ins[6].dtype, DataType::int32);
  // ArgMin(Relu(x), axis -1, select_last_index) (ins[7] is the Relu): the
  // misses are index 0 and the largest index wins: the last minimum.
  EXPECT_EQ(ins[7].opcode, Opcode::activation);
  EXPECT_EQ(ins[8].flags, flags_of(npu::ReduceOp::min));
  EXPECT_EQ(ins[11].opcode, Opcode::select);
  EXPECT_TRUE(program.weights.contains("%int32_0"));
  EXPECT_EQ(ins[12].flags, flags_of(npu::ReduceOp::max));
  // ArgMax along axis 0: the maximum, [1, 3, 5], is a trailing block of
  // x, read in place (no expansion): six instructions.
  EXPECT_EQ(ins[15].opcode, Opcode::reduce);
  EXPECT_EQ(ins[16].opcode, Opcode::compare);
  EXPECT_EQ(value(ins[16], 4), 15U);
  EXPECT_EQ(ins[20].opcode, Opcode::copy_strided);
  // ArgMax along the last axis read by a Cast to float: its low words,
  // then CONVERT INT32 -> FP32.
  EXPECT_EQ(ins[28].opcode, Opcode::copy_strided);
  EXPECT_EQ(ins[29].opcode, Opcode::convert);
  EXPECT_EQ(ins[29].dtype, DataType::int32);
}

TEST(OnnxArgMax, IntegersAndDevicesWithoutCompareAreRefusedByName) {
  EXPECT_EQ(refusal(fused("argmax_integers")),
            "ArgMax: ArgMax of int64 values; the device compares float tensors here");
  std::bitset<64> v1_3 = every_opcode();
  v1_3.reset(static_cast<std::size_t>(Opcode::compare));
  v1_3.reset(static_cast<std::size_t>(Opcode::select));
  try {
    lower(fused("argmax"), DataType::fp32, v1_3);
    ADD_FAILURE() << "lowered without COMPARE";
  } catch (const npu::onnx::UnsupportedOperators& e) {
    EXPECT_EQ(e.entries().at(0).op, "ArgMax");
    EXPECT_NE(std::string(e.what()).find("needs the ISA v1.4 instruction COMPARE"),
              std::string::npos)
        << e.what();
  }
}

TEST(OnnxInstanceNorm, IsLayerNormOverEachChannelThenTheAffineAsADepthwiseConv) {
  const Graph graph = fused("instance_norm");
  EXPECT_EQ(std::ranges::count(graph.nodes, std::string("NormalizeGroups"), &Node::op), 3);
  EXPECT_EQ(std::ranges::count(graph.nodes, std::string("InstanceNormalization"), &Node::op), 0);
  // The per-channel affine of the first, a BatchNormalization of mean 0 and
  // variance 1 for lower_batch_norm: a depthwise 1x1 Conv, the Relu joined.
  const auto conv = std::ranges::find(graph.nodes, std::string("Conv"), &Node::op);
  ASSERT_NE(conv, graph.nodes.end());
  EXPECT_EQ(conv->get_int("group", 0), 4);
  EXPECT_EQ(conv->get_string("activation", ""), "Relu");
  EXPECT_EQ(conv->outputs[0], "y");
  const Graph original = import("instance_norm");
  EXPECT_EQ(graph.constants.at(conv->inputs[1]).floats, original.constants.at("scale").floats);
  EXPECT_EQ(graph.constants.at(conv->inputs[2]).floats, original.constants.at("bias").floats);

  const std::vector<Instruction> ins = instructions_of(lower(graph));
  // LAYERNORM, CONV2D; LAYERNORM ([2, 4, 15], identity affine: no node);
  // PyTorch's GroupNorm(2, 4): LAYERNORM of 4 rows of 30, Mul, Add.
  const std::vector<Opcode> expected{Opcode::layernorm, Opcode::conv2d,  Opcode::layernorm,
                                     Opcode::layernorm, Opcode::eltwise, Opcode::eltwise};
  ASSERT_EQ(ins.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(ins[i].opcode, expected[i]) << i;
  }
  EXPECT_EQ(value(ins[0], 4), 8U);   // rows: N x C
  EXPECT_EQ(value(ins[0], 5), 15U);  // cols: H x W
  EXPECT_EQ(float_value(ins[0], 6), 1e-3F);
  EXPECT_EQ(value(ins[2], 4), 8U);
  EXPECT_EQ(value(ins[3], 4), 4U);
  EXPECT_EQ(value(ins[3], 5), 30U);
  EXPECT_EQ(float_value(ins[3], 6), 1e-5F);
}

TEST(OnnxInstanceNorm, GroupNormalizationScalesPerGroupBeforeOpset21AndPerChannelFrom21) {
  for (const std::int64_t opset : {18, 21}) {
    Graph graph;
    graph.opset = opset;
    graph.inputs = {"x"};
    graph.outputs = {"y"};
    graph.values["x"] = {ElementType::float32, Shape{1, 4, 2, 2}};
    graph.values["y"] = {ElementType::float32, Shape{1, 4, 2, 2}};
    const std::vector<float> per =
        opset == 18 ? std::vector<float>{2, 3} : std::vector<float>{2, 3, 4, 5};
    const auto size = static_cast<std::int64_t>(per.size());
    graph.constants["s"] = Constant::of_floats({size}, per);
    graph.constants["b"] = Constant::of_floats({size}, std::vector<float>(per.size(), 0.5F));
    graph.nodes.push_back(Node{.op = "GroupNormalization",
                               .name = "g",
                               .inputs = {"x", "s", "b"},
                               .outputs = {"y"},
                               .attributes = {{"num_groups", std::int64_t{2}}}});
    ASSERT_EQ(lower_group_norm(graph), 1U) << opset;
    ASSERT_EQ(graph.nodes.size(), 2U);
    EXPECT_EQ(graph.nodes[0].op, "NormalizeGroups");
    EXPECT_EQ(graph.nodes[0].get_int("groups", 0), 2);
    EXPECT_EQ(graph.nodes[1].op, "BatchNormalization");
    const std::vector<float> want =
        opset == 18 ? std::vector<float>{2, 2, 3, 3} : std::vector<float>{2, 3, 4, 5};
    EXPECT_EQ(graph.constants.at(graph.nodes[1].inputs[1]).floats, want) << opset;
  }
}

// Volumes: one LAYERNORM over each image's channels, the affine a
// multiplication and an addition broadcast along C.
TEST(OnnxInstanceNorm, VolumesAreOneLayernormAndAnAffine) {
  const Graph graph = fused("instance_norm_5d");
  ASSERT_EQ(graph.nodes.size(), 3U);
  EXPECT_EQ(graph.nodes[0].op, "NormalizeGroups");
  EXPECT_EQ(graph.nodes[1].op, "Mul");
  EXPECT_EQ(graph.shape(graph.nodes[1].inputs[1]), (Shape{3, 1, 1, 1}));
  EXPECT_EQ(graph.nodes[2].op, "Add");
  const std::vector<Instruction> ins = instructions_of(lower(graph));
  ASSERT_FALSE(ins.empty());
  EXPECT_EQ(ins[0].opcode, Opcode::layernorm);
  EXPECT_EQ(value(ins[0], 4), 2U * 3);  // rows: N x C
  EXPECT_EQ(value(ins[0], 5), 24U);     // D x H x W
}

TEST(OnnxInstanceNorm, WhatTheRewriteCannotTakeIsRefusedByName) {
  EXPECT_EQ(refusal(fused("instance_norm_computed_scale")),
            "InstanceNormalization: scale and bias must be constants of one value per channel");
}

// Where neither operand has the output's shape, or the first broadcasts
// under Div or Sub, the first is expanded to the output's shape first: one
// COPY_STRIDED (a constant: expanded on the host), then the ELTWISE.
TEST(OnnxBroadcast, AFirstOperandThatBroadcastsIsExpandedFirst) {
  const Program program = lower(fused("broadcast_operands"));
  const std::vector<Instruction> ins = instructions_of(program);
  const auto eltwise_count = std::ranges::count(ins, Opcode::eltwise, &Instruction::opcode);
  // outer, difference, root + eps, reciprocal, quotient, two sums.
  EXPECT_EQ(eltwise_count, 7);
  // outer: column [2, 3, 1] expanded to [2, 3, 4] by one copy, then x row.
  const auto outer = std::ranges::find(ins, Opcode::eltwise, &Instruction::opcode);
  ASSERT_NE(outer, ins.end());
  EXPECT_EQ((outer - 1)->opcode, Opcode::copy_strided);
  EXPECT_EQ(value(*outer, 3), 24U);  // count: the whole output
}

TEST(OnnxInstanceNorm, GroupNormalizationOfOpsets18And21LoadsThoughLibonnxStopsAt17) {
  for (const char* name : {"group_norm_v18", "group_norm_v21"}) {
    const Graph graph = fused(name);
    EXPECT_EQ(graph.shape("y"), (Shape{2, 6, 3, 4})) << name;  // newer_schemas.cpp's inference
    ASSERT_EQ(graph.nodes.size(), 2U) << name;
    EXPECT_EQ(graph.nodes[0].op, "NormalizeGroups");
    EXPECT_EQ(graph.nodes[1].op, "Conv");
    const std::vector<Instruction> ins = instructions_of(lower(graph));
    ASSERT_EQ(ins.size(), 2U);
    EXPECT_EQ(value(ins[0], 4), 4U);   // N x groups
    EXPECT_EQ(value(ins[0], 5), 36U);  // 3 channels x 3 x 4
    EXPECT_EQ(float_value(ins[0], 6), 1e-4F);
  }
  // Opset 18: one scale per group, each for its three channels.
  const Graph v18 = fused("group_norm_v18");
  const Graph original = import("group_norm_v18");
  const std::vector<float>& scale = original.constants.at("scale").floats;
  const std::vector<float>& weights = v18.constants.at(v18.nodes[1].inputs[1]).floats;
  ASSERT_EQ(weights.size(), 6U);
  EXPECT_EQ(weights,
            (std::vector<float>{scale[0], scale[0], scale[0], scale[1], scale[1], scale[1]}));
}

TEST(OnnxLrn, IsSquaresAveragedAcrossChannelsByPool2dThenPow) {
  const std::vector<Instruction> ins = instructions_of(lower(fused("lrn")));
  // Each: x*x, POOL2D (a size x 1 window padded by size / 2 over the
  // squares seen as 1 x 1 x 6 x 20), *alpha, +bias, POW -beta, *x.
  const std::vector<Opcode> one{Opcode::eltwise, Opcode::pool2d,           Opcode::eltwise,
                                Opcode::eltwise, Opcode::activation_param, Opcode::eltwise};
  ASSERT_EQ(ins.size(), 2 * one.size());
  for (std::size_t i = 0; i < ins.size(); ++i) {
    EXPECT_EQ(ins[i].opcode, one[i % one.size()]) << i;
  }
  for (const auto& [pool, size] : {std::pair{ins[1], 3U}, std::pair{ins[7], 5U}}) {
    EXPECT_EQ(pool.flags, static_cast<std::uint32_t>(npu::PoolMode::average_with_padding));
    EXPECT_EQ(value(pool, 3), 1U);   // C
    EXPECT_EQ(value(pool, 4), 6U);   // the channels as H
    EXPECT_EQ(value(pool, 5), 20U);  // H x W as W
    EXPECT_EQ(value(pool, 6), size);
    EXPECT_EQ(value(pool, 7), 1U);
    EXPECT_EQ(value(pool, 10), size / 2);
  }
  EXPECT_EQ(value(ins[2], 4), 1U);  // * alpha, a scalar
  EXPECT_EQ(value(ins[3], 4), 1U);  // + bias
  EXPECT_EQ(float_value(ins[4], 3), 1.0F);
  EXPECT_EQ(float_value(ins[4], 4), -0.75F);
  EXPECT_EQ(float_value(ins[10], 4), -0.5F);
  EXPECT_EQ(refusal(fused("lrn_even")),
            "LRN: size 4 is even (an asymmetric window, which onnxruntime refuses too)");
}

// An operand varying along two blocks of the output's axes (Swin's window
// mask, [1, 2, 1, 4, 4] over [1, 2, 3, 4, 4]): expanded to the trailing
// block [2, 3, 4, 4], a constant on the host, a computed one by one
// COPY_STRIDED, then one ELTWISE reading it in place.
TEST(OnnxWindowMask, OperandsVaryingAlongTwoBlocksAreExpandedToATrailingBlock) {
  const Program program = lower(fused("window_mask"));
  const std::vector<Instruction> ins = instructions_of(program);
  const std::vector<Opcode> expected{Opcode::eltwise, Opcode::reduce, Opcode::copy_strided,
                                     Opcode::eltwise};
  ASSERT_EQ(ins.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(ins[i].opcode, expected[i]) << i;
  }
  EXPECT_EQ(value(ins[0], 3), 96U);
  EXPECT_EQ(value(ins[0], 4), 96U);
  EXPECT_EQ(value(ins[3], 4), 96U);
  // The constant: mask[w, t] repeated over the three heads of window w.
  const Graph graph = import("window_mask");
  const std::vector<float>& mask = graph.constants.at("mask").floats;
  const auto expanded = std::ranges::find_if(program.weights, [](const auto& weight) {
    return weight.second.shape == Shape{2, 3, 4, 4};
  });
  ASSERT_NE(expanded, program.weights.end());
  for (std::size_t w = 0; w < 2; ++w) {
    for (std::size_t h = 0; h < 3; ++h) {
      for (std::size_t t = 0; t < 16; ++t) {
        EXPECT_EQ(expanded->second.floats[(w * 3 + h) * 16 + t], mask[w * 16 + t]);
      }
    }
  }
}

// A Gemm whose B exceeds the device's 64 MiB operand (AlexNet's and VGG's
// first classifier layers): one GEMM per block of 4096 rows of the
// transposed B, each writing its columns of C (ldc N) and reading its part
// of the bias.
TEST(OnnxGemm, WeightsBeyondAnOperandAreSplitIntoColumnBlocks) {
  constexpr std::int64_t K = 4096, N = 4100;  // B: 67 MB
  Graph graph;
  graph.opset = 13;
  graph.inputs = {"a"};
  graph.outputs = {"c"};
  graph.values["a"] = {ElementType::float32, Shape{1, K}};
  graph.values["c"] = {ElementType::float32, Shape{1, N}};
  graph.constants["b"] =
      Constant::of_floats({N, K}, std::vector<float>(static_cast<std::size_t>(N * K), 0.5F));
  graph.constants["bias"] = Constant::of_floats({N}, std::vector<float>(N, 1.0F));
  graph.values["b"] = {ElementType::float32, Shape{N, K}};
  graph.values["bias"] = {ElementType::float32, Shape{N}};
  graph.nodes.push_back(Node{.op = "Gemm",
                             .name = "fc",
                             .inputs = {"a", "b", "bias"},
                             .outputs = {"c"},
                             .attributes = {{"transB", std::int64_t{1}}}});
  const Program program = lower(graph);
  ASSERT_EQ(program.instructions.size(), 2U);
  const std::vector<Instruction> ins = instructions_of(program);
  EXPECT_EQ(value(ins[0], 5), 4096U);  // N of the block
  EXPECT_EQ(value(ins[1], 5), 4U);
  EXPECT_EQ(value(ins[1], 8), 4096U);  // ldb: K
  EXPECT_EQ(value(ins[1], 9), 4100U);  // ldc: N
  const DeviceInstruction& second = program.instructions[1];
  EXPECT_EQ(second.operands[1].offset, 4096U * 4096 * 4);  // rows 4096.. of B
  EXPECT_EQ(second.operands[2].offset, 4096U * 4);         // the bias from 4096
  EXPECT_EQ(second.operands[3].offset, 4096U * 4);         // C's columns from 4096
  // Stored K x N, the columns of B are not contiguous: the GEMMs read a
  // copy transposed on the host, as above.
  graph.nodes[0].attributes.erase("transB");
  std::vector<float> stored(static_cast<std::size_t>(K * N));
  for (std::size_t i = 0; i < stored.size(); ++i) {
    stored[i] = static_cast<float>(i % 1009);
  }
  graph.constants["b"] = Constant::of_floats({K, N}, stored);
  graph.values["b"] = {ElementType::float32, Shape{K, N}};
  const Program stored_k_by_n = lower(graph);
  const std::vector<Instruction> gemms = instructions_of(stored_k_by_n);
  ASSERT_EQ(gemms.size(), 2U);
  for (const Instruction& gemm : gemms) {
    EXPECT_NE(gemm.flags & 2U, 0U);    // transposed B
    EXPECT_EQ(value(gemm, 8), 4096U);  // ldb: K
  }
  EXPECT_FALSE(stored_k_by_n.weights.contains("b"));
  const auto transposed = std::ranges::find_if(stored_k_by_n.weights, [&](const auto& weight) {
    return weight.second.shape == Shape{N, K};
  });
  ASSERT_NE(transposed, stored_k_by_n.weights.end());
  for (const auto& [row, column] :
       {std::pair<std::int64_t, std::int64_t>{0, 1}, {5, 4099}, {4095, 7}}) {
    EXPECT_EQ(transposed->second.floats[static_cast<std::size_t>(column * K + row)],
              stored[static_cast<std::size_t>(row * N + column)]);
  }
}

// ScatterND of constants, folded: whole rows (index tuples of one value),
// single elements (of two), reduction add, a negative index; an index
// outside the data refused naming the node.
TEST(OnnxScatterNd, ConstantsAreFoldedOnTheHost) {
  Graph graph;
  graph.constants["data"] = Constant::of_floats({3, 4}, std::vector<float>(12, 1.0F));
  graph.constants["rows"] = Constant::of_ints({2, 1}, {0, -1});
  graph.constants["row_updates"] = Constant::of_floats({2, 4}, {1, 2, 3, 4, 5, 6, 7, 8});
  graph.constants["cells"] = Constant::of_ints({2, 2}, {1, 1, 2, 3});
  graph.constants["cell_updates"] = Constant::of_floats({2}, {9, 10});
  graph.constants["outside"] = Constant::of_ints({1, 1}, {3});
  graph.constants["one_row"] = Constant::of_floats({1, 4}, {1, 2, 3, 4});
  const auto scatter = [&graph](const std::string& indices, const std::string& updates,
                                const std::string& reduction) {
    Node node{.op = "ScatterND",
              .name = "s",
              .inputs = {"data", indices, updates},
              .outputs = {"y"},
              .attributes = {}};
    if (!reduction.empty()) {
      node.attributes["reduction"] = reduction;
    }
    const auto values = evaluate_on_host(node, graph);
    return values ? values->at(0).floats : std::vector<float>{};
  };
  EXPECT_EQ(scatter("rows", "row_updates", ""),
            (std::vector<float>{1, 2, 3, 4, 1, 1, 1, 1, 5, 6, 7, 8}));
  EXPECT_EQ(scatter("cells", "cell_updates", ""),
            (std::vector<float>{1, 1, 1, 1, 1, 9, 1, 1, 1, 1, 1, 10}));
  EXPECT_EQ(scatter("cells", "cell_updates", "add"),
            (std::vector<float>{1, 1, 1, 1, 1, 10, 1, 1, 1, 1, 1, 11}));
  try {
    scatter("outside", "one_row", "");
    ADD_FAILURE() << "folded an index outside the data";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("ScatterND 's': index 3 outside"), std::string::npos)
        << e.what();
  }
  EXPECT_TRUE(lowerable_ops().contains("ScatterND"));  // loads; folded or refused at compile
}

// Slice of constants with negative steps (x[::-1], x[4:0:-2]), folded
// with ONNX's clamping (Swin's masks are built through such slices).
TEST(OnnxScatterNd, SlicesWithNegativeStepsAreFolded) {
  Graph graph;
  graph.opset = 13;
  graph.constants["data"] = Constant::of_floats({2, 5}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  graph.constants["flip_start"] = Constant::of_ints({1}, {-1});
  graph.constants["flip_end"] = Constant::of_ints({1}, {std::numeric_limits<std::int64_t>::min()});
  graph.constants["axis1"] = Constant::of_ints({1}, {1});
  graph.constants["minus1"] = Constant::of_ints({1}, {-1});
  graph.constants["from4"] = Constant::of_ints({1}, {4});
  graph.constants["to0"] = Constant::of_ints({1}, {0});
  graph.constants["minus2"] = Constant::of_ints({1}, {-2});
  const auto slice = [&graph](std::vector<std::string> inputs) {
    const Node node{.op = "Slice",
                    .name = "s",
                    .inputs = std::move(inputs),
                    .outputs = {"y"},
                    .attributes = {}};
    return evaluate_on_host(node, graph).value().at(0);
  };
  const Constant flipped = slice({"data", "flip_start", "flip_end", "axis1", "minus1"});
  EXPECT_EQ(flipped.shape, (Shape{2, 5}));
  EXPECT_EQ(flipped.floats, (std::vector<float>{4, 3, 2, 1, 0, 9, 8, 7, 6, 5}));
  const Constant stepped = slice({"data", "from4", "to0", "axis1", "minus2"});
  EXPECT_EQ(stepped.shape, (Shape{2, 2}));
  EXPECT_EQ(stepped.floats, (std::vector<float>{4, 2, 9, 7}));
}

}  // namespace
