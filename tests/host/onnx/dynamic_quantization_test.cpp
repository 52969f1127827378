// Dynamically quantized models (dynamic_quantization.cpp) on
// make_qoperator_models.py's qop_dynamic, onnxruntime's quantize_dynamic
// form: every dynamic operator becomes float arithmetic, integer values
// stay in float form between the rewritten nodes (a Cast to an integer type
// only for the uint8 graph output), the graph lowers to one program, and
// malformed cases are refused at load naming the node; a quantized
// embedding (qop_embedding) is a Gather of its dequantized table. The
// device's results against onnxruntime: guest-onnx-models (cases
// qop-dynamic, qop-embedding).
#include "dynamic_quantization.hpp"

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

std::vector<std::string> ops_of(const ::onnx::ModelProto& model) {
  std::vector<std::string> ops;
  for (const auto& node : model.graph().node()) {
    ops.push_back(node.op_type());
  }
  return ops;
}

TEST(OnnxDynamicQuantization, EveryDynamicOperatorBecomesFloatArithmetic) {
  ::onnx::ModelProto proto = parse_model(model_path("qop_dynamic"));
  const DynamicQuantizationStats stats = rewrite_dynamic_quantization(proto);
  // x, t and DynamicQuantizeMatMul's input; ConvInteger, MatMulInteger,
  // MatMulIntegerToFloat, DynamicQuantizeMatMul.
  EXPECT_EQ(stats.quantizers, 3U);
  EXPECT_EQ(stats.integer_products, 4U);
  const std::vector<std::string> ops = ops_of(proto);
  for (const char* gone : {"DynamicQuantizeLinear", "ConvInteger", "MatMulInteger",
                           "MatMulIntegerToFloat", "DynamicQuantizeMatMul"}) {
    EXPECT_EQ(std::ranges::count(ops, gone), 0) << gone;
  }
  for (const auto& node : proto.graph().node()) {
    EXPECT_TRUE(node.domain().empty()) << node.name();
  }
  EXPECT_EQ(std::ranges::count(ops, "Conv"), 1);
  // The three integer products' and the model's own float MatMul, which
  // reads a DequantizeLinear of a quantized activation (now Sub and Mul).
  EXPECT_EQ(std::ranges::count(ops, "MatMul"), 4);
  EXPECT_EQ(std::ranges::count(ops, "DequantizeLinear"), 0);
  // Two reductions per quantizer, for its range.
  EXPECT_EQ(std::ranges::count(ops, "ReduceMin"), 3);
  EXPECT_EQ(std::ranges::count(ops, "ReduceMax"), 3);
}

// The quantized activations, zero points and int32 products are read in
// float form: the only integer Cast left is the uint8 zero point the graph
// outputs; the model's own Casts of the products to float read the float
// products (Identity).
TEST(OnnxDynamicQuantization, IntegerValuesKeepTheirFloatFormBetweenRewrittenNodes) {
  ::onnx::ModelProto proto = parse_model(model_path("qop_dynamic"));
  (void)rewrite_dynamic_quantization(proto);
  std::vector<std::string> integer_casts;
  for (const auto& node : proto.graph().node()) {
    if (node.op_type() == "Cast" && node.attribute(0).i() != ::onnx::TensorProto::FLOAT) {
      integer_casts.push_back(node.output(0));
    }
    if (node.output(0) == "cf" || node.output(0) == "mf") {
      EXPECT_EQ(node.op_type(), "Identity") << node.output(0);
    }
    for (const char* integer : {"xq", "tq", "ci", "mi"}) {
      EXPECT_EQ(std::ranges::count(node.input(), integer), 0)
          << node.name() << " reads " << integer;
    }
  }
  EXPECT_EQ(integer_casts, std::vector<std::string>{"xzp"});
}

TEST(OnnxDynamicQuantization, TheRewrittenGraphLowersToOneProgram) {
  EXPECT_NO_THROW(npu::onnx::Model::load(model_path("qop_dynamic")));
  ::onnx::ModelProto proto = parse_model(model_path("qop_dynamic"));
  (void)rewrite_dynamic_quantization(proto);
  Graph graph = import_graph(proto, {});
  run_fusion_passes(graph, every_opcode());
  const Program program = lower(graph);
  EXPECT_GT(instructions_of(program).size(), 0U);
  EXPECT_EQ(program.output_types.at("xzp"), ElementType::uint8);
}

// quantize_dynamic's embedding: DequantizeLinear of a Gather of the uint8
// table becomes a Gather of the table dequantized at load (qdq.cpp), and the
// integer Gather and table go.
TEST(OnnxDynamicQuantization, AQuantizedEmbeddingIsAGatherOfTheDequantizedTable) {
  ::onnx::ModelProto proto = parse_model(model_path("qop_embedding"));
  std::vector<std::int64_t> table;
  for (const auto& tensor : proto.graph().initializer()) {
    if (tensor.name() == "table") {
      table = from_tensor_proto(tensor).ints;
    }
  }
  ASSERT_EQ(table.size(), 50U * 16U);
  (void)rewrite_dynamic_quantization(proto);
  EXPECT_EQ(rewrite_qdq(proto).folded, 1U);
  const std::vector<std::string> ops = ops_of(proto);
  EXPECT_EQ(std::ranges::count(ops, "DequantizeLinear"), 0);
  EXPECT_EQ(std::ranges::count(ops, "Gather"), 1);
  const ::onnx::NodeProto& gather = *std::ranges::find_if(
      proto.graph().node(), [](const auto& node) { return node.op_type() == "Gather"; });
  EXPECT_EQ(gather.output(0), "e");
  std::vector<float> dequantized;
  for (const auto& tensor : proto.graph().initializer()) {
    EXPECT_NE(tensor.name(), "table");
    if (tensor.name() == gather.input(0)) {
      dequantized = from_tensor_proto(tensor).floats;
    }
  }
  ASSERT_EQ(dequantized.size(), table.size());
  for (std::size_t i = 0; i < table.size(); ++i) {
    EXPECT_EQ(dequantized[i], static_cast<float>(table[i] - 131) * 0.02F) << i;
  }
  EXPECT_GT(instructions_of(lower(import_graph(proto, {}))).size(), 0U);
}

TEST(OnnxDynamicQuantization, AModelWithoutDynamicOperatorsIsLeftUntouched) {
  ::onnx::ModelProto proto = parse_model(model_path("qop_conv"));
  const std::string before = proto.SerializeAsString();
  const DynamicQuantizationStats stats = rewrite_dynamic_quantization(proto);
  EXPECT_EQ(stats.quantizers + stats.integer_products, 0U);
  EXPECT_EQ(proto.SerializeAsString(), before);
}

TEST(OnnxDynamicQuantization, MalformedDynamicQuantizationIsRefusedAtLoadNamingTheNode) {
  expect_refused_at_load({
      {"qop_dynamic_per_row",
       {"MatMulInteger 'bad_matmul'", "zero point 'rows_zp' of 'xq' is not known to be one value"}},
      {"qop_dynamic_lstm", {"DynamicQuantizeLSTM 'bad_lstm'", "not supported"}},
      {"qop_dynamic_dequantize_per_axis",
       {"DequantizeLinear 'bad_dequantize'", "the scale of 'xq', quantized at run time",
        "not known to be one value"}},
  });
}

}  // namespace
