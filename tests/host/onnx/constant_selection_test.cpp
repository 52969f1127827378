// Selections of a computed tensor known when compiling
// (make_operator_models.py's constant_selection): each one GATHER of rows
// by a constant int32 index table.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "test_graphs.hpp"

namespace {

using namespace npu::onnx_runtime;
using npu::isa::Instruction;
using npu::isa::Opcode;

TEST(OnnxConstantSelection, EachSelectionIsOneGatherOfRows) {
  const Program program = lower(fused("constant_selection"));
  const std::vector<Instruction> ins = instructions_of(program);
  ASSERT_EQ(ins.size(), 8U);  // Relu, then seven GATHERs
  EXPECT_EQ(ins[0].opcode, Opcode::activation);
  for (std::size_t i = 1; i < ins.size(); ++i) {
    EXPECT_EQ(ins[i].opcode, Opcode::gather) << i;
    EXPECT_EQ(ins[i].flags, 0U) << "INT32 indices";
  }
  // The channel flip of x [2, 3, 4, 5]: rows of one channel (20 elements),
  // channels 2, 1, 0 of each image.
  EXPECT_EQ(value(ins[1], 3), 6U);   // table rows
  EXPECT_EQ(value(ins[1], 4), 20U);  // row_elems
  EXPECT_EQ(value(ins[1], 5), 6U);   // count
  // GatherElements along the last axis: one-element rows.
  EXPECT_EQ(value(ins[5], 4), 1U);
  EXPECT_EQ(value(ins[5], 5), 2U * 3 * 4 * 2);
  // GatherND with batch_dims 1: channel 2 of image 0, channel 0 of image 1.
  EXPECT_EQ(value(ins[7], 4), 20U);
  std::vector<std::vector<std::int64_t>> tables;
  for (const auto& [name, weight] : program.weights) {
    if (name.starts_with("%indices")) {
      tables.push_back(weight.ints);
    }
  }
  EXPECT_NE(std::ranges::find(tables, std::vector<std::int64_t>{2, 1, 0, 5, 4, 3}), tables.end());
  EXPECT_NE(std::ranges::find(tables, std::vector<std::int64_t>{2, 3}), tables.end());
}

TEST(OnnxConstantSelection, WithoutGatherOnlyTheIrregularGatherRunsAsCopies) {
  std::bitset<64> v12 = every_opcode();
  v12.reset(static_cast<std::size_t>(Opcode::gather));
  try {
    lower(fused("constant_selection", v12), npu::isa::DataType::fp32, v12);
    FAIL() << "lowered without GATHER";
  } catch (const npu::onnx::UnsupportedOperators& e) {
    std::vector<std::string> ops;
    for (const auto& entry : e.entries()) {
      ops.push_back(entry.op);
      EXPECT_EQ(entry.reason, "needs the ISA v1.3 instruction GATHER, which the device lacks");
    }
    EXPECT_EQ(ops, (std::vector<std::string>{"GatherElements", "GatherND", "Slice"}));
  }
}

TEST(OnnxConstantSelection, AnIndexTableBeyondTheOperandIsRefusedBeforeItIsBuilt) {
  // 2^28 rows x 3 indices: 805 million INT32 indices (the model fuzzer's
  // out-of-memory, 2026-12-06).
  EXPECT_EQ(refusal(fused("gather_huge")),
            "Gather: 268435456 x 3 rows selected; a GATHER's index table holds at most 16777216");
}

}  // namespace
