// Selections by indices known only at run time along other axes than 0
// (make_index_models.py's runtime_gathers, make_test_models.py's
// gather_runtime_axis1): each index is brought into range by one GATHER of
// an INT32 ramp (negative ones counted from the end, one out of range
// failing the job), its row or element offset computed by ELTWISE INT32,
// and one GATHER selects.
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "test_graphs.hpp"

namespace {

using namespace npu::onnx_runtime;
using npu::isa::DataType;
using npu::isa::Instruction;
using npu::isa::Opcode;

std::vector<Instruction> gathers(const Program& program) {
  std::vector<Instruction> found;
  std::ranges::copy_if(instructions_of(program), std::back_inserter(found),
                       [](const Instruction& i) { return i.opcode == Opcode::gather; });
  return found;
}

// GATHER operands: 3 rows, 4 row_elems, 5 count.
TEST(OnnxRuntimeSelection, GatherAlongAnInnerAxisReadsRowsOfTheFlattenedOuterAxes) {
  const Program program = lower(fused("gather_runtime_axis1"));
  const std::vector<Instruction> g = gathers(program);
  ASSERT_EQ(g.size(), 2U);
  // The int64 ids (not narrowed: GATHER reads 64 bits) against the ramp
  // 0..4, then x [3, 5] as 15 rows of one element, 3 x 2 of them.
  EXPECT_EQ(g[0].dtype, DataType::int32);
  EXPECT_EQ(g[0].flags, 1U);  // index_int64
  EXPECT_EQ(value(g[0], 3), 5U);
  EXPECT_EQ(value(g[0], 5), 2U);
  EXPECT_EQ(value(g[1], 3), 15U);
  EXPECT_EQ(value(g[1], 4), 1U);
  EXPECT_EQ(value(g[1], 5), 6U);
  EXPECT_TRUE(program.narrowed_inputs.empty());
  // The row bases 0, 0, 5, 5, 10, 10.
  bool bases = false;
  for (const auto& [name, weight] : program.weights) {
    bases |= weight.ints == std::vector<std::int64_t>{0, 0, 5, 5, 10, 10};
  }
  EXPECT_TRUE(bases);
}

TEST(OnnxRuntimeSelection, GatherElementsAddsTheOtherCoordinatesOffsets) {
  const Program program = lower(fused("runtime_gathers"));
  const std::vector<Instruction> g = gathers(program);
  // Each of the five selections: the ramp, then the selection.
  ASSERT_EQ(g.size(), 10U);
  const auto selecting = [&](std::uint32_t rows, std::uint32_t elems, std::uint32_t count) {
    return std::ranges::count_if(g, [&](const Instruction& i) {
      return i.dtype == DataType::fp32 && value(i, 3) == rows && value(i, 4) == elems &&
             value(i, 5) == count;
    });
  };
  EXPECT_EQ(selecting(60, 1, 12), 1);       // x[ids, axis 1]: one element each
  EXPECT_EQ(selecting(60, 1, 30), 1);       // -x by TopK's ids along axis 2
  EXPECT_EQ(selecting(15 * 4, 1, 225), 1);  // x[:, :, ids - 4]
  EXPECT_EQ(selecting(42, 1, 90), 1);       // table[:, ids]
  EXPECT_EQ(selecting(60, 1, 15), 1);       // GatherND by each row's ArgMax
  // GatherElements along axis 1 scales its indices by the stride 4.
  const std::vector<Instruction> ins = instructions_of(program);
  EXPECT_EQ(std::ranges::count_if(ins,
                                  [](const Instruction& i) {
                                    return i.opcode == Opcode::eltwise &&
                                           i.dtype == DataType::int32 && i.flags == 2U;
                                  }),
            1);
}

// GatherND by int64 pairs: each column taken out of the tuples (both words),
// brought into range, the first scaled by the 4 rows of its axis, summed,
// then one GATHER of x as 20 rows of 3.
TEST(OnnxRuntimeSelection, GatherNdSumsEachIndexTimesItsAxisStep) {
  const Program program = lower(fused("gather_nd_ids"));
  const std::vector<Instruction> g = gathers(program);
  ASSERT_EQ(g.size(), 3U);
  EXPECT_EQ(value(g[0], 3), 5U);  // the first column against 0..4
  EXPECT_EQ(value(g[1], 3), 4U);  // the second against 0..3
  EXPECT_EQ(value(g[2], 3), 20U);
  EXPECT_EQ(value(g[2], 4), 3U);
  EXPECT_EQ(value(g[2], 5), 4U);
  const std::vector<Instruction> ins = instructions_of(program);
  EXPECT_EQ(std::ranges::count(ins, Opcode::copy_strided, &Instruction::opcode), 2);
  EXPECT_EQ(std::ranges::count(ins, Opcode::eltwise, &Instruction::opcode), 1 + 2);
}

// A scatter at run-time positions: for every (data row, update) pair one
// COMPARE, one SELECT INT32 and a REDUCE max (the last update wins), the
// data and the updates side by side, one GATHER of the output's rows.
TEST(OnnxRuntimeSelection, ScattersAtRunTimePositionsGatherEachRowsLastUpdate) {
  const Program program = lower(fused("runtime_scatters"));
  const std::vector<Instruction> ins = instructions_of(program);
  const auto int32 = [&](Opcode op) {
    return std::ranges::count_if(
        ins, [op](const Instruction& i) { return i.opcode == op && i.dtype == DataType::int32; });
  };
  EXPECT_EQ(int32(Opcode::compare), 2);
  EXPECT_EQ(int32(Opcode::reduce), 2 + 2);  // and the two ArgMaxes' REDUCEs
  const std::vector<Instruction> g = gathers(program);
  // ScatterElements: the ramp of 6 rows, then 48 + 8 one-element rows;
  // ScatterND: the ramp of 12 rows, then 12 + 2 rows of 4.
  const auto selecting = [&](std::uint32_t rows, std::uint32_t elems, std::uint32_t count) {
    return std::ranges::count_if(g, [&](const Instruction& i) {
      return i.dtype == DataType::fp32 && value(i, 3) == rows && value(i, 4) == elems &&
             value(i, 5) == count;
    });
  };
  EXPECT_EQ(selecting(48 + 8, 1, 48), 1);
  EXPECT_EQ(selecting(12 + 2, 4, 12), 1);
  EXPECT_EQ(refusal(fused("runtime_scatter_add")),
            "ScatterElements: reduction add at positions known only at run time (only replacing "
            "scatters)");
  // Integers (their INT32 words would be copied as floats): refused.
  EXPECT_EQ(refusal(fused("runtime_scatter_integers")),
            "ScatterElements: a scatter of int64 values at positions known only at run time");
  // 1024 updates into 2^20 elements: 2^30 pairs.
  EXPECT_EQ(refusal(fused("runtime_scatter_wide")),
            "ScatterElements: 1024 updates into 1048576 rows at positions known at run time: "
            "1073741824 pairs compared, at most 4194304");
}

// Index tuples stacked on the device: each Concat input's INT32 words
// copied into its block, sign-extended into the int64 output `tuples`
// (high words by ELTWISE min and max, low and high words copied); the
// GatherND's two columns taken out of it and its Slice, a graph output
// too, copying its int64 words as they are. Before, a Concat of integers
// and a Slice of them as a graph output were refused.
TEST(OnnxRuntimeSelection, IntegerConcatStacksIndexTuplesOnTheDevice) {
  const Program program = lower(fused("stacked_tuples"));
  const std::vector<Instruction> ins = instructions_of(program);
  const auto int32_copies = std::ranges::count_if(ins, [](const Instruction& i) {
    return i.opcode == Opcode::copy_strided && i.dtype == DataType::int32;
  });
  // ArgMax's widening and low words, Concat 2, widening 2, columns 2, Slice.
  EXPECT_EQ(int32_copies, 1 + 1 + 2 + 2 + 2 + 1);
  const auto int32_min = std::ranges::count_if(ins, [](const Instruction& i) {
    return i.opcode == Opcode::eltwise && i.dtype == DataType::int32 && i.flags == 5U;
  });
  EXPECT_EQ(int32_min, 1);
  EXPECT_EQ(gathers(program).size(), 3U);
}

}  // namespace
