// Pre-quantized (QDQ) models (qdq.cpp) on make_qdq_models.py's graphs: the
// folded weights against NumPy's numbers, the float arithmetic a
// QuantizeLinear -> DequantizeLinear pair becomes, whole QDQ graphs lowered
// without either op, and every malformed case refused at load naming its
// node. The device's results against onnxruntime: guest-onnx-models.
#include "qdq.hpp"

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "fusion.hpp"
#include "lowered_program.hpp"
#include "lowering.hpp"
#include "npu/isa.hpp"
#include "npu/onnx/model.hpp"
#include "npy.hpp"
#include "onnx_import.hpp"
#include "test_model_data.hpp"

namespace {

using namespace npu::onnx_runtime;

std::filesystem::path model_path(const std::string& name) {
  return std::filesystem::path(KNPU_ONNX_TEST_MODELS) / (name + ".onnx");
}

// Parsed, rewritten and imported as Model::load and compile do.
Graph import_qdq(const std::string& name, QdqRewriteStats* stats = nullptr) {
  ::onnx::ModelProto proto = parse_model(model_path(name));
  const QdqRewriteStats done = rewrite_qdq(proto);
  if (stats) {
    *stats = done;
  }
  return import_graph(proto, {});
}

const Node& producer(const Graph& graph, const std::string& value) {
  const auto it = std::ranges::find_if(graph.nodes, [&](const Node& n) {
    return std::ranges::find(n.outputs, value) != n.outputs.end();
  });
  if (it == graph.nodes.end()) {
    throw std::runtime_error("no node makes " + value);
  }
  return *it;
}

float scalar(const Graph& graph, const std::string& value) {
  const Constant& c = graph.constants.at(value);
  EXPECT_EQ(c.size(), 1) << value;
  return c.floats.at(0);
}

TEST(OnnxQdq, DequantizedConstantsAreComputedExactlyAsOnnxruntimeDoes) {
  QdqRewriteStats stats;
  const Graph graph = import_qdq("qdq_fold", &stats);
  EXPECT_EQ(stats.folded, 2U);
  EXPECT_EQ(stats.round_trips, 0U);
  // uint8 per axis -2 (axis 1 of 3) with zero points 0, 128, 255; an int32
  // bias per tensor: bit for bit NumPy's float32 (q - zp) * s.
  for (const auto& [value, npy] : std::map<std::string, std::string>{
           {"wf", "qdq_fold_axis1.npy"}, {"bf", "qdq_fold_int32.npy"}}) {
    ASSERT_TRUE(graph.is_constant(value)) << value;
    EXPECT_EQ(graph.constants.at(value).type, ElementType::float32);
    EXPECT_EQ(graph.constants.at(value).floats, npy_floats(npy)) << value;
  }
  // The integer tensors, scales and zero points are gone.
  for (const char* gone : {"w", "s", "zp", "bias", "bs"}) {
    EXPECT_FALSE(graph.is_constant(gone)) << gone;
  }
}

TEST(OnnxQdq, RoundTripOnAComputedTensorIsDivClipRoundAndMul) {
  QdqRewriteStats stats;
  const Graph graph = import_qdq("qdq_semantics", &stats);
  EXPECT_EQ(stats.round_trips, 3U);
  EXPECT_TRUE(std::ranges::none_of(graph.nodes, [](const Node& n) {
    return n.op == "QuantizeLinear" || n.op == "DequantizeLinear";
  }));
  // a: int8 zero point 50, scale 0.02: clamped to [-128 - 50, 127 - 50].
  const Node& mul = producer(graph, "a_dq");
  ASSERT_EQ(mul.op, "Mul");
  EXPECT_EQ(scalar(graph, mul.inputs[1]), 0.02F);
  const Node& sub = producer(graph, mul.inputs[0]);
  ASSERT_EQ(sub.op, "Sub");
  const Node& add = producer(graph, sub.inputs[0]);
  ASSERT_EQ(add.op, "Add");
  EXPECT_EQ(scalar(graph, add.inputs[1]), 12582912.0F);  // 1.5 * 2^23: rounds half to even
  EXPECT_EQ(sub.inputs[1], add.inputs[1]);
  const Node& clip = producer(graph, add.inputs[0]);
  ASSERT_EQ(clip.op, "Clip");
  EXPECT_EQ(scalar(graph, clip.inputs[1]), -178.0F);
  EXPECT_EQ(scalar(graph, clip.inputs[2]), 77.0F);
  const Node& div = producer(graph, clip.inputs[0]);
  ASSERT_EQ(div.op, "Div");
  EXPECT_EQ(div.inputs[0], "x");
  EXPECT_EQ(scalar(graph, div.inputs[1]), 0.02F);
  // b: uint8, quantized with scale 0.5 and zero point 7, dequantized with
  // 0.25 and 3: clamped to [-7, 248], then 7 - 3 added before the scale.
  const Node& mul_b = producer(graph, "b_dq");
  EXPECT_EQ(scalar(graph, mul_b.inputs[1]), 0.25F);
  const Node& moved = producer(graph, mul_b.inputs[0]);
  ASSERT_EQ(moved.op, "Add");
  EXPECT_EQ(scalar(graph, moved.inputs[1]), 4.0F);
  const Node& clip_b =
      producer(graph, producer(graph, producer(graph, moved.inputs[0]).inputs[0]).inputs[0]);
  ASSERT_EQ(clip_b.op, "Clip");
  EXPECT_EQ(scalar(graph, clip_b.inputs[1]), -7.0F);
  EXPECT_EQ(scalar(graph, clip_b.inputs[2]), 248.0F);
}

// The whole graph runs on the device: every op lowers, the round trips as
// ELTWISE and ACTIVATION_PARAM CLIP (v1.0: ELTWISE max and min).
TEST(OnnxQdq, QuantizeStaticLayoutsLowerToOneProgram) {
  for (const char* name : {"qdq_conv", "qdq_matmul", "qdq_semantics", "qdq_opset10"}) {
    EXPECT_NO_THROW(npu::onnx::Model::load(model_path(name))) << name;
    Graph graph = import_qdq(name);
    run_fusion_passes(graph, every_opcode());
    const std::vector<npu::isa::Instruction> program = instructions_of(lower(graph));
    EXPECT_GT(program.size(), 0U) << name;
    const auto clips = std::ranges::count_if(program, [](const npu::isa::Instruction& i) {
      return i.opcode == npu::isa::Opcode::activation_param;
    });
    EXPECT_GT(clips, 0) << name;
  }
  // Opset 10's Clip takes its bounds as attributes.
  const Graph opset10 = import_qdq("qdq_opset10");
  const Node& clip = producer(opset10, "y_dq/saturated");
  EXPECT_EQ(clip.inputs.size(), 1U);
  EXPECT_EQ(clip.get_float("min", 0.0F), -128.0F);  // uint8 zero point 128
  EXPECT_EQ(clip.get_float("max", 0.0F), 127.0F);
  // The QuantizeLinear of a constant folded: k_dq is k rounded to 0.01.
  ASSERT_TRUE(opset10.is_constant("k_dq"));
}

TEST(OnnxQdq, MalformedQuantizationIsRefusedAtLoadNamingTheNode) {
  const std::map<std::string, std::vector<std::string>> expected{
      {"qdq_scale_zero", {"DequantizeLinear 'bad_dequantize'", "holds 0", "finite and positive"}},
      {"qdq_scale_negative", {"'bad_dequantize'", "holds -0.5"}},
      {"qdq_scale_nan", {"'bad_dequantize'", "holds nan"}},
      {"qdq_scale_infinite", {"'bad_dequantize'", "holds inf"}},
      {"qdq_axis_length", {"'bad_dequantize'", "2 scales for axis 1 of extent 3"}},
      {"qdq_axis_outside", {"'bad_dequantize'", "axis 2 is outside rank 2"}},
      {"qdq_zero_point_shape", {"'bad_dequantize'", "zero point 'w_zp' has shape [2]"}},
      {"qdq_zero_point_outside_type", {"QuantizeLinear 'bad_quantize'", "300 is outside uint8"}},
      {"qdq_int16", {"'bad_dequantize'", "int16"}},
      {"qdq_quantized_read", {"Relu 'relu' reads the output of QuantizeLinear 'bad_quantize'"}},
      {"qdq_computed_scale", {"QuantizeLinear 'bad_quantize'", "scale 's' is computed"}},
      {"qdq_per_axis_activation",
       {"DequantizeLinear 'dequantize'",
        "reads QuantizeLinear 'bad_quantize', quantized per axis"}},
      {"qdq_per_axis_unknown_rank",
       {"DequantizeLinear 'bad_dequantize'", "per-axis scales on a tensor of unknown rank"}},
      {"qdq_int16_input", {"DequantizeLinear 'bad_dequantize'", "input 'q' is int16"}},
  };
  expect_refused_at_load(expected);
}

}  // namespace
