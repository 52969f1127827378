// The INT8 path without a device: the quantization arithmetic against
// hand-computed values, the device's conversion trick against it, and the
// INT8 rewrite and lowering of make_test_models.py's int8_convs graph.
#include "quantization.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>

#include "element_codec.hpp"
#include "fusion.hpp"
#include "int8_rewrite.hpp"
#include "lowered_program.hpp"
#include "lowering.hpp"
#include "npu/isa.hpp"
#include "npu/kernel_builder.hpp"
#include "npu/onnx/model.hpp"
#include "onnx_import.hpp"

namespace {

using namespace npu::onnx_runtime;
using npu::isa::DataType;
using npu::isa::Opcode;

TEST(OnnxInt8Math, SymmetricScaleMapsTheRangeOnto127) {
  EXPECT_EQ(symmetric_scale(254.0F), 2.0F);
  EXPECT_EQ(symmetric_scale(127.0F), 1.0F);
  EXPECT_EQ(symmetric_scale(0.0F), 1.0F);  // all zeros: any scale, never 0
  EXPECT_THROW(symmetric_scale(-1.0F), std::invalid_argument);
  EXPECT_THROW(symmetric_scale(std::numeric_limits<float>::infinity()), std::invalid_argument);
}

TEST(OnnxInt8Math, ActivationsRoundHalfToEvenAndSaturate) {
  EXPECT_EQ(quantize_activation(2.5F, 1.0F), 2);
  EXPECT_EQ(quantize_activation(3.5F, 1.0F), 4);
  EXPECT_EQ(quantize_activation(-2.5F, 1.0F), -2);
  EXPECT_EQ(quantize_activation(-3.5F, 1.0F), -4);
  EXPECT_EQ(quantize_activation(2.4F, 0.5F), 5);  // 4.8
  EXPECT_EQ(quantize_activation(1000.0F, 1.0F), 127);
  EXPECT_EQ(quantize_activation(-1000.0F, 1.0F), -128);
  EXPECT_EQ(quantize_activation(std::numeric_limits<float>::quiet_NaN(), 1.0F), 0);
}

TEST(OnnxInt8Math, ConvWeightsGetOneScalePerOutputChannel) {
  // K x (C R S) = 2 x 3: channel 0 reaches 127 (scale 1), channel 1 254
  // (scale 2); 50.5 and 2.5 are ties, rounded to even; weights stay in
  // [-127, 127].
  const std::vector<float> w{127.0F, -50.5F, 3.49F, 254.0F, 5.0F, -7.0F};
  const ChannelQuantized q = quantize_per_channel(w, 1, 2, 3);
  EXPECT_EQ(q.scales, (std::vector<float>{1.0F, 2.0F}));
  EXPECT_EQ(q.values, (std::vector<std::int64_t>{127, -50, 3, 127, 2, -4}));
}

TEST(OnnxInt8Math, MatMulWeightsGetOneScalePerOutputColumn) {
  // K x N = 2 x 2: column 0 is {127, -50.5}, column 1 {254, 5}.
  const std::vector<float> w{127.0F, 254.0F, -50.5F, 5.0F};
  const ChannelQuantized q = quantize_per_channel(w, 2, 2, 1);
  EXPECT_EQ(q.scales, (std::vector<float>{1.0F, 2.0F}));
  EXPECT_EQ(q.values, (std::vector<std::int64_t>{127, 127, -50, 2}));
  EXPECT_THROW(quantize_per_channel(w, 3, 2, 1), std::invalid_argument);
}

TEST(OnnxInt8Math, BiasIsInAccumulatorUnitsAndRequantizationScalesChain) {
  // Accumulator units 0.5 * 2 = 1 and 0.5 * 4 = 2.
  EXPECT_EQ(quantize_bias(std::vector<float>{10.0F, -3.0F}, 0.5F, std::vector<float>{2.0F, 4.0F}),
            (std::vector<std::int64_t>{10, -2}));
  EXPECT_EQ(quantize_bias(std::vector<float>{1e12F}, 1.0F, std::vector<float>{1.0F}),
            (std::vector<std::int64_t>{std::numeric_limits<std::int32_t>::max()}));
  EXPECT_EQ(requantization_scales(0.5F, std::vector<float>{2.0F, 4.0F}, 0.25F),
            (std::vector<float>{4.0F, 8.0F}));
}

TEST(OnnxInt8Math, AccumulatorsConvertExactlyBelowTwoToThe22) {
  // One channel of 258 weights of 127: 128 * 127 * 258 = 4194048 < 2^22;
  // a bias of 256 more reaches 4194304 = 2^22.
  const ChannelQuantized w{std::vector<std::int64_t>(258, 127), {1.0F}};
  EXPECT_TRUE(accumulators_convert_exactly(w, std::vector<std::int64_t>{255}, 1, 258));
  EXPECT_FALSE(accumulators_convert_exactly(w, std::vector<std::int64_t>{-256}, 1, 258));
  // Channels are bounded one by one ([outer][channels][inner] = 258 x 2 x 1).
  ChannelQuantized two{std::vector<std::int64_t>(516, 0), {1.0F, 1.0F}};
  for (std::size_t k = 0; k < 258; ++k) {
    two.values[2 * k + 1] = -127;
  }
  EXPECT_TRUE(accumulators_convert_exactly(two, std::vector<std::int64_t>{0, 0}, 258, 1));
  EXPECT_FALSE(accumulators_convert_exactly(two, std::vector<std::int64_t>{0, 300}, 258, 1));
}

TEST(OnnxInt8Math, MinMaxCalibrationKeepsTheLargestFiniteMagnitude) {
  RangeObserver observer;
  EXPECT_EQ(observer.max_abs(), 0.0F);
  observer.observe(std::vector<float>{-3.0F, 2.0F, std::numeric_limits<float>::quiet_NaN(),
                                      std::numeric_limits<float>::infinity()});
  observer.observe(std::vector<float>{1.5F});
  EXPECT_EQ(observer.max_abs(), 3.0F);
}

TEST(OnnxInt8Math, PercentileCalibrationSaturatesTheOutliersOfEachSample) {
  // 1..100: the 99th percentile is the 99th smallest magnitude; the largest
  // over the samples is kept.
  std::vector<float> values(100);
  for (std::size_t i = 0; i < values.size(); ++i) {
    values[i] = -static_cast<float>(i + 1);
  }
  RangeObserver observer(99.0);
  observer.observe(values);
  EXPECT_EQ(observer.max_abs(), 99.0F);
  observer.observe(std::vector<float>{0.5F, 2.0F});
  EXPECT_EQ(observer.max_abs(), 99.0F);
  EXPECT_THROW(RangeObserver(0.0), std::invalid_argument);
  EXPECT_THROW(RangeObserver(100.5), std::invalid_argument);
}

// What the device's QuantizeInt8 sequence computes (ELTWISE div, ELTWISE
// add 1.5 * 2^23, CLIP, the low byte of each word) equals the host's
// quantization, ties and saturation included; DequantizeInt8's INT32
// pattern 0x4B400000 + q read as FP32, minus 1.5 * 2^23, is q exactly.
TEST(OnnxInt8Math, TheDevicesConversionSequenceIsExact) {
  const float scale = 0.37F;
  for (int i = -40000; i <= 40000; ++i) {
    const float x = static_cast<float>(i) * 0.0131F;
    for (const float v : {x, static_cast<float>(i / 100) * scale + scale / 2}) {
      const float biased =
          std::clamp(v / scale + kRoundingBias, kRoundingBias - 128.0F, kRoundingBias + 127.0F);
      const auto low_byte = static_cast<std::int8_t>(std::bit_cast<std::uint32_t>(biased) & 0xffU);
      ASSERT_EQ(low_byte, quantize_activation(v, scale)) << v;
    }
  }
  for (int q = -128; q <= 127; ++q) {
    ASSERT_EQ(std::bit_cast<float>(kRoundingBiasBits + q) - kRoundingBias, static_cast<float>(q));
  }
}

TEST(OnnxInt8Math, IntegerConstantsAreStoredInTheirOwnWidth) {
  const auto bytes = [](const Constant& c) {
    std::vector<int> v;
    for (const std::byte b : encode_constant(c, DataType::fp32)) {
      v.push_back(std::to_integer<int>(b));
    }
    return v;
  };
  EXPECT_EQ(bytes(Constant::of_ints({2}, {-1, 5}, ElementType::int8)), (std::vector<int>{255, 5}));
  EXPECT_EQ(bytes(Constant::of_ints({1}, {-2}, ElementType::int32)),
            (std::vector<int>{254, 255, 255, 255}));
  // A constant graph output's int64 and bool values.
  EXPECT_EQ(bytes(Constant::of_ints({1}, {-3})),
            (std::vector<int>{253, 255, 255, 255, 255, 255, 255, 255}));
  EXPECT_EQ(bytes(Constant::of_ints({2}, {1, 0}, ElementType::boolean)), (std::vector<int>{1, 0}));
  EXPECT_THROW(encode_constant(Constant::of_ints({1}, {1}, ElementType::uint8), DataType::fp32),
               std::invalid_argument);
}

std::uint32_t value(const npu::isa::Instruction& instruction, std::size_t operand) {
  EXPECT_FALSE(instruction.operands.at(operand).is_argument);
  return instruction.operands.at(operand).word;
}

// ---- the rewrite ------------------------------------------------------------

Graph fused_for_int8(const std::string& model) {
  Graph graph = import_graph(
      parse_model(std::filesystem::path(KNPU_ONNX_TEST_MODELS) / (model + ".onnx")), {});
  run_fusion_passes(graph, every_opcode());
  split_float_activations(graph);
  return graph;
}

Graph fused_int8_convs() {
  return fused_for_int8("int8_convs");
}

std::vector<std::string> ops_of(const Graph& graph) {
  std::vector<std::string> ops;
  for (const Node& node : graph.nodes) {
    ops.push_back(node.op);
  }
  return ops;
}

std::map<std::string, float> ranges_of(const Graph& graph) {
  std::map<std::string, float> ranges;
  float range = 2.0F;
  for (const std::string& tensor : calibrated_tensors(graph)) {
    ranges[tensor] = range;
    range *= 2.0F;
  }
  return ranges;
}

TEST(OnnxInt8Rewrite, ConvsAndGemmRunInInt8AndOnlyTheirFloatReadersGetDequantized) {
  Graph graph = fused_int8_convs();
  // Conv+Relu, grouped Conv, Gemm (transB, alpha, beta), the third Conv:
  // all four; the Sigmoid fused into the Gemm is split off again and runs
  // in FP32 (INT8 has RELU only); MaxPool reads float.
  EXPECT_EQ(ops_of(graph), (std::vector<std::string>{"Conv", "Conv", "Flatten", "Gemm", "Sigmoid",
                                                     "MaxPool", "Conv"}));
  EXPECT_EQ(calibrated_tensors(graph),
            (std::set<std::string>{"x", "r1", "c2", "f", "y/linear", "z"}));
  const Int8RewriteStats stats = rewrite_int8(graph, ranges_of(graph));
  EXPECT_EQ(stats.quantized_nodes, 4U);
  // The first conv's INT8 output feeds the second and the third directly
  // and is dequantized for MaxPool; the second's INT8 output goes through
  // Flatten (the same op on the INT8 tensor; the float Flatten and the
  // second conv's dequantization have no reader left) into the Gemm; the
  // Gemm and the third conv are read only as float: their outputs come
  // from the accumulators (float_output).
  EXPECT_EQ(ops_of(graph),
            (std::vector<std::string>{"QuantizeInt8", "Int8Conv", "DequantizeInt8", "Int8Conv",
                                      "Flatten", "Int8MatMul", "Sigmoid", "MaxPool", "Int8Conv"}));
  EXPECT_EQ(stats.conversions, 4U);
  EXPECT_EQ(graph.nodes[1].get_string("activation", ""), "Relu");
  EXPECT_EQ(graph.nodes[1].get_int("float_output", 0), 0);
  EXPECT_EQ(graph.nodes[2].inputs[0], graph.nodes[1].outputs[0]);
  EXPECT_EQ(graph.nodes[2].outputs[0], "r1");
  EXPECT_EQ(graph.nodes[3].inputs[0], graph.nodes[1].outputs[0]);
  EXPECT_EQ(graph.nodes[3].get_int("float_output", 0), 0);
  EXPECT_EQ(graph.nodes[3].outputs[0], "c2/int8");
  EXPECT_EQ(graph.nodes[4].inputs[0], "c2/int8");
  EXPECT_EQ(graph.nodes[4].outputs[0], "f/int8");
  EXPECT_EQ(graph.values.at("f/int8").type, ElementType::int8);
  EXPECT_EQ(graph.nodes[5].inputs[0], "f/int8");
  EXPECT_EQ(graph.nodes[5].get_int("float_output", 0), 1);
  EXPECT_EQ(graph.nodes[8].inputs[0], graph.nodes[1].outputs[0]);
  EXPECT_EQ(graph.nodes[8].get_int("float_output", 0), 1);
  EXPECT_EQ(graph.values.at(graph.nodes[1].outputs[0]).type, ElementType::int8);
}

// The INT8 instructions are not split: convolutions beyond one CONV2D
// (conv_bands' to 64 x 520 x 520, whose INT32 accumulators would take
// 69 MB; conv_many_macs' first, 5e9 multiply-adds per image) stay float,
// which the lowering runs in bands; the 1x1 Conv after conv_many_macs'
// first fits and runs in INT8, and so do the products by
// products_beyond_operand's constant B (69 MB in FP32, 17 MB in INT8).
TEST(OnnxInt8Rewrite, ProductsBeyondOneInstructionStayFloat) {
  for (const auto& [model, quantized] : {std::pair<std::string, std::size_t>{"conv_bands", 0},
                                         {"conv_many_macs", 1},
                                         {"products_beyond_operand", 2}}) {
    Graph graph = fused_for_int8(model);
    const Int8RewriteStats stats = rewrite_int8(graph, ranges_of(graph));
    EXPECT_EQ(stats.quantized_nodes, quantized) << model;
  }
}

TEST(OnnxInt8Rewrite, ConstantsCarryTheQuantizedWeightsBiasAndScales) {
  Graph graph = fused_int8_convs();
  const Constant w1 = graph.constants.at("w1");
  const Constant b1 = graph.constants.at("b1");
  const std::map<std::string, float> ranges = ranges_of(graph);
  rewrite_int8(graph, ranges);
  const Node& conv = graph.nodes[1];
  const Constant& w = graph.constants.at(conv.inputs[1]);
  const Constant& b = graph.constants.at(conv.inputs[2]);
  const Constant& s = graph.constants.at(conv.inputs[3]);
  ASSERT_EQ(w.type, ElementType::int8);
  ASSERT_EQ(b.type, ElementType::int32);
  EXPECT_EQ(w.shape, w1.shape);
  const float sx = symmetric_scale(ranges.at("x"));
  const float sy = symmetric_scale(ranges.at("r1"));
  const ChannelQuantized want = quantize_per_channel(w1.floats, 1, 8, 27);
  EXPECT_EQ(w.ints, want.values);
  EXPECT_EQ(b.ints, quantize_bias(b1.floats, sx, want.scales));
  EXPECT_EQ(s.floats, requantization_scales(sx, want.scales, sy));
  // Dequantization uses the producer's output scale.
  EXPECT_EQ(graph.nodes[2].get_float("scale", 0), sy);
  // The second conv requantizes to its output's scale.
  const float s2 = symmetric_scale(ranges.at("c2"));
  const ChannelQuantized want2 =
      quantize_per_channel(fused_int8_convs().constants.at("w2").floats, 1, 4, 36);
  EXPECT_EQ(graph.constants.at("c2/int8_weights").ints, want2.values);
  EXPECT_EQ(graph.constants.at("c2/int8_bias").ints, std::vector<std::int64_t>(4, 0));
  EXPECT_EQ(graph.constants.at("c2/int8_scales").floats,
            requantization_scales(sy, want2.scales, s2));
  // The Gemm reads it through Flatten at that scale, not at f's own
  // calibrated one: its accumulators' scales are s_c2 times alpha * B's.
  const Constant wg = fused_int8_convs().constants.at("wg");  // N x K (transB)
  std::vector<float> b_kn(10 * 36);
  for (std::size_t k = 0; k < 36; ++k) {
    for (std::size_t n = 0; n < 10; ++n) {
      b_kn[k * 10 + n] = 0.5F * wg.floats[n * 36 + k];
    }
  }
  EXPECT_EQ(graph.constants.at("y/linear/int8_scales").floats,
            requantization_scales(s2, quantize_per_channel(b_kn, 36, 10, 1).scales, 1));
  // A float_output node: the bias carries 0x4B400000, the scales are the
  // accumulators' (input scale times weight scale).
  const std::vector<std::int64_t>& b3 = graph.constants.at("z/int8_bias").ints;
  EXPECT_TRUE(std::ranges::all_of(b3, [](std::int64_t v) { return v == kRoundingBiasBits; }));
  const ChannelQuantized want3 =
      quantize_per_channel(fused_int8_convs().constants.at("w3").floats, 1, 4, 72);
  EXPECT_EQ(graph.constants.at("z/int8_weights").ints, want3.values);
  EXPECT_EQ(graph.constants.at("z/int8_scales").floats, requantization_scales(sy, want3.scales, 1));
}

TEST(OnnxInt8Rewrite, AMissingRangeIsNamed) {
  Graph graph = fused_int8_convs();
  std::map<std::string, float> ranges = ranges_of(graph);
  ranges.erase("c2");
  try {
    rewrite_int8(graph, ranges);
    FAIL() << "rewrote";
  } catch (const npu::onnx::ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("no range for 'c2'"), std::string::npos) << e.what();
  }
}

