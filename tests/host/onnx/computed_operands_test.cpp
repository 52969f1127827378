// CumSum as one product by a constant 0/1 matrix, and operands the
// lowering took as constants only before (make_operator_models.py's
// cumsum and computed_operands graphs): Clip's bounds, LayerNormalization's
// scale and bias, Gemm's C.
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "test_graphs.hpp"

namespace {

using namespace npu::onnx_runtime;
using npu::isa::Instruction;
using npu::isa::Opcode;

TEST(OnnxCumSum, EachAxisIsOneProductWithASummationMatrix) {
  const Program program = lower(fused("cumsum"));
  const std::vector<Instruction> ins = instructions_of(program);
  ASSERT_EQ(ins.size(), 4U);
  // x [2, 3, 4] along axis 1: batch 2 of T [3 x 3] · x[o] [3 x 4].
  ASSERT_EQ(ins[0].opcode, Opcode::gemm_batched);
  EXPECT_EQ(value(ins[0], 4), 3U);   // M
  EXPECT_EQ(value(ins[0], 5), 4U);   // N: the inner elements
  EXPECT_EQ(value(ins[0], 11), 2U);  // the outer elements
  EXPECT_EQ(value(ins[0], 12), 0U);  // one matrix for all
  // Along the last axis (exclusive): one GEMM of x's 6 rows [6 x 4] by
  // T transposed.
  ASSERT_EQ(ins[1].opcode, Opcode::gemm);
  EXPECT_EQ(value(ins[1], 4), 6U);
  EXPECT_EQ(value(ins[1], 5), 4U);
  EXPECT_EQ(ins[1].flags & 2U, 2U);  // TRANS_B
  // Along the first axis (reversed): one GEMM of T [2 x 2] by x as [2 x 12].
  ASSERT_EQ(ins[2].opcode, Opcode::gemm);
  EXPECT_EQ(value(ins[2], 4), 2U);
  EXPECT_EQ(value(ins[2], 5), 12U);
  std::vector<std::vector<float>> matrices;
  for (const auto& [name, weight] : program.weights) {
    matrices.push_back(weight.floats);
  }
  // Inclusive along 1 (3 x 3, l <= j), exclusive along 2 (4 x 4, l < j),
  // reversed along 0 (2 x 2, l >= j), reversed exclusive (l > j).
  const std::vector<std::vector<float>> expected{{1, 0, 0, 1, 1, 0, 1, 1, 1},
                                                 {0, 0, 0, 0, 1, 0, 0, 0, 1, 1, 0, 0, 1, 1, 1, 0},
                                                 {1, 1, 0, 1},
                                                 {0, 1, 1, 1, 0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 0}};
  for (const std::vector<float>& m : expected) {
    EXPECT_NE(std::ranges::find(matrices, m), matrices.end());
  }
}

TEST(OnnxComputedOperands, ClipBoundsAreScalarOperandsOfEltwise) {
  const std::vector<Instruction> ins = instructions_of(lower(fused("computed_operands")));
  std::size_t scalar_eltwise = 0;
  for (const Instruction& i : ins) {
    if (i.opcode == Opcode::eltwise && value(i, 4) == 1U && value(i, 3) == 2U * 3 * 4) {
      ++scalar_eltwise;  // max with low, min with high; min with high
    }
  }
  EXPECT_EQ(scalar_eltwise, 3U);
}

TEST(OnnxComputedOperands, LayerNormReadsAComputedScaleAndExpandsAScalarBias) {
  const std::vector<Opcode> ops = opcodes_of(lower(fused("computed_operands")));
  EXPECT_EQ(std::ranges::count(ops, Opcode::layernorm), 2);
  // scalar_affine's scale and bias are one value each: one COPY_STRIDED
  // each spreads it over the 4 normalized elements (the third: Gemm's
  // computed C spread along the columns).
  EXPECT_EQ(std::ranges::count(ops, Opcode::copy_strided), 3);
}

TEST(OnnxComputedOperands, GemmAddsACAlongTheRowsAfterTheProduct) {
  const std::vector<Opcode> ops = opcodes_of(lower(fused("computed_operands")));
  EXPECT_EQ(std::ranges::count(ops, Opcode::gemm), 2);
  // The fused Relu after the sum, not in the GEMM.
  EXPECT_EQ(std::ranges::count(ops, Opcode::activation), 1);
}

}  // namespace
