// The KNPU instruction set v1.5 (docs/hw-spec.md sections 7.4 to 7.4.5):
// opcodes, data types, operand kinds and flag fields, and the encoder and
// decoder of the instruction words.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace npu::isa {

// The instruction set versions (HW_VERSION layout: major << 16 | minor): the
// newest this library encodes, and the versions that introduced opcodes.
inline constexpr std::uint32_t kIsaVersion1_0 = 0x0001'0000;
inline constexpr std::uint32_t kIsaVersion1_1 = 0x0001'0001;
inline constexpr std::uint32_t kIsaVersion1_2 = 0x0001'0002;
inline constexpr std::uint32_t kIsaVersion1_3 = 0x0001'0003;
inline constexpr std::uint32_t kIsaVersion1_4 = 0x0001'0004;
// v1.5 adds flag values, no opcode: the fused activations 6-8 of every ACT
// field, ACTIVATION_PARAM functions 7-12 and SOFTMAX's LOG flag (hw-spec
// 7.4.5).
inline constexpr std::uint32_t kIsaVersion1_5 = 0x0001'0005;
// v1.6 adds ACTIVATION_PARAM functions 13 and 14, SIN and COS (hw-spec
// 7.4.6).
inline constexpr std::uint32_t kIsaVersion1_6 = 0x0001'0006;
// v1.7 adds CONVERT's destination INT32, from a float, truncating (hw-spec
// 7.4.7).
inline constexpr std::uint32_t kIsaVersion1_7 = 0x0001'0007;
// v1.8 adds ACTIVATION_PARAM functions 15-24 (FUNC widened to 5 bits: tan,
// the inverse and hyperbolic functions, erf) and ELTWISE's POW and FMOD
// (hw-spec 7.4.8).
inline constexpr std::uint32_t kIsaVersion1_8 = 0x0001'0008;
inline constexpr std::uint32_t kIsaVersion = kIsaVersion1_8;

enum class Opcode : std::uint8_t {
  nop = 0x00,
  dma_copy = 0x01,
  dma_fill = 0x02,
  copy_strided = 0x03,  // v1.1
  barrier = 0x08,
  sem_signal = 0x09,
  sem_wait = 0x0a,
  timestamp = 0x0b,
  gemm = 0x10,
  conv2d = 0x11,
  pool2d = 0x12,
  eltwise = 0x13,
  activation = 0x14,
  softmax = 0x15,
  layernorm = 0x16,
  rmsnorm = 0x17,
  reduce = 0x18,
  transpose = 0x19,
  gemm_batched = 0x1a,      // v1.1
  conv_transpose = 0x1b,    // v1.1
  resize = 0x1c,            // v1.1
  activation_param = 0x1d,  // v1.1
  convert = 0x1e,           // v1.2
  gather = 0x1f,            // v1.3
  compare = 0x20,           // v1.4
  select = 0x21,            // v1.4
};

enum class DataType : std::uint8_t { none = 0, fp32 = 1, fp16 = 2, bf16 = 3, int8 = 4, int32 = 5 };

// How an operand word is interpreted (hw-spec 7.2).
enum class OperandKind : std::uint8_t {
  address,   // A: always an argument-slot reference holding a VA
  value,     // V: an unsigned 32-bit immediate or slot reference
  floating,  // F: a binary32 bit pattern, immediate or slot reference
  bias,      // an address when the opcode's `bias` flag is set, else immediate 0
  scale,     // S: floating, or an address when the opcode's `per_channel` flag is set
};

// A named bit field of an opcode's flags word. A field of width 1 without
// value names is a boolean switch; otherwise `value_names[v]` names value v
// and values without a name (empty or out of the list) are invalid.
// `value_versions[v]`, where given, is the instruction set that defined
// value v (a switch's value 1: the switch), when newer than the opcode.
struct FlagField {
  std::string_view name;
  std::uint8_t shift;
  std::uint8_t width;
  std::span<const std::string_view> value_names;
  std::span<const std::uint32_t> value_versions = {};

  [[nodiscard]] constexpr std::uint32_t mask() const {
    return ((std::uint32_t{1} << width) - 1) << shift;
  }
  [[nodiscard]] constexpr bool is_switch() const { return value_names.empty(); }
};

struct OpcodeInfo {
  Opcode opcode;
  std::string_view mnemonic;
  std::uint32_t dtype_mask;  // bit n: DataType n allowed
  std::span<const OperandKind> operand_kinds;
  std::span<const FlagField> flag_fields;
  std::uint32_t isa_version = kIsaVersion1_0;  // the version that defined it

