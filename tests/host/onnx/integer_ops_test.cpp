// Integers computed on the device beyond addition (make_index_models.py):
// Cast of floats to int32 or int64 is one CONVERT to INT32 (ISA v1.7,
// truncating), Div one ELTWISE INT32, Mod three (fmod) or five with a
// COMPARE and a SELECT (the divisor's sign), int64 results sign-extended
// (integer_division); ReduceSum/Max/Min one REDUCE INT32
// (integer_reductions); a v1.6 device and a ReduceMean of integers are
// refused by name; a Mod of floats is ISA v1.8's ELTWISE FMOD.
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "test_graphs.hpp"

namespace {

using namespace npu::onnx_runtime;
using npu::isa::DataType;
using npu::isa::Instruction;
using npu::isa::Opcode;

constexpr std::uint32_t kEltwiseSub = 1;
constexpr std::uint32_t kEltwiseDiv = 3;
constexpr std::uint32_t kEltwiseMin = 5;

std::vector<Instruction> of(const std::vector<Instruction>& ins, Opcode op, DataType dtype) {
  std::vector<Instruction> found;
  std::ranges::copy_if(ins, std::back_inserter(found),
                       [&](const Instruction& i) { return i.opcode == op && i.dtype == dtype; });
  return found;
}

TEST(OnnxIntegerDivision, CastsOfFloatsAreConvertsToInt32) {
  const std::vector<Instruction> ins = instructions_of(lower(fused("integer_division")));
  std::vector<Instruction> to_int32;
  std::ranges::copy_if(ins, std::back_inserter(to_int32), [](const Instruction& i) {
    return i.opcode == Opcode::convert &&
           (i.flags & 0xfU) == static_cast<std::uint32_t>(DataType::int32);
  });
  // Cast(big) and Cast(Floor(big)): 27 FP32 values each, scale 1.
  ASSERT_EQ(to_int32.size(), 2U);
  for (const Instruction& c : to_int32) {
    EXPECT_EQ(c.dtype, DataType::fp32);
    EXPECT_EQ(value(c, 2), 27U);
    EXPECT_EQ(float_value(c, 5), 1.0F);
  }
}

TEST(OnnxIntegerDivision, DivAndModAreInt32Eltwise) {
  const std::vector<Instruction> ins = instructions_of(lower(fused("integer_division")));
  const std::vector<Instruction> eltwise = of(ins, Opcode::eltwise, DataType::int32);
  // Div twice; Mod: div, mul, sub (fmod), and twice with mul and add; the
  // five int64 outputs sign-extended: min(x, 0), max(.., -1).
  EXPECT_EQ(std::ranges::count(eltwise, kEltwiseDiv, &Instruction::flags), 2 + 3);
  EXPECT_EQ(eltwise.size(), 2U + 3 + 5 + 5 + 5 * 2);
  EXPECT_EQ(std::ranges::count(eltwise, kEltwiseMin, &Instruction::flags), 5);
  // Each sub takes the whole product (a − trunc(a / b)·b), not the
  // divisor's broadcast count.
  for (const Instruction& i : eltwise) {
    if (i.flags == kEltwiseSub) {
      EXPECT_EQ(value(i, 4), 27U);
    }
  }
  EXPECT_EQ(of(ins, Opcode::compare, DataType::int32).size(), 2U);
  EXPECT_EQ(of(ins, Opcode::select, DataType::int32).size(), 2U);
  // The quotient's Cast back to float reads its INT32 words.
  EXPECT_EQ(of(ins, Opcode::convert, DataType::int32).size(), 1U);
}

TEST(OnnxIntegerDivision, AV16DeviceIsRefusedByNameAndAModOfFloatsIsFmod) {
  try {
    lower(fused("integer_division"), DataType::fp32, every_opcode(), npu::isa::kIsaVersion1_6);
    ADD_FAILURE() << "lowered for a v1.6 device";
  } catch (const npu::onnx::UnsupportedOperators& e) {
    // The Casts; the Div and Mod of what they would have computed.
    ASSERT_EQ(e.entries().size(), 3U) << e.what();
    EXPECT_EQ(e.entries().at(0).op + ": " + e.entries().at(0).reason,
              "Cast: needs ISA v1.7's CONVERT to INT32 for a Cast from float to int64 (hw-spec "
              "7.4.7); the device is v1.6");
  }
  // A Mod of floats is ISA v1.8's ELTWISE FMOD (refused before 2026-12-07:
  // "the device has no exact remainder of floats"), by name on a v1.7
  // device.
  const std::vector<Instruction> fmod = instructions_of(lower(fused("float_mod")));
  ASSERT_EQ(fmod.size(), 1U);
  EXPECT_EQ(fmod[0].opcode, Opcode::eltwise);
  EXPECT_EQ(fmod[0].dtype, DataType::fp32);
  EXPECT_EQ(fmod[0].flags, 7U);  // FMOD
  EXPECT_EQ(refusal(fused("float_mod"), every_opcode(), npu::isa::kIsaVersion1_7),
            "Mod: needs ISA v1.8's ELTWISE FMOD, for Mod of floats (hw-spec 7.4.8); the device is "
            "v1.7");
}

// ReduceSum and ReduceMin of a computed int64 mask: one REDUCE INT32 each
// (sum 0, min 3 in the flags); ReduceMean of integers refused by name.
TEST(OnnxIntegerReduction, SumMaxAndMinAreInt32Reduce) {
  const std::vector<Instruction> ins = instructions_of(lower(fused("integer_reductions")));
  const std::vector<Instruction> reduces = of(ins, Opcode::reduce, DataType::int32);
  ASSERT_EQ(reduces.size(), 2U);
  EXPECT_EQ(reduces[0].flags, 0U);
  EXPECT_EQ(value(reduces[0], 3), 8U);  // length: the 8 tokens
  EXPECT_EQ(reduces[1].flags, 3U);
  EXPECT_EQ(refusal(fused("integer_reduce_mean")), "ReduceMean: ReduceMean of integers");
}

TEST(OnnxIntegerPow, APowOfIntegersIsTheFloatPowRoundedAndConvertedToInt32) {
  const std::vector<Instruction> ins = instructions_of(lower(fused("integer_pow")));
  const auto converts_to_int32 = std::ranges::count_if(ins, [](const Instruction& i) {
    return i.opcode == Opcode::convert &&
           (i.flags & 0xfU) == static_cast<std::uint32_t>(DataType::int32);
  });
  EXPECT_EQ(converts_to_int32, 2 + 5);  // the two Casts, then each Pow's rounded result
  // Each base read as floats: b, b64 (the Pows by a scalar 2 and 3, the
  // column and the computed exponents), and b + 1.
  EXPECT_GE(of(ins, Opcode::convert, DataType::int32).size(), 5U);
  try {
    lower(fused("integer_pow"), DataType::fp32, every_opcode(), npu::isa::kIsaVersion1_6);
    ADD_FAILURE() << "lowered for a v1.6 device";
  } catch (const npu::onnx::UnsupportedOperators& e) {
    const auto pow = std::ranges::find(e.entries(), std::string("Pow"),
                                       &npu::onnx::UnsupportedOperators::Entry::op);
    ASSERT_NE(pow, e.entries().end()) << e.what();
    EXPECT_EQ(pow->reason,
              "needs ISA v1.7's CONVERT to INT32, for a Pow of integers (hw-spec 7.4.7); the "
              "device is v1.6");
  }
}

}  // namespace
