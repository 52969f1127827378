// The kernel binary file format 1.0 and 1.1 (docs/kernel-binary.md): layout
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
constexpr std::uint32_t kMaxSections = 16;          // format 1.0
constexpr std::uint32_t kMaxModuleSections = 4096;  // format 1.1
constexpr std::size_t kChecksumOffset = 28;
constexpr std::uint32_t kArgumentInfoSize = 16;  // per slot
constexpr std::uint32_t kLineEntrySize = 8;

// Section flags in 1.1 (all zero in 1.0).
constexpr std::uint32_t kSectionOptional = 1U << 0;  // a reader that does not know it skips it
constexpr std::uint32_t kSectionKernelShift = 16;    // bits 31:16: the kernel of the module
constexpr std::uint32_t kSectionDefinedFlags = kSectionOptional | 0xffff'0000U;

enum class SectionType : std::uint32_t {
  code = 1,
  arguments = 2,
  name = 3,
  argument_info = 4,  // 1.1, optional
  requirements = 5,   // 1.1, required
  workspace = 6,      // 1.1, optional
  constants = 7,      // 1.1, required, one per constant slot
  lines = 8,          // 1.1, optional
};
constexpr std::uint32_t kLastKnownSection = 8;

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
  std::uint32_t kernel = 0;  // index in the module
};

std::string_view section_name(SectionType type);
// CRC-32 of `file` with the checksum field read as zero.
std::uint32_t checksum_of(std::span<const std::byte> file);

}  // namespace npu::kernel_binary
