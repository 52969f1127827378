// LSTM, GRU and RNN on make_operator_models.py's graphs (x: 5 steps, 2
// sequences, 3 features; hidden size 4): unrolled into one GEMM_BATCHED
// projection per direction, a few instructions a step, states kept
// [gate][hidden][batch], one COPY_STRIDED per direction into each output.
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "test_graphs.hpp"

namespace {

using namespace npu::onnx_runtime;
using npu::isa::Instruction;
using npu::isa::Opcode;

constexpr std::uint32_t kSteps = 5, kBatch = 2, kFeatures = 3, kHidden = 4;

std::size_t count(const std::vector<Opcode>& ops, Opcode op) {
  return static_cast<std::size_t>(std::ranges::count(ops, op));
}

TEST(OnnxRecurrent, AnRnnIsOneProjectionThenThreeInstructionsAStep) {
  const std::vector<Instruction> ins = instructions_of(lower(fused("rnn")));
  // The forward layer: W·x_t for every step at once, its bias added.
  const Instruction& projection = ins.at(0);
  ASSERT_EQ(projection.opcode, Opcode::gemm_batched);
  EXPECT_EQ(value(projection, 4), kHidden);    // M: the gate rows
  EXPECT_EQ(value(projection, 5), kBatch);     // N
  EXPECT_EQ(value(projection, 6), kFeatures);  // K
  EXPECT_EQ(value(projection, 11), kSteps);    // batch: the steps
  EXPECT_EQ(value(projection, 12), 0U);        // W for every step
  EXPECT_EQ(value(projection, 13), kBatch * kFeatures);
  EXPECT_EQ(ins.at(1).opcode, Opcode::eltwise);
  for (std::uint32_t step = 0; step < kSteps; ++step) {
    const Instruction& product = ins.at(2 + 3 * step);
    ASSERT_EQ(product.opcode, Opcode::gemm);
    EXPECT_EQ(value(product, 4), kHidden);  // R·h_{t-1}: [hidden][batch]
    EXPECT_EQ(value(product, 5), kBatch);
    EXPECT_EQ(value(product, 6), kHidden);
    EXPECT_EQ(ins.at(3 + 3 * step).opcode, Opcode::eltwise);
    EXPECT_EQ(ins.at(4 + 3 * step).opcode, Opcode::activation);
  }
  // Y and Y_h, then the bidirectional layer: 17 a direction and Y's two copies.
  EXPECT_EQ(ins.at(17).opcode, Opcode::copy_strided);
  EXPECT_EQ(ins.at(18).opcode, Opcode::copy_strided);
  EXPECT_EQ(ins.size(), 19U + 2 * 17 + 2);
  EXPECT_EQ(count(opcodes_of(lower(fused("rnn"))), Opcode::activation_param), kSteps);
}

TEST(OnnxRecurrent, AnLstmStepActivatesItsGatesAsContiguousBlocks) {
  const Program program = lower(fused("lstm"));
  const std::vector<Instruction> ins = instructions_of(program);
  // Forward layer: the projection and its bias, initial h and c reordered
  // to [hidden][batch], then per step GEMM, ELTWISE, sigmoid over i, o, f
  // at once, tanh over c, three ELTWISE for C, tanh of C, the product.
  ASSERT_EQ(ins.at(0).opcode, Opcode::gemm_batched);
  EXPECT_EQ(value(ins.at(0), 4), 4 * kHidden);
  ASSERT_EQ(ins.at(2).opcode, Opcode::copy_strided);
  ASSERT_EQ(ins.at(3).opcode, Opcode::copy_strided);
  const Instruction& product = ins.at(4);
  ASSERT_EQ(product.opcode, Opcode::gemm);
  EXPECT_EQ(value(product, 4), 4 * kHidden);
  ASSERT_EQ(ins.at(6).opcode, Opcode::activation);
  EXPECT_EQ(value(ins.at(6), 2), 3 * kHidden * kBatch);  // i, o, f
  ASSERT_EQ(ins.at(7).opcode, Opcode::activation);
  EXPECT_EQ(value(ins.at(7), 2), kHidden * kBatch);  // c
  EXPECT_EQ(ins.at(13).opcode, Opcode::gemm);        // the next step
  // Clip (1.5) before every activation of the gates of the bidirectional
  // layer, and its peepholes: ELTWISE pairs instead of one activation of i,
  // o and f.
  const std::vector<Opcode> ops = opcodes_of(program);
  EXPECT_EQ(count(ops, Opcode::gemm_batched), 4U);
  EXPECT_EQ(count(ops, Opcode::gemm), 4U * kSteps);
  // The reverse layer's HardSigmoid, a parameter function like the clips.
  EXPECT_GE(count(ops, Opcode::activation_param), 2U * kSteps * 4 + kSteps);
}

TEST(OnnxRecurrent, GruResetsBeforeOrAfterTheRecurrentProduct) {
  const std::vector<Instruction> ins = instructions_of(lower(fused("gru")));
  // linear_before_reset 0: R's z and r rows, then the h row on r ⊙ h.
  ASSERT_EQ(ins.at(3).opcode, Opcode::gemm);
  EXPECT_EQ(value(ins.at(3), 4), 2 * kHidden);
  ASSERT_EQ(ins.at(7).opcode, Opcode::gemm);
  EXPECT_EQ(value(ins.at(7), 4), kHidden);
  // linear_before_reset 1 (the bidirectional layer): one product of every
  // row, the reset applied to it.
  const auto bidirectional = std::ranges::find_if(ins, [](const Instruction& i) {
    return i.opcode == Opcode::gemm && value(i, 4) == 3 * kHidden;
  });
  EXPECT_NE(bidirectional, ins.end());
}

TEST(OnnxRecurrent, BatchFirstInputIsReorderedByStepOnce) {
  const std::vector<Instruction> ins = instructions_of(lower(fused("lstm_batch_first")));
  ASSERT_EQ(ins.at(0).opcode, Opcode::copy_strided);
  EXPECT_EQ(count(opcodes_of(lower(fused("lstm_batch_first"))), Opcode::gemm_batched), 2U);
}

TEST(OnnxRecurrent, WhatTheDeviceCannotComputeIsRefusedByName) {
  EXPECT_EQ(refusal(fused("lstm_sequence_lens")),
            "LSTM: sequence_lens holds 3: sequences shorter than the 5 steps are not computed");
  EXPECT_EQ(refusal(fused("rnn_affine")),
            "RNN: activation Affine (a recurrent cell runs Sigmoid, Tanh, Relu, LeakyRelu, "
            "HardSigmoid)");
  std::bitset<64> v10 = every_opcode();
  v10.reset(static_cast<std::size_t>(Opcode::gemm_batched));
  EXPECT_EQ(
      refusal(fused("rnn", v10), v10).rfind("RNN: needs the ISA v1.1 instruction GEMM_BATCHED", 0),
      0U);
}

}  // namespace
