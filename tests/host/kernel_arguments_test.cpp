// Argument tables and buffer lists built from typed arguments.
#include "npu/kernel_arguments.hpp"

#include <gtest/gtest.h>

#include <bit>

#include "npu/device.hpp"
#include "npu/errors.hpp"
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

namespace {

// rmsnorm reads `eps` as a float operand and `rows`/`cols` as value operands.
npu::KernelImage rmsnorm_kernel() {
  npu::KernelBuilder b("norm");
  const auto in = b.arg_buffer("in");
  const auto out = b.arg_buffer("out");
  const auto gamma = b.arg_buffer("gamma");
  const auto rows = b.arg_scalar("rows");
  const auto cols = b.arg_scalar("cols");
  const auto eps = b.arg_scalar("eps");
  b.rmsnorm(npu::isa::DataType::fp32, in, out, gamma, rows, cols, eps);
  return b.build();
}

npu::KernelArguments rmsnorm_arguments() {
  const npu::KernelImage image = rmsnorm_kernel();
  npu::ArgumentLayout layout = image.arguments;
  const std::vector<npu::ScalarKind> kinds = npu::scalar_kinds(image);
  for (std::size_t slot = 0; slot < layout.size(); ++slot) {
    layout.set_info(slot, {.scalar = kinds[slot]});
  }
  return npu::KernelArguments(layout, npu::value_slots(image));
}

}  // namespace

TEST(KernelArguments, ScalarKindsComeFromTheOperandsThatReadThem) {
  EXPECT_EQ(
      npu::scalar_kinds(rmsnorm_kernel()),
      (std::vector<npu::ScalarKind>{npu::ScalarKind::unspecified, npu::ScalarKind::unspecified,
                                    npu::ScalarKind::unspecified, npu::ScalarKind::integer,
                                    npu::ScalarKind::integer, npu::ScalarKind::float32}));
}

TEST(KernelArguments, AFloatSlotTakesTheBinary32Bits) {
  npu::KernelArguments args = rmsnorm_arguments();
  args.set("eps", 0.75F);
  args.set(args.index_of("rows"), 1).set("cols", 4).set("in", kSrc).set("out", kDst);
  args.set("gamma", kSrc);
  EXPECT_EQ(args.table()[5], 0x3f40'0000U);  // 0.75f
  args.set("eps", 1e-5);                     // a double is narrowed to binary32
  EXPECT_EQ(args.table()[5], std::bit_cast<std::uint32_t>(1e-5F));
}

TEST(KernelArguments, FloatAndIntegerSlotsRefuseTheOtherKind) {
  npu::KernelArguments args = rmsnorm_arguments();
  // The bug this prevents: a float converted to an integer slot value, 0.
  EXPECT_THROW(args.set("eps", 1), std::invalid_argument);
  EXPECT_THROW(args.set("rows", 0.5F), std::invalid_argument);
  EXPECT_THROW(args.set("in", 0.5F), std::invalid_argument);
  EXPECT_FALSE(args.complete());
}

TEST(KernelArguments, ByIndexIsTheSameAsByName) {
  npu::KernelArguments by_name(layout());
  npu::KernelArguments by_index(layout());
  by_name.set("dst", kDst).set("bytes", 64).set("src", kSrc).set("also_dst", kDst, 8);
  by_index.set(by_index.index_of("dst"), kDst)
      .set(1U, std::uint64_t{64})
      .set("src", kSrc)
      .set("also_dst", kDst, 8);
  EXPECT_EQ(by_name.table(), by_index.table());
  EXPECT_THROW(by_index.set(4U, std::uint64_t{1}), std::invalid_argument);
  EXPECT_THROW(static_cast<void>(by_index.index_of("nope")), std::invalid_argument);
}

TEST(KernelImage, RequirementsAreTheOpcodesAndDataTypesUsed) {
  const npu::KernelRequirements needs = npu::requirements(rmsnorm_kernel());
  EXPECT_EQ(needs.ops, 1ULL << static_cast<unsigned>(npu::isa::Opcode::rmsnorm));
  EXPECT_EQ(needs.dtypes, 1ULL << static_cast<unsigned>(npu::isa::DataType::fp32));
}

TEST(KernelImage, DeclaredScalarKindsMustMatchTheProgram) {
  npu::KernelImage image = rmsnorm_kernel();
  image.arguments.set_info(5, {.scalar = npu::ScalarKind::integer});
  try {
    npu::validate(image);
    FAIL();
  } catch (const npu::KernelFormatError& e) {
    EXPECT_EQ(e.code(), npu::KernelErrc::argument_mismatch);
    EXPECT_NE(std::string(e.what()).find("'eps' is declared integer but read as float"),
              std::string::npos)
        << e.what();
  }
  image.arguments.set_info(5, {.scalar = npu::ScalarKind::float32});
  EXPECT_NO_THROW(npu::validate(image));
  image.arguments.set_info(0, {.scalar = npu::ScalarKind::float32});
  EXPECT_THROW(npu::validate(image), npu::KernelFormatError);
}

TEST(KernelImage, ADeviceWithoutAnOpcodeCannotLoadAKernelThatUsesIt) {
  npu::DeviceProperties properties;
  properties.ops.set();
  properties.dtypes.set();
  EXPECT_NO_THROW(npu::check_supported(rmsnorm_kernel(), properties));
  properties.ops.reset(static_cast<std::size_t>(npu::isa::Opcode::rmsnorm));
  try {
    npu::check_supported(rmsnorm_kernel(), properties);
    FAIL();
  } catch (const npu::KernelFormatError& e) {
    EXPECT_EQ(e.code(), npu::KernelErrc::unsupported_by_device);
    EXPECT_EQ(e.code(), npu::errc::not_supported);
    EXPECT_EQ(e.code(), npu::errc::invalid_kernel);
    EXPECT_NE(std::string(e.what()).find("uses rmsnorm (ISA v1.0)"), std::string::npos) << e.what();
  }
  properties.ops.set();
  properties.dtypes.reset(static_cast<std::size_t>(npu::isa::DataType::fp32));
  EXPECT_THROW(npu::check_supported(rmsnorm_kernel(), properties), npu::KernelFormatError);
}
