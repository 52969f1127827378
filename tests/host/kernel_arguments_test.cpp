// Argument tables and buffer lists built from typed arguments.
#include "npu/kernel_arguments.hpp"

#include <gtest/gtest.h>

#include "npu/kernel_builder.hpp"

namespace {

npu::ArgumentLayout layout() {
  return npu::ArgumentLayout({{npu::SlotKind::buffer, "dst"},
                              {npu::SlotKind::scalar, "bytes"},
                              {npu::SlotKind::buffer, "src"},
                              {npu::SlotKind::buffer, "also_dst"}});
}

constexpr npu::BufferBinding kDst{7, 0x1'0000'0000, 8192};
constexpr npu::BufferBinding kSrc{3, 0x1'0010'0000, 4096};

TEST(KernelArguments, FillsTheTableInSlotOrder) {
  npu::KernelArguments args(layout());
  args.set("src", kSrc).set("bytes", 4096).set("dst", kDst).set("also_dst", kDst, 4096);
  EXPECT_EQ(args.table(),
            (std::vector<std::uint64_t>{0x1'0000'0000, 4096, 0x1'0010'0000, 0x1'0000'1000}));
}

TEST(KernelArguments, BufferListIsSortedAndUnique) {
  npu::KernelArguments args(layout());
  args.set("src", kSrc).set("bytes", 1).set("dst", kDst).set("also_dst", kDst);
  EXPECT_EQ(args.buffer_handles(), (std::vector<std::uint32_t>{3, 7}));
}

TEST(KernelArguments, ScalarsKeepAll64Bits) {
  npu::KernelArguments args(npu::ArgumentLayout({{npu::SlotKind::scalar, "x"}}));
  args.set("x", 0xffff'ffff'ffff'fffeULL);
  EXPECT_EQ(args.table(), (std::vector<std::uint64_t>{0xffff'ffff'ffff'fffeULL}));
  EXPECT_TRUE(args.buffer_handles().empty());
}

TEST(KernelArguments, ResettingASlotReplacesIt) {
  npu::KernelArguments args(layout());
  args.set("src", kSrc).set("bytes", 1).set("dst", kSrc).set("also_dst", kSrc);
  args.set("dst", kDst);
  EXPECT_EQ(args.table()[0], kDst.device_address);
  EXPECT_EQ(args.buffer_handles(), (std::vector<std::uint32_t>{3, 7}));
}

TEST(KernelArguments, UnsetSlotsAreNamed) {
  npu::KernelArguments args(layout());
  args.set("dst", kDst);
  try {
    static_cast<void>(args.table());
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "arguments not set: bytes, src, also_dst");
  }
}

TEST(KernelArguments, RejectsWrongKindsNamesAndOffsets) {
  npu::KernelArguments args(layout());
  EXPECT_THROW(args.set("bytes", kDst), std::invalid_argument);
  EXPECT_THROW(args.set("dst", 42), std::invalid_argument);
  EXPECT_THROW(args.set("nothing", 42), std::invalid_argument);
  EXPECT_THROW(args.set("dst", kDst, 8192), std::invalid_argument);
  EXPECT_NO_THROW(args.set("dst", kDst, 8191));
}

TEST(KernelArguments, EmptyLayoutGivesAnEmptyTable) {
  const npu::KernelArguments args{npu::ArgumentLayout{}};
  EXPECT_TRUE(args.table().empty());
  EXPECT_TRUE(args.buffer_handles().empty());
}

TEST(ArgumentLayout, RejectsBadAndDuplicateNames) {
  npu::ArgumentLayout slots;
  EXPECT_EQ(slots.add(npu::SlotKind::buffer, "a"), 0U);
  EXPECT_EQ(slots.add(npu::SlotKind::scalar, "_b9"), 1U);
  EXPECT_THROW(slots.add(npu::SlotKind::buffer, "a"), std::invalid_argument);
  EXPECT_THROW(slots.add(npu::SlotKind::buffer, "9a"), std::invalid_argument);
  EXPECT_THROW(slots.add(npu::SlotKind::buffer, ""), std::invalid_argument);
  EXPECT_THROW(slots.add(npu::SlotKind::buffer, std::string(65, 'x')), std::invalid_argument);
  EXPECT_NO_THROW(slots.add(npu::SlotKind::buffer, std::string(64, 'x')));
  EXPECT_EQ(slots.find("_b9"), 1U);
  EXPECT_FALSE(slots.find("c"));
}

}  // namespace

namespace {

npu::KernelImage fill_with_float_scalar() {
  npu::KernelBuilder b("k");
  auto dst = b.arg_buffer("dst");
  auto bytes = b.arg_scalar("bytes");
  auto epsilon = b.arg_scalar("epsilon");
  auto unused = b.arg_scalar("unused");
  static_cast<void>(unused);
  b.dma_fill(dst, bytes, 0)
      .emit({npu::isa::Opcode::rmsnorm,
             npu::isa::DataType::fp32,
             0,
             {npu::isa::Operand::argument(dst.slot), npu::isa::Operand::argument(dst.slot),
              npu::isa::Operand::argument(dst.slot), npu::isa::Operand::immediate(1),
              npu::isa::Operand::immediate(1), npu::isa::Operand::argument(epsilon.slot)}});
  return b.build();
}

TEST(ValueSlots, MarkSlotsReadAsValueOperands) {
  EXPECT_EQ(npu::value_slots(fill_with_float_scalar()),
            (std::vector<bool>{false, true, false, false}));
}

TEST(KernelArguments, ValueSlotsMustFit32Bits) {
  const npu::KernelImage image = fill_with_float_scalar();
  npu::KernelArguments args(image.arguments, npu::value_slots(image));
  EXPECT_NO_THROW(args.set("bytes", 0xffff'ffffULL));
  try {
    args.set("bytes", 0x1'0000'0000ULL);
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(),
                 "argument 'bytes': 4294967296 does not fit the 32-bit value operand it feeds");
  }
  EXPECT_NO_THROW(args.set("epsilon", 0x1'0000'0000ULL)) << "float operands take the low 32 bits";
  EXPECT_NO_THROW(args.set("unused", ~0ULL));
  EXPECT_THROW(npu::KernelArguments(image.arguments, {true}), std::invalid_argument);
}

}  // namespace
