// The error category of instruction decoding.
#include <fmt/format.h>

#include "npu/isa.hpp"

namespace npu::isa {
namespace {

class DecodeCategory final : public std::error_category {
 public:
  [[nodiscard]] const char* name() const noexcept override { return "npu.instruction"; }

  [[nodiscard]] std::string message(int value) const override {
    switch (static_cast<DecodeErrc>(value)) {
      case DecodeErrc::truncated:
        return "instruction runs past the end of the program";
      case DecodeErrc::reserved_bits:
        return "reserved bits set in word 0";
      case DecodeErrc::unknown_opcode:
        return "unknown opcode";
      case DecodeErrc::dtype_not_allowed:
        return "data type not allowed for the opcode";
      case DecodeErrc::wrong_operand_count:
        return "wrong operand count";
      case DecodeErrc::undefined_flags:
        return "undefined flag bits";
      case DecodeErrc::invalid_flag_value:
        return "invalid flag value";
      case DecodeErrc::argmask_out_of_range:
        return "argmask bit at or above nops";
      case DecodeErrc::address_not_argument:
        return "address operand is not an argument";
      case DecodeErrc::bias_not_zero:
        return "bias operand without the bias flag is not immediate 0";
    }
    return "unknown instruction error";
  }
};

}  // namespace

const std::error_category& decode_category() {
  static const DecodeCategory category;
  return category;
}

std::error_code make_error_code(DecodeErrc errc) {
  return {static_cast<int>(errc), decode_category()};
}

std::string DecodeError::message() const {
  return fmt::format("instruction at byte {}: {} ({})", word_offset * 4,
                     make_error_code(errc).message(), detail);
}

}  // namespace npu::isa
