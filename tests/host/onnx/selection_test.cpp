// ReverseSequence and Compress on make_operator_models.py's graphs:
// rewritten into one GatherElements or Gather before lowering
// (guest-onnx-models checks the values against onnxruntime).
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "fusion.hpp"
#include "test_graphs.hpp"

namespace {

using namespace npu::onnx_runtime;

const Node& producer_of(const Graph& graph, const std::string& value) {
  for (const Node& node : graph.nodes) {
    if (node.outputs.at(0) == value) {
      return node;
    }
  }
  throw std::runtime_error("nothing writes " + value);
}

TEST(OnnxSelections, ConstantLengthsReverseByOneGatherOfConstantSources) {
  const Graph graph = fused("selections");
  const Node& gather = producer_of(graph, "reversed");
  ASSERT_EQ(gather.op, "GatherElements");
  EXPECT_EQ(gather.get_int("axis", -1), 1);
  // Batch 2 has length 3 of 5 steps: steps 0, 1, 2 read 2, 1, 0; 3 and 4 stay.
  const Constant& sources = graph.constants.at(gather.inputs.at(1));
  const std::vector<std::int64_t> expected{2, 1, 0, 3, 4};
  for (std::int64_t t = 0; t < 5; ++t) {
    EXPECT_EQ(sources.integer((2 * 5 + t) * 3 + 1), expected[static_cast<std::size_t>(t)]) << t;
  }
  EXPECT_EQ(producer_of(graph, "reversed_time_major").get_int("axis", -1), 0);
  EXPECT_NO_THROW(lower(graph));
}

TEST(OnnxSelections, LengthsKnownAtRunTimeAreComparedOnTheDevice) {
  const Graph graph = fused("selections");
  const Node& gather = producer_of(graph, "reversed_computed");
  ASSERT_EQ(gather.op, "GatherElements");
  EXPECT_FALSE(graph.is_constant(gather.inputs.at(1)));
  EXPECT_EQ(producer_of(graph, gather.inputs.at(1)).op, "Expand");
}

TEST(OnnxSelections, AConstantConditionIsOneGatherOfThePositionsItKeeps) {
  const Graph graph = fused("selections");
  const Node& along = producer_of(graph, "compressed");
  ASSERT_EQ(along.op, "Gather");
  EXPECT_EQ(graph.constants.at(along.inputs.at(1)).integers(),
            (std::vector<std::int64_t>{0, 2, 3}));
  EXPECT_EQ(graph.shape("compressed"), (Shape{4, 3, 3}));
  // No axis: the flattened input.
  EXPECT_EQ(graph.shape("compressed_flat"), (Shape{5}));
  EXPECT_EQ(producer_of(graph, "compressed_flat").op, "Gather");
}

TEST(OnnxSelections, AConditionKnownOnlyAtRunTimeIsRefusedByName) {
  EXPECT_EQ(refusal(fused("compress_runtime")),
            "Compress: a condition known only at run time (the output's shape depends on its "
            "values; a constant condition is one Gather)");
}

TEST(OnnxSelections, ALengthBeyondTheTimeAxisIsRefusedNamingTheNode) {
  expect_error_naming("reverse_beyond_time",
                      "ReverseSequence 'too_long': a sequence length of 4 along a time axis of 3");
}

}  // namespace
