// The error category of kernel binaries and images.
#include "npu/errors.hpp"
#include "npu/kernel_image.hpp"

namespace npu {
namespace {

class KernelCategory final : public std::error_category {
 public:
  [[nodiscard]] const char* name() const noexcept override { return "npu.kernel"; }

  [[nodiscard]] std::string message(int value) const override {
    switch (static_cast<KernelErrc>(value)) {
      case KernelErrc::truncated:
        return "kernel binary truncated";
      case KernelErrc::bad_magic:
        return "not a kernel binary (bad magic)";
      case KernelErrc::unknown_version:
        return "unknown kernel binary format version";
      case KernelErrc::bad_header:
        return "malformed kernel binary header";
      case KernelErrc::size_mismatch:
        return "kernel binary size does not match its header";
      case KernelErrc::bad_checksum:
        return "kernel binary checksum mismatch";
      case KernelErrc::unsupported_isa:
        return "unsupported instruction set version";
      case KernelErrc::section_out_of_bounds:
        return "section out of bounds";
      case KernelErrc::section_overlap:
        return "overlapping sections";
      case KernelErrc::unknown_section:
        return "unknown section type";
      case KernelErrc::duplicate_section:
        return "duplicate section";
      case KernelErrc::missing_section:
        return "missing section";
      case KernelErrc::bad_section:
        return "malformed section entry";
      case KernelErrc::bad_name:
        return "invalid kernel name";
      case KernelErrc::bad_argument_layout:
        return "malformed argument layout";
      case KernelErrc::program_not_whole_words:
        return "program is not a whole number of instruction words";
      case KernelErrc::invalid_instruction:
        return "invalid instruction";
      case KernelErrc::argument_mismatch:
        return "operand does not match the argument layout";
      case KernelErrc::unsupported_by_device:
        return "the device does not execute what the kernel needs";
      case KernelErrc::bad_metadata:
        return "malformed kernel metadata";
      case KernelErrc::no_such_kernel:
        return "no kernel of that name in the module";
    }
    return "unknown kernel error";
  }

  // Every error is an invalid kernel; one the device cannot run is also
  // "not supported".
  [[nodiscard]] bool equivalent(int value,
                                const std::error_condition& condition) const noexcept override {
    return condition == errc::invalid_kernel ||
           (static_cast<KernelErrc>(value) == KernelErrc::unsupported_by_device &&
            condition == errc::not_supported);
  }
};

}  // namespace

const std::error_category& kernel_category() {
  static const KernelCategory category;
  return category;
}

std::error_code make_error_code(KernelErrc errc) {
  return {static_cast<int>(errc), kernel_category()};
}

}  // namespace npu
