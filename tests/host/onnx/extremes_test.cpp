// TopK and Hardmax on make_operator_models.py's graphs: the extreme along
// an axis and its first index (as ArgMax's); TopK k rounds of it, each
// written into its place along the axis, the chosen element knocked out of
// the next round; Hardmax a one-hot of it.
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "test_graphs.hpp"

namespace {

using namespace npu::onnx_runtime;
using npu::isa::Opcode;

TEST(OnnxTopK, EachRoundIsTheExtremeItsIndexAndAKnockOut) {
  const Program program = lower(fused("top_k"));
  const std::vector<Opcode> ops = opcodes_of(program);
  // Relu; k 3 and k 2: 5 rounds of REDUCE, COMPARE (its operand expanded),
  // SELECT, REDUCE INT32 and two copies into place; 3 knock-outs (COMPARE
  // with the index expanded, SELECT); each index output widened (DMA_FILL,
  // COPY_STRIDED); the Cast of the indices one CONVERT.
  EXPECT_EQ(std::ranges::count(ops, Opcode::reduce), 2 * 5);
  EXPECT_EQ(std::ranges::count(ops, Opcode::select), 5 + 3);
  EXPECT_EQ(std::ranges::count(ops, Opcode::compare), 5 + 3);
  EXPECT_EQ(std::ranges::count(ops, Opcode::dma_fill), 2);
  EXPECT_EQ(std::ranges::count(ops, Opcode::convert), 1);
  EXPECT_EQ(program.output_types.at("top_indices"), ElementType::int64);
}

TEST(OnnxTopK, AKOverSixtyFourIsRefusedByName) {
  EXPECT_EQ(refusal(fused("top_k_too_many")), "TopK: k must be one constant in [1, 64]");
}

TEST(OnnxHardmax, TheFirstMaximumAsAOneHotMaskConvertedToFloat) {
  // Opset 11: x [2, 3, 5] coerced to [2, 15] at axis 1.
  const std::vector<npu::isa::Instruction> ins = instructions_of(lower(fused("hardmax")));
  ASSERT_EQ(ins.back().opcode, Opcode::convert);
  EXPECT_EQ(value(ins.back(), 2), 2U * 3 * 5);
  const std::vector<Opcode> ops = opcodes_of(lower(fused("hardmax_axis")));
  EXPECT_EQ(ops, (std::vector<Opcode>{Opcode::reduce, Opcode::copy_strided, Opcode::compare,
                                      Opcode::select, Opcode::reduce, Opcode::copy_strided,
                                      Opcode::compare, Opcode::convert}));
}

}  // namespace
