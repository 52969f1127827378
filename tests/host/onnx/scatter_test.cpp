// ScatterND, ScatterElements and Scatter of constant indices
// (make_index_models.py): a GATHER from the data and the updates side by
// side, and under a reduction one GATHER and one ELTWISE per round; OneHot
// as COMPAREs with constant ramps and a SELECT; EyeLike folded; integer
// arithmetic on computed values in INT32 (integer_arithmetic); Slices of
// integers (integer_slice).
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "test_graphs.hpp"

namespace {

using namespace npu::onnx_runtime;
using npu::isa::Instruction;
using npu::isa::Opcode;

std::vector<std::vector<std::int64_t>> index_tables(const Program& program) {
  std::vector<std::vector<std::int64_t>> tables;
  for (const auto& [name, weight] : program.weights) {
    if (name.starts_with("%indices")) {
      tables.push_back(weight.ints);
    }
  }
  return tables;
}

bool has_table(const Program& program, const std::vector<std::int64_t>& table) {
  const auto tables = index_tables(program);
  return std::ranges::find(tables, table) != tables.end();
}

TEST(OnnxScatter, ReplacingIsOneGatherFromTheDataAndTheUpdatesSideBySide) {
  const Program program = lower(fused("scatter"));
  const std::vector<Instruction> ins = instructions_of(program);
  const auto gather = std::ranges::find(ins, Opcode::gather, &Instruction::opcode);
  ASSERT_NE(gather, ins.end());
  // data [2, 3, 4, 5] as 6 rows of 20, then the 2 update rows.
  EXPECT_EQ(value(*gather, 3), 8U);
  EXPECT_EQ(value(*gather, 4), 20U);
  EXPECT_EQ(value(*gather, 5), 6U);
  // data[0, 1] is update 0 (row 6), data[1, -1] update 1 (row 7).
  EXPECT_TRUE(has_table(program, {0, 6, 2, 3, 4, 7}));
  EXPECT_EQ((gather - 1)->opcode, Opcode::dma_copy);  // the updates after the data
  EXPECT_EQ((gather - 2)->opcode, Opcode::dma_copy);
}

TEST(OnnxScatter, AReductionTakesOneRoundPerRepeatOfAnIndex) {
  const Program program = lower(fused("scatter"));
  // nd_add: data row 3 ([1, 0]) receives updates 0 and 1, row 2 update 2;
  // row 3 of [updates; 0] is the identity.
  EXPECT_TRUE(has_table(program, {3, 3, 2, 0, 3, 3}));
  EXPECT_TRUE(has_table(program, {3, 3, 3, 1, 3, 3}));
  const std::vector<Opcode> ops = opcodes_of(program);
  // nd 1, nd_add 2, nd_mul 1, elements_out 1, elements_add up to 3 (each
  // of its positions gets 0 to 3 updates): one ELTWISE per reducing round.
  const auto gathers = std::ranges::count(ops, Opcode::gather);
  EXPECT_EQ(std::ranges::count(ops, Opcode::eltwise), gathers - 2);
  EXPECT_GE(gathers, 6);
}

TEST(OnnxScatter, Opset9ScatterPlacesSingleElements) {
  const Program program = lower(fused("scatter_v10"));
  EXPECT_EQ(opcodes_of(program), (std::vector{Opcode::dma_copy, Opcode::dma_copy, Opcode::gather}));
  // x [3, 4]: indices [[3, 0], [1, 2], [0, 3]] along axis 1, updates 12..17.
  EXPECT_TRUE(has_table(program, {13, 1, 2, 12, 4, 14, 15, 7, 16, 9, 10, 17}));
}

TEST(OnnxScatter, DataBeyondAGatherTableIsRefusedBeforeItsRowsAreListed) {
  EXPECT_EQ(refusal(fused("scatter_huge")),
            "ScatterElements: 2147483648 x 1 rows selected; a GATHER's index table holds at "
            "most 16777216");
  EXPECT_EQ(refusal(fused("one_hot_huge")),
            "OneHot: depth 67108864 x 1: the ramp exceeds the device's operand");
}

TEST(OnnxScatter, AnEyeBeyondTheMatrixIsAllZeros) {
  const Graph eye = fused("eye_like_huge_k");
  ASSERT_TRUE(eye.is_constant("y"));
  EXPECT_EQ(eye.constants.at("y").value(0), 0.0);  // no diagonal inside the matrix
}

// A folded float64 constant goes back into the model as float64, so shape
// inference agrees with the output's declared type (ONNX's
// test_eyelike_with_dtype was refused in shape inference).
TEST(OnnxScatter, AnEyeOfDoublesIsADoubleConstant) {
  const Graph eye = fused("eye_like_double");
  ASSERT_TRUE(eye.is_constant("y"));
  EXPECT_EQ(eye.constants.at("y").value(4), 1.0);
  EXPECT_EQ(eye.constants.at("y").value(5), 0.0);
  EXPECT_EQ(eye.values.at("y").type, ElementType::float32);  // computed as float
  EXPECT_EQ(lower(eye).narrowed_float_io.at("y"), ElementType::float64);
}

TEST(OnnxScatter, AnIndexRepeatedBeyondTheRoundsIsRefused) {
  EXPECT_EQ(refusal(fused("scatter_too_many_rounds")),
            "ScatterElements: an index repeated 65 times (at most 64 under a reduction)");
}

TEST(OnnxOneHot, TheNewAxisIsInferredFromAConstantDepth) {
  const Graph g = fused("one_hot");
  EXPECT_EQ(g.shape("middle"), (Shape{4, 5, 6}));
  EXPECT_EQ(g.shape("last"), (Shape{4, 6, 5}));
  EXPECT_EQ(g.shape("best_one_hot"), (Shape{4, 6}));
  EXPECT_TRUE(g.is_constant("eye"));  // EyeLike of x's static shape
}

TEST(OnnxOneHot, IndicesAreComparedWithBothRampsAndSelectOnOrOff) {
  using enum Opcode;
  const Program program = lower(fused("one_hot"));
  // 3x (the Mul), its OneHot (the indices along the new axis, both
  // ramps, their union, the values), Floor(3x) (ROUND, COMPARE, ELTWISE,
  // SELECT) and its OneHot.
  const std::vector<Opcode> one_hot{copy_strided, compare, compare, eltwise, select};
  std::vector<Opcode> want{eltwise};
  want.insert(want.end(), one_hot.begin(), one_hot.end());
  want.insert(want.end(), {activation_param, compare, eltwise, select});
  want.insert(want.end(), one_hot.begin(), one_hot.end());
  // ArgMax's rounds, its indices' low words, then the same five; x + eye.
  const std::vector<Opcode> ops = opcodes_of(program);
  ASSERT_GE(ops.size(), want.size() + 5);
  EXPECT_EQ(std::vector(ops.begin(), ops.begin() + static_cast<std::ptrdiff_t>(want.size())), want);
  EXPECT_EQ(std::vector(ops.end() - 6, ops.end()),
            (std::vector{copy_strided, compare, compare, eltwise, select, eltwise}));
  // The middle axis: ramps of [5 x 6], 0..4 and -5..-1, as float.
  bool forward = false;
  for (const auto& [name, weight] : program.weights) {
    forward |= weight.shape == Shape{5, 6} && weight.floats.front() == 0.0F &&
               weight.floats.back() == 4.0F;
  }
  EXPECT_TRUE(forward);
}

TEST(OnnxIntegers, ArithmeticOnComputedIntegersIsInt32) {
  const std::vector<Instruction> ins = instructions_of(lower(fused("integer_arithmetic")));
  const auto int32_count = [&](Opcode op) {
    return std::ranges::count_if(ins, [op](const Instruction& i) {
      return i.opcode == op && i.dtype == npu::isa::DataType::int32;
    });
  };
  // Mul, Add, Sub, Max, Min, Add of the row; three CumSums along 8
  // elements: 3 + 3 + 3 scan steps (the exclusive one shifted once first);
  // the five int64 outputs' high words, min(x, 0) then max(.., -1).
  EXPECT_EQ(int32_count(Opcode::eltwise), 6 + 9 + 5 * 2);
  // ArgMax's indices, the Casts of the mask (twice), Where.
  EXPECT_EQ(int32_count(Opcode::select), 1 + 3);
  // ArgMax's int64 ids (never negative): a DMA_FILL of zeros; one per scan
  // step and exclusive shift.
  EXPECT_EQ(std::ranges::count(ins, Opcode::dma_fill, &Instruction::opcode), 1 + 9 + 1);
}

TEST(OnnxIntegers, TheLowWordsOfAnInt64ValueAreCopiedOnce) {
  // where_integers reads its int64 input twice (Greater, Where).
  const std::vector<Opcode> ops = opcodes_of(lower(fused("where_integers")));
  EXPECT_EQ(ops.front(), Opcode::copy_strided);
  EXPECT_EQ(std::ranges::count(ops, Opcode::copy_strided), 3);  // and the widening's two
}

// A Slice of computed integers moves their INT32 words (two per int64) by
// one COPY_STRIDED; the GATHER after it reads the slice as indices.
TEST(OnnxIntegers, SlicesOfIntegersAreCopiesOfTheirWords) {
  const Program program = lower(fused("integer_slice"));
  const std::vector<Instruction> ins = instructions_of(program);
  std::vector<Instruction> int32_copies;
  std::ranges::copy_if(ins, std::back_inserter(int32_copies), [](const Instruction& i) {
    return i.opcode == Opcode::copy_strided && i.dtype == npu::isa::DataType::int32;
  });
  // ids[:, 2:] and ids[:, ::3] (int64: two words each), running[:, -5:]
  // (INT32 words); and the low words of ids for the Cast.
  ASSERT_GE(int32_copies.size(), 3U);
  EXPECT_EQ(std::ranges::count(ins, Opcode::gather, &Instruction::opcode), 2);
}

}  // namespace
