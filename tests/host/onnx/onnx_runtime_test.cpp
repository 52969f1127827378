// The ONNX runtime's compiler passes on small graphs made by
// make_test_models.py (python3-onnx): shape inference, constant folding,
// batch-norm folding, fusion, lowering, liveness planning, the report of
// unsupported operators, and malformed files. No device needed.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <string>

#include "constant_folding.hpp"
#include "element_codec.hpp"
#include "fusion.hpp"
#include "lowering.hpp"
#include "memory_plan.hpp"
#include "npu/onnx/model.hpp"
#include "npy.hpp"
#include "onnx_import.hpp"

namespace {

using npu::onnx::ModelError;
using npu::onnx::UnsupportedOperators;
using namespace npu::onnx_runtime;

std::filesystem::path model_path(const std::string& name) {
  return std::filesystem::path(KNPU_ONNX_TEST_MODELS) / (name + ".onnx");
}

Graph import(const std::string& name, const std::map<std::string, Shape>& shapes = {}) {
  return import_graph(parse_model(model_path(name)), shapes);
}

std::size_t count_op(const Graph& graph, const std::string& op) {
  return static_cast<std::size_t>(std::ranges::count(graph.nodes, op, &Node::op));
}

std::vector<float> npy_floats(const std::string& name) {
  const npu_tools::NpyArray array =
      npu_tools::read_npy_file(std::filesystem::path(KNPU_ONNX_TEST_MODELS) / name);
  std::vector<float> values(array.data.size() / sizeof(float));
  std::memcpy(values.data(), array.data.data(), array.data.size());
  return values;
}

TEST(OnnxShapes, DynamicInputResolvedByOnnxShapeInference) {
  const Graph graph = import("shapes", {{"x", {2, 3, 30, 40}}});
  EXPECT_EQ(graph.shape("c"), (Shape{2, 8, 15, 20}));
  EXPECT_EQ(graph.shape("y"), (Shape{2, 8, 7, 10}));
}

TEST(OnnxShapes, InputShapeMustMatchTheDeclaration) {
  EXPECT_THROW(import("shapes", {{"x", {2, 4, 30, 40}}}), ModelError);  // C is 3
  EXPECT_THROW(import("shapes", {{"x", {2, 3, 30}}}), ModelError);      // rank
  EXPECT_THROW(import("shapes", {{"nope", {1}}}), ModelError);
  try {
    import("shapes");
    FAIL() << "a dynamic input without a shape was accepted";
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("input 'x' has the dynamic shape"), std::string::npos)
        << e.what();
  }
}

TEST(OnnxFolding, ShapeGatherUnsqueezeConcatChainBecomesAConstant) {
  const Graph graph = import("fold_reshape", {{"x", {3, 4, 5, 6}}});
  ASSERT_EQ(graph.nodes.size(), 1U);
  EXPECT_EQ(graph.nodes[0].op, "Reshape");
  const Constant& target = graph.constants.at("target");
  EXPECT_EQ(target.ints, (std::vector<std::int64_t>{3, -1}));
  EXPECT_EQ(graph.shape("y"), (Shape{3, 120}));
}

TEST(OnnxFolding, EvaluatesBroadcastArithmeticOnIntegers) {
  Graph graph;
  graph.constants["a"] = Constant::of_ints({2, 1}, {10, 20});
  graph.constants["b"] = Constant::of_ints({3}, {1, 2, 3});
  Node node{.op = "Sub", .name = "s", .inputs = {"a", "b"}, .outputs = {"c"}, .attributes = {}};
  const auto values = evaluate_on_host(node, graph);
  ASSERT_TRUE(values);
  EXPECT_EQ((*values)[0].shape, (Shape{2, 3}));
  EXPECT_EQ((*values)[0].ints, (std::vector<std::int64_t>{9, 8, 7, 19, 18, 17}));
}

