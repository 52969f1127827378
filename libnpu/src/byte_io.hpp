// Little-endian reading and writing of byte buffers, independent of the host's
// byte order. The reader never reads past its span: callers check remaining()
// first, and a read past the end throws std::out_of_range.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <vector>

namespace npu {

class ByteReader {
 public:
  explicit ByteReader(std::span<const std::byte> bytes) : bytes_(bytes) {}

  [[nodiscard]] std::size_t remaining() const { return bytes_.size() - position_; }

  std::uint8_t u8() { return static_cast<std::uint8_t>(take(1)[0]); }
  std::uint16_t u16() { return static_cast<std::uint16_t>(little_endian(take(2))); }
  std::uint32_t u32() { return static_cast<std::uint32_t>(little_endian(take(4))); }
  std::uint64_t u64() { return little_endian(take(8)); }
  std::span<const std::byte> bytes(std::size_t count) { return take(count); }

 private:
  std::span<const std::byte> take(std::size_t count) {
    if (count > remaining()) {
      throw std::out_of_range("ByteReader: read past the end");
    }
    const std::span<const std::byte> taken = bytes_.subspan(position_, count);
    position_ += count;
    return taken;
  }

  static std::uint64_t little_endian(std::span<const std::byte> bytes) {
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < bytes.size(); ++i) {
      value |= std::uint64_t{std::to_integer<std::uint8_t>(bytes[i])} << (8 * i);
    }
    return value;
  }

  std::span<const std::byte> bytes_;
  std::size_t position_ = 0;
};

class ByteWriter {
 public:
  explicit ByteWriter(std::vector<std::byte>& out) : out_(out) {}

  void u8(std::uint8_t value) { out_.push_back(std::byte{value}); }
  void u16(std::uint16_t value) { put(value, 2); }
  void u32(std::uint32_t value) { put(value, 4); }
  void u64(std::uint64_t value) { put(value, 8); }
  void bytes(std::span<const std::byte> bytes) {
    out_.insert(out_.end(), bytes.begin(), bytes.end());
  }

  static void put_u32(std::span<std::byte> at, std::uint32_t value) {
    for (std::size_t i = 0; i < 4; ++i) {
      at[i] = static_cast<std::byte>((value >> (8 * i)) & 0xff);
    }
  }

 private:
  void put(std::uint64_t value, std::size_t size) {
    for (std::size_t i = 0; i < size; ++i) {
      out_.push_back(static_cast<std::byte>((value >> (8 * i)) & 0xff));
    }
  }

  std::vector<std::byte>& out_;
};

}  // namespace npu
