// Trilu on make_operator_models.py's graphs: of a computed tensor one
// SELECT with a constant mask of one matrix; of a constant (a decoder's
// causal mask) folded on the host; of integers one SELECT of INT32 words;
// a k computed at run time, and a mask beyond the operand, refused.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <limits>
#include <vector>

#include "test_graphs.hpp"

namespace {

using namespace npu::onnx_runtime;
using npu::isa::Instruction;
using npu::isa::Opcode;

TEST(OnnxTrilu, AComputedTensorIsOneSelectWithAMaskOfOneMatrix) {
  const Program program = lower(fused("trilu"));
  const std::vector<Instruction> ins = instructions_of(program);
  ASSERT_EQ(ins.size(), 3U);
  for (const Instruction& select : ins) {
    EXPECT_EQ(select.opcode, Opcode::select);
    EXPECT_EQ(value(select, 4), 2U * 3 * 4 * 5);  // count
    EXPECT_EQ(value(select, 5), 4U * 5);          // the mask: one 4 x 5 matrix
    EXPECT_EQ(value(select, 7), 1U);              // 0 elsewhere
  }
  // Upper, k 0: row i keeps columns i and on.
  EXPECT_EQ(
      program.weights.at("%triangle4x5u0").ints,
      (std::vector<std::int64_t>{1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 0, 0, 1, 1, 1, 0, 0, 0, 1, 1}));
  // Lower, k -1: row i keeps columns up to i - 1.
  EXPECT_EQ(
      program.weights.at("%triangle4x5l-1").ints,
      (std::vector<std::int64_t>{0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0}));
  EXPECT_TRUE(program.weights.contains("%triangle4x5u2"));
}

TEST(OnnxTrilu, ACausalMaskOfConstantsIsFoldedOnTheHost) {
  const Graph graph = fused("causal_mask");
  ASSERT_EQ(graph.nodes.size(), 2U);  // Add, Softmax
  EXPECT_EQ(graph.nodes[0].op, "Add");
  const Constant& mask = graph.constants.at(graph.nodes[0].inputs.at(1));
  const float m = std::numeric_limits<float>::lowest();
  EXPECT_EQ(mask.floats, (std::vector<float>{0, m, m, m, 0, 0, m, m, 0, 0, 0, m, 0, 0, 0, 0}));
}

// k an int64 input: its low word compared with the constant column − row
// of one 3 x 3 matrix (upper: >=), the mask selecting x.
TEST(OnnxTrilu, KKnownAtRunTimeIsComparedWithEachElementsDiagonal) {
  const Program program = lower(fused("trilu_computed_k"));
  const std::vector<Instruction> ins = instructions_of(program);
  ASSERT_EQ(ins.size(), 3U);
  EXPECT_EQ(ins[0].opcode, Opcode::copy_strided);  // k's low word
  EXPECT_EQ(ins[1].opcode, Opcode::compare);
  EXPECT_EQ(ins[1].dtype, npu::isa::DataType::int32);
  EXPECT_EQ(ins[1].flags, 5U);  // ge
  EXPECT_EQ(value(ins[1], 3), 9U);
  EXPECT_EQ(value(ins[1], 4), 1U);
  EXPECT_EQ(ins[2].opcode, Opcode::select);
  EXPECT_EQ(program.weights.at("%diagonal_offsets3x3").ints,
            (std::vector<std::int64_t>{0, 1, 2, -1, 0, 1, -2, -1, 0}));
}

TEST(OnnxTrilu, IntegersAreOneSelectOfInt32Words) {
  const std::vector<Instruction> ins = instructions_of(lower(fused("trilu_integers")));
  std::vector<Instruction> selects;
  std::ranges::copy_if(ins, std::back_inserter(selects), [](const Instruction& i) {
    return i.opcode == Opcode::select && i.dtype == npu::isa::DataType::int32;
  });
  // ArgMax's own, then one per Trilu.
  ASSERT_EQ(selects.size(), 3U);
  EXPECT_EQ(value(selects[1], 5), 4U * 5);  // the mask of one 4 x 5 matrix
}

TEST(OnnxTrilu, AMaskBeyondTheOperandIsRefusedBeforeItIsBuilt) {
  EXPECT_EQ(refusal(fused("trilu_huge")),
            "Trilu: matrices of 1048576 x 1048576: the mask exceeds the device's operand");
}

}  // namespace
