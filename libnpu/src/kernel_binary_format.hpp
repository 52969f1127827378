// The kernel binary file format 1.0 (docs/kernel-binary.md): layout
// constants and what the writer and the reader share.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace npu::kernel_binary {

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

std::string_view section_name(SectionType type);
// CRC-32 of `file` with the checksum field read as zero.
std::uint32_t checksum_of(std::span<const std::byte> file);

}  // namespace npu::kernel_binary
