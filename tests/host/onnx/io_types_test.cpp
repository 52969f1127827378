// Graph inputs and outputs beyond the float tensors the device computes
// (make_operator_models.py's byte_input_models): uint8 and int8 inputs, an
// image's bytes read as the INT32 values run() widens them to, through a
// Cast to float; graph outputs that are constants, copied from the
// weights; a uint8 graph output refused naming it.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "npu/onnx/model.hpp"
#include "test_graphs.hpp"

namespace {

using namespace npu::onnx_runtime;
using npu::isa::DataType;
using npu::isa::Instruction;
using npu::isa::Opcode;

TEST(OnnxByteInputs, AUint8ImageIsReadAsInt32ThroughOneConvert) {
  const Program program = lower(fused("uint8_image"));
  EXPECT_EQ(program.widened_inputs.at("x"), ElementType::uint8);
  EXPECT_EQ(program.integer_inputs.at("x"), ElementType::int32);
  const std::vector<Instruction> ins = instructions_of(program);
  ASSERT_FALSE(ins.empty());
  EXPECT_EQ(ins[0].opcode, Opcode::convert);
  EXPECT_EQ(static_cast<DataType>(ins[0].dtype), DataType::int32);
  EXPECT_EQ(lower(fused("int8_values")).widened_inputs.at("x"), ElementType::int8);
}

TEST(OnnxByteInputs, AUint8GraphOutputIsRefusedByName) {
  try {
    (void)lower(fused("uint8_passthrough"));
    ADD_FAILURE() << "lowered";
  } catch (const npu::onnx::ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("graph output 'y' is uint8"), std::string::npos)
        << e.what();
  }
}

TEST(OnnxConstantOutputs, EachIsOneDmaCopyOfItsValuesInItsOwnType) {
  const Program program = lower(fused("constant_outputs"));
  EXPECT_EQ(program.output_types.at("shape"), ElementType::int64);
  EXPECT_EQ(program.output_types.at("above"), ElementType::boolean);
  EXPECT_FALSE(program.output_types.contains("table"));
  EXPECT_EQ(program.weights.at("%output shape").ints, (std::vector<std::int64_t>{2, 3}));
  EXPECT_EQ(program.weights.at("%output above").ints, (std::vector<std::int64_t>{0, 0, 1, 1}));
  const std::vector<Instruction> ins = instructions_of(program);
  ASSERT_EQ(ins.size(), 4U);
  std::vector<std::uint32_t> copied;
  for (const Instruction& i : ins) {
    if (i.opcode == Opcode::dma_copy) {
      copied.push_back(value(i, 2));
    }
  }
  // Bytes: int64 [2], float32 [4], bool [4], in graph output order.
  EXPECT_EQ(copied, (std::vector<std::uint32_t>{16, 16, 4}));
}

}  // namespace
