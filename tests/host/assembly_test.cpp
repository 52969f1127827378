// The assembler and disassembler: canonical text round trips exactly, and
// every error names its line and column.
#include "npu/assembly.hpp"

#include <gtest/gtest.h>

#include <bit>

#include "npu/kernel_builder.hpp"

namespace {

constexpr std::string_view kCanonical = R"(.kernel everything
.arg buffer a
.arg buffer b
.arg buffer c
.arg buffer bias
.arg scalar n
.arg scalar scale

    nop
    dma_fill @a, @n, 0xa5a5a5a5
    dma_copy @b, @a, 4096
    barrier
    sem_signal [add] @c, 1
    sem_wait @c, 2
    timestamp @c
    gemm.fp32 [trans_a, bias, act=relu] @a, @b, @c, @bias, 16, 16, 16, 16, 16, 16, 1, 0
    gemm.int8 [out_int32] @a, @b, @c, 0, @n, 16, 16, 16, 16, 16, @scale, 0
    gemm.int8 [bias, per_channel] @a, @b, @c, @bias, 16, 16, 16, 16, 16, 16, @a, 253
    conv2d.bf16 [act=gelu] @a, @b, 0, @c, 1, 3, 32, 32, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 0.125, 0
    pool2d.fp16 [mode=avg_pad] @a, @b, 1, 3, 32, 32, 2, 2, 2, 2, 0, 0
    eltwise.int32 [op=min] @a, @b, @c, @n, 1
    activation.fp32 [act=tanh] @a, @b, @n
    softmax.fp32 @a, @b, 4, 128
    layernorm.bf16 @a, @b, @c, @bias, 4, 128, 1e-05
    rmsnorm.fp16 @a, @b, @c, 4, 128, -0
    reduce.fp32 [op=sum] @a, @b, 1, 128, 1
    transpose.int8 @a, @b, 1, 65535, 0x10000
)";

TEST(Assembly, CanonicalTextRoundTripsExactly) {
  const npu::KernelImage image = npu::assemble(kCanonical);
  EXPECT_EQ(image.name, "everything");
  EXPECT_EQ(image.arguments.size(), 6U);
  EXPECT_EQ(npu::disassemble(image), kCanonical);
}

TEST(Assembly, ImagesRoundTripThroughText) {
  npu::KernelBuilder b("fill_copy");
  auto dst = b.arg_buffer("dst");
  auto src = b.arg_buffer("src");
  auto bytes = b.arg_scalar("bytes");
  b.dma_fill(src, bytes, 0xA5A5A5A5).dma_copy(dst, src, bytes);
  const npu::KernelImage image = b.build();
  EXPECT_EQ(npu::assemble(npu::disassemble(image)), image);
}

TEST(Assembly, FloatImmediatesRoundTripBitExactly) {
  for (std::uint32_t bits : {0x3f800000U, 0x80000000U, 0x00000001U, 0x7f7fffffU, 0x7f800000U,
                             0xff800000U, 0x7fc00001U, 0x3dcccccdU}) {
    npu::KernelBuilder b("floats");
    auto in = b.arg_buffer("in");
    auto out = b.arg_buffer("out");
    b.emit({npu::isa::Opcode::rmsnorm,
            npu::isa::DataType::fp32,
            0,
            {npu::isa::Operand::argument(in.slot), npu::isa::Operand::argument(out.slot),
             npu::isa::Operand::argument(in.slot), npu::isa::Operand::immediate(1),
             npu::isa::Operand::immediate(1), npu::isa::Operand::immediate(bits)}});
    const npu::KernelImage image = b.build();
    const std::string text = npu::disassemble(image);
    EXPECT_EQ(npu::assemble(text), image) << text;
  }
}

