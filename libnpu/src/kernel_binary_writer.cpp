// Writing kernel binaries: 1.0 for a plain kernel, 1.1 for a module or a
// kernel with 1.1 metadata.
#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <system_error>

#include "byte_io.hpp"
#include "kernel_binary_format.hpp"
#include "npu/kernel_image.hpp"
#include "npu/kernel_module.hpp"

namespace npu {
namespace {

using namespace kernel_binary;

struct OutSection {
  SectionType type;
  std::uint32_t flags;
  std::vector<std::byte> bytes;
};

std::vector<std::byte> encode_arguments(const ArgumentLayout& layout) {
  std::vector<std::byte> bytes;
  ByteWriter writer(bytes);
  writer.u32(static_cast<std::uint32_t>(layout.size()));
  for (const ArgumentSlot& slot : layout.slots()) {
    writer.u8(static_cast<std::uint8_t>(slot.kind));
    writer.u8(static_cast<std::uint8_t>(slot.name.size()));
    writer.bytes(std::as_bytes(std::span(slot.name)));
  }
  return bytes;
}

std::vector<std::byte> encode_argument_info(const ArgumentLayout& layout) {
  std::vector<std::byte> bytes;
  ByteWriter writer(bytes);
  writer.u32(static_cast<std::uint32_t>(layout.size()));
  for (const ArgumentSlot& slot : layout.slots()) {
    writer.u8(static_cast<std::uint8_t>(slot.info.scalar));
    writer.u8(static_cast<std::uint8_t>(slot.info.access));
    writer.u8(slot.info.dtype);
    writer.u8(0);
    writer.u32(slot.info.alignment);
    writer.u64(slot.info.size);
  }
  return bytes;
}

std::vector<std::byte> encode_code(std::span<const std::uint32_t> program) {
  std::vector<std::byte> bytes;
  ByteWriter writer(bytes);
  for (std::uint32_t word : program) {
    writer.u32(word);
  }
  return bytes;
}

std::vector<std::byte> encode_name(const std::string& name) {
  const auto view = std::as_bytes(std::span(name));
  return {view.begin(), view.end()};
}

std::vector<std::byte> encode_u64s(std::initializer_list<std::uint64_t> values) {
  std::vector<std::byte> bytes;
  ByteWriter writer(bytes);
  for (std::uint64_t value : values) {
    writer.u64(value);
  }
  return bytes;
}

std::vector<std::byte> encode_constant(const ConstantData& data) {
  std::vector<std::byte> bytes;
  ByteWriter writer(bytes);
  writer.u32(data.slot);
  writer.bytes(data.bytes);
  return bytes;
}

std::vector<std::byte> encode_lines(const KernelImage& image) {
  std::vector<std::byte> bytes;
  ByteWriter writer(bytes);
  writer.u32(static_cast<std::uint32_t>(image.source_name.size()));
  writer.bytes(std::as_bytes(std::span(image.source_name)));
  writer.u32(static_cast<std::uint32_t>(image.line_table.size()));
  for (const LineEntry& entry : image.line_table) {
    writer.u32(entry.offset);
    writer.u32(entry.line);
  }
  return bytes;
}

bool has_argument_info(const ArgumentLayout& layout) {
  return std::ranges::any_of(layout.slots(),
                             [](const ArgumentSlot& slot) { return slot.info != ArgumentInfo{}; });
}

// What only format 1.1 can hold.
bool needs_format_1_1(const KernelImage& image) {
  return has_argument_info(image.arguments) || image.workspace_size != 0 ||
         !image.constants.empty() || !image.line_table.empty() || !image.source_name.empty();
}

// The 1.0 sections of one kernel, in the order the 1.0 writer used.
void add_base_sections(const KernelImage& image, std::uint32_t flags,
                       std::vector<OutSection>& sections) {
  sections.push_back({SectionType::code, flags, encode_code(image.program)});
  sections.push_back({SectionType::arguments, flags, encode_arguments(image.arguments)});
  sections.push_back({SectionType::name, flags, encode_name(image.name)});
}

void add_module_sections(const KernelImage& image, std::uint32_t kernel,
                         std::vector<OutSection>& sections) {
  const std::uint32_t required = kernel << kSectionKernelShift;
  const std::uint32_t optional = required | kSectionOptional;
  add_base_sections(image, required, sections);
  const KernelRequirements needs = requirements(image);
  sections.push_back({SectionType::requirements, required, encode_u64s({needs.ops, needs.dtypes})});
  if (has_argument_info(image.arguments)) {
    sections.push_back(
        {SectionType::argument_info, optional, encode_argument_info(image.arguments)});
  }
  if (image.workspace_size != 0) {
    sections.push_back({SectionType::workspace, optional, encode_u64s({image.workspace_size})});
  }
  for (const ConstantData& data : image.constants) {
    sections.push_back({SectionType::constants, required, encode_constant(data)});
  }
  if (!image.line_table.empty() || !image.source_name.empty()) {
    sections.push_back({SectionType::lines, optional, encode_lines(image)});
  }
}

std::vector<std::byte> write_file(std::uint16_t minor, std::uint32_t isa_version,
                                  const std::vector<OutSection>& sections) {
  const std::uint64_t table_end = kHeaderSize + std::uint64_t{kSectionEntrySize} * sections.size();
  std::uint64_t file_size = table_end;
  for (const OutSection& section : sections) {
    file_size += section.bytes.size();
  }
  if (file_size > 0xffff'ffffU) {
    throw KernelFormatError(KernelErrc::section_out_of_bounds,
                            fmt::format("{} bytes do not fit a kernel binary", file_size));
  }
  std::vector<std::byte> file;
  ByteWriter writer(file);
  writer.u32(kMagic);
  writer.u16(kFormatVersionMajor);
  writer.u16(minor);
  writer.u32(kHeaderSize);
  writer.u32(0);
  writer.u32(isa_version);
  writer.u32(static_cast<std::uint32_t>(file_size));
  writer.u32(static_cast<std::uint32_t>(sections.size()));
  writer.u32(0);  // checksum, filled in last
  auto next_offset = static_cast<std::uint32_t>(table_end);
  for (const OutSection& section : sections) {
    writer.u32(static_cast<std::uint32_t>(section.type));
    writer.u32(section.flags);
    writer.u32(next_offset);
    writer.u32(static_cast<std::uint32_t>(section.bytes.size()));
    next_offset += static_cast<std::uint32_t>(section.bytes.size());
  }
  for (const OutSection& section : sections) {
    writer.bytes(section.bytes);
  }
  ByteWriter::put_u32(std::span(file).subspan(kChecksumOffset, 4), checksum_of(file));
  return file;
}

void write_bytes(const std::string& path, const std::vector<std::byte>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) {
    throw std::system_error(errno, std::generic_category(), "cannot write " + path);
  }
}

}  // namespace