// A weight the BN fold made infinite (tests/fuzz/model, stop 20): named,
// not a bare "a range must be finite" from the scale's arithmetic.
TEST(OnnxInt8Rewrite, AnInfiniteWeightIsNamed) {
  Graph graph = import_graph(
      parse_model(std::filesystem::path(KNPU_ONNX_TEST_MODELS) / "hostile_infinite_weight.onnx"),
      {});
  run_fusion_passes(graph, every_opcode());
  split_float_activations(graph);
  try {
    rewrite_int8(graph, ranges_of(graph));
    FAIL() << "rewrote";
  } catch (const npu::onnx::ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("its weights hold a NaN or an infinity"),
              std::string::npos)
        << e.what();
  }
}

// A v1.1 device: every opcode but CONVERT.
std::bitset<64> v11_opcodes() {
  std::bitset<64> ops = every_opcode();
  ops.reset(static_cast<std::size_t>(npu::isa::Opcode::convert));
  return ops;
}

std::vector<std::string> mnemonics(const std::vector<npu::isa::Instruction>& insts) {
  std::vector<std::string> got;
  for (const npu::isa::Instruction& i : insts) {
    got.push_back(fmt::format("{} {}", npu::isa::info(i.opcode).mnemonic, npu::isa::name(i.dtype)));
  }
  return got;
}

