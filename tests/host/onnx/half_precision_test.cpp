// Models exported in half precision (make_operator_models.py's half_io and
// half_keep_io): float16 weights and activations are computed as float in
// the program's dtype, float16 graph inputs and outputs exchanged as float16,
// constants cast to float16 rounded when folded;
// and float16 and bfloat16 tensors decoded exactly, or refused when torn.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cstdint>
#include <string>

#include "npu/onnx/model.hpp"
#include "onnx_import.hpp"
#include "test_graphs.hpp"

namespace {

using namespace npu::onnx_runtime;

TEST(OnnxHalfPrecision, Float16ValuesAreComputedAsFloatAndItsIoKeepsItsType) {
  const Graph graph = fused("half_io");
  EXPECT_EQ(graph.narrowed_float_io.at("x"), ElementType::float16);
  EXPECT_EQ(graph.narrowed_float_io.at("y"), ElementType::float16);
  for (const auto& [name, value] : graph.values) {
    EXPECT_NE(value.type, ElementType::float16) << name;
  }
  const Constant& w = graph.constants.at("w");
  EXPECT_EQ(w.type, ElementType::float32);
  const Program program = lower(graph);
  EXPECT_EQ(program.narrowed_float_io, graph.narrowed_float_io);
  EXPECT_TRUE(program.integer_inputs.empty());
}

// A float64 model (an MLP as scikit-learn converters write one): its
// values computed as float, its inputs and outputs exchanged as float64, a
// Cast of a double to float an alias.
TEST(OnnxDoublePrecision, Float64ValuesAreComputedAsFloatAndItsIoKeepsItsType) {
  const Graph graph = fused("double_io");
  EXPECT_EQ(graph.narrowed_float_io.at("x"), ElementType::float64);
  EXPECT_EQ(graph.narrowed_float_io.at("y"), ElementType::float64);
  EXPECT_FALSE(graph.narrowed_float_io.contains("total"));
  for (const auto& [name, value] : graph.values) {
    EXPECT_NE(value.type, ElementType::float64) << name;
  }
  EXPECT_EQ(graph.constants.at("w1").type, ElementType::float32);
  const Program program = lower(graph);
  EXPECT_EQ(program.narrowed_float_io, graph.narrowed_float_io);
  for (const npu::isa::Opcode opcode : opcodes_of(program)) {
    EXPECT_NE(opcode, npu::isa::Opcode::convert);
  }
}

// Casts to float16 and back (onnxconverter-common's keep_io_types) add no
// instruction: the same program as the model with float16 inputs and outputs.
TEST(OnnxHalfPrecision, CastsBetweenFloat32AndFloat16AreAliases) {
  const Program kept = lower(fused("half_keep_io"));
  EXPECT_TRUE(kept.narrowed_float_io.empty());
  EXPECT_EQ(opcodes_of(kept), opcodes_of(lower(fused("half_io"))));
}

TEST(OnnxHalfPrecision, LargeFloat16WeightsAreDecodedOnceExactly) {
  const Graph graph = import("half_large_weights");
  const Constant& w = graph.constants.at("w");
  ASSERT_EQ(w.floats.size(), 64U * 64);
  for (std::size_t i = 0; i < w.floats.size(); ++i) {
    ASSERT_EQ(w.floats[i], static_cast<float>(i % 256) / 8) << i;
  }
}

TEST(OnnxHalfPrecision, AConstantCastToFloat16IsRoundedWhenFolded) {
  const Graph graph = fused("half_constant_cast");
  ASSERT_EQ(graph.nodes.size(), 1U);
  const Constant& k = graph.constants.at(graph.nodes[0].inputs.at(1));
  EXPECT_EQ(k.floats, (std::vector<float>{0.0999755859375F, 0.333251953125F, 65504.0F}));
}

TEST(OnnxHalfPrecision, CastLikeIsACastToItsSecondInputsDeclaredType) {
  // The same constant CastLike'd to a float16 constant's type and back to
  // x's: folded and rounded as the Casts above.
  const Graph graph = fused("cast_like");
  ASSERT_EQ(graph.nodes.size(), 1U);
  const Constant& k = graph.constants.at(graph.nodes[0].inputs.at(1));
  EXPECT_EQ(k.floats, (std::vector<float>{0.0999755859375F, 0.333251953125F, 65504.0F}));
}

::onnx::TensorProto half_tensor(int type, std::string raw) {
  ::onnx::TensorProto t;
  t.set_name("h");
  t.set_data_type(type);
  t.add_dims(static_cast<std::int64_t>(raw.size() / 2));
  t.set_raw_data(std::move(raw));
  return t;
}

TEST(OnnxHalfPrecision, HalfTensorsDecodeExactlyFromRawDataAndInt32Data) {
  // float16 1.0 (0x3c00), -2.5 (0xc100); bfloat16 1.0 (0x3f80), -2.5 (0xc020).
  const Constant fp16 = from_tensor_proto(
      half_tensor(::onnx::TensorProto::FLOAT16, std::string("\x00\x3c\x00\xc1", 4)));
  EXPECT_EQ(fp16.type, ElementType::float32);
  EXPECT_EQ(fp16.floats, (std::vector<float>{1.0F, -2.5F}));
  const Constant bf16 = from_tensor_proto(
      half_tensor(::onnx::TensorProto::BFLOAT16, std::string("\x80\x3f\x20\xc0", 4)));
  EXPECT_EQ(bf16.floats, (std::vector<float>{1.0F, -2.5F}));
  ::onnx::TensorProto bits;
  bits.set_name("h");
  bits.set_data_type(::onnx::TensorProto::FLOAT16);
  bits.add_dims(2);
  bits.add_int32_data(0x3c00);
  bits.add_int32_data(0xc100);
  EXPECT_EQ(from_tensor_proto(bits).floats, (std::vector<float>{1.0F, -2.5F}));
}

TEST(OnnxHalfPrecision, AHalfTensorOfAnOddByteCountIsRefusedByName) {
  ::onnx::TensorProto torn =
      half_tensor(::onnx::TensorProto::FLOAT16, std::string("\x00\x3c\x00", 3));
  try {
    (void)from_tensor_proto(torn);
    ADD_FAILURE() << "decoded";
  } catch (const npu::onnx::ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("tensor 'h': 3 bytes of float16"), std::string::npos)
        << e.what();
  }
}

}  // namespace