TEST(OnnxFusion, BatchNormFoldsIntoConvWeights) {
  Graph graph = import("bn_fold");
  EXPECT_EQ(fold_batch_norm(graph), 1U);
  ASSERT_EQ(graph.nodes.size(), 1U);
  const Node& conv = graph.nodes[0];
  EXPECT_EQ(conv.op, "Conv");
  EXPECT_EQ(conv.outputs[0], "y");
  const std::vector<float> want_w = npy_floats("bn_fold.weight.npy");
  const std::vector<float> want_b = npy_floats("bn_fold.bias.npy");
  const Constant& w = graph.constants.at(conv.inputs[1]);
  const Constant& b = graph.constants.at(conv.inputs[2]);
  ASSERT_EQ(w.floats.size(), want_w.size());
  ASSERT_EQ(b.floats.size(), want_b.size());
  for (std::size_t i = 0; i < want_w.size(); ++i) {
    EXPECT_NEAR(w.floats[i], want_w[i], 1e-5F * (1 + std::abs(want_w[i]))) << i;
  }
  for (std::size_t i = 0; i < want_b.size(); ++i) {
    EXPECT_NEAR(b.floats[i], want_b[i], 1e-5F * (1 + std::abs(want_b[i]))) << i;
  }
}

TEST(OnnxFusion, BiasAndActivationJoinConvAndMatMul) {
  Graph graph = import("fuse");
  EXPECT_EQ(fuse_bias(graph), 2U);
  EXPECT_EQ(fuse_activation(graph), 2U);
  ASSERT_EQ(graph.nodes.size(), 3U);  // Conv, Flatten, MatMul
  EXPECT_EQ(graph.nodes[0].op, "Conv");
  EXPECT_EQ(graph.nodes[0].get_string("activation", ""), "Relu");
  EXPECT_EQ(graph.nodes[0].inputs.size(), 3U);
  EXPECT_EQ(graph.nodes[2].op, "MatMul");
  EXPECT_EQ(graph.nodes[2].get_string("activation", ""), "Sigmoid");
  EXPECT_EQ(graph.nodes[2].outputs[0], "y");
  const Program program = lower(graph);
  EXPECT_EQ(program.instructions.size(), 2U);  // CONV2D and GEMM; Flatten is an alias
}

TEST(OnnxFusion, SwishBecomesTheConvsSiluActivation) {
  Graph graph = import("silu");
  EXPECT_EQ(fuse_silu(graph), 2U);  // the Mul by 1 and the Sigmoid
  EXPECT_EQ(fuse_activation(graph), 1U);
  ASSERT_EQ(graph.nodes.size(), 1U);
  EXPECT_EQ(graph.nodes[0].get_string("activation", ""), "Silu");
  EXPECT_EQ(lower(graph).instructions.size(), 1U);
}

TEST(OnnxFusion, SharedOutputIsNotFused) {
  Graph graph = import("no_fuse_shared");
  EXPECT_EQ(fuse_activation(graph), 0U);
  EXPECT_EQ(count_op(graph, "Relu"), 1U);
}

TEST(OnnxMemoryPlan, DisjointLifetimesShareBytesOverlappingOnesDoNot) {
  const MemoryPlan plan =
      plan_memory({{"a", 1000, 0, 1}, {"b", 1000, 1, 2}, {"c", 1000, 2, 3}, {"d", 500, 3, 4}});
  EXPECT_NE(plan.offsets.at("a"), plan.offsets.at("b"));
  EXPECT_NE(plan.offsets.at("b"), plan.offsets.at("c"));
  EXPECT_EQ(plan.offsets.at("a"), plan.offsets.at("c"));  // a is dead when c is born
  EXPECT_EQ(plan.size, 2048U);                            // two 64-byte-aligned 1000s
  EXPECT_EQ(plan.unplanned, 1024U * 3 + 512U);
  for (const auto& [name, offset] : plan.offsets) {
    EXPECT_EQ(offset % kTensorAlignment, 0U) << name;
  }
}

