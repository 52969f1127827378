// Pre-quantized models in the QOperator format (qoperator.cpp) on
// make_qoperator_models.py's graphs: each quantized operator becomes its
// float op between DequantizeLinear and QuantizeLinear, constant weights and
// biases are dequantized bit for bit as NumPy computes them, the whole
// graphs load and lower, and every malformed case is refused at load naming
// its node. The device's results against onnxruntime: guest-onnx-models.
#include "qoperator.hpp"

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "fusion.hpp"
#include "lowered_program.hpp"
#include "lowering.hpp"
#include "npu/onnx/model.hpp"
#include "onnx_import.hpp"
#include "qdq.hpp"
#include "test_model_data.hpp"

namespace {

using namespace npu::onnx_runtime;

std::filesystem::path model_path(const std::string& name) {
  return std::filesystem::path(KNPU_ONNX_TEST_MODELS) / (name + ".onnx");
}

::onnx::ModelProto rewritten(const std::string& name, QOperatorRewriteStats* stats = nullptr) {
  ::onnx::ModelProto proto = parse_model(model_path(name));
  const QOperatorRewriteStats done = rewrite_qoperator(proto);
  if (stats) {
    *stats = done;
  }
  return proto;
}

const ::onnx::NodeProto& producer(const ::onnx::ModelProto& model, const std::string& value) {
  const auto& nodes = model.graph().node();
  const auto it = std::ranges::find_if(nodes, [&](const ::onnx::NodeProto& n) {
    return std::ranges::find(n.output(), value) != n.output().end();
  });
  if (it == nodes.end()) {
    throw std::runtime_error("no node makes " + value);
  }
  return *it;
}

std::vector<float> initializer_floats(const ::onnx::ModelProto& model, const std::string& name) {
  for (const auto& tensor : model.graph().initializer()) {
    if (tensor.name() == name) {
      return from_tensor_proto(tensor).floats;
    }
  }
  throw std::runtime_error("no initializer " + name);
}

std::int64_t int_attribute(const ::onnx::NodeProto& node, const std::string& name) {
  for (const auto& a : node.attribute()) {
    if (a.name() == name) {
      return a.i();
    }
  }
  throw std::runtime_error(node.name() + " has no attribute " + name);
}

TEST(OnnxQOperator, EachQuantizedOperatorBecomesItsFloatOpBetweenDequantizeAndQuantize) {
  QOperatorRewriteStats stats;
  const ::onnx::ModelProto model = rewritten("qop_conv", &stats);
  // conv1, pool1, conv2, leaky, add, sigmoid, swish, avgpool, the two global
  // pools, concat, flatten, gemm; w1, b1, w2, wg and bg folded.
  EXPECT_EQ(stats.rewritten, 13U);
  EXPECT_EQ(stats.folded, 5U);
  for (const auto& node : model.graph().node()) {
    EXPECT_TRUE(node.domain().empty()) << node.name();
    EXPECT_EQ(node.op_type().rfind("QLinear", 0), std::string::npos) << node.name();
  }
  // conv1: Conv of x's DequantizeLinear and the folded weight and bias,
  // its attributes kept, quantized with the output's own parameters.
  const ::onnx::NodeProto& quantize = producer(model, "c1q");
  ASSERT_EQ(quantize.op_type(), "QuantizeLinear");
  EXPECT_EQ(quantize.input(1), "c1_s");
  EXPECT_EQ(quantize.input(2), "c1_zp");
  const ::onnx::NodeProto& conv = producer(model, quantize.input(0));
  ASSERT_EQ(conv.op_type(), "Conv");
  EXPECT_EQ(conv.name(), "conv1");
  ASSERT_EQ(conv.input_size(), 3);
  EXPECT_EQ(conv.input(1), "w1/dequantized");
  EXPECT_EQ(conv.input(2), "b1/dequantized");
  EXPECT_EQ(conv.attribute(0).name(), "pads");
  const ::onnx::NodeProto& dequantize = producer(model, conv.input(0));
  ASSERT_EQ(dequantize.op_type(), "DequantizeLinear");
  EXPECT_EQ(dequantize.input(0), "xq");
  EXPECT_EQ(dequantize.input(1), "x_s");
  // MaxPool on the 8-bit tensor: the same op between conv1's parameters.
  const ::onnx::NodeProto& pool_quantize = producer(model, "p1q");
  ASSERT_EQ(pool_quantize.op_type(), "QuantizeLinear");
  EXPECT_EQ(pool_quantize.input(1), "c1_s");
  const ::onnx::NodeProto& pool = producer(model, pool_quantize.input(0));
  EXPECT_EQ(pool.op_type(), "MaxPool");
  EXPECT_EQ(producer(model, pool.input(0)).input(0), "c1q");
  // QGemm: a Gemm with transB, its int32 C dequantized.
  const ::onnx::NodeProto& gemm = producer(model, producer(model, "yq").input(0));
  ASSERT_EQ(gemm.op_type(), "Gemm");
  EXPECT_EQ(int_attribute(gemm, "transB"), 1);
  EXPECT_EQ(gemm.input(2), "bg/dequantized");
  // QLinearConcat: Concat of its two inputs' DequantizeLinear nodes.
  const ::onnx::NodeProto& concat = producer(model, producer(model, "catq").input(0));
  ASSERT_EQ(concat.op_type(), "Concat");
  EXPECT_EQ(int_attribute(concat, "axis"), 1);
  EXPECT_EQ(producer(model, concat.input(0)).input(0), "g1q");
  EXPECT_EQ(producer(model, concat.input(1)).input(0), "g2q");
}

TEST(OnnxQOperator, ConstantWeightsAndBiasesAreDequantizedExactlyAsNumPy) {
  const ::onnx::ModelProto conv = rewritten("qop_conv");
  // int8 per output channel; the int32 bias in units of s_x * s_w[k].
  EXPECT_EQ(initializer_floats(conv, "w1/dequantized"), npy_floats("qop_conv_w1.npy"));
  EXPECT_EQ(initializer_floats(conv, "b1/dequantized"), npy_floats("qop_conv_b1.npy"));
  // QLinearMatMul: int8 per column of b; uint8 with zero point 100.
  const ::onnx::ModelProto matmul = rewritten("qop_matmul");
  EXPECT_EQ(initializer_floats(matmul, "wm/dequantized"), npy_floats("qop_matmul_wm.npy"));
  EXPECT_EQ(initializer_floats(matmul, "wu/dequantized"), npy_floats("qop_matmul_wu.npy"));
}

// The rewritten graphs go through the QDQ rewrite and lower to one device
// program; opset 10 included (its DequantizeLinear has no axis: the
// per-channel weights are folded by the QOperator rewrite itself).
TEST(OnnxQOperator, QOperatorGraphsLoadAndLowerToOneProgram) {
  for (const char* name : {"qop_conv", "qop_matmul", "qop_opset10", "qop_quantized_io"}) {
    EXPECT_NO_THROW(npu::onnx::Model::load(model_path(name))) << name;
    ::onnx::ModelProto proto = rewritten(name);
    EXPECT_GT(rewrite_qdq(proto).round_trips, 0U) << name;
    Graph graph = import_graph(proto, {});
    run_fusion_passes(graph, every_opcode());
    EXPECT_GT(instructions_of(lower(graph)).size(), 0U) << name;
  }
}

// A uint8 graph input read by a QLinearConv is dequantized on the device
// (Cast to float, Sub its zero point, Mul its scale); its uint8 output is
// the quantized float result Cast to uint8.
TEST(OnnxQOperator, QuantizedGraphInputsAndOutputsAreDequantizedAndQuantizedOnTheDevice) {
  ::onnx::ModelProto proto = rewritten("qop_quantized_io");
  const QdqRewriteStats stats = rewrite_qdq(proto);
  EXPECT_EQ(stats.dequantized_inputs, 1U);
  EXPECT_EQ(stats.round_trips, 1U);
  std::vector<std::string> ops;
  for (const auto& node : proto.graph().node()) {
    ops.push_back(node.op_type());
  }
  EXPECT_EQ(ops, (std::vector<std::string>{"Cast", "Sub", "Mul", "Conv", "Div", "Max", "Min", "Add",
                                           "Sub", "Add", "Cast"}));
  const Program program = lower(import_graph(proto, {}));
  EXPECT_EQ(program.widened_inputs.at("x"), ElementType::uint8);
  EXPECT_EQ(program.output_types.at("y"), ElementType::uint8);
}

TEST(OnnxQOperator, AModelWithoutQuantizedOperatorsIsLeftUntouched) {
  ::onnx::ModelProto proto = parse_model(model_path("qdq_conv"));
  const std::string before = proto.SerializeAsString();
  const QOperatorRewriteStats stats = rewrite_qoperator(proto);
  EXPECT_EQ(stats.rewritten, 0U);
  EXPECT_EQ(proto.SerializeAsString(), before);
}

TEST(OnnxQOperator, MalformedQuantizedOperatorsAreRefusedAtLoadNamingTheNode) {
  const std::map<std::string, std::vector<std::string>> expected{
      {"qop_scale_zero",
       {"QLinearConv 'bad_conv'", "w scale 'w_s' holds 0", "finite and positive"}},
      {"qop_scale_shape",
       {"QLinearConv 'bad_conv'", "w scale 'w_s' has shape [3]", "one per output channel (8)"}},
      {"qop_activation_per_channel",
       {"QLinearConv 'bad_conv'", "x scale 'x_s' has shape [3]", "(per tensor)"}},
      {"qop_bias_type", {"QLinearConv 'bad_conv'", "bias 'b' is float32; it must be int32"}},
      {"qop_bias_shape", {"QLinearConv 'bad_conv'", "bias 'b' has shape [3]"}},
      {"qop_zero_point_outside_type", {"QLinearConv 'bad_conv'", "300 is outside uint8"}},
      {"qop_float_input",
       {"QLinearSigmoid 'bad_sigmoid'", "X 'q' is a graph input of float32; supported: int8"}},
      {"qop_input_count", {"QLinearAdd 'bad_add'", "5 inputs; it takes 7 to 8"}},
      {"qop_channels_last", {"QLinearGlobalAveragePool 'bad_pool'", "channels_last"}},
      {"qop_zero_point_type",
       {"QLinearSigmoid 'bad_sigmoid'", "X zero point 'zp_i8' is int8; it must be uint8"}},
  };
  expect_refused_at_load(expected);
}

}  // namespace
