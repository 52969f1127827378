// npu-run's command-line pieces: sizes, buffer/scalar/fill specs, hexdump.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "hexdump.hpp"
#include "launch_options.hpp"

namespace {

using npu_run::parse_buffer_spec;
using npu_run::parse_fill_spec;
using npu_run::parse_number;
using npu_run::parse_scalar_spec;
using npu_run::parse_size;

TEST(NpuRunOptions, NumbersAndSizes) {
  EXPECT_EQ(parse_number("4096"), 4096U);
  EXPECT_EQ(parse_number("0x1000"), 4096U);
  EXPECT_EQ(parse_size("4K"), 4096U);
  EXPECT_EQ(parse_size("2M"), 2U << 20);
  EXPECT_EQ(parse_size("1g"), 1U << 30);
  EXPECT_EQ(parse_size("0x10K"), 16U << 10);
  for (const char* bad :
       {"", "x", "12x", "-1", "K", "0x", "99999999999999999999", "17179869184G"}) {
    EXPECT_THROW(parse_size(bad), std::invalid_argument) << bad;
  }
}

TEST(NpuRunOptions, BufferSpecs) {
  const npu_run::BufferSpec host = parse_buffer_spec("dst=4096");
  EXPECT_EQ(host.name, "dst");
  EXPECT_EQ(host.size, 4096U);
  EXPECT_EQ(host.placement, npu::MemoryPlacement::host);
  const npu_run::BufferSpec device = parse_buffer_spec("w=2M@device");
  EXPECT_EQ(device.size, 2U << 20);
  EXPECT_EQ(device.placement, npu::MemoryPlacement::device);
  EXPECT_EQ(parse_buffer_spec("x=1@host").placement, npu::MemoryPlacement::host);
  for (const char* bad : {"dst", "=4096", "dst=0", "dst=4096@gpu", "dst=", "dst=4k@"}) {
    EXPECT_THROW(parse_buffer_spec(bad), std::invalid_argument) << bad;
  }
}

TEST(NpuRunOptions, ScalarAndFillSpecs) {
  EXPECT_EQ(parse_scalar_spec("bytes=0x10").value, 16U);
  EXPECT_EQ(parse_scalar_spec("bytes=4K").value, 4096U);
  EXPECT_EQ(parse_fill_spec("src=0xa5").byte, 0xa5);
  EXPECT_THROW(parse_fill_spec("src=256"), std::invalid_argument);
  EXPECT_THROW(parse_scalar_spec("bytes"), std::invalid_argument);
}

TEST(NpuRunOptions, InputSpecs) {
  const npu_run::InputSpec npy = npu_run::parse_input_spec("x=data/x.npy");
  EXPECT_EQ(npy.name, "x");
  EXPECT_EQ(npy.path, "data/x.npy");
  EXPECT_TRUE(npy.npy);
  EXPECT_EQ(npy.placement, npu::MemoryPlacement::host);
  const npu_run::InputSpec raw = npu_run::parse_input_spec("w=w@2.bin@device");
  EXPECT_EQ(raw.path, "w@2.bin");
  EXPECT_FALSE(raw.npy);
  EXPECT_EQ(raw.placement, npu::MemoryPlacement::device);
  for (const char* bad : {"x", "=x.npy", "x=", "x=@device"}) {
    EXPECT_THROW(npu_run::parse_input_spec(bad), std::invalid_argument) << bad;
  }
}

TEST(NpuRunOptions, OutputSpecs) {
  const npu_run::OutputSpec typed = npu_run::parse_output_spec("y=out/y.npy:fp32:4x64");
  EXPECT_EQ(typed.name, "y");
  EXPECT_EQ(typed.path, "out/y.npy");
  ASSERT_TRUE(typed.header);
  EXPECT_EQ(typed.header->type, npu_tools::NpyType::float32);
  EXPECT_EQ(typed.header->shape, (std::vector<std::uint64_t>{4, 64}));
  EXPECT_EQ(typed.size(), 4U * 64 * 4);
  const npu_run::OutputSpec inherited = npu_run::parse_output_spec("y=y.npy");
  EXPECT_TRUE(inherited.npy);
  EXPECT_FALSE(inherited.header);
  EXPECT_FALSE(inherited.size());
  EXPECT_EQ(npu_run::parse_output_spec("y=y.bin:1K").size(), 1024U);
  EXPECT_FALSE(npu_run::parse_output_spec("y=y.bin").size());
  EXPECT_EQ(npu_run::parse_output_spec("y=y.npy:int8:3").header->shape,
            std::vector<std::uint64_t>{3});
  for (const char* bad : {"y", "y=", "y=y.npy:fp32", "y=y.npy:fp64:4", "y=y.npy:fp32:4x0",
                          "y=y.npy:fp32:4x", "y=y.npy:fp32:x4", "y=y.bin:0", "y=y.bin:1:2",
                          "y=y.npy:fp32:4294967296x4294967296", "y=:4"}) {
    EXPECT_ANY_THROW(npu_run::parse_output_spec(bad)) << bad;
  }
}

std::string dump(const std::vector<std::byte>& bytes) {
  std::FILE* out = std::tmpfile();
  npu_run::hexdump(out, bytes);
  std::rewind(out);
  std::string text;
  for (int c = std::fgetc(out); c != EOF; c = std::fgetc(out)) {
    text += static_cast<char>(c);
  }
  std::fclose(out);
  return text;
}

TEST(NpuRunHexdump, LinesAsciiAndRepeats) {
  std::vector<std::byte> bytes(40, std::byte{0xa5});
  bytes[0] = std::byte{'K'};
  bytes[39] = std::byte{'!'};
  EXPECT_EQ(dump(bytes),
            "00000000  4b a5 a5 a5 a5 a5 a5 a5  a5 a5 a5 a5 a5 a5 a5 a5  |K...............|\n"
            "00000010  a5 a5 a5 a5 a5 a5 a5 a5  a5 a5 a5 a5 a5 a5 a5 a5  |................|\n"
            "00000020  a5 a5 a5 a5 a5 a5 a5 21                           |.......!|\n"
            "00000028\n");
  EXPECT_EQ(dump(std::vector<std::byte>(64, std::byte{0})),
            "00000000  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  |................|\n"
            "*\n"
            "00000040\n");
}

}  // namespace
