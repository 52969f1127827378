// NumPy .npy files (format versions 1.0, 2.0 and 3.0), for the tensors the
// tools read and write (npu-run binds them to a kernel's buffers, npu-infer
// to a model's inputs and outputs):
// https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
//
// Only what the device computes on is accepted: little-endian float32,
// float16, int8, uint8 and int32, int64 (the indices GATHER reads: a
// model's token ids) and bool (a mask, one byte 0 or 1), in C (row-major)
// order, as the device's tensors are
// row-major. Anything else is refused with the reason (NpyError), never
// reinterpreted.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace npu_tools {

class NpyError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class NpyType : std::uint8_t { float32, float16, int8, uint8, int32, int64, boolean, float64 };

// "float32", ...; the names --output accepts, also as the ISA's fp32/fp16/int8/int32.
std::string_view name(NpyType type);
NpyType parse_npy_type(std::string_view text);  // throws NpyError
std::size_t element_size(NpyType type);

struct NpyHeader {
  NpyType type = NpyType::float32;
  std::vector<std::uint64_t> shape;  // empty: a scalar (one element)
  bool fortran_order = false;

  [[nodiscard]] std::uint64_t element_count() const;  // throws NpyError on overflow
  [[nodiscard]] std::uint64_t data_size() const;      // bytes
};

struct NpyArray {
  NpyHeader header;
  std::vector<std::byte> data;  // header.data_size() bytes, little-endian
};

// Parses a whole file's bytes; throws NpyError naming what is wrong.
NpyArray parse_npy(std::span<const std::byte> file);
// The header (magic, version, dict) and the data, as NumPy's own np.save
// writes it (version 1.0, header padded to a multiple of 64 bytes).
std::vector<std::byte> serialize_npy(const NpyHeader& header, std::span<const std::byte> data);

// File helpers; errors name the path.
NpyArray read_npy_file(const std::filesystem::path& path);
void write_npy_file(const std::filesystem::path& path, const NpyHeader& header,
                    std::span<const std::byte> data);

}  // namespace npu_tools