TEST(OnnxMemoryPlan, ChainOfEightStepsNeedsTwoBuffers) {
  const Program program = lower(import("chain"));
  const MemoryPlan plan = plan_memory(activation_lifetimes(program));
  const std::uint64_t tensor = 16 * 32 * 32 * 4;
  EXPECT_EQ(program.activations.size(), 8U);  // t0..t7; x and y are graph I/O
  EXPECT_EQ(plan.unplanned, 8 * tensor);
  EXPECT_EQ(plan.size, 2 * tensor);
}

TEST(OnnxLowering, TransposeOfMiddleAxesIsTwoDeviceTransposes) {
  const Program program = lower(import("transpose_0213"));
  EXPECT_EQ(program.instructions.size(), 2U);
}

TEST(OnnxLowering, ChannelBroadcastOfARuntimeTensorGoesThroughTransposes) {
  const Program program = lower(import("broadcast_channel"));
  ASSERT_EQ(program.instructions.size(), 3U);  // transpose, eltwise (b innermost), transpose back
}

TEST(OnnxUnsupported, LoadNamesEveryMissingOperatorAndItsNodes) {
  try {
    npu::onnx::Model::load(model_path("unsupported"));
    FAIL() << "a model with Resize and Erf loaded";
  } catch (const UnsupportedOperators& e) {
    ASSERT_EQ(e.entries().size(), 2U);
    EXPECT_EQ(e.entries()[0].op, "Erf");
    EXPECT_EQ(e.entries()[0].nodes.size(), 2U);
    EXPECT_EQ(e.entries()[1].op, "Resize");
    EXPECT_NE(std::string(e.what()).find("Resize (1 node"), std::string::npos) << e.what();
  }
}

TEST(OnnxUnsupported, AttributesTheIsaCannotMapAreReportedWithTheReason) {
  try {
    lower(import("softmax_axis1"));
    FAIL() << "softmax along axis 1 of 3 was lowered";
  } catch (const UnsupportedOperators& e) {
    ASSERT_EQ(e.entries().size(), 1U);
    EXPECT_EQ(e.entries()[0].op, "Softmax");
    EXPECT_NE(e.entries()[0].reason.find("axis"), std::string::npos) << e.entries()[0].reason;
  }
}

TEST(OnnxMalformed, FilesThatAreNotModelsAreRefusedClearly) {
  for (const char* name : {"empty", "garbage", "truncated", "does_not_exist"}) {
    try {
      npu::onnx::Model::load(model_path(name));
      ADD_FAILURE() << name << " loaded";
    } catch (const ModelError& e) {
      EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
    }
  }
}

TEST(OnnxMalformed, UndefinedValueIsNamed) {
  try {
    import("undefined_input");
    FAIL() << "a node reading an undefined value was accepted";
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("nowhere"), std::string::npos) << e.what();
  }
}

}  // namespace

namespace {

TEST(OnnxElementCodec, Fp16AndBf16RoundToNearestEvenAndWidenExactly) {
  const std::vector<float> values{1.0F, -2.5F, 0.1F, 65504.0F, 1e6F, 1.0F + 1.0F / 256};
  const auto fp16 =
      decode_elements(encode_elements(values, npu::isa::DataType::fp16), npu::isa::DataType::fp16);
  EXPECT_EQ(fp16[0], 1.0F);
  EXPECT_EQ(fp16[1], -2.5F);
  EXPECT_NEAR(fp16[2], 0.1F, 1e-4F);
  EXPECT_EQ(fp16[3], 65504.0F);
  EXPECT_TRUE(std::isinf(fp16[4]));  // beyond FP16's range
  const auto bf16 =
      decode_elements(encode_elements(values, npu::isa::DataType::bf16), npu::isa::DataType::bf16);
  EXPECT_EQ(bf16[0], 1.0F);
  EXPECT_EQ(bf16[1], -2.5F);
  EXPECT_EQ(bf16[5], 1.0F);  // 1 + 2^-8 is a tie: rounds to the even 1.0
  EXPECT_NEAR(bf16[4], 1e6F, 1e6F / 128);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  EXPECT_TRUE(std::isnan(decode_elements(
      encode_elements(std::vector{nan}, npu::isa::DataType::bf16), npu::isa::DataType::bf16)[0]));
}

}  // namespace
