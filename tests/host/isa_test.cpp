// The instruction encoder and decoder against hw-spec sections 7.2 and 7.4.
#include "npu/isa.hpp"

#include <gtest/gtest.h>

#include <bit>
#include <map>

namespace {

using npu::isa::DataType;
using npu::isa::DecodeErrc;
using npu::isa::Instruction;
using npu::isa::Opcode;
using npu::isa::Operand;
using npu::isa::OperandKind;

// A well-formed instruction of `op` with every operand filled in.
Instruction sample(const npu::isa::OpcodeInfo& op) {
  Instruction instruction{op.opcode, DataType::none, 0, {}};
  for (DataType dtype : {DataType::none, DataType::fp32, DataType::int32}) {
    if (op.allows(dtype)) {
      instruction.dtype = dtype;
      break;
    }
  }
  for (const auto& field : op.flag_fields) {
    if (!field.is_switch() && field.value_names[0].empty()) {
      instruction.flags |= 1U << field.shift;  // fields where 0 means nothing
    }
  }
  if (op.opcode == Opcode::convert) {
    instruction.flags = static_cast<std::uint32_t>(DataType::int8);  // fp32 -> int8
  }
  std::uint32_t slot = 0;
  for (OperandKind kind : op.operand_kinds) {
    switch (kind) {
      case OperandKind::address:
        instruction.operands.push_back(Operand::argument(slot++));
        break;
      case OperandKind::bias:
        instruction.operands.push_back(Operand::immediate(0));
        break;
      case OperandKind::value:
        instruction.operands.push_back(Operand::immediate(7));
        break;
      case OperandKind::floating:
      case OperandKind::scale:
        instruction.operands.push_back(Operand::immediate(std::bit_cast<std::uint32_t>(0.5F)));
        break;
    }
  }
  return instruction;
}

std::vector<std::uint32_t> words_of(const Instruction& instruction) {
  std::vector<std::uint32_t> words;
  npu::isa::encode(instruction, words);
  return words;
}

DecodeErrc decode_error(const std::vector<std::uint32_t>& words) {
  const npu::isa::ProgramDecode result = npu::isa::decode(words);
  EXPECT_TRUE(result.error.has_value());
  return result.error ? result.error->errc : DecodeErrc{};
}

TEST(Isa, OpcodeTableMatchesTheSpec) {
  // hw-spec 7.4: opcode value and operand count of every instruction.
  const std::map<std::string_view, std::pair<int, int>> spec{
      {"nop", {0x00, 0}},
      {"dma_copy", {0x01, 3}},
      {"dma_fill", {0x02, 3}},
      {"barrier", {0x08, 0}},
      {"sem_signal", {0x09, 2}},
      {"sem_wait", {0x0a, 2}},
      {"timestamp", {0x0b, 1}},
      {"gemm", {0x10, 12}},
      {"conv2d", {0x11, 20}},
      {"pool2d", {0x12, 12}},
      {"eltwise", {0x13, 5}},
      {"activation", {0x14, 3}},
      {"softmax", {0x15, 4}},
      {"layernorm", {0x16, 7}},
      {"rmsnorm", {0x17, 6}},
      {"reduce", {0x18, 5}},
      {"transpose", {0x19, 5}},
      // v1.1 (hw-spec 7.4.1)
      {"copy_strided", {0x03, 14}},
      {"gemm_batched", {0x1a, 15}},
      {"conv_transpose", {0x1b, 20}},
      {"resize", {0x1c, 10}},
      {"activation_param", {0x1d, 5}},
      // v1.2 (hw-spec 7.4.2)
      {"convert", {0x1e, 6}},
      // v1.3 (hw-spec 7.4.3)
      {"gather", {0x1f, 6}},
      // v1.4 (hw-spec 7.4.4)
      {"compare", {0x20, 5}},
      {"select", {0x21, 8}},
  };
  ASSERT_EQ(npu::isa::opcode_table().size(), spec.size());
  for (const auto& op : npu::isa::opcode_table()) {
    ASSERT_TRUE(spec.contains(op.mnemonic)) << op.mnemonic;
    EXPECT_EQ(static_cast<int>(op.opcode), spec.at(op.mnemonic).first) << op.mnemonic;
    EXPECT_EQ(op.operand_count(), spec.at(op.mnemonic).second) << op.mnemonic;
  }
}

TEST(Isa, DataTypesPerOpcode) {
  using npu::isa::info;
  EXPECT_TRUE(info(Opcode::dma_copy).allows(DataType::none));
  EXPECT_FALSE(info(Opcode::dma_copy).allows(DataType::fp32));
  EXPECT_TRUE(info(Opcode::gemm).allows(DataType::int8));
  EXPECT_FALSE(info(Opcode::gemm).allows(DataType::int32));
  EXPECT_TRUE(info(Opcode::eltwise).allows(DataType::int32));
  EXPECT_FALSE(info(Opcode::softmax).allows(DataType::int8));
  EXPECT_TRUE(info(Opcode::reduce).allows(DataType::int32));
  EXPECT_FALSE(info(Opcode::reduce).allows(DataType::int8));
  EXPECT_FALSE(info(Opcode::transpose).allows(DataType::none));
  EXPECT_TRUE(info(Opcode::transpose).allows(DataType::bf16));
  EXPECT_EQ(npu::isa::element_size(DataType::fp16), 2U);
  EXPECT_EQ(npu::isa::element_size(DataType::int32), 4U);
}

TEST(Isa, EncodesDmaFillWordByWord) {
  const Instruction fill{
      Opcode::dma_fill,
      DataType::none,
      0,
      {Operand::argument(0), Operand::argument(1), Operand::immediate(0xa5a5a5a5)}};
  // word 0: opcode 0x02, dtype 0, nops 3; flags 0; argmask 0b011.
  EXPECT_EQ(words_of(fill), (std::vector<std::uint32_t>{0x0003'0002, 0, 0b011, 0, 1, 0xa5a5a5a5}));
}

TEST(Isa, EncodesDtypeAndFlags) {
  const Instruction eltwise{Opcode::eltwise,
                            DataType::fp16,
                            2,  // mul
                            {Operand::argument(0), Operand::argument(1), Operand::argument(2),
                             Operand::immediate(64), Operand::immediate(8)}};
  const std::vector<std::uint32_t> words = words_of(eltwise);
  ASSERT_EQ(words.size(), 8U);
  EXPECT_EQ(words[0], 0x0005'0213U);
  EXPECT_EQ(words[1], 2U);
  EXPECT_EQ(words[2], 0b111U);
}

TEST(Isa, EveryOpcodeRoundTrips) {
  for (const auto& op : npu::isa::opcode_table()) {
    const Instruction instruction = sample(op);
    const std::vector<std::uint32_t> words = words_of(instruction);
    EXPECT_EQ(words.size(), 3U + op.operand_count()) << op.mnemonic;
    const npu::isa::ProgramDecode decoded = npu::isa::decode(words);
    ASSERT_FALSE(decoded.error) << op.mnemonic << ": " << decoded.error->message();
    ASSERT_EQ(decoded.instructions.size(), 1U);
    EXPECT_EQ(decoded.instructions[0], instruction) << op.mnemonic;
  }
}

TEST(Isa, DecodesASequence) {
  std::vector<std::uint32_t> words;
  for (const auto& op : npu::isa::opcode_table()) {
    npu::isa::encode(sample(op), words);
  }
  const npu::isa::ProgramDecode decoded = npu::isa::decode(words);
  ASSERT_FALSE(decoded.error);
  EXPECT_EQ(decoded.instructions.size(), npu::isa::opcode_table().size());
}

TEST(Isa, RejectsReservedBits) {
  EXPECT_EQ(decode_error({0x0100'0000, 0, 0}), DecodeErrc::reserved_bits);
}

TEST(Isa, RejectsUnknownOpcodes) {
  for (std::uint32_t opcode : {0x04U, 0x07U, 0x0cU, 0x22U, 0x3fU, 0x7fU, 0xffU}) {
    EXPECT_EQ(decode_error({opcode, 0, 0}), DecodeErrc::unknown_opcode) << opcode;
  }
}

TEST(Isa, RejectsTruncatedInstructions) {
  EXPECT_EQ(decode_error({0x0000'0000, 0}), DecodeErrc::truncated);
  EXPECT_EQ(decode_error({0x0003'0001, 0, 0b11, 0, 1}), DecodeErrc::truncated);
  // A valid instruction followed by half of another.
  EXPECT_EQ(decode_error({0, 0, 0, 0x0008}), DecodeErrc::truncated);
}

TEST(Isa, RejectsWrongOperandCounts) {
  EXPECT_EQ(decode_error({0x0002'0001, 0, 0b11, 0, 1}), DecodeErrc::wrong_operand_count);
  EXPECT_EQ(decode_error({0x0001'0000, 0, 0, 5}), DecodeErrc::wrong_operand_count);
}

TEST(Isa, RejectsDtypesTheOpcodeDoesNotTake) {
  EXPECT_EQ(decode_error({0x0003'0101, 0, 0b11, 0, 1, 4}), DecodeErrc::dtype_not_allowed);
  Instruction softmax = sample(npu::isa::info(Opcode::softmax));
  softmax.dtype = DataType::int8;
  EXPECT_EQ(npu::isa::check(softmax)->errc, DecodeErrc::dtype_not_allowed);
  Instruction transpose = sample(npu::isa::info(Opcode::transpose));
  transpose.dtype = DataType::none;
  EXPECT_EQ(npu::isa::check(transpose)->errc, DecodeErrc::dtype_not_allowed);
  transpose.dtype = static_cast<DataType>(6);
  EXPECT_EQ(npu::isa::check(transpose)->errc, DecodeErrc::dtype_not_allowed);
  // Found by the loader fuzzer: a dtype of 32 or more was a shift past the
  // 32-bit mask (undefined; x86 wraps it, so 33 passed as 1, fp32).
  for (const unsigned dtype : {32U, 33U, 47U, 255U}) {
    transpose.dtype = static_cast<DataType>(dtype);
    EXPECT_EQ(npu::isa::check(transpose)->errc, DecodeErrc::dtype_not_allowed) << dtype;
  }
  // dma_copy with dtype 32: taken for dtype 0 (none), which dma_copy takes.
  EXPECT_EQ(decode_error({0x0003'2001, 0, 0b11, 0, 1, 4}), DecodeErrc::dtype_not_allowed);
}

TEST(Isa, RejectsUndefinedFlags) {
  EXPECT_EQ(decode_error({0x0003'0001, 1, 0b11, 0, 1, 4}), DecodeErrc::undefined_flags);
  Instruction gemm = sample(npu::isa::info(Opcode::gemm));
  gemm.flags = 1U << 3;
  EXPECT_EQ(npu::isa::check(gemm)->errc, DecodeErrc::undefined_flags);
  Instruction conv = sample(npu::isa::info(Opcode::conv2d));
  conv.flags = 1U << 1;  // TRANS_B is GEMM only
  EXPECT_EQ(npu::isa::check(conv)->errc, DecodeErrc::undefined_flags);
  conv.flags = 1U << 0;  // so is TRANS_A
  EXPECT_EQ(npu::isa::check(conv)->errc, DecodeErrc::undefined_flags);
}

TEST(Isa, RejectsFlagValuesWithoutMeaning) {
  Instruction eltwise = sample(npu::isa::info(Opcode::eltwise));
  eltwise.flags = 8;  // 6 and 7 are v1.8's pow and fmod (V18PowAndFunctions)
  EXPECT_EQ(npu::isa::check(eltwise)->errc, DecodeErrc::invalid_flag_value);
  Instruction activation = sample(npu::isa::info(Opcode::activation));
  activation.flags = 0;
  EXPECT_EQ(npu::isa::check(activation)->errc, DecodeErrc::invalid_flag_value);
  activation.flags = 6;
  EXPECT_EQ(npu::isa::check(activation)->errc, DecodeErrc::invalid_flag_value);
  Instruction pool = sample(npu::isa::info(Opcode::pool2d));
  pool.flags = 3;
  EXPECT_EQ(npu::isa::check(pool)->errc, DecodeErrc::invalid_flag_value);
  Instruction gemm = sample(npu::isa::info(Opcode::gemm));
  gemm.flags = 6U << 4;
  EXPECT_EQ(npu::isa::check(gemm)->errc, DecodeErrc::invalid_flag_value);
}

TEST(Isa, Int8AllowsOnlyReluAndOutInt32NeedsInt8) {
  Instruction gemm = sample(npu::isa::info(Opcode::gemm));
  gemm.dtype = DataType::int8;
  gemm.flags = 1U << 4;  // relu
  EXPECT_FALSE(npu::isa::check(gemm));
  gemm.flags = 2U << 4;  // gelu
  EXPECT_EQ(npu::isa::check(gemm)->errc, DecodeErrc::invalid_flag_value);
  gemm.flags = 1U << 8;  // out_int32
  EXPECT_FALSE(npu::isa::check(gemm));
  gemm.dtype = DataType::fp32;
  EXPECT_EQ(npu::isa::check(gemm)->errc, DecodeErrc::invalid_flag_value);
  Instruction activation = sample(npu::isa::info(Opcode::activation));
  activation.dtype = DataType::int8;
  activation.flags = 3;  // silu
  EXPECT_EQ(npu::isa::check(activation)->errc, DecodeErrc::invalid_flag_value);
}

// v1.5 (hw-spec 7.4.5): ACT 6-8 are hardswish, hardsigmoid and relu6 in every
// ACT field, floats only; 9 has no meaning; an instruction using one needs
// v1.5 although its opcode is v1.0's.
TEST(Isa, V15FusedActivations) {
  using npu::isa::info;
  for (Opcode opcode :
       {Opcode::gemm, Opcode::conv2d, Opcode::gemm_batched, Opcode::conv_transpose}) {
    Instruction instruction = sample(info(opcode));
    EXPECT_EQ(npu::isa::instruction_version(instruction), info(opcode).isa_version);
    for (std::uint32_t act : {6U, 7U, 8U}) {
      instruction.flags = act << 4;
      EXPECT_FALSE(npu::isa::check(instruction)) << info(opcode).mnemonic << " act " << act;
      EXPECT_EQ(npu::isa::instruction_version(instruction), npu::isa::kIsaVersion1_5);
    }
    instruction.flags = 9U << 4;
    EXPECT_EQ(npu::isa::check(instruction)->errc, DecodeErrc::invalid_flag_value);
  }
  Instruction activation = sample(info(Opcode::activation));
  activation.flags = 8;  // relu6
  EXPECT_FALSE(npu::isa::check(activation));
  EXPECT_EQ(npu::isa::instruction_version(activation), npu::isa::kIsaVersion1_5);
  activation.dtype = DataType::int8;
  EXPECT_EQ(npu::isa::check(activation)->errc, DecodeErrc::invalid_flag_value);
  Instruction conv = sample(info(Opcode::conv2d));
  conv.dtype = DataType::int8;
  conv.flags = 6U << 4 | 1U << 8;  // hardswish, out_int32
  EXPECT_EQ(npu::isa::check(conv)->errc, DecodeErrc::invalid_flag_value);

  std::vector<std::uint32_t> words;
  npu::isa::encode(sample(info(Opcode::resize)), words);
  EXPECT_EQ(npu::isa::required_version(words), info(Opcode::resize).isa_version);
  Instruction gemm = sample(info(Opcode::gemm));
  gemm.flags = 7U << 4;  // hardsigmoid
  npu::isa::encode(gemm, words);
  EXPECT_EQ(npu::isa::required_version(words), npu::isa::kIsaVersion1_5);
}

TEST(Isa, RejectsArgmaskBitsAboveNops) {
  EXPECT_EQ(decode_error({0x0003'0001, 0, 0b1011, 0, 1, 4}), DecodeErrc::argmask_out_of_range);
  EXPECT_EQ(decode_error({0x0000'0000, 0, 1}), DecodeErrc::argmask_out_of_range);
}

TEST(Isa, AddressOperandsMustBeArguments) {
  EXPECT_EQ(decode_error({0x0003'0001, 0, 0b01, 0, 1, 4}), DecodeErrc::address_not_argument);
}

TEST(Isa, BiasOperandFollowsTheBiasFlag) {
  Instruction gemm = sample(npu::isa::info(Opcode::gemm));
  gemm.flags = 1U << 2;  // bias, operand 3 still immediate 0
  EXPECT_EQ(npu::isa::check(gemm)->errc, DecodeErrc::address_not_argument);
  gemm.operands[3] = Operand::argument(3);
  EXPECT_FALSE(npu::isa::check(gemm));
  gemm.flags = 0;
  EXPECT_EQ(npu::isa::check(gemm)->errc, DecodeErrc::bias_not_zero);
  gemm.operands[3] = Operand::immediate(4);
  EXPECT_EQ(npu::isa::check(gemm)->errc, DecodeErrc::bias_not_zero);
}

TEST(Isa, ScaleOperandIsAnAddressPerChannel) {
  constexpr std::uint32_t kPerChannel = 1U << 9;
  for (Opcode opcode : {Opcode::gemm, Opcode::conv2d}) {
    Instruction insn = sample(npu::isa::info(opcode));
    const std::size_t scale = opcode == Opcode::gemm ? 10 : 18;
    const npu::isa::OpcodeInfo& op = npu::isa::info(opcode);
    EXPECT_EQ(op.operand_kind(scale, 0), OperandKind::floating);
    EXPECT_EQ(op.operand_kind(scale, kPerChannel), OperandKind::address);
    insn.dtype = DataType::int8;
    insn.flags = kPerChannel;  // the scale operand still a float immediate
    EXPECT_EQ(npu::isa::check(insn)->errc, DecodeErrc::address_not_argument);
    insn.operands[scale] = Operand::argument(5);
    EXPECT_FALSE(npu::isa::check(insn));
    insn.flags = kPerChannel | 1U << 8;  // not with out_int32
    EXPECT_EQ(npu::isa::check(insn)->errc, DecodeErrc::invalid_flag_value);
    insn.flags = kPerChannel;
    insn.dtype = DataType::fp32;  // INT8 requantization only
    EXPECT_EQ(npu::isa::check(insn)->errc, DecodeErrc::invalid_flag_value);
  }
}

TEST(Isa, ErrorsSayWhere) {
  std::vector<std::uint32_t> words = words_of(sample(npu::isa::info(Opcode::dma_copy)));
  words.insert(words.end(), {0x7f, 0, 0});
  const npu::isa::ProgramDecode decoded = npu::isa::decode(words);
  ASSERT_TRUE(decoded.error);
  EXPECT_EQ(decoded.error->word_offset, 6U);
  EXPECT_EQ(decoded.instructions.size(), 1U);
  EXPECT_NE(decoded.error->message().find("byte 24"), std::string::npos)
      << decoded.error->message();
  EXPECT_NE(decoded.error->message().find("unknown opcode"), std::string::npos);
}

TEST(Isa, EncoderRefusesMalformedInstructions) {
  Instruction copy = sample(npu::isa::info(Opcode::dma_copy));
  copy.operands.pop_back();
  std::vector<std::uint32_t> words;
  EXPECT_THROW(npu::isa::encode(copy, words), std::invalid_argument);
  EXPECT_TRUE(words.empty());
}

// v1.1: each new opcode names the version that defined it, and a program
// needs the newest version among its opcodes.
TEST(Isa, V11OpcodesDeclareTheirVersion) {
  using npu::isa::info;
  for (Opcode opcode : {Opcode::copy_strided, Opcode::gemm_batched, Opcode::conv_transpose,
                        Opcode::resize, Opcode::activation_param}) {
    EXPECT_EQ(info(opcode).isa_version, npu::isa::kIsaVersion1_1) << info(opcode).mnemonic;
  }
  EXPECT_EQ(info(Opcode::gemm).isa_version, npu::isa::kIsaVersion1_0);
  EXPECT_EQ(info(Opcode::convert).isa_version, npu::isa::kIsaVersion1_2);
  EXPECT_EQ(npu::isa::kIsaVersion, npu::isa::kIsaVersion1_8);

  std::vector<std::uint32_t> words;
  npu::isa::encode(sample(info(Opcode::gemm)), words);
  EXPECT_EQ(npu::isa::required_version(words), npu::isa::kIsaVersion1_0);
  npu::isa::encode(sample(info(Opcode::resize)), words);
  EXPECT_EQ(npu::isa::required_version(words), npu::isa::kIsaVersion1_1);
  EXPECT_EQ(npu::isa::required_version({}), npu::isa::kIsaVersion1_0);
}

// v1.2: CONVERT takes only the conversions of hw-spec 7.4.2, and from v1.7
// a float to INT32 (7.4.7), which makes the instruction v1.7.
TEST(Isa, ConvertTakesOnlyTheSpecsConversions) {
  const auto check = [](DataType from, std::uint32_t to) {
    Instruction convert = sample(npu::isa::info(Opcode::convert));
    convert.dtype = from;
    convert.flags = to;
    const auto problem = npu::isa::check(convert);
    return problem ? problem->errc : DecodeErrc{};
  };
  const auto to = [](DataType t) { return static_cast<std::uint32_t>(t); };
  EXPECT_EQ(check(DataType::bf16, to(DataType::int8)), DecodeErrc{});
  EXPECT_EQ(check(DataType::int8, to(DataType::fp16)), DecodeErrc{});
  EXPECT_EQ(check(DataType::int32, to(DataType::int8)), DecodeErrc{});
  EXPECT_EQ(check(DataType::int32, to(DataType::fp32)), DecodeErrc{});
  EXPECT_EQ(check(DataType::fp32, to(DataType::fp16)), DecodeErrc::invalid_flag_value);
  EXPECT_EQ(check(DataType::int8, to(DataType::int8)), DecodeErrc::invalid_flag_value);
  EXPECT_EQ(check(DataType::int8, to(DataType::int32)), DecodeErrc::invalid_flag_value);
  EXPECT_EQ(check(DataType::int32, to(DataType::int32)), DecodeErrc::invalid_flag_value);
  EXPECT_EQ(check(DataType::int8, 0), DecodeErrc::invalid_flag_value);
  EXPECT_EQ(check(DataType::fp32, 6), DecodeErrc::invalid_flag_value);
  for (DataType from : {DataType::fp32, DataType::fp16, DataType::bf16}) {
    Instruction convert = sample(npu::isa::info(Opcode::convert));
    convert.dtype = from;
    convert.flags = to(DataType::int32);
    EXPECT_FALSE(npu::isa::check(convert));
    EXPECT_EQ(npu::isa::instruction_version(convert), npu::isa::kIsaVersion1_7);
    convert.flags = to(DataType::int8);
    EXPECT_EQ(npu::isa::instruction_version(convert), npu::isa::kIsaVersion1_2);
  }
  EXPECT_EQ(check(DataType::none, to(DataType::int8)), DecodeErrc::dtype_not_allowed);
  EXPECT_EQ(check(DataType::fp32, to(DataType::int8) | 1U << 8), DecodeErrc::undefined_flags);
}

// v1.3: GATHER takes every numeric table type and one flag, INDEX_INT64.
TEST(Isa, GatherTypesAndFlags) {
  const auto check = [](DataType dtype, std::uint32_t flags) {
    Instruction gather = sample(npu::isa::info(Opcode::gather));
    gather.dtype = dtype;
    gather.flags = flags;
    const auto problem = npu::isa::check(gather);
    return problem ? problem->errc : DecodeErrc{};
  };
  for (DataType dtype :
       {DataType::fp32, DataType::fp16, DataType::bf16, DataType::int8, DataType::int32}) {
    EXPECT_EQ(check(dtype, 0), DecodeErrc{}) << npu::isa::name(dtype);
    EXPECT_EQ(check(dtype, 1), DecodeErrc{}) << npu::isa::name(dtype);
  }
  EXPECT_EQ(check(DataType::none, 0), DecodeErrc::dtype_not_allowed);
  EXPECT_EQ(check(DataType::fp32, 2), DecodeErrc::undefined_flags);
  EXPECT_EQ(npu::isa::info(Opcode::gather).isa_version, npu::isa::kIsaVersion1_3);
}

// v1.4: COMPARE takes every numeric type and the comparisons eq..ge (6-15
// invalid); SELECT every numeric type and no flag.
TEST(Isa, CompareAndSelectTypesAndFlags) {
  const auto check = [](Opcode opcode, DataType dtype, std::uint32_t flags) {
    Instruction instruction = sample(npu::isa::info(opcode));
    instruction.dtype = dtype;
    instruction.flags = flags;
    const auto problem = npu::isa::check(instruction);
    return problem ? problem->errc : DecodeErrc{};
  };
  for (DataType dtype :
       {DataType::fp32, DataType::fp16, DataType::bf16, DataType::int8, DataType::int32}) {
    for (std::uint32_t op = 0; op < 6; ++op) {
      EXPECT_EQ(check(Opcode::compare, dtype, op), DecodeErrc{}) << npu::isa::name(dtype) << op;
    }
    EXPECT_EQ(check(Opcode::select, dtype, 0), DecodeErrc{}) << npu::isa::name(dtype);
  }
  EXPECT_NE(check(Opcode::compare, DataType::fp32, 6), DecodeErrc{});
  EXPECT_EQ(check(Opcode::compare, DataType::fp32, 1U << 4), DecodeErrc::undefined_flags);
  EXPECT_EQ(check(Opcode::select, DataType::fp32, 1), DecodeErrc::undefined_flags);
  EXPECT_EQ(check(Opcode::compare, DataType::none, 0), DecodeErrc::dtype_not_allowed);
  EXPECT_EQ(check(Opcode::select, DataType::none, 0), DecodeErrc::dtype_not_allowed);
  EXPECT_EQ(npu::isa::info(Opcode::compare).isa_version, npu::isa::kIsaVersion1_4);
  EXPECT_EQ(npu::isa::info(Opcode::select).isa_version, npu::isa::kIsaVersion1_4);
}

// v1.5 adds flag values, no opcode: ACTIVATION_PARAM functions 7-12 and
// SOFTMAX's log switch; an instruction using one needs v1.5, the same
// opcode without it its own version. v1.6 adds functions 13 and 14, v1.8
// functions 15-24 (a five-bit field: 25-31 invalid, bit 5 undefined).
TEST(Isa, V15FunctionsAndLogSoftmax) {
  using npu::isa::info;
  using npu::isa::instruction_version;
  using npu::isa::required_version;
  Instruction activation = sample(info(Opcode::activation_param));
  for (std::uint32_t function = 0; function < 32; ++function) {
    activation.flags = function;
    const auto problem = npu::isa::check(activation);
    if (function <= 24) {
      EXPECT_FALSE(problem) << function;
      EXPECT_EQ(instruction_version(activation), function >= 15   ? npu::isa::kIsaVersion1_8
                                                 : function >= 13 ? npu::isa::kIsaVersion1_6
                                                 : function >= 7  ? npu::isa::kIsaVersion1_5
                                                                  : npu::isa::kIsaVersion1_1)
          << function;
    } else {
      EXPECT_EQ(problem->errc, DecodeErrc::invalid_flag_value) << function;
    }
  }
  activation.flags = 1U << 5;
  EXPECT_EQ(npu::isa::check(activation)->errc, DecodeErrc::undefined_flags);
  Instruction softmax = sample(info(Opcode::softmax));
  EXPECT_EQ(instruction_version(softmax), npu::isa::kIsaVersion1_0);
  softmax.flags = 1;
  EXPECT_FALSE(npu::isa::check(softmax));
  EXPECT_EQ(instruction_version(softmax), npu::isa::kIsaVersion1_5);
  softmax.flags = 2;
  EXPECT_EQ(npu::isa::check(softmax)->errc, DecodeErrc::undefined_flags);

  std::vector<std::uint32_t> words;
  softmax.flags = 1;
  npu::isa::encode(sample(info(Opcode::compare)), words);
  EXPECT_EQ(required_version(words), npu::isa::kIsaVersion1_4);
  npu::isa::encode(softmax, words);
  EXPECT_EQ(required_version(words), npu::isa::kIsaVersion1_5);
}

// v1.8: ELTWISE's ops 6 and 7, pow and fmod, take the float types only and
// make the instruction v1.8; 8-15 stay invalid.
TEST(Isa, V18PowAndFunctions) {
  using npu::isa::info;
  Instruction eltwise = sample(info(Opcode::eltwise));
  for (DataType dtype : {DataType::fp32, DataType::fp16, DataType::bf16}) {
    eltwise.dtype = dtype;
    eltwise.flags = 7;
    EXPECT_FALSE(npu::isa::check(eltwise)) << npu::isa::name(dtype);
    EXPECT_EQ(npu::isa::instruction_version(eltwise), npu::isa::kIsaVersion1_8);
    eltwise.flags = 6;
    EXPECT_FALSE(npu::isa::check(eltwise)) << npu::isa::name(dtype);
    EXPECT_EQ(npu::isa::instruction_version(eltwise), npu::isa::kIsaVersion1_8);
    eltwise.flags = 5;
    EXPECT_EQ(npu::isa::instruction_version(eltwise), npu::isa::kIsaVersion1_0);
  }
  for (DataType dtype : {DataType::int8, DataType::int32}) {
    eltwise.dtype = dtype;
    eltwise.flags = 6;
    const auto problem = npu::isa::check(eltwise);
    ASSERT_TRUE(problem) << npu::isa::name(dtype);
    EXPECT_EQ(problem->errc, DecodeErrc::invalid_flag_value);
    EXPECT_NE(problem->detail.find("pow takes only float types"), std::string::npos)
        << problem->detail;
    eltwise.flags = 7;
    EXPECT_EQ(npu::isa::check(eltwise)->errc, DecodeErrc::invalid_flag_value);
  }
  eltwise.dtype = DataType::fp32;
  eltwise.flags = 8;
  EXPECT_EQ(npu::isa::check(eltwise)->errc, DecodeErrc::invalid_flag_value);
}

TEST(Isa, V11DataTypesAndFlags) {
  using npu::isa::info;
  EXPECT_TRUE(info(Opcode::copy_strided).allows(DataType::int8));
  EXPECT_TRUE(info(Opcode::copy_strided).allows(DataType::bf16));
  EXPECT_FALSE(info(Opcode::copy_strided).allows(DataType::none));
  for (Opcode opcode :
       {Opcode::gemm_batched, Opcode::conv_transpose, Opcode::resize, Opcode::activation_param}) {
    EXPECT_TRUE(info(opcode).allows(DataType::fp16)) << info(opcode).mnemonic;
    EXPECT_FALSE(info(opcode).allows(DataType::int8)) << info(opcode).mnemonic;
  }
  Instruction resize = sample(info(Opcode::resize));
  resize.flags = 2;  // mode 2
  EXPECT_EQ(npu::isa::check(resize)->errc, DecodeErrc::invalid_flag_value);
  resize.flags = 1U << 6;
  EXPECT_EQ(npu::isa::check(resize)->errc, DecodeErrc::undefined_flags);
  resize.flags = 1 | 3U << 2 | 3U << 4;  // linear, pytorch_half_pixel, ceil
  EXPECT_FALSE(npu::isa::check(resize));
  Instruction activation = sample(info(Opcode::activation_param));
  activation.flags = 25;  // 7-24 are v1.5's to v1.8's (V15FunctionsAndLogSoftmax)
  EXPECT_EQ(npu::isa::check(activation)->errc, DecodeErrc::invalid_flag_value);
  Instruction batched = sample(info(Opcode::gemm_batched));
  batched.flags = 1U << 8;  // out_int32 is GEMM only
  EXPECT_EQ(npu::isa::check(batched)->errc, DecodeErrc::undefined_flags);
  batched.flags = 1U << 2;  // bias: operand 3 becomes an address
  EXPECT_EQ(npu::isa::check(batched)->errc, DecodeErrc::address_not_argument);
  Instruction deconv = sample(info(Opcode::conv_transpose));
  deconv.flags = 1U << 0;
  EXPECT_EQ(npu::isa::check(deconv)->errc, DecodeErrc::undefined_flags);
}

}  // namespace
