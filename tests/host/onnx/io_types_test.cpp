// Graph inputs and outputs beyond the float tensors the device computes
// (make_operator_models.py's byte_input_models): uint8 and int8 inputs, an
// image's bytes read as the INT32 values run() widens them to, through a
// Cast to float; graph outputs that are constants, copied from the
// weights; 8-bit arithmetic and outputs (INT32 words, wrapped modulo 256 on
// the device where a value is read on, by run() in an output); a quantized
// model's uint8 input and int8 and uint8 outputs; an int16 output refused
// naming it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "npu/onnx/model.hpp"
#include "qdq.hpp"
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

TEST(OnnxByteOutputs, AUint8GraphOutputIsACopyOfItsInt32WordsThatRunNarrows) {
  const Program program = lower(fused("uint8_passthrough"));
  EXPECT_EQ(program.output_types.at("y"), ElementType::uint8);
  const std::vector<Instruction> ins = instructions_of(program);
  ASSERT_EQ(ins.size(), 1U);
  EXPECT_EQ(value(ins[0], 2), 16U);  // four INT32 words
}

TEST(OnnxByteOutputs, AnInt16GraphOutputIsRefusedByName) {
  try {
    (void)lower(fused("int16_output"));
    ADD_FAILURE() << "lowered";
  } catch (const npu::onnx::ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("graph output 'y' is int16"), std::string::npos)
        << e.what();
  }
}

// Each output's ELTWISE INT32 count: a uint8 value read on (the shifted sum
// Cast to float, the product that Min reads) is wrapped by seven; graph
// outputs no node reads are not (run() wraps).
TEST(OnnxByteOutputs, EightBitArithmeticWrapsOnTheDeviceOnlyWhereAValueIsReadOn) {
  const Program program = lower(fused("byte_arithmetic"));
  for (const char* output : {"sum", "product", "clipped", "smaller", "requantized"}) {
    EXPECT_EQ(program.output_types.at(output), ElementType::uint8) << output;
  }
  EXPECT_EQ(program.output_types.at("signed"), ElementType::int8);
  const std::vector<Instruction> ins = instructions_of(program);
  const auto eltwise = std::ranges::count(ins, Opcode::eltwise, &Instruction::opcode);
  // sum 1, product 1 + 7, shifted 1 + 7, clipped 2, smaller 1, xs 1 (float).
  EXPECT_EQ(eltwise, 21);
  // shifted's wrap feeds a CONVERT INT32 -> FP32; xf another; requantized is
  // a CONVERT FP32 -> INT32.
  EXPECT_EQ(std::ranges::count(ins, Opcode::convert, &Instruction::opcode), 3);
}

// DequantizeLinear of the uint8 input per channel (Cast, Sub, Mul by [3, 1,
// 1] constants) and QuantizeLinear into the int8 and uint8 outputs.
TEST(OnnxByteOutputs, AQuantizedModelsUint8InputAndOutputsRunOnTheDevice) {
  ::onnx::ModelProto proto = parse_model(model_path("quantized_io"));
  EXPECT_EQ(rewrite_qdq(proto).dequantized_inputs, 1U);
  Graph graph = import_graph(std::move(proto), {});
  run_fusion_passes(graph, every_opcode());
  const Program program = lower(graph);
  EXPECT_EQ(program.widened_inputs.at("x"), ElementType::uint8);
  EXPECT_EQ(program.output_types.at("q"), ElementType::int8);
  EXPECT_EQ(program.output_types.at("p"), ElementType::uint8);
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