TEST(Assembly, AcceptsCommentsHexAndNumberedArguments) {
  const npu::KernelImage image = npu::assemble(R"(
; a comment line
.kernel   k        # trailing comment
.arg buffer dst
.arg scalar bytes
  dma_fill @0, @1, 0XFF   ; numbered slots
)");
  EXPECT_EQ(image.program, (std::vector<std::uint32_t>{0x0003'0002, 0, 0b011, 0, 1, 0xff}));
}

struct BadSource {
  std::string_view name;
  std::string_view source;
  std::size_t line;
  std::size_t column;
  std::string_view reason;
};

void PrintTo(const BadSource& bad, std::ostream* out) {
  *out << bad.name;
}

class AssemblyErrors : public testing::TestWithParam<BadSource> {};

TEST_P(AssemblyErrors, NameLineColumnAndReason) {
  const BadSource& bad = GetParam();
  try {
    npu::assemble(bad.source);
    FAIL() << "assembled: " << bad.source;
  } catch (const npu::AssemblyError& e) {
    EXPECT_EQ(e.line(), bad.line) << e.what();
    EXPECT_EQ(e.column(), bad.column) << e.what();
    EXPECT_NE(e.reason().find(bad.reason), std::string::npos) << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, AssemblyErrors,
    testing::Values(
        BadSource{"UnknownMnemonic", ".kernel k\n  dma_fil\n", 2, 3, "unknown mnemonic 'dma_fil'"},
        BadSource{"UnknownDtype", ".kernel k\n.arg buffer d\nsoftmax.fp8 @d, @d, 1, 1\n", 3, 9,
                  "unknown data type 'fp8'"},
        BadSource{"DtypeNotAllowed", ".kernel k\n.arg buffer d\nsoftmax.int8 @d, @d, 1, 1\n", 3, 1,
                  "does not take data type int8"},
        BadSource{"MissingDtype", ".kernel k\n.arg buffer d\nsoftmax @d, @d, 1, 1\n", 3, 1,
                  "needs a data type"},
        BadSource{"OperandCount", ".kernel k\n.arg buffer d\ndma_fill @d, 1\n", 3, 10,
                  "takes 3 operands, got 2"},
        BadSource{"BadNumber", ".kernel k\n.arg buffer d\ndma_fill @d, 12x, 0\n", 3, 14,
                  "'12x' is not a 32-bit unsigned number"},
        BadSource{"NumberTooLarge", ".kernel k\n.arg buffer d\ndma_fill @d, 4294967296, 0\n", 3, 14,
                  "not a 32-bit"},
        BadSource{"BadFloat", ".kernel k\n.arg buffer d\nrmsnorm.fp32 @d, @d, @d, 1, 1, x\n", 3, 32,
                  "is not a float"},
        BadSource{"UndeclaredArgument", ".kernel k\n.arg buffer d\ndma_fill @e, 1, 0\n", 3, 10,
                  "undeclared argument '@e'"},
        BadSource{"SlotOutOfRange", ".kernel k\n.arg buffer d\ndma_fill @1, 1, 0\n", 3, 10,
                  "undeclared argument '@1'"},
        BadSource{"AddressImmediate", ".kernel k\n.arg buffer d\ndma_fill 4096, 1, 0\n", 3, 10,
                  "must be an argument"},
        BadSource{"ScalarAsAddress", ".kernel k\n.arg scalar n\ndma_fill @n, 1, 0\n", 3, 10,
                  "'@n' is a scalar argument"},
        BadSource{"BufferAsValue", ".kernel k\n.arg buffer d\ndma_fill @d, @d, 0\n", 3, 14,
                  "'@d' is a buffer argument"},
        BadSource{"UnknownFlag",
                  ".kernel k\n.arg scalar n\n.arg buffer d\ndma_copy [fast] @d, @d, 1\n", 4, 11,
                  "has no flag 'fast'"},
        BadSource{"FlagNeedsValue",
                  ".kernel k\n.arg buffer d\neltwise.fp32 [op] @d, @d, @d, 1, 1\n", 3, 15,
                  "needs a value"},
        BadSource{"FlagBadValue",
                  ".kernel k\n.arg buffer d\neltwise.fp32 [op=exp] @d, @d, @d, 1, 1\n", 3, 18,
                  "'exp' is not a value of flag 'op'"},
        BadSource{"FlagTwice", ".kernel k\n.arg buffer d\nsem_signal [add, add] @d, 1\n", 3, 18,
                  "given twice"},
        BadSource{"SwitchWithValue", ".kernel k\n.arg buffer d\nsem_signal [add=1] @d, 1\n", 3, 13,
                  "takes no value"},
        BadSource{"UnclosedFlags", ".kernel k\n.arg buffer d\nsem_signal [add @d, 1\n", 3, 12,
                  "without ']'"},
        BadSource{"ActivationNeedsAct", ".kernel k\n.arg buffer d\nactivation.fp32 @d, @d, 1\n", 3,
                  1, "act=0 has no meaning"},
        BadSource{"BiasWithoutFlag",
                  ".kernel k\n.arg buffer d\ngemm.fp32 @d, @d, @d, @d, 1, 1, 1, 1, 1, 1, 1, 0\n", 3,
                  1, "must be immediate 0 without the bias flag"},
        BadSource{"UnknownDirective", ".kernel k\n.args buffer d\n", 2, 1,
                  "unknown directive '.args'"},
        BadSource{"BadArgKind", ".kernel k\n.arg pointer d\n", 2, 6, "neither buffer nor scalar"},
        BadSource{"BadArgName", ".kernel k\n.arg buffer 9d\n", 2, 13, "invalid argument name '9d'"},
        BadSource{"DuplicateArg", ".kernel k\n.arg buffer d\n.arg scalar d\n", 3, 13,
                  "declared twice"},
        BadSource{"SecondKernel", ".kernel k\n.kernel j\n", 2, 1, "a second .kernel"},
        BadSource{"BadKernelName", ".kernel k-1\n", 1, 9, "invalid kernel name 'k-1'"},
        BadSource{"MissingKernel", ".arg buffer d\nnop\n", 3, 1, "missing .kernel"},
        BadSource{"NoInstructions", ".kernel k\n.arg buffer d\n", 3, 1, "no instructions"}),
    [](const testing::TestParamInfo<BadSource>& param_info) {
      return std::string(param_info.param.name);
    });

}  // namespace

TEST(Assembly, ConstantsAndMacros) {
  const npu::KernelImage expanded = npu::assemble(R"(
.kernel twice
.arg buffer dst
.arg buffer src
.arg scalar bytes
.equ PATTERN, 0x5a5a5a5a
.macro fill_then_copy to, from
    dma_fill @\from, @bytes, PATTERN
    dma_copy @\to, @\from, @bytes
.endm
    fill_then_copy dst, src
    fill_then_copy src, dst
)");
  const npu::KernelImage written = npu::assemble(R"(
.kernel twice
.arg buffer dst
.arg buffer src
.arg scalar bytes
    dma_fill @src, @bytes, 0x5a5a5a5a
    dma_copy @dst, @src, @bytes
    dma_fill @dst, @bytes, 0x5a5a5a5a
    dma_copy @src, @dst, @bytes
)");
  EXPECT_EQ(expanded, written);
}

TEST(Assembly, MacroAndConstantErrors) {
  const auto line_of = [](std::string_view source) -> std::size_t {
    try {
      static_cast<void>(npu::assemble(source));
    } catch (const npu::AssemblyError& e) {
      return e.line();
    }
    return 0;
  };
  EXPECT_EQ(line_of(".kernel k\n.arg buffer d\n.macro m a\n    dma_fill @\\a, 4, 0\n"), 3U)
      << "a macro without .endm: the line of its .macro";
  EXPECT_EQ(line_of(".kernel k\n.arg buffer d\n.macro m a\n    dma_fill @\\a, 4, 0\n.endm\n  m\n"),
            6U)
      << "a use with the wrong number of arguments";
  EXPECT_EQ(line_of(".kernel k\n.macro m\n  m\n.endm\n  m\n"), 5U) << "a macro that uses itself";
  EXPECT_EQ(line_of(".kernel k\n.equ A, 1\n.equ A, 2\n"), 3U) << "a constant defined twice";
}

TEST(Assembly, ScalarTypesRoundTripThroughText) {
  const std::string text =
      ".kernel norm\n.arg buffer in\n.arg buffer out\n.arg buffer gamma\n.arg scalar rows int\n"
      ".arg scalar eps float\n\n    rmsnorm.fp32 @in, @out, @gamma, @rows, 8, @eps\n";
  const npu::KernelImage image = npu::assemble(text);
  EXPECT_EQ(image.arguments[4].info.scalar, npu::ScalarKind::float32);
  EXPECT_EQ(image.arguments[3].info.scalar, npu::ScalarKind::integer);
  EXPECT_EQ(npu::disassemble(image), text);
  EXPECT_EQ(npu::parse_kernel_binary(npu::serialize(image)), image);
  EXPECT_THROW(npu::assemble(".kernel k\n.arg buffer d float\n    dma_fill @d, 4, 0\n"),
               npu::AssemblyError);
}
