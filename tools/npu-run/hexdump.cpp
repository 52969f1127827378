#include "hexdump.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <string>

namespace npu_run {
namespace {

constexpr std::size_t kLineBytes = 16;

std::string format_line(std::size_t offset, std::span<const std::byte> line) {
  std::string text = fmt::format("{:08x} ", offset);
  std::string ascii;
  for (std::size_t i = 0; i < kLineBytes; ++i) {
    text += i == kLineBytes / 2 ? " " : "";
    if (i < line.size()) {
      const auto value = std::to_integer<unsigned char>(line[i]);
      text += fmt::format(" {:02x}", value);
      ascii += value >= 0x20 && value < 0x7f ? static_cast<char>(value) : '.';
    } else {
      text += "   ";
    }
  }
  return text + "  |" + ascii + "|";
}

}  // namespace

void hexdump(std::FILE* out, std::span<const std::byte> bytes) {
  bool skipping = false;
  for (std::size_t offset = 0; offset < bytes.size(); offset += kLineBytes) {
    const std::span<const std::byte> line =
        bytes.subspan(offset, std::min(kLineBytes, bytes.size() - offset));
    const bool repeats = offset >= kLineBytes && line.size() == kLineBytes &&
                         std::ranges::equal(line, bytes.subspan(offset - kLineBytes, kLineBytes));
    if (repeats) {
      if (!skipping) {
        fmt::print(out, "*\n");
      }
      skipping = true;
      continue;
    }
    skipping = false;
    fmt::print(out, "{}\n", format_line(offset, line));
  }
  fmt::print(out, "{:08x}\n", bytes.size());
}

}  // namespace npu_run
