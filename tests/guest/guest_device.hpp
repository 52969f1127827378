// What the in-guest suites share: the device under test, the numbers the
// spec's defaults (or the harness, through NPU_EXPECT_* variables) promise,
// and small kernels and raw programs.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "npu/npu.hpp"

namespace guest {

// Expected device configuration: hw-spec defaults unless the harness started
// the device with other properties and says so in NPU_EXPECT_CORES,
// NPU_EXPECT_QUEUES or NPU_EXPECT_DEVMEM_MIB.
struct Expected {
  std::uint32_t cores;
  std::uint32_t queues;
  std::uint64_t devmem_bytes;
};
Expected expected_configuration();

// dma_fill(src, bytes, pattern); barrier; dma_copy(dst, src, bytes).
npu::KernelImage fill_copy_kernel();
// dma_fill(dst, bytes, pattern).
npu::KernelImage fill_kernel();

// Arguments of a fill_copy_kernel() job over two new buffers of `size`
// bytes, which are added to `buffers` (the caller keeps them).
npu::KernelArguments fill_copy_arguments(const npu::Device& device, const npu::Kernel& kernel,
                                         std::vector<npu::Buffer>& buffers, std::uint64_t size,
                                         std::uint64_t bytes, std::uint32_t pattern);

// Byte i of a buffer filled with `pattern` (hw-spec 7.4, DMA_FILL).
constexpr std::byte pattern_byte(std::uint32_t pattern, std::size_t i) {
  return static_cast<std::byte>((pattern >> (8 * (i % 4))) & 0xff);
}

// Index of the first byte of `bytes[0, count)` that is not the pattern, or -1.
std::ptrdiff_t first_mismatch(std::span<const std::byte> bytes, std::size_t count,
                              std::uint32_t pattern);

// A program written word by word into a buffer of its own, for jobs the
// library would refuse to build (malformed instructions).
struct RawProgram {
  npu::Buffer buffer;
  std::uint32_t size;
};
RawProgram upload_words(const npu::Device& device, const std::vector<std::uint32_t>& words);

// Opens visible device 0 for each test.
class DeviceTest : public testing::Test {
 protected:
  void SetUp() override;

  std::optional<npu::Device> device_;
  const npu::Device& device() const { return *device_; }
};

}  // namespace guest
