// Elementwise math on make_operator_models.py's graphs: Floor, Ceil and Sign
// (floor_ceil_sign) each from ROUND (ISA v1.5), COMPARE and SELECT (v1.4),
// exact (guest-onnx-models checks the values against onnxruntime,
// infinities included); Sin, Cos and ONNX's other math functions folded on
// constants (rotary_tables), Sin and Cos on the device (ISA v1.6) of computed
// angles (rotary_computed); ThresholdedRelu,
// Shrink, IsInf and IsNaN (thresholds) as COMPAREs and SELECTs; ISA v1.8's
// functions and Pow of an exponent per element (math_functions).
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "test_graphs.hpp"

namespace {

using namespace npu::onnx_runtime;
using npu::isa::Instruction;
using npu::isa::Opcode;

constexpr std::uint32_t kFuncRound = 12, kFuncSin = 13, kFuncCos = 14, kCompareLt = 2,
                        kCompareGt = 4, kEltwisePow = 6, kEltwiseFmod = 7;

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

TEST(OnnxThresholds, EachIsComparisonsAndSelects) {
  using enum Opcode;
  EXPECT_EQ(opcodes_of(lower(fused("thresholds"))),
            (std::vector{// ThresholdedRelu
                         compare, select,
                         // Shrink with a bias, then the default one
                         compare, compare, eltwise, eltwise, select, select, compare, compare,
                         eltwise, eltwise, select, select,
                         // IsInf: |x| == inf, == inf, == -inf, nothing detected
                         activation_param, compare, compare, compare, dma_fill,
                         // Sqrt, then IsNaN as x != x
                         activation_param, compare}));
  const std::vector<Instruction> ins = instructions_of(lower(fused("thresholds")));
  EXPECT_EQ(ins[0].flags, kCompareGt);
  EXPECT_EQ(ins.back().flags, 1U);  // NE
}

TEST(OnnxFoldedMath, RotaryTablesOfSinAndCosAreFoldedOnTheHost) {
  const Graph graph = fused("rotary_tables");
  for (const Node& node : graph.nodes) {
    EXPECT_NE(node.op, "Sin");
    EXPECT_NE(node.op, "Cos");
  }
  ASSERT_EQ(graph.nodes.size(), 3U);  // Mul, Mul, Add
  const Constant& cos = graph.constants.at(graph.nodes[0].inputs.at(1));
  const Constant& sin = graph.constants.at(graph.nodes[1].inputs.at(1));
  const float inv_freq[] = {1.0F, 0.1F, 0.01F, 0.001F};
  for (int p = 0; p < 8; ++p) {
    for (int f = 0; f < 4; ++f) {
      const double angle = static_cast<float>(p) * inv_freq[f];
      EXPECT_EQ(cos.floats.at(static_cast<std::size_t>(p * 4 + f)),
                static_cast<float>(std::cos(angle)));
      EXPECT_EQ(sin.floats.at(static_cast<std::size_t>(p * 4 + f)),
                static_cast<float>(std::sin(angle)));
    }
  }
}

// Angles computed per inference: ACTIVATION_PARAM SIN and COS (ISA v1.6),
// refused by name on an older device.
TEST(OnnxFoldedMath, SinAndCosOfComputedAnglesAreV16Functions) {
  const std::vector<Instruction> ins = instructions_of(lower(fused("rotary_computed")));
  std::vector<std::uint32_t> functions;
  for (const Instruction& i : ins) {
    if (i.opcode == Opcode::activation_param) {
      functions.push_back(i.flags);
      EXPECT_EQ(value(i, 2), 8U * 8);  // count: 8 positions x 2 x 4 frequencies
    }
  }
  EXPECT_EQ(functions, (std::vector<std::uint32_t>{kFuncSin, kFuncCos}));
  try {
    lower(fused("rotary_computed"), npu::isa::DataType::fp32, every_opcode(),
          npu::isa::kIsaVersion1_5);
    ADD_FAILURE() << "lowered for a v1.5 device";
  } catch (const npu::onnx::UnsupportedOperators& e) {
    ASSERT_EQ(e.entries().size(), 2U) << e.what();
    EXPECT_EQ(e.entries().at(1).op + ": " + e.entries().at(1).reason,
              "Sin: needs ISA v1.6's ACTIVATION_PARAM SIN (hw-spec 7.4.6); the device is v1.5");
  }
}

// ISA v1.8's functions of computed values, one ACTIVATION_PARAM each (FUNC
// 15-24), and Pow with an exponent per element, one ELTWISE POW each: a
// computed exponent, a constant vector along the rows, constant integers
// taken as floats; Mod of floats one ELTWISE FMOD. On a v1.7 device each
// is refused by name.
TEST(OnnxElementwiseMath, V18FunctionsPowAndFmodOfComputedValues) {
  const std::vector<Instruction> ins = instructions_of(lower(fused("math_functions")));
  std::vector<std::uint32_t> functions;
  std::vector<std::uint32_t> pow_b_counts;
  std::vector<std::uint32_t> fmod_b_counts;
  for (const Instruction& i : ins) {
    if (i.opcode == Opcode::activation_param) {
      functions.push_back(i.flags);
    }
    if (i.opcode == Opcode::eltwise && i.flags == kEltwisePow) {
      EXPECT_EQ(value(i, 3), 48U);
      pow_b_counts.push_back(value(i, 4));
    }
    if (i.opcode == Opcode::eltwise && i.flags == kEltwiseFmod) {
      fmod_b_counts.push_back(value(i, 4));
    }
  }
  EXPECT_EQ(fmod_b_counts, (std::vector<std::uint32_t>{48, 8}));
  // Tan, Atan, Sinh, Cosh, Asinh, Erf, Asin, Acos, Atanh, Acosh
  EXPECT_EQ(functions, (std::vector<std::uint32_t>{15, 18, 19, 20, 21, 24, 16, 17, 23, 22}));
  EXPECT_EQ(pow_b_counts, (std::vector<std::uint32_t>{48, 8, 8}));
  try {
    lower(fused("math_functions"), npu::isa::DataType::fp32, every_opcode(),
          npu::isa::kIsaVersion1_7);
    ADD_FAILURE() << "lowered for a v1.7 device";
  } catch (const npu::onnx::UnsupportedOperators& e) {
    // One entry per operator (Pow's three nodes in one), by name.
    ASSERT_EQ(e.entries().size(), 12U) << e.what();
    EXPECT_EQ(e.entries().at(0).op + ": " + e.entries().at(0).reason,
              "Acos: needs ISA v1.8's ACTIVATION_PARAM ACOS (hw-spec 7.4.8); the device is v1.7");
    EXPECT_EQ(e.entries().at(9).op + ": " + e.entries().at(9).reason,
              "Pow: needs ISA v1.8's ELTWISE POW, for an exponent per element (hw-spec 7.4.8); "
              "the device is v1.7");
  }
}

// A constant integer exponent goes to the device as floats: x^1 ... x^8.
TEST(OnnxElementwiseMath, ConstantIntegerExponentsBecomeFloats) {
  const Program program = lower(fused("math_functions"));
  bool found = false;
  for (const auto& [name, weight] : program.weights) {
    if (weight.floats == std::vector<float>{1, 2, 3, 4, 5, 6, 7, 8}) {
      found = true;
    }
  }
  EXPECT_TRUE(found);
}

}  // namespace
