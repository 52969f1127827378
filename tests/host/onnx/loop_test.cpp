// Loop and Scan on make_operator_models.py's graphs: unrolled at compile
// time when their iterations are known (guest-onnx-models checks the
// values against onnxruntime); refused by name when they are not.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "fusion.hpp"
#include "test_graphs.hpp"

namespace {

using namespace npu::onnx_runtime;

bool has_op(const Graph& graph, const std::string& op) {
  for (const Node& node : graph.nodes) {
    if (node.op == op) {
      return true;
    }
  }
  return false;
}

TEST(OnnxLoops, ScansAndLoopsOfKnownLengthAreUnrolled) {
  const Graph graph = fused("loops");
  EXPECT_FALSE(has_op(graph, "Scan"));
  EXPECT_FALSE(has_op(graph, "Loop"));
  // Each iteration's iteration_num is a constant: its Cast folded.
  EXPECT_FALSE(has_op(graph, "Cast"));
  EXPECT_EQ(graph.shape("sum"), (Shape{2, 3}));
  EXPECT_EQ(graph.shape("squashed"), (Shape{2, 5, 3}));  // stacked along axis 1
  EXPECT_EQ(graph.shape("squashed_back"), (Shape{5, 2, 3}));
  EXPECT_EQ(graph.shape("y"), (Shape{2, 5, 3}));
  EXPECT_EQ(graph.shape("peaks"), (Shape{4, 2, 3}));  // one per iteration
  EXPECT_EQ(graph.shape("z"), (Shape{2, 5, 3}));
  EXPECT_NO_THROW(lower(graph));
}

TEST(OnnxLoops, Scan8IsUnrolledPerBatchElement) {
  const Graph graph = fused("scan_opset8");
  EXPECT_FALSE(has_op(graph, "Scan"));
  EXPECT_EQ(graph.shape("sum"), (Shape{2, 3}));
  EXPECT_EQ(graph.shape("squashed_back"), (Shape{2, 5, 3}));
  EXPECT_NO_THROW(lower(graph));
}

TEST(OnnxLoops, ALoopKnownOnlyAtRunTimeIsRefusedByName) {
  for (const char* model : {"loop_computed_condition", "loop_runtime_trips"}) {
    EXPECT_EQ(refusal(fused(model)),
              "Loop: a trip count or condition known only at run time, or a body whose condition "
              "may end it early (a Loop of a constant trip count whose condition stays true is "
              "unrolled)");
  }
  EXPECT_EQ(refusal(fused("scan_sequence_lens")),
            "Scan: scan inputs whose shapes are not static, or (opset 8) sequence_lens (a Scan "
            "over static shapes is unrolled)");
}

TEST(OnnxLoops, AnUnrollingBeyondItsBoundIsRefusedNamingTheNode) {
  expect_error_naming("loop_too_long",
                      "Loop 'long': 1048576 iterations of 2 nodes: the graph would hold more "
                      "than 65536 nodes");
  // 1000 iterations of a body holding a Loop of 1000: the inner ones unrolled
  // until the bound.
  expect_error_naming("loop_nested_too_long",
                      "Loop 'inner_loop': 1000 iterations of 2 nodes: the graph would hold "
                      "more than 65536 nodes");
}

}  // namespace