  [[nodiscard]] std::uint8_t operand_count() const {
    return static_cast<std::uint8_t>(operand_kinds.size());
  }
  [[nodiscard]] bool allows(DataType dtype) const {
    // A dtype byte can be up to 255; the mask has 32 bits.
    const auto bit = static_cast<unsigned>(dtype);
    return bit < 32 && ((dtype_mask >> bit) & 1U) != 0;
  }
  [[nodiscard]] std::uint32_t defined_flags() const;
  // The kind operand `index` takes under `flags`: a bias operand with the
  // `bias` flag and a scale operand with `per_channel` are addresses; a scale
  // operand without it is floating.
  [[nodiscard]] OperandKind operand_kind(std::size_t index, std::uint32_t flags) const;
};

// Every opcode of instruction sets v1 to v1.4, in opcode order.
std::span<const OpcodeInfo> opcode_table();
const OpcodeInfo* find_opcode(std::uint8_t opcode);
const OpcodeInfo* find_opcode(std::string_view mnemonic);
const OpcodeInfo& info(Opcode opcode);

std::string_view name(DataType dtype);
std::optional<DataType> find_data_type(std::string_view name);
// Bytes per element; 0 for DataType::none.
std::size_t element_size(DataType dtype);

// One operand word: an immediate, or (is_argument) the index of a slot of
// the argument table.
struct Operand {
  bool is_argument = false;
  std::uint32_t word = 0;

  static constexpr Operand argument(std::uint32_t slot) { return {true, slot}; }
  static constexpr Operand immediate(std::uint32_t value) { return {false, value}; }
  friend bool operator==(const Operand&, const Operand&) = default;
};

struct Instruction {
  Opcode opcode = Opcode::nop;
  DataType dtype = DataType::none;
  std::uint32_t flags = 0;
  std::vector<Operand> operands;

  // Size of the encoded instruction in 32-bit words.
  [[nodiscard]] std::size_t word_count() const { return 3 + operands.size(); }
  friend bool operator==(const Instruction&, const Instruction&) = default;
};

// Why a word sequence is not a valid instruction (hw-spec 7.5, the checks
// that need no argument table and no memory).
enum class DecodeErrc {
  truncated = 1,         // the instruction runs past the end of the program
  reserved_bits,         // word 0 bits 31:24 not zero
  unknown_opcode,        // opcode not defined in v1
  dtype_not_allowed,     // dtype undefined or not allowed for the opcode
  wrong_operand_count,   // nops differs from the opcode's fixed count
  undefined_flags,       // a flag bit the opcode does not define
  invalid_flag_value,    // a flag field holds a value without meaning
  argmask_out_of_range,  // an argmask bit at or above nops
  address_not_argument,  // an address operand without its argmask bit
  bias_not_zero,         // a bias operand without the bias flag is not immediate 0
};

const std::error_category& decode_category();
std::error_code make_error_code(DecodeErrc errc);

struct DecodeError {
  DecodeErrc errc;
  std::size_t word_offset;  // first word of the failing instruction
  std::string detail;

  [[nodiscard]] std::string message() const;
};

// Checks that `instruction` is well formed for v1 (opcode, dtype, operand
// count, flags, address operands). Returns the reason if not.
std::optional<DecodeError> check(const Instruction& instruction);

// Appends the words of a well-formed instruction; throws std::invalid_argument
// (with the DecodeError message) for a malformed one.
void encode(const Instruction& instruction, std::vector<std::uint32_t>& words);
std::vector<std::uint32_t> encode(std::span<const Instruction> program);

// Decodes one instruction at `words[offset]`; on success advances `offset`.
struct DecodeResult {
  std::optional<Instruction> instruction;
  std::optional<DecodeError> error;
};
DecodeResult decode_one(std::span<const std::uint32_t> words, std::size_t& offset);

// Decodes a whole program: every instruction or the first error.
struct ProgramDecode {
  std::vector<Instruction> instructions;
  std::optional<DecodeError> error;
};
ProgramDecode decode(std::span<const std::uint32_t> words);

// The instruction set version an instruction needs: its opcode's, or newer
// for a flag value a later version defined (hw-spec 7.4.5).
std::uint32_t instruction_version(const Instruction& instruction);

// The instruction set version a program needs: the newest of its
// instructions' (kIsaVersion1_0 for an empty or undecodable program).
std::uint32_t required_version(std::span<const std::uint32_t> words);

}  // namespace npu::isa

template <>
struct std::is_error_code_enum<npu::isa::DecodeErrc> : std::true_type {};