TEST(OnnxInt8Rewrite, LowersToInt8ConvAndGemmWithPerChannelScalesAndFp32Around) {
  Graph graph = fused_int8_convs();
  rewrite_int8(graph, ranges_of(graph));
  const Program program = lower(graph, DataType::fp32, v11_opcodes());
  const std::vector<npu::isa::Instruction> insts = instructions_of(program);
  const std::vector<std::string> got = mnemonics(insts);
  // Quantize: div, add 1.5 * 2^23, clip, low bytes. Dequantize: widening
  // INT8 GEMM, sub 1.5 * 2^23, mul. A float_output INT8 CONV2D or GEMM
  // writes INT32 accumulators; sub 1.5 * 2^23, then the per-channel scales
  // (a depthwise 1x1 FP32 CONV2D, or an ELTWISE mul along the columns).
  const std::vector<std::string> quantize{"eltwise fp32", "eltwise fp32", "activation_param fp32",
                                          "copy_strided int8"};
  std::vector<std::string> want = quantize;
  want.insert(want.end(),
              {"conv2d int8", "gemm int8", "eltwise fp32", "eltwise fp32", "conv2d int8",
               "gemm int8", "eltwise fp32", "eltwise fp32", "activation fp32", "pool2d fp32",
               "conv2d int8", "eltwise fp32", "conv2d fp32"});
  EXPECT_EQ(got, want);
  constexpr std::uint32_t kPerChannel = 1U << 9;
  constexpr std::uint32_t kOutInt32 = 1U << 8;
  auto mode = [&](std::size_t i) { return insts.at(i).flags & (kPerChannel | kOutInt32); };
  EXPECT_EQ(mode(4), kPerChannel);         // requantized per channel (read as INT8)
  EXPECT_EQ(mode(5), kOutInt32);           // Dequantize's widening (for MaxPool)
  EXPECT_EQ(mode(8), kPerChannel);         // the second conv, read through Flatten in INT8
  EXPECT_EQ(mode(9), kOutInt32);           // the Gemm, float_output
  EXPECT_EQ(value(insts.at(11), 4), 10U);  // its scales: b_count = N = 10
  EXPECT_EQ(mode(14), kOutInt32);          // the third conv, float_output: the accumulators
  EXPECT_EQ(value(insts.at(16), 17), 4U);  // the scales' CONV2D: groups = K = 4
  // INT8 tensors take a byte per element.
  EXPECT_EQ(program.activations.at(graph.nodes[1].outputs[0]), 8U * 8 * 8);
}

