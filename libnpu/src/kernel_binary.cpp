// The kernel binary file format (docs/kernel-binary.md): writer and checked
// reader.
#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <fstream>
#include <iterator>
#include <map>

#include "byte_io.hpp"
#include "npu/isa.hpp"
#include "npu/kernel_image.hpp"

namespace npu {
namespace {

constexpr std::uint32_t kMagic = 0x4b504e4b;  // "KNPK"
constexpr std::uint32_t kHeaderSize = 32;
constexpr std::uint32_t kSectionEntrySize = 16;
constexpr std::uint32_t kMaxSections = 16;
constexpr std::size_t kChecksumOffset = 28;

enum class SectionType : std::uint32_t { code = 1, arguments = 2, name = 3 };

struct Header {
  std::uint32_t magic;
  std::uint16_t version_major;
  std::uint16_t version_minor;
  std::uint32_t header_size;
  std::uint32_t flags;
  std::uint32_t isa_version;
  std::uint32_t file_size;
  std::uint32_t section_count;
  std::uint32_t checksum;
};

struct Section {
  SectionType type;
  std::uint32_t offset;
  std::uint32_t size;
};

std::string_view section_name(SectionType type) {
  switch (type) {
    case SectionType::code:
      return "code";
    case SectionType::arguments:
      return "arguments";
    case SectionType::name:
      return "name";
  }
  return "?";
}

std::uint32_t checksum_of(std::span<const std::byte> file) {
  const auto crc_over = [](uLong crc, std::span<const std::byte> bytes) {
    return crc32(crc, reinterpret_cast<const Bytef*>(bytes.data()),
                 static_cast<uInt>(bytes.size()));
  };
  constexpr std::array<std::byte, 4> kZeroField{};
  uLong crc = crc32(0, nullptr, 0);
  crc = crc_over(crc, file.first(kChecksumOffset));
  crc = crc_over(crc, kZeroField);
  crc = crc_over(crc, file.subspan(kChecksumOffset + 4));
  return static_cast<std::uint32_t>(crc);
}

[[noreturn]] void fail(KernelErrc errc, const std::string& detail) {
  throw KernelFormatError(errc, detail);
}

// ---- writer ---------------------------------------------------------------

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

std::vector<std::byte> encode_code(std::span<const std::uint32_t> program) {
  std::vector<std::byte> bytes;
  ByteWriter writer(bytes);
  for (std::uint32_t word : program) {
    writer.u32(word);
  }
  return bytes;
}

// ---- reader ---------------------------------------------------------------

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

std::vector<std::byte> serialize(const KernelImage& image) {
  validate(image);
  const std::vector<std::byte> name = [&] {
    const auto view = std::as_bytes(std::span(image.name));
    return std::vector<std::byte>(view.begin(), view.end());
  }();
  const std::vector<std::byte> arguments = encode_arguments(image.arguments);
  const std::vector<std::byte> code = encode_code(image.program);
  const std::array<std::pair<SectionType, const std::vector<std::byte>*>, 3> sections{
      {{SectionType::code, &code},
       {SectionType::arguments, &arguments},
       {SectionType::name, &name}}};

  const std::uint32_t table_end = kHeaderSize + kSectionEntrySize * sections.size();
  std::vector<std::byte> file;
  ByteWriter writer(file);
  std::uint32_t next_offset = table_end;
  const auto file_size =
      static_cast<std::uint32_t>(table_end + code.size() + arguments.size() + name.size());
  writer.u32(kMagic);
  writer.u16(kFormatVersionMajor);
  writer.u16(kFormatVersionMinor);
  writer.u32(kHeaderSize);
  writer.u32(0);
  writer.u32(image.isa_version);
  writer.u32(file_size);
  writer.u32(static_cast<std::uint32_t>(sections.size()));
  writer.u32(0);  // checksum, filled in last
  for (const auto& [type, bytes] : sections) {
    writer.u32(static_cast<std::uint32_t>(type));
    writer.u32(0);
    writer.u32(next_offset);
    writer.u32(static_cast<std::uint32_t>(bytes->size()));
    next_offset += static_cast<std::uint32_t>(bytes->size());
  }
  for (const auto& section : sections) {
    writer.bytes(*section.second);
  }
  ByteWriter::put_u32(std::span(file).subspan(kChecksumOffset, 4), checksum_of(file));
  return file;
}

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

void write_kernel_file(const std::string& path, const KernelImage& image) {
  const std::vector<std::byte> bytes = serialize(image);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) {
    throw std::system_error(errno, std::generic_category(), "cannot write " + path);
  }
}

}  // namespace npu
