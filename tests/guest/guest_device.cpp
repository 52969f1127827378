#include "guest_device.hpp"

#include <cstdlib>
#include <string>

namespace guest {
namespace {

std::uint64_t from_environment(const char* name, std::uint64_t fallback) {
  const char* text = std::getenv(name);
  return text == nullptr ? fallback : std::stoull(text);
}

}  // namespace

Expected expected_configuration() {
  constexpr std::uint64_t kMiB = 1 << 20;
  return {static_cast<std::uint32_t>(from_environment("NPU_EXPECT_CORES", 4)),
          static_cast<std::uint32_t>(from_environment("NPU_EXPECT_QUEUES", 16)),
          from_environment("NPU_EXPECT_DEVMEM_MIB", 256) * kMiB};
}

npu::KernelImage fill_copy_kernel() {
  npu::KernelBuilder b("fill_copy");
  auto dst = b.arg_buffer("dst");
  auto src = b.arg_buffer("src");
  auto bytes = b.arg_scalar("bytes");
  auto pattern = b.arg_scalar("pattern");
  b.dma_fill(src, bytes, pattern).barrier().dma_copy(dst, src, bytes);
  return b.build();
}

npu::KernelArguments fill_copy_arguments(const npu::Device& device, const npu::Kernel& kernel,
                                         std::vector<npu::Buffer>& buffers, std::uint64_t size,
                                         std::uint64_t bytes, std::uint32_t pattern) {
  buffers.push_back(device.allocate(size));
  buffers.push_back(device.allocate(size));
  npu::KernelArguments args = kernel.make_arguments();
  args.set("dst", buffers[buffers.size() - 2])
      .set("src", buffers.back())
      .set("bytes", bytes)
      .set("pattern", pattern);
  return args;
}

npu::KernelImage fill_kernel() {
  npu::KernelBuilder b("fill");
  auto dst = b.arg_buffer("dst");
  auto bytes = b.arg_scalar("bytes");
  auto pattern = b.arg_scalar("pattern");
  b.dma_fill(dst, bytes, pattern);
  return b.build();
}

std::ptrdiff_t first_mismatch(std::span<const std::byte> bytes, std::size_t count,
                              std::uint32_t pattern) {
  for (std::size_t i = 0; i < count; ++i) {
    if (bytes[i] != pattern_byte(pattern, i)) {
      return static_cast<std::ptrdiff_t>(i);
    }
  }
  return -1;
}

RawProgram upload_words(const npu::Device& device, const std::vector<std::uint32_t>& words) {
  npu::Buffer buffer = device.allocate(words.size() * 4);
  std::span<std::uint32_t> program = buffer.map_as<std::uint32_t>();
  std::ranges::copy(words, program.begin());  // the guest is little-endian, as the device
  return {std::move(buffer), static_cast<std::uint32_t>(words.size() * 4)};
}

void DeviceTest::SetUp() {
  ASSERT_FALSE(npu::enumerate_devices().empty()) << "no knpu device in the guest";
  device_.emplace(npu::Device::open(0));
}

}  // namespace guest
