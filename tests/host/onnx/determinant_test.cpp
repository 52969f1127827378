// Det on make_operator_models.py's graphs: Leibniz's sum over permutations
// as a Gather, a ReduceProd and a MatMul (guest-onnx-models checks the
// values against onnxruntime); a larger Det refused by name.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "fusion.hpp"
#include "test_graphs.hpp"

namespace {

using namespace npu::onnx_runtime;

TEST(OnnxDeterminants, ADetIsTheSignedSumOfThePermutationsProducts) {
  const Graph graph = fused("determinants");
  EXPECT_EQ(ops_replacing(graph, "det3"),
            (std::vector<std::string>{"Reshape", "Gather", "ReduceProd", "MatMul", "Reshape"}));
  EXPECT_EQ(graph.shape("det3"), (Shape{3}));
  EXPECT_EQ(graph.shape("det_single"), (Shape{}));
  // 3 x 3: 6 products of 3 factors; the signs of 012, 021, 102, 120, 201, 210.
  for (const Node& node : graph.nodes) {
    if (node.op == "MatMul" && node.outputs.at(0).starts_with("det3.")) {
      EXPECT_EQ(graph.constants.at(node.inputs.at(1)).floats,
                (std::vector<float>{1, -1, -1, 1, 1, -1}));
    }
    if (node.op == "Gather" && node.outputs.at(0).starts_with("det3.")) {
      const Constant& factors = graph.constants.at(node.inputs.at(1));
      EXPECT_EQ(factors.shape, (Shape{6, 3}));
      EXPECT_EQ(factors.integer(3 * 3 + 0), 1);  // 120: X[0,1] X[1,2] X[2,0]
      EXPECT_EQ(factors.integer(3 * 3 + 1), 5);
      EXPECT_EQ(factors.integer(3 * 3 + 2), 6);
    }
  }
  EXPECT_NO_THROW(lower(graph));
}

TEST(OnnxDeterminants, ADetBeyondFourByFourIsRefusedByName) {
  EXPECT_EQ(refusal(fused("det_5x5")),
            "Det: of matrices larger than 4 x 4, or of a shape that is not static (a sum over the "
            "n! permutations of n x n)");
}

}  // namespace
