// A compiled kernel as a value (program, argument layout, name) and its file
// format, the kernel binary (docs/kernel-binary.md): written by
// serialize(), read back and checked field by field by parse_kernel_binary().
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace npu {

enum class SlotKind : std::uint8_t { buffer = 0, scalar = 1 };

// What a scalar slot holds: an integer (value operands, hw-spec 7.2), a
// binary32 float in its low 32 bits (float operands), or not said.
enum class ScalarKind : std::uint8_t { unspecified = 0, integer = 1, float32 = 2 };
// How a kernel uses a buffer slot.
enum class Access : std::uint8_t { unspecified = 0, read = 1, write = 2, read_write = 3 };

// Per-argument metadata (kernel format 1.1; all optional, zero: not said).
struct ArgumentInfo {
  ScalarKind scalar = ScalarKind::unspecified;  // scalar slots
  Access access = Access::unspecified;          // buffer slots
  std::uint8_t dtype = 0;                       // the elements' isa::DataType, 0: none
  std::uint32_t alignment = 0;                  // the address's required alignment, bytes
  std::uint64_t size = 0;                       // the buffer's minimum size, bytes
  friend bool operator==(const ArgumentInfo&, const ArgumentInfo&) = default;
};

struct ArgumentSlot {
  SlotKind kind = SlotKind::buffer;
  std::string name;
  ArgumentInfo info{};
  friend bool operator==(const ArgumentSlot&, const ArgumentSlot&) = default;
};

// The argument table a kernel expects: slot i of the table is slots[i].
class ArgumentLayout {
 public:
  ArgumentLayout() = default;
  // Throws std::invalid_argument for an invalid or duplicate name.
  explicit ArgumentLayout(std::vector<ArgumentSlot> slots);

  // Appends a slot and returns its index.
  std::uint32_t add(SlotKind kind, std::string name, ArgumentInfo info = {});
  // Replaces the metadata of slot `index`.
  void set_info(std::size_t index, const ArgumentInfo& info) { slots_.at(index).info = info; }

  [[nodiscard]] std::span<const ArgumentSlot> slots() const { return slots_; }
  [[nodiscard]] std::size_t size() const { return slots_.size(); }
  [[nodiscard]] const ArgumentSlot& operator[](std::size_t index) const { return slots_.at(index); }
  [[nodiscard]] std::optional<std::uint32_t> find(std::string_view name) const;

  friend bool operator==(const ArgumentLayout&, const ArgumentLayout&) = default;

 private:
  std::vector<ArgumentSlot> slots_;
};

// Argument and kernel names: [A-Za-z_][A-Za-z0-9_]*, at most 64 bytes.
bool is_valid_name(std::string_view name);

// A line of the debug line table: the instruction at byte `offset` of the
// program came from source line `line`.
struct LineEntry {
  std::uint32_t offset = 0;
  std::uint32_t line = 0;
  friend bool operator==(const LineEntry&, const LineEntry&) = default;
};

// Read-only data the loader uploads with the program and binds to buffer
// slot `slot`, which the caller then does not set (format 1.1).
struct ConstantData {
  std::uint32_t slot = 0;
  std::vector<std::byte> bytes;
  friend bool operator==(const ConstantData&, const ConstantData&) = default;
};

struct KernelImage {
  std::string name;
  ArgumentLayout arguments;
  std::vector<std::uint32_t> program;  // instruction words
  std::uint32_t isa_version = 0x0001'0000;
  // Format 1.1 additions (empty / zero: none).
  std::uint64_t workspace_size = 0;  // scratch bytes the caller should provide
  std::vector<ConstantData> constants{};
  std::string source_name{};  // the source file of the line table
  std::vector<LineEntry> line_table{};

  friend bool operator==(const KernelImage&, const KernelImage&) = default;
};

// Several kernels in one file (format 1.1), with distinct names.
struct KernelModule {
  std::vector<KernelImage> kernels;
  friend bool operator==(const KernelModule&, const KernelModule&) = default;
};

// What a kernel needs of the device: bit n of `ops` for opcode n, of
// `dtypes` for data type n (as DeviceProperties::ops and ::dtypes).
struct KernelRequirements {
  std::uint64_t ops = 0;
  std::uint64_t dtypes = 0;
  friend bool operator==(const KernelRequirements&, const KernelRequirements&) = default;
};

// What is wrong with a kernel binary (or with a kernel image's program).
enum class KernelErrc {
  truncated = 1,            // the file ends before a structure it declares
  bad_magic,                // not a kernel binary
  unknown_version,          // a format version this library does not read
  bad_header,               // header size, flags or reserved fields wrong
  size_mismatch,            // the header's file size differs from the file's
  bad_checksum,             // CRC-32 does not match
  unsupported_isa,          // needs an instruction set this library does not know
  section_out_of_bounds,    // a section or the section table lies outside the file
  section_overlap,          // two sections (or a section and the header) overlap
  unknown_section,          // a section type this version does not define
  duplicate_section,        // a section type appears twice
  missing_section,          // a required section is absent
  bad_section,              // a section's flags are not zero
  bad_name,                 // the name section is not a valid name
  bad_argument_layout,      // the argument section is malformed
  program_not_whole_words,  // the code size is not a non-zero multiple of 4 or too large
  invalid_instruction,      // an instruction does not decode (see the message)
  argument_mismatch,        // an operand refers to a missing slot or one of the wrong kind
  unsupported_by_device,    // needs an opcode or data type the device does not execute
  bad_metadata,             // a 1.1 section (argument info, constants, lines, ...) is malformed
  no_such_kernel,           // a module has no kernel of that name
};

const std::error_category& kernel_category();
std::error_code make_error_code(KernelErrc errc);

// Thrown by parse_kernel_binary() and validate(); code() is a KernelErrc and
// compares equal to npu::errc::invalid_kernel; what() says where and why.
class KernelFormatError : public std::system_error {
 public:
  KernelFormatError(KernelErrc errc, const std::string& detail)
      : std::system_error(make_error_code(errc), detail) {}
};

// Checks that the image is a loadable kernel: valid name, program of whole
// instructions that all decode, every argument operand in range and of the
// right kind (addresses from buffer slots, values and floats from scalar
// slots). Throws KernelFormatError.
void validate(const KernelImage& image);

// For each argument slot: what its scalar holds; the declared kind, else
// the kind of the operands that read it (integer for value operands, float32
// for float operands, unspecified if both or neither). The image must be valid.
std::vector<ScalarKind> scalar_kinds(const KernelImage& image);

// The opcodes and data types the program uses. The image must be valid.
KernelRequirements requirements(const KernelImage& image);

// For each argument slot: true when an instruction reads it as a value
// operand (hw-spec 7.2: such a slot must hold a number below 2^32). The
// image must be valid.
std::vector<bool> value_slots(const KernelImage& image);

// The file format.
inline constexpr std::uint16_t kFormatVersionMajor = 1;
inline constexpr std::uint16_t kFormatVersionMinor = 0;

std::vector<std::byte> serialize(const KernelImage& image);
KernelImage parse_kernel_binary(std::span<const std::byte> file);

KernelImage read_kernel_file(const std::string& path);
void write_kernel_file(const std::string& path, const KernelImage& image);

}  // namespace npu

template <>
struct std::is_error_code_enum<npu::KernelErrc> : std::true_type {};
