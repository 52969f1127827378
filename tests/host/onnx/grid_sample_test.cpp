// GridSample decomposed at load (grid_sample.cpp) on make_operator_models.py's
// grid_sample: every sample becomes gathers of the input's planes (four for
// bilinear, one for nearest, sixteen for bicubic) and arithmetic, the graph
// lowers to one program, and modes ONNX does not define are refused at
// load naming the node. The device's results against onnxruntime:
// guest-onnx-models (case op-grid_sample).
#include "grid_sample.hpp"

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <string>

#include "lowered_program.hpp"
#include "lowering.hpp"
#include "test_graphs.hpp"
#include "test_model_data.hpp"

namespace {

using namespace npu::onnx_runtime;

std::size_t count_of(const ::onnx::ModelProto& model, const std::string& op) {
  return static_cast<std::size_t>(std::ranges::count_if(
      model.graph().node(), [&](const auto& node) { return node.op_type() == op; }));
}

TEST(OnnxGridSample, EachSampleBecomesGathersOfTheInputsPlanes) {
  ::onnx::ModelProto proto = parse_model(model_path("grid_sample"));
  EXPECT_EQ(decompose_grid_sample(proto), 18U);
  EXPECT_EQ(count_of(proto, "GridSample"), 0U);
  // Six samples per mode: bilinear reads 4 pixels, nearest 1, bicubic 16.
  EXPECT_EQ(count_of(proto, "GatherElements"), 6U * (4U + 1U + 16U));
  Graph graph = import_graph(proto, {});
  run_fusion_passes(graph, every_opcode());
  EXPECT_GT(instructions_of(lower(graph)).size(), 0U);
}

TEST(OnnxGridSample, AModelWithoutGridSampleIsLeftUntouched) {
  ::onnx::ModelProto proto = parse_model(model_path("max_unpool"));
  const std::string before = proto.SerializeAsString();
  EXPECT_EQ(decompose_grid_sample(proto), 0U);
  EXPECT_EQ(proto.SerializeAsString(), before);
}

TEST(OnnxGridSample, AModeOrPaddingONNXDoesNotDefineIsRefusedAtLoadNamingTheNode) {
  expect_refused_at_load({
      {"grid_sample_bad_mode", {"GridSample 'bad_sample'", "mode 'area'"}},
      {"grid_sample_bad_padding", {"GridSample 'bad_sample'", "padding_mode 'wrap'"}},
  });
}

// onnxruntime refuses a grid whose last axis is not 2 for a 4-D input; the
// decomposition does too (its Reshape of the grid into pairs cannot be
// lowered), rather than reading the triples' first two values.
TEST(OnnxGridSample, AGridOfOtherThanPairsIsRefused) {
  ::onnx::ModelProto proto = parse_model(model_path("grid_sample_triples"));
  ASSERT_EQ(decompose_grid_sample(proto), 1U);
  const std::string why = refusal(import_graph(proto, {}));
  EXPECT_NE(why.find("'y/grid_pairs' of shape [1x2x2x2] cannot be 'grid' of shape [1x2x2x3]"),
            std::string::npos)
      << why;
}

}  // namespace
