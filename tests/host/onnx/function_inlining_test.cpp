// Operators ONNX defines as functions of others (function_inlining.cpp),
// on make_operator_models.py's loss graphs: replaced at load by their
// bodies, which lower to one program; a body that would reuse one of the
// model's names refused. The device's results against onnxruntime:
// guest-onnx-models, op graph `losses`.
#include "function_inlining.hpp"

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <string>

#include "npu/onnx/model.hpp"
#include "test_graphs.hpp"
#include "test_model_data.hpp"

namespace {

using namespace npu::onnx_runtime;

bool has_op(const ::onnx::ModelProto& model, const std::string& op) {
  return std::ranges::any_of(model.graph().node(),
                             [&](const ::onnx::NodeProto& n) { return n.op_type() == op; });
}

// One NegativeLogLikelihoodLoss and two SoftmaxCrossEntropyLoss, each of
// which brings in a NegativeLogLikelihoodLoss of its own: five bodies in
// two rounds, no attribute left without a value (`ignore_index`, which
// the second loss leaves out, is dropped as ONNX defines it).
TEST(OnnxFunctionInlining, LossesBecomeTheirFunctionBodiesAndLower) {
  ::onnx::ModelProto proto = parse_model(model_path("losses"));
  EXPECT_EQ(inline_functions(proto, lowerable_ops()), 5U);
  EXPECT_FALSE(has_op(proto, "NegativeLogLikelihoodLoss"));
  EXPECT_FALSE(has_op(proto, "SoftmaxCrossEntropyLoss"));
  for (const auto& node : proto.graph().node()) {
    for (const auto& attribute : node.attribute()) {
      EXPECT_NE(attribute.type(), ::onnx::AttributeProto::UNDEFINED)
          << node.op_type() << " " << attribute.name();
    }
  }
  Graph graph = import_graph(std::move(proto), {});
  run_fusion_passes(graph, every_opcode());
  EXPECT_GT(instructions_of(lower(graph)).size(), 0U);
  EXPECT_NO_THROW(npu::onnx::Model::load(model_path("losses")));
}

// An operator the runtime lowers is never replaced by its function
// (LogSoftmax has one).
TEST(OnnxFunctionInlining, LowerableOperatorsKeepTheirOwnLowering) {
  ::onnx::ModelProto proto = parse_model(model_path("losses"));
  (void)inline_functions(proto, lowerable_ops());
  EXPECT_TRUE(has_op(proto, "LogSoftmax"));
}

// Bernoulli's body draws with RandomUniformLike, which has no lowering:
// the node stays and is refused under its own name.
TEST(OnnxFunctionInlining, ABodyWithAnOperatorWithoutLoweringIsNotUsed) {
  ::onnx::ModelProto proto = parse_model(model_path("bernoulli"));
  EXPECT_EQ(inline_functions(proto, lowerable_ops()), 0U);
  EXPECT_TRUE(has_op(proto, "Bernoulli"));
  try {
    (void)npu::onnx::Model::load(model_path("bernoulli"));
    ADD_FAILURE() << "loaded";
  } catch (const npu::onnx::UnsupportedOperators& e) {
    ASSERT_EQ(e.entries().size(), 1U);
    EXPECT_EQ(e.entries()[0].op, "Bernoulli");
  }
}

TEST(OnnxFunctionInlining, ABodyValueNamedLikeOneOfTheModelsIsRefused) {
  expect_refused_at_load(
      {{"loss_name_taken",
        {"NegativeLogLikelihoodLoss 'nll'", "is a name the model already uses"}}});
}

}  // namespace
