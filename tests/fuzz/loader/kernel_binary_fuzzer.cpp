// libFuzzer target: arbitrary bytes through libnpu's kernel binary loader
// (docs/kernel-binary.md). Built with clang, -fsanitize=fuzzer,address,undefined
// (tests/fuzz/loader/CMakeLists.txt); run by `make fuzz-loader` and, briefly,
// by the CTest test host.fuzz-loader.
//
// What counts as a finding, besides a sanitizer report:
//  - any exception other than KernelFormatError escaping the parsers (the
//    loader's contract: bad input is a KernelFormatError, nothing else);
//  - an image the parser accepted that validate() rejects, that does not
//    survive serialize() -> parse unchanged, or whose disassembly does not
//    assemble back to the same program and layout.
//
// A CRC-32 guards every file, so random mutations almost never get past the
// header. Each input is therefore parsed twice: as given, and with the
// header's file size and checksum made to match, which lets the fuzzer reach
// the section table, the sections and the instruction decoder.
#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <vector>

#include "npu/assembly.hpp"
#include "npu/kernel_image.hpp"
#include "npu/kernel_module.hpp"

namespace {

// docs/kernel-binary.md, "Header": the fields the fix-up rewrites.
constexpr std::size_t kHeaderSize = 32;
constexpr std::size_t kFileSizeOffset = 20;
constexpr std::size_t kChecksumOffset = 28;

void put_u32(std::vector<std::byte>& file, std::size_t offset, std::uint32_t value) {
  for (std::size_t i = 0; i < 4; ++i) {
    file[offset + i] = static_cast<std::byte>(value >> (8 * i));
  }
}

// CRC-32 of the file with the checksum field read as zero, computed here with
// zlib rather than with libnpu's helper, so that a bug there is not masked.
std::uint32_t crc_with_zero_field(std::vector<std::byte> file) {
  put_u32(file, kChecksumOffset, 0);
  return static_cast<std::uint32_t>(crc32(crc32(0, nullptr, 0),
                                          reinterpret_cast<const Bytef*>(file.data()),
                                          static_cast<uInt>(file.size())));
}

[[noreturn]] void finding(const char* what) {
  std::fprintf(stderr, "kernel_binary_fuzzer: %s\n", what);
  std::abort();
}

void check_accepted_image(const npu::KernelImage& image) {
  try {
    npu::validate(image);
  } catch (const npu::KernelFormatError& e) {
    std::fprintf(stderr, "validate: %s\n", e.what());
    finding("the parser accepted an image that validate() rejects");
  }
  if (npu::parse_kernel_binary(npu::serialize(image)) != image) {
    finding("serialize() -> parse_kernel_binary() changed the image");
  }
  const npu::KernelImage again = npu::assemble(npu::disassemble(image));
  if (again.name != image.name || again.program != image.program ||
      again.arguments.size() != image.arguments.size()) {
    finding("disassemble() -> assemble() changed the kernel");
  }
}

void load(std::span<const std::byte> file) {
  try {
    check_accepted_image(npu::parse_kernel_binary(file));
  } catch (const npu::KernelFormatError&) {
    // Rejected with the loader's error: what must happen to bad input.
  }
  try {
    const npu::KernelModule module = npu::parse_kernel_module(file);
    if (module.kernels.empty()) {
      finding("parse_kernel_module() accepted a module without kernels");
    }
    if (npu::parse_kernel_module(npu::serialize(module)) != module) {
      finding("serialize() -> parse_kernel_module() changed the module");
    }
  } catch (const npu::KernelFormatError&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> file(reinterpret_cast<const std::byte*>(data), size);
  load(file);
  if (size >= kHeaderSize) {
    std::vector<std::byte> fixed(file.begin(), file.end());
    put_u32(fixed, kFileSizeOffset, static_cast<std::uint32_t>(size));
    put_u32(fixed, kChecksumOffset, crc_with_zero_field(fixed));
    load(fixed);
  }
  return 0;
}
