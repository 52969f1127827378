// The assembly language of KNPU kernels (docs/kernel-binary.md, "Assembly"):
// assemble() turns text into a kernel image, disassemble() turns an image into
// the same text. disassemble(assemble(t)) == t for text in canonical form, and
// assemble(disassemble(i)) == i for every valid image.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>

#include "npu/isa.hpp"
#include "npu/kernel_image.hpp"

namespace npu {

// A syntax or semantic error in assembly text, with its 1-based position.
// what() is "LINE:COLUMN: REASON".
class AssemblyError : public std::runtime_error {
 public:
  AssemblyError(std::size_t line, std::size_t column, const std::string& reason);

  [[nodiscard]] std::size_t line() const { return line_; }
  [[nodiscard]] std::size_t column() const { return column_; }
  [[nodiscard]] const std::string& reason() const { return reason_; }

 private:
  std::size_t line_;
  std::size_t column_;
  std::string reason_;
};

struct AssemblyOptions {
  // Record the source line of every instruction (the format 1.1 debug line
  // table), so a failure can name its line (npu::describe()).
  bool line_table = false;
  std::string source_name{};  // the file the line table refers to
};

// Assembles a kernel; the result is validated. Throws AssemblyError.
KernelImage assemble(std::string_view source, const AssemblyOptions& options = {});

// The canonical text of a kernel image (validated first: KernelFormatError).
std::string disassemble(const KernelImage& image);

// One instruction in canonical form; argument operands are printed by name
// from `layout`, or as @INDEX for slots the layout does not have.
std::string format_instruction(const isa::Instruction& instruction, const ArgumentLayout& layout);

}  // namespace npu
