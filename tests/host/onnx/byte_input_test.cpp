// uint8 and int8 graph inputs (make_operator_models.py's byte_input_models):
// an image's bytes read as the INT32 values run() widens them to, through a
// Cast to float; a uint8 graph output refused naming it.
#include <gtest/gtest.h>

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

}  // namespace
