// Einsum on make_operator_models.py's graphs: rewritten into Transpose,
// ReduceSum, Reshape and MatMul before lowering; a diagonal refused.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "fusion.hpp"
#include "test_graphs.hpp"

namespace {

using namespace npu::onnx_runtime;

// The op types of the nodes named `name` (the Einsum they replace).
std::vector<std::string> ops_of(const Graph& graph, const std::string& output) {
  std::vector<std::string> ops;
  for (const Node& node : graph.nodes) {
    if (node.outputs.at(0).starts_with(output)) {
      ops.push_back(node.op);
    }
  }
  return ops;
}

TEST(OnnxEinsum, AttentionScoresAreOneTransposeAndOneMatMul) {
  const Graph graph = fused("einsum");
  for (const Node& node : graph.nodes) {
    EXPECT_NE(node.op, "Einsum");
  }
  // bhqd,bhkd->bhqk: k's operand transposed to bhdk, then batched MatMul.
  EXPECT_EQ(ops_of(graph, "scores"), (std::vector<std::string>{"Transpose", "MatMul"}));
  // bhqk,bhkd->bhqd is a MatMul as it stands.
  EXPECT_EQ(ops_of(graph, "context"), (std::vector<std::string>{"MatMul"}));
  // bhqd->bqhd: one Transpose; bhqd->bd: h and q moved last and summed.
  EXPECT_EQ(ops_of(graph, "moved"), (std::vector<std::string>{"Transpose"}));
  EXPECT_EQ(ops_of(graph, "summed"), (std::vector<std::string>{"Transpose", "ReduceSum"}));
  EXPECT_EQ(graph.shape("summed"), (Shape{2, 5}));
  // ...d,d (implicit output: the ellipsis): rows b·h·q, one column.
  EXPECT_EQ(graph.shape("inner"), (Shape{2, 3, 4}));
  EXPECT_EQ(graph.shape("outer"), (Shape{2, 3, 4, 5, 3}));
  EXPECT_NO_THROW(lower(graph));
}

TEST(OnnxEinsum, AProductWithABatchIndexOfOneOperandBroadcasts) {
  const Graph graph = fused("einsum");
  // bhqd,bkd->bhqk: b the batch, h and q rows, d contracted, k columns:
  // [2, 12, 5] x [2, 5, 7].
  const std::vector<std::string> ops = ops_of(graph, "per_batch");
  EXPECT_EQ(std::count(ops.begin(), ops.end(), "MatMul"), 1);
  EXPECT_EQ(graph.shape("per_batch"), (Shape{2, 3, 4, 7}));
}

TEST(OnnxEinsum, ADiagonalIsRefusedByName) {
  EXPECT_EQ(refusal(fused("einsum_diagonal")),
            "Einsum: an equation of more than two operands, an index repeated within an "
            "operand (a diagonal, a trace), or indices of both operands whose sizes disagree");
}

}  // namespace