std::vector<std::byte> serialize(const KernelImage& image) {
  validate(image);
  if (needs_format_1_1(image)) {
    return serialize(KernelModule{{image}});
  }
  std::vector<OutSection> sections;
  add_base_sections(image, 0, sections);
  return write_file(kFormatVersionMinor, image.isa_version, sections);
}

std::vector<std::byte> serialize(const KernelModule& module) {
  if (module.kernels.empty() || module.kernels.size() > 0xffff) {
    throw KernelFormatError(
        KernelErrc::missing_section,
        fmt::format("a module holds 1 to 65535 kernels, not {}", module.kernels.size()));
  }
  std::set<std::string_view> names;
  std::uint32_t isa_version = 0;
  std::vector<OutSection> sections;
  for (std::uint32_t k = 0; k < module.kernels.size(); ++k) {
    const KernelImage& image = module.kernels[k];
    validate(image);
    if (!names.insert(image.name).second) {
      throw KernelFormatError(KernelErrc::bad_name,
                              fmt::format("two kernels of the module are called '{}'", image.name));
    }
    isa_version = std::max(isa_version, image.isa_version);
    add_module_sections(image, k, sections);
  }
  return write_file(kModuleFormatVersionMinor, isa_version, sections);
}

void write_kernel_file(const std::string& path, const KernelImage& image) {
  write_bytes(path, serialize(image));
}

void write_kernel_module(const std::string& path, const KernelModule& module) {
  write_bytes(path, serialize(module));
}

}  // namespace npu
