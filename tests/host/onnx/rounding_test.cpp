// Floor, Ceil and Sign on make_operator_models.py's floor_ceil_sign graph:
// each from ROUND (ISA v1.5), COMPARE and SELECT (v1.4), exact
// (guest-onnx-models checks the values against onnxruntime, infinities
// included).
#include <gtest/gtest.h>

#include <vector>

#include "test_graphs.hpp"

namespace {

using namespace npu::onnx_runtime;
using npu::isa::Instruction;
using npu::isa::Opcode;

constexpr std::uint32_t kFuncRound = 12, kCompareLt = 2, kCompareGt = 4;

TEST(OnnxRounding, FloorAndCeilStepTheRoundedValueWhereItPassedX) {
  const std::vector<Instruction> ins = instructions_of(lower(fused("floor_ceil_sign")));
  const std::vector<Opcode> floor{Opcode::activation_param, Opcode::compare, Opcode::eltwise,
                                  Opcode::select};
  ASSERT_GE(ins.size(), 9U);
  for (std::size_t i = 0; i < floor.size(); ++i) {
    EXPECT_EQ(ins[1 + i].opcode, floor[i]) << i;      // Floor(3x), after the Mul
    EXPECT_EQ(ins[5 + i].opcode, floor[i]) << i + 4;  // Ceil(3x)
  }
  EXPECT_EQ(ins[1].flags, kFuncRound);
  EXPECT_EQ(ins[2].flags, kCompareGt);  // rounded up past x: one less
  EXPECT_EQ(ins[3].flags, 0U);          // ELTWISE add (of -1)
  EXPECT_EQ(ins[6].flags, kCompareLt);  // rounded down below x: one more
}

TEST(OnnxRounding, SignIsTwoComparisonsWithZeroAndTwoSelects) {
  const std::vector<Instruction> ins = instructions_of(lower(fused("floor_ceil_sign")));
  const std::vector<Opcode> sign{Opcode::compare, Opcode::compare, Opcode::select, Opcode::select};
  ASSERT_GE(ins.size(), 13U);
  for (std::size_t i = 0; i < sign.size(); ++i) {
    EXPECT_EQ(ins[9 + i].opcode, sign[i]) << i;
  }
  EXPECT_EQ(ins[9].flags, kCompareGt);
  EXPECT_EQ(ins[10].flags, kCompareLt);
}

TEST(OnnxRounding, FloorOnAnIsaV14DeviceIsRefusedNamingRound) {
  const Graph graph = fused("floor_ceil_sign", every_opcode(), npu::isa::kIsaVersion1_4);
  try {
    lower(graph, npu::isa::DataType::fp32, every_opcode(), npu::isa::kIsaVersion1_4);
    ADD_FAILURE() << "lowered";
  } catch (const npu::onnx::UnsupportedOperators& e) {
    EXPECT_NE(std::string(e.what()).find("ACTIVATION_PARAM ROUND"), std::string::npos) << e.what();
  }
}

}  // namespace