// On a device with CONVERT (ISA v1.2) a float_output node's bias carries
// no rounding bias, and every node read only as float is one.
TEST(OnnxInt8Rewrite, WithConvertFloatOutputsKeepThePlainBias) {
  Graph graph = fused_int8_convs();
  const std::map<std::string, float> ranges = ranges_of(graph);
  const Int8RewriteStats stats = rewrite_int8(graph, ranges, true);
  EXPECT_EQ(stats.conversions, 4U);
  EXPECT_EQ(graph.nodes[5].get_int("float_output", 0),
            static_cast<std::int64_t>(FloatOutput::convert));
  EXPECT_EQ(graph.nodes[8].get_int("float_output", 0),
            static_cast<std::int64_t>(FloatOutput::convert));
  const std::vector<std::int64_t>& b3 = graph.constants.at("z/int8_bias").ints;
  EXPECT_TRUE(std::ranges::all_of(b3, [](std::int64_t v) { return v == 0; }));
}

// Quantize and dequantize are one CONVERT each, and a float_output product
// is its INT32 accumulators and one CONVERT scaling them per channel.
TEST(OnnxInt8Rewrite, OnAV12DeviceEachConversionIsOneConvert) {
  Graph graph = fused_int8_convs();
  const std::map<std::string, float> ranges = ranges_of(graph);
  rewrite_int8(graph, ranges, true);
  const Program program = lower(graph, DataType::fp32, every_opcode());
  const std::vector<npu::isa::Instruction> insts = instructions_of(program);
  EXPECT_EQ(mnemonics(insts),
            (std::vector<std::string>{"convert fp32", "conv2d int8", "convert int8", "conv2d int8",
                                      "gemm int8", "convert int32", "activation fp32",
                                      "pool2d fp32", "conv2d int8", "convert int32"}));
  constexpr std::uint32_t kPerChannel = 1U << 9;
  constexpr std::uint32_t kOutInt32 = 1U << 8;
  constexpr std::uint32_t kRelu = 1U << 4;
  const auto to = [](DataType dtype) { return static_cast<std::uint32_t>(dtype); };
  const auto scale = [&](std::size_t i) { return std::bit_cast<float>(value(insts.at(i), 5)); };
  // quantize x by 1 / s_x, to INT8, per tensor
  EXPECT_EQ(insts[0].flags, to(DataType::int8));
  EXPECT_EQ(value(insts[0], 2), 3U * 8 * 8);
  EXPECT_EQ(scale(0), 1.0F / symmetric_scale(ranges.at("x")));
  // dequantize r1 for MaxPool by s_r1
  EXPECT_EQ(insts[2].flags, to(DataType::fp32));
  EXPECT_EQ(scale(2), symmetric_scale(ranges.at("r1")));
  // the second conv requantized per channel, read in INT8 through Flatten
  EXPECT_EQ(insts[3].flags & (kPerChannel | kOutInt32), kPerChannel);
  // the Gemm's accumulators scaled per column: N = 10 channels of 1
  EXPECT_EQ(insts[4].flags & (kOutInt32 | kRelu), kOutInt32);
  EXPECT_EQ(value(insts[5], 3), 10U);
  EXPECT_EQ(value(insts[5], 4), 1U);
  // the third conv (stride 2, pads 1: 4 x 4): accumulators, then K = 4
  // channels of P*Q
  EXPECT_EQ(insts[8].flags & (kPerChannel | kOutInt32), kOutInt32);
  EXPECT_EQ(insts[9].flags, to(DataType::fp32) | kPerChannel);
  EXPECT_EQ(value(insts[9], 3), 4U);
  EXPECT_EQ(value(insts[9], 4), 4U * 4);
}

// The rewrite for a CONVERT device cannot be lowered for one without it.
TEST(OnnxInt8Rewrite, AConvertRewriteOnAV11DeviceNamesTheInstruction) {
  Graph graph = fused_int8_convs();
  rewrite_int8(graph, ranges_of(graph), true);
  try {
    lower(graph, DataType::fp32, v11_opcodes());
    FAIL() << "lowered";
  } catch (const npu::onnx::UnsupportedOperators& e) {
    EXPECT_NE(std::string(e.what()).find("v1.2 instruction CONVERT"), std::string::npos)
        << e.what();
  }
}

}  // namespace
