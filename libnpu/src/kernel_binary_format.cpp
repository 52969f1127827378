#include "kernel_binary_format.hpp"

#include <zlib.h>

#include <array>

namespace npu::kernel_binary {

std::string_view section_name(SectionType type) {
  switch (type) {
    case SectionType::code:
      return "code";
    case SectionType::arguments:
      return "arguments";
    case SectionType::name:
      return "name";
    case SectionType::argument_info:
      return "argument info";
    case SectionType::requirements:
      return "requirements";
    case SectionType::workspace:
      return "workspace";
    case SectionType::constants:
      return "constants";
    case SectionType::lines:
      return "lines";
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

}  // namespace npu::kernel_binary
