// Reading kernel binaries: every field checked, with a precise error.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <set>

#include "byte_io.hpp"
#include "kernel_binary_format.hpp"
#include "npu/isa.hpp"
#include "npu/kernel_image.hpp"
#include "npu/kernel_module.hpp"

namespace npu {
namespace {

using namespace kernel_binary;

[[noreturn]] void fail(KernelErrc errc, const std::string& detail) {
  throw KernelFormatError(errc, detail);
}

Header read_header(std::span<const std::byte> file) {
  if (file.size() < kHeaderSize) {
    fail(KernelErrc::truncated,
         fmt::format("file is {} bytes, the header alone is {}", file.size(), kHeaderSize));
  }
  ByteReader reader(file);
  Header header{};
  header.magic = reader.u32();
  header.version_major = reader.u16();
  header.version_minor = reader.u16();
  header.header_size = reader.u32();
  header.flags = reader.u32();
  header.isa_version = reader.u32();
  header.file_size = reader.u32();
  header.section_count = reader.u32();
  header.checksum = reader.u32();
  return header;
}

void check_header(const Header& header, std::span<const std::byte> file) {
  if (header.magic != kMagic) {
    fail(KernelErrc::bad_magic,
         fmt::format("magic is {:#010x}, expected {:#010x} (\"KNPK\")", header.magic, kMagic));
  }
  if (header.version_major != kFormatVersionMajor) {
    fail(KernelErrc::unknown_version,
         fmt::format("format version {}.{}, this library reads {}.x", header.version_major,
                     header.version_minor, kFormatVersionMajor));
  }
  if (header.header_size != kHeaderSize || header.flags != 0) {
    fail(KernelErrc::bad_header,
         fmt::format("header size {} (expected {}), flags {:#x} (expected 0)", header.header_size,
                     kHeaderSize, header.flags));
  }
  if (file.size() < header.file_size) {
    fail(KernelErrc::truncated,
         fmt::format("file is {} bytes, its header says {}", file.size(), header.file_size));
  }
  if (file.size() > header.file_size) {
    fail(KernelErrc::size_mismatch,
         fmt::format("file is {} bytes, its header says {}", file.size(), header.file_size));
  }
  const std::uint32_t actual = checksum_of(file);
  if (actual != header.checksum) {
    fail(KernelErrc::bad_checksum,
         fmt::format("CRC-32 is {:#010x}, the header says {:#010x}", actual, header.checksum));
  }
  if ((header.isa_version >> 16) != (isa::kIsaVersion >> 16) ||
      header.isa_version > isa::kIsaVersion) {
    fail(KernelErrc::unsupported_isa,
         fmt::format("the kernel needs ISA {:#010x}, this library knows {:#010x}",
                     header.isa_version, isa::kIsaVersion));
  }
}

// 1.0 files allow only their three sections with flags 0; from 1.1 on,
// flags carry the kernel index and the optional bit, and an unknown section
// marked optional is skipped (nullopt).
std::optional<Section> read_section_entry(ByteReader& reader, const Header& header,
                                          std::uint32_t table_end) {
  const bool format_1_0 = header.version_minor == 0;
  const std::uint32_t type = reader.u32();
  const std::uint32_t flags = reader.u32();
  const std::uint32_t offset = reader.u32();
  const std::uint32_t size = reader.u32();
  const std::uint32_t last_known =
      format_1_0 ? static_cast<std::uint32_t>(SectionType::name) : kLastKnownSection;
  const bool known = type >= static_cast<std::uint32_t>(SectionType::code) && type <= last_known;
  if (!known && (format_1_0 || (flags & kSectionOptional) == 0)) {
    fail(KernelErrc::unknown_section,
         fmt::format("section type {}{}", type, format_1_0 ? "" : " (not optional)"));
  }
  const std::string name = known ? std::string(section_name(static_cast<SectionType>(type)))
                                 : fmt::format("optional section {}", type);
  if ((format_1_0 && flags != 0) || (flags & ~kSectionDefinedFlags) != 0) {
    fail(KernelErrc::bad_section, fmt::format("{} section has flags {:#x}, must be {}", name, flags,
                                              format_1_0 ? "0" : "optional | kernel << 16"));
  }
  const std::uint64_t end = std::uint64_t{offset} + size;
  if (end > header.file_size) {
    fail(KernelErrc::section_out_of_bounds,
         fmt::format("{} section [{}, {}) ends past the file ({} bytes)", name, offset, end,
                     header.file_size));
  }
  if (offset < table_end && size != 0) {
    fail(KernelErrc::section_overlap,
         fmt::format("{} section [{}, {}) overlaps the header and section table [0, {})", name,
                     offset, end, table_end));
  }
  if (!known) {
    return std::nullopt;
  }
  return Section{static_cast<SectionType>(type), offset, size, flags >> kSectionKernelShift};
}

void check_no_overlap(std::vector<Section> sections) {
  std::ranges::sort(sections, {}, &Section::offset);
  for (std::size_t i = 1; i < sections.size(); ++i) {
    const Section& before = sections[i - 1];
    const Section& after = sections[i];
    if (before.size != 0 && after.size != 0 &&
        std::uint64_t{before.offset} + before.size > after.offset) {
      fail(KernelErrc::section_overlap,
           fmt::format("{} section [{}, {}) overlaps {} section at {}", section_name(before.type),
                       before.offset, before.offset + before.size, section_name(after.type),
                       after.offset));
    }
  }
}

// The sections of each kernel of the file, by type (constants: several).
using KernelSections = std::multimap<SectionType, Section>;

std::vector<KernelSections> read_sections(const Header& header, std::span<const std::byte> file) {
  const std::uint32_t max_sections = header.version_minor == 0 ? kMaxSections : kMaxModuleSections;
  if (header.section_count > max_sections) {
    fail(KernelErrc::section_out_of_bounds,
         fmt::format("{} sections, at most {} allowed", header.section_count, max_sections));
  }
  const std::uint64_t table_end =
      kHeaderSize + std::uint64_t{header.section_count} * kSectionEntrySize;
  if (table_end > file.size()) {
    fail(KernelErrc::section_out_of_bounds,
         fmt::format("section table [{}, {}) ends past the file ({} bytes)", kHeaderSize, table_end,
                     file.size()));
  }
  ByteReader reader(file.subspan(kHeaderSize));
  std::vector<Section> all;
  for (std::uint32_t i = 0; i < header.section_count; ++i) {
    if (std::optional<Section> section =
            read_section_entry(reader, header, static_cast<std::uint32_t>(table_end))) {
      all.push_back(*section);
    }
  }
  check_no_overlap(all);
  std::uint32_t kernels = 0;
  for (const Section& section : all) {
    kernels = std::max(kernels, section.kernel + 1);
  }
  std::vector<KernelSections> by_kernel(kernels);
  for (const Section& section : all) {
    KernelSections& sections = by_kernel[section.kernel];
    if (section.type != SectionType::constants && sections.contains(section.type)) {
      fail(KernelErrc::duplicate_section, fmt::format("{} section of kernel {} appears twice",
                                                      section_name(section.type), section.kernel));
    }
    sections.emplace(section.type, section);
  }
  std::vector<SectionType> required{SectionType::code, SectionType::arguments, SectionType::name};
  if (header.version_minor != 0) {
    required.push_back(SectionType::requirements);
  }
  if (by_kernel.empty()) {
    fail(KernelErrc::missing_section, "no sections");
  }
  for (std::size_t k = 0; k < by_kernel.size(); ++k) {
    for (SectionType type : required) {
      if (!by_kernel[k].contains(type)) {
        fail(KernelErrc::missing_section,
             by_kernel.size() == 1
                 ? fmt::format("no {} section", section_name(type))
                 : fmt::format("no {} section for kernel {}", section_name(type), k));
      }
    }
  }
  return by_kernel;
}

std::span<const std::byte> contents(std::span<const std::byte> file, const Section& section) {
  return file.subspan(section.offset, section.size);
}

std::string decode_name(std::span<const std::byte> bytes) {
  std::string name(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  if (!is_valid_name(name)) {
    fail(KernelErrc::bad_name,
         fmt::format("kernel name '{}' is not [A-Za-z_][A-Za-z0-9_]{{0,63}}", name));
  }
  return name;
}

ArgumentSlot decode_slot(ByteReader& reader, std::uint32_t index) {
  if (reader.remaining() < 2) {
    fail(KernelErrc::bad_argument_layout, fmt::format("slot {} runs past the section", index));
  }
  const std::uint8_t kind = reader.u8();
  const std::uint8_t name_length = reader.u8();
  if (kind > static_cast<std::uint8_t>(SlotKind::scalar)) {
    fail(KernelErrc::bad_argument_layout, fmt::format("slot {} has kind {}", index, kind));
  }
  if (reader.remaining() < name_length) {
    fail(KernelErrc::bad_argument_layout,
         fmt::format("slot {}'s name runs past the section", index));
  }
  const std::span<const std::byte> name_bytes = reader.bytes(name_length);
  return {static_cast<SlotKind>(kind),
          std::string(reinterpret_cast<const char*>(name_bytes.data()), name_bytes.size())};
}

ArgumentLayout decode_arguments(std::span<const std::byte> bytes) {
  constexpr std::uint32_t kMaxSlots = (1U << 16) / 8;
  if (bytes.size() < 4) {
    fail(KernelErrc::bad_argument_layout, "the section is shorter than its slot count");
  }
  ByteReader reader(bytes);
  const std::uint32_t count = reader.u32();
  if (count > kMaxSlots) {
    fail(KernelErrc::bad_argument_layout,
         fmt::format("{} slots, an argument table holds at most {}", count, kMaxSlots));
  }
  ArgumentLayout layout;
  for (std::uint32_t i = 0; i < count; ++i) {
    ArgumentSlot slot = decode_slot(reader, i);
    try {
      layout.add(slot.kind, std::move(slot.name));
    } catch (const std::invalid_argument& e) {
      fail(KernelErrc::bad_argument_layout, fmt::format("slot {}: {}", i, e.what()));
    }
  }
  if (reader.remaining() != 0) {
    fail(KernelErrc::bad_argument_layout,
         fmt::format("{} bytes after the last slot", reader.remaining()));
  }
  return layout;
}

std::vector<std::uint32_t> decode_code(std::span<const std::byte> bytes) {
  if (bytes.empty() || bytes.size() % 4 != 0) {
    fail(KernelErrc::program_not_whole_words,
         fmt::format("code section of {} bytes is not a non-zero multiple of 4", bytes.size()));
  }
  ByteReader reader(bytes);
  std::vector<std::uint32_t> words(bytes.size() / 4);
  std::ranges::generate(words, [&reader] { return reader.u32(); });
  return words;
}

}  // namespace

namespace {

[[noreturn]] void bad_metadata(const std::string& detail) {
  fail(KernelErrc::bad_metadata, detail);
}

void decode_argument_info(std::span<const std::byte> bytes, ArgumentLayout& layout) {
  ByteReader reader(bytes);
  if (bytes.size() < 4 || reader.u32() != layout.size() ||
      reader.remaining() != std::uint64_t{kArgumentInfoSize} * layout.size()) {
    bad_metadata(
        fmt::format("the argument info section ({} bytes) does not describe the {} "
                    "slots of the layout",
                    bytes.size(), layout.size()));
  }
  for (std::size_t slot = 0; slot < layout.size(); ++slot) {
    ArgumentInfo info;
    info.scalar = static_cast<ScalarKind>(reader.u8());
    info.access = static_cast<Access>(reader.u8());
    info.dtype = reader.u8();
    if (reader.u8() != 0) {
      bad_metadata(fmt::format("argument info of slot {}: reserved byte is not 0", slot));
    }
    info.alignment = reader.u32();
    info.size = reader.u64();
    layout.set_info(slot, info);
  }
}

KernelRequirements decode_requirements(std::span<const std::byte> bytes) {
  if (bytes.size() != 16) {
    bad_metadata(fmt::format("requirements section of {} bytes, expected 16", bytes.size()));
  }
  ByteReader reader(bytes);
  KernelRequirements needs;
  needs.ops = reader.u64();
  needs.dtypes = reader.u64();
  return needs;
}

std::uint64_t decode_workspace(std::span<const std::byte> bytes) {
  if (bytes.size() != 8) {
    bad_metadata(fmt::format("workspace section of {} bytes, expected 8", bytes.size()));
  }
  return ByteReader(bytes).u64();
}

ConstantData decode_constant(std::span<const std::byte> bytes) {
  if (bytes.size() < 5) {
    bad_metadata(
        fmt::format("constants section of {} bytes: a slot and at least one byte", bytes.size()));
  }
  ByteReader reader(bytes);
  ConstantData data;
  data.slot = reader.u32();
  const std::span<const std::byte> rest = reader.bytes(reader.remaining());
  data.bytes.assign(rest.begin(), rest.end());
  return data;
}

void decode_lines(std::span<const std::byte> bytes, KernelImage& image) {
  ByteReader reader(bytes);
  const auto need = [&reader](std::uint64_t count) {
    if (reader.remaining() < count) {
      bad_metadata("the lines section ends inside its table");
    }
  };
  need(4);
  const std::uint32_t name_length = reader.u32();
  need(name_length);
  const std::span<const std::byte> name = reader.bytes(name_length);
  image.source_name.assign(reinterpret_cast<const char*>(name.data()), name.size());
  need(4);
  const std::uint32_t count = reader.u32();
  if (reader.remaining() != std::uint64_t{count} * kLineEntrySize) {
    bad_metadata(
        fmt::format("the lines section holds {} bytes for {} entries", reader.remaining(), count));
  }
  for (std::uint32_t i = 0; i < count; ++i) {
    LineEntry entry;
    entry.offset = reader.u32();
    entry.line = reader.u32();
    image.line_table.push_back(entry);
  }
}

KernelImage decode_kernel(std::span<const std::byte> file, const Header& header,
                          const KernelSections& sections) {
  const auto only = [&](SectionType type) { return contents(file, sections.find(type)->second); };
  KernelImage image{decode_name(only(SectionType::name)),
                    decode_arguments(only(SectionType::arguments)),
                    decode_code(only(SectionType::code)), header.isa_version};
  if (sections.contains(SectionType::argument_info)) {
    decode_argument_info(only(SectionType::argument_info), image.arguments);
  }
  if (sections.contains(SectionType::workspace)) {
    image.workspace_size = decode_workspace(only(SectionType::workspace));
  }
  const auto [first, last] = sections.equal_range(SectionType::constants);
  for (auto it = first; it != last; ++it) {
    image.constants.push_back(decode_constant(contents(file, it->second)));
  }
  std::ranges::sort(image.constants, {}, &ConstantData::slot);
  if (sections.contains(SectionType::lines)) {
    decode_lines(only(SectionType::lines), image);
  }
  validate(image);
  if (sections.contains(SectionType::requirements)) {
    const KernelRequirements recorded = decode_requirements(only(SectionType::requirements));
    const KernelRequirements used = requirements(image);
    if (recorded != used) {
      bad_metadata(
          fmt::format("kernel '{}' records opcodes {:#x} and data types {:#x}, its "
                      "program uses {:#x} and {:#x}",
                      image.name, recorded.ops, recorded.dtypes, used.ops, used.dtypes));
    }
  }
  return image;
}

std::vector<char> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw std::system_error(errno, std::generic_category(), "cannot open " + path);
  }
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

KernelModule parse_kernel_module(std::span<const std::byte> file) {
  const Header header = read_header(file);
  check_header(header, file);
  KernelModule module;
  std::set<std::string> names;
  for (const KernelSections& sections : read_sections(header, file)) {
    module.kernels.push_back(decode_kernel(file, header, sections));
    if (!names.insert(module.kernels.back().name).second) {
      fail(KernelErrc::bad_name,
           fmt::format("two kernels of the module are called '{}'", module.kernels.back().name));
    }
  }
  return module;
}

KernelImage parse_kernel_binary(std::span<const std::byte> file) {
  KernelModule module = parse_kernel_module(file);
  if (module.kernels.size() != 1) {
    fail(KernelErrc::bad_header,
         fmt::format("the file is a module of {} kernels: read it with parse_kernel_module()",
                     module.kernels.size()));
  }
  return std::move(module.kernels.front());
}

KernelImage read_kernel_file(const std::string& path) {
  const std::vector<char> raw = read_file(path);
  return parse_kernel_binary(std::as_bytes(std::span(raw)));
}

KernelModule read_kernel_module(const std::string& path) {
  const std::vector<char> raw = read_file(path);
  return parse_kernel_module(std::as_bytes(std::span(raw)));
}

const KernelImage& find_kernel(const KernelModule& module, std::string_view name) {
  const auto it = std::ranges::find(module.kernels, name, &KernelImage::name);
  if (it == module.kernels.end()) {
    std::vector<std::string_view> names;
    for (const KernelImage& image : module.kernels) {
      names.push_back(image.name);
    }
    fail(KernelErrc::no_such_kernel,
         fmt::format("no kernel '{}' in the module (it has {})", name, fmt::join(names, ", ")));
  }
  return *it;
}

}  // namespace npu
