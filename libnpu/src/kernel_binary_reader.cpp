// Reading kernel binaries: every field checked, with a precise error.
#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <map>

#include "byte_io.hpp"
#include "kernel_binary_format.hpp"
#include "npu/isa.hpp"
#include "npu/kernel_image.hpp"

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
  if (header.version_major != kFormatVersionMajor || header.version_minor != kFormatVersionMinor) {
    fail(KernelErrc::unknown_version,
         fmt::format("format version {}.{}, this library reads {}.{}", header.version_major,
                     header.version_minor, kFormatVersionMajor, kFormatVersionMinor));
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

Section read_section_entry(ByteReader& reader, std::uint32_t table_end, std::uint32_t file_size) {
  const std::uint32_t type = reader.u32();
  const std::uint32_t flags = reader.u32();
  const std::uint32_t offset = reader.u32();
  const std::uint32_t size = reader.u32();
  if (type < static_cast<std::uint32_t>(SectionType::code) ||
      type > static_cast<std::uint32_t>(SectionType::name)) {
    fail(KernelErrc::unknown_section, fmt::format("section type {}", type));
  }
  const Section section{static_cast<SectionType>(type), offset, size};
  if (flags != 0) {
    fail(KernelErrc::bad_section,
         fmt::format("{} section has flags {:#x}, must be 0", section_name(section.type), flags));
  }
  const std::uint64_t end = std::uint64_t{offset} + size;
  if (end > file_size) {
    fail(KernelErrc::section_out_of_bounds,
         fmt::format("{} section [{}, {}) ends past the file ({} bytes)",
                     section_name(section.type), offset, end, file_size));
  }
  if (offset < table_end && size != 0) {
    fail(KernelErrc::section_overlap,
         fmt::format("{} section [{}, {}) overlaps the header and section table [0, {})",
                     section_name(section.type), offset, end, table_end));
  }
  return section;
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

std::map<SectionType, Section> read_sections(const Header& header,
                                             std::span<const std::byte> file) {
  if (header.section_count > kMaxSections) {
    fail(KernelErrc::section_out_of_bounds,
         fmt::format("{} sections, at most {} allowed", header.section_count, kMaxSections));
  }
  const std::uint32_t table_end = kHeaderSize + header.section_count * kSectionEntrySize;
  if (table_end > file.size()) {
    fail(KernelErrc::section_out_of_bounds,
         fmt::format("section table [{}, {}) ends past the file ({} bytes)", kHeaderSize, table_end,
                     file.size()));
  }
  ByteReader reader(file.subspan(kHeaderSize));
  std::map<SectionType, Section> sections;
  std::vector<Section> all;
  for (std::uint32_t i = 0; i < header.section_count; ++i) {
    const Section section = read_section_entry(reader, table_end, header.file_size);
    if (!sections.emplace(section.type, section).second) {
      fail(KernelErrc::duplicate_section,
           fmt::format("{} section appears twice", section_name(section.type)));
    }
    all.push_back(section);
  }
  check_no_overlap(std::move(all));
  for (SectionType required : {SectionType::code, SectionType::arguments, SectionType::name}) {
    if (!sections.contains(required)) {
      fail(KernelErrc::missing_section, fmt::format("no {} section", section_name(required)));
    }
  }
  return sections;
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

KernelImage parse_kernel_binary(std::span<const std::byte> file) {
  const Header header = read_header(file);
  check_header(header, file);
  const std::map<SectionType, Section> sections = read_sections(header, file);
  KernelImage image{decode_name(contents(file, sections.at(SectionType::name))),
                    decode_arguments(contents(file, sections.at(SectionType::arguments))),
                    decode_code(contents(file, sections.at(SectionType::code))),
                    header.isa_version};
  validate(image);
  return image;
}

KernelImage read_kernel_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw std::system_error(errno, std::generic_category(), "cannot open " + path);
  }
  std::vector<char> raw{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  return parse_kernel_binary(std::as_bytes(std::span(raw)));
}

}  // namespace npu
