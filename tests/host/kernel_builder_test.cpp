// KernelBuilder: typed emitters produce the instructions the spec defines.
#include "npu/kernel_builder.hpp"

#include <gtest/gtest.h>

#include "npu/assembly.hpp"
#include "npu/device.hpp"

namespace {

using npu::isa::DataType;

TEST(KernelBuilder, BuildsTheFillCopyKernel) {
  npu::KernelBuilder b("fill_copy");
  auto dst = b.arg_buffer("dst");
  auto src = b.arg_buffer("src");
  auto bytes = b.arg_scalar("bytes");
  b.dma_fill(src, bytes, 0xA5A5A5A5).dma_copy(dst, src, bytes);
  const npu::KernelImage image = b.build();
  EXPECT_EQ(image.name, "fill_copy");
  EXPECT_EQ(image.arguments.size(), 3U);
  EXPECT_EQ(image.program, (std::vector<std::uint32_t>{0x0003'0002, 0, 0b011, 1, 2, 0xa5a5a5a5,
                                                       0x0003'0001, 0, 0b111, 0, 1, 2}));
}

TEST(KernelBuilder, GemmSetsFlagsFromOperands) {
  npu::KernelBuilder b("gemm");
  auto a = b.arg_buffer("a");
  auto w = b.arg_buffer("w");
  auto c = b.arg_buffer("c");
  auto bias = b.arg_buffer("bias");
  auto scale = b.arg_scalar("scale");
  b.gemm(DataType::int8, {.a = a,
                          .b = w,
                          .c = c,
                          .bias = bias,
                          .m = 4,
                          .n = 8,
                          .k = 16,
                          .lda = 16,
                          .ldb = 8,
                          .ldc = 8,
                          .transpose_b = true,
                          .activation = npu::Activation::relu,
                          .scale = scale,
                          .zero_point = 3});
  const npu::KernelImage image = b.build();
  ASSERT_EQ(image.program.size(), 15U);
  EXPECT_EQ(image.program[0], 0x000c'0410U);                       // gemm, int8, 12 operands
  EXPECT_EQ(image.program[1], (1U << 1) | (1U << 2) | (1U << 4));  // trans_b, bias, relu
  EXPECT_EQ(image.program[2], 0b0100'0000'1111U);                  // a, b, c, bias, scale
}

TEST(KernelBuilder, FloatImmediatesAreBitPatterns) {
  npu::KernelBuilder b("norm");
  auto x = b.arg_buffer("x");
  b.emit({npu::isa::Opcode::rmsnorm,
          DataType::fp32,
          0,
          {npu::isa::Operand::argument(x.slot), npu::isa::Operand::argument(x.slot),
           npu::isa::Operand::argument(x.slot), npu::isa::Operand::immediate(1),
           npu::isa::Operand::immediate(8), npu::FloatValue(1.0F).operand()}});
  EXPECT_EQ(b.build().program.back(), 0x3f80'0000U);
}

TEST(KernelBuilder, RejectsInvalidInstructionsWhenAdded) {
  npu::KernelBuilder b("bad");
  auto x = b.arg_buffer("x");
  EXPECT_THROW(b.activation(DataType::fp32, npu::Activation::none, x, x, 4), std::invalid_argument);
  EXPECT_THROW(b.activation(DataType::int8, npu::Activation::gelu, x, x, 4), std::invalid_argument);
  EXPECT_THROW(b.eltwise(DataType::none, npu::EltwiseOp::add, x, x, x, 4, 4),
               std::invalid_argument);
  EXPECT_THROW(b.arg_scalar("x"), std::invalid_argument);
  EXPECT_THROW(b.build(), npu::KernelFormatError);  // no instructions yet
  b.activation(DataType::int8, npu::Activation::relu, x, x, 4);
  EXPECT_NO_THROW(b.build());
}

}  // namespace

namespace {

// The typed emitters and the assembler are two ways to the same words.
TEST(KernelBuilder, ComputeEmittersMatchTheAssembler) {
  npu::KernelBuilder b("compute");
  auto x = b.arg_buffer("x");
  auto w = b.arg_buffer("w");
  auto bias = b.arg_buffer("bias");
  auto y = b.arg_buffer("y");
  auto n = b.arg_scalar("n");
  b.conv2d(DataType::bf16, {.input = x,
                            .weight = w,
                            .output = y,
                            .bias = bias,
                            .n = 1,
                            .c = 3,
                            .h = 32,
                            .w = 32,
                            .k = 8,
                            .r = 3,
                            .s = 3,
                            .pad_h = 1,
                            .pad_w = 1,
                            .activation = npu::Activation::silu,
                            .scale = 0.5F})
      .pool2d(DataType::fp16, {.input = x,
                               .output = y,
                               .n = 1,
                               .c = 8,
                               .h = 32,
                               .w = 32,
                               .kernel_h = 2,
                               .kernel_w = 2,
                               .stride_h = 2,
                               .stride_w = 2,
                               .mode = npu::PoolMode::average_with_padding})
      .softmax(DataType::fp32, x, y, n, 64)
      .layernorm(DataType::fp32, x, y, w, bias, n, 64, 1e-5F)
      .rmsnorm(DataType::fp16, x, y, w, n, 64, 1e-6F)
      .reduce(DataType::int32, npu::ReduceOp::max, x, y, 1, n, 1)
      .transpose(DataType::int8, x, y, 1, 16, 32)
      .eltwise(DataType::fp32, npu::EltwiseOp::div, x, w, y, n, 1)
      .activation(DataType::bf16, npu::Activation::sigmoid, x, y, n);
  const npu::KernelImage built = b.build();
  const npu::KernelImage assembled = npu::assemble(R"(.kernel compute
.arg buffer x
.arg buffer w
.arg buffer bias
.arg buffer y
.arg scalar n

    conv2d.bf16 [bias, act=silu] @x, @w, @bias, @y, 1, 3, 32, 32, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 0.5, 0
    pool2d.fp16 [mode=avg_pad] @x, @y, 1, 8, 32, 32, 2, 2, 2, 2, 0, 0
    softmax.fp32 @x, @y, @n, 64
    layernorm.fp32 @x, @y, @w, @bias, @n, 64, 1e-05
    rmsnorm.fp16 @x, @y, @w, @n, 64, 1e-06
    reduce.int32 [op=max] @x, @y, 1, @n, 1
    transpose.int8 @x, @y, 1, 16, 32
    eltwise.fp32 [op=div] @x, @w, @y, @n, 1
    activation.bf16 [act=sigmoid] @x, @y, @n
)");
  EXPECT_EQ(built, assembled);
  EXPECT_EQ(npu::disassemble(built), npu::disassemble(assembled));
}

// Per-channel requantization: the scale operand becomes the scales buffer.
TEST(KernelBuilder, ChannelScalesSetPerChannel) {
  npu::KernelBuilder b("int8");
  auto a = b.arg_buffer("a");
  auto w = b.arg_buffer("w");
  auto c = b.arg_buffer("c");
  auto scales = b.arg_buffer("scales");
  b.gemm(DataType::int8, {.a = a,
                          .b = w,
                          .c = c,
                          .m = 4,
                          .n = 8,
                          .k = 16,
                          .lda = 16,
                          .ldb = 8,
                          .ldc = 8,
                          .channel_scales = scales,
                          .zero_point = 3U})
      .conv2d(DataType::int8, {.input = a,
                               .weight = w,
                               .output = c,
                               .n = 1,
                               .c = 3,
                               .h = 8,
                               .w = 8,
                               .k = 4,
                               .r = 3,
                               .s = 3,
                               .activation = npu::Activation::relu,
                               .channel_scales = scales});
  const npu::KernelImage assembled = npu::assemble(R"(.kernel int8
.arg buffer a
.arg buffer w
.arg buffer c
.arg buffer scales

    gemm.int8 [per_channel] @a, @w, @c, 0, 4, 8, 16, 16, 8, 8, @scales, 3
    conv2d.int8 [act=relu, per_channel] @a, @w, 0, @c, 1, 3, 8, 8, 4, 3, 3, 1, 1, 0, 0, 1, 1, 1, @scales, 0
)");
  EXPECT_EQ(b.build(), assembled);
}

// v1.1 emitters: the same words as the assembler, and the kernel declares
// ISA 1.1 only once it uses a v1.1 opcode.
TEST(KernelBuilder, V11EmittersMatchTheAssemblerAndDeclareTheVersion) {
  npu::KernelBuilder b("v11");
  auto x = b.arg_buffer("x");
  auto w = b.arg_buffer("w");
  auto bias = b.arg_buffer("bias");
  auto y = b.arg_buffer("y");
  auto n = b.arg_scalar("n");
  b.activation(DataType::fp32, npu::Activation::relu, x, y, n);
  EXPECT_EQ(b.build().isa_version, npu::isa::kIsaVersion1_0);
  b.resize(DataType::fp32, {.input = x,
                            .output = y,
                            .n = 1,
                            .c = 8,
                            .h = 16,
                            .w = 16,
                            .out_h = 32,
                            .out_w = 32,
                            .scale_h = 2.0F,
                            .scale_w = 2.0F,
                            .coordinates = npu::ResizeCoordinates::asymmetric,
                            .rounding = npu::NearestRounding::floor})
      .conv_transpose(DataType::fp16, {.input = x,
                                       .weight = w,
                                       .output = y,
                                       .bias = bias,
                                       .n = 1,
                                       .c = 8,
                                       .h = 32,
                                       .w = 32,
                                       .k = 4,
                                       .r = 2,
                                       .s = 2,
                                       .stride_h = 2,
                                       .stride_w = 2,
                                       .output_pad_h = 1,
                                       .activation = npu::Activation::relu})
      .activation_param(DataType::bf16, npu::ParamActivation::hardswish, x, y, n, 1.0F / 6, 0.5F)
      .copy_strided(DataType::int8, {.dst = y,
                                     .src = x,
                                     .sizes = {2U, 3U, 4U, n},
                                     .src_strides = {60U, 5U, 1U, 20U},
                                     .dst_strides = {60U, 15U, 3U, 1U}})
      .gemm_batched(DataType::fp32, {.a = x,
                                     .b = w,
                                     .c = y,
                                     .m = 64,
                                     .n = 64,
                                     .k = 32,
                                     .lda = 32,
                                     .ldb = 32,
                                     .ldc = 64,
                                     .batch = 8,
                                     .stride_a = 2048U,
                                     .stride_b = 0U,
                                     .stride_c = 4096U,
                                     .transpose_b = true,
                                     .scale = 0.125F});
  const npu::KernelImage built = b.build();
  EXPECT_EQ(built.isa_version, npu::isa::kIsaVersion1_1);
  const npu::KernelImage assembled = npu::assemble(R"(.kernel v11
.arg buffer x
.arg buffer w
.arg buffer bias
.arg buffer y
.arg scalar n

    activation.fp32 [act=relu] @x, @y, @n
    resize.fp32 [mode=nearest, coord=asymmetric, round=floor] @x, @y, 1, 8, 16, 16, 32, 32, 2, 2
    conv_transpose.fp16 [bias, act=relu] @x, @w, @bias, @y, 1, 8, 32, 32, 4, 2, 2, 2, 2, 0, 0, 1, 0, 1, 1, 1
    activation_param.bf16 [func=hardswish] @x, @y, @n, 0.16666667, 0.5
    copy_strided.int8 @y, @x, 2, 3, 4, @n, 60, 5, 1, 20, 60, 15, 3, 1
    gemm_batched.fp32 [trans_b] @x, @w, @y, 0, 64, 64, 32, 32, 32, 64, 0.125, 8, 2048, 0, 4096
)");
  EXPECT_EQ(built, assembled);
  EXPECT_EQ(npu::disassemble(built), npu::disassemble(assembled));
}

// CONVERT (v1.2): the builder's words are the assembler's, the kernel
// declares ISA 1.2, and a v1.1 device (no CONVERT bit) refuses it.
TEST(KernelBuilder, ConvertMatchesTheAssemblerAndNeedsAV12Device) {
  npu::KernelBuilder b("convert");
  auto x = b.arg_buffer("x");
  auto q = b.arg_buffer("q");
  auto s = b.arg_buffer("s");
  b.convert(DataType::fp32, DataType::int8, {.input = x, .output = q, .count = 96, .scale = 2.0F})
      .convert(
          DataType::int32, DataType::bf16,
          {.input = x, .output = q, .count = 96, .channel_scales = s, .channels = 4, .inner = 8});
  const npu::KernelImage assembled = npu::assemble(
      ".kernel convert\n.arg buffer x\n.arg buffer q\n.arg buffer s\n"
      "convert.fp32 [to=int8] @x, @q, 96, 0, 0, 2.0\n"
      "convert.int32 [to=bf16, per_channel] @x, @q, 96, 4, 8, @s\n");
  EXPECT_EQ(b.build(), assembled);
  EXPECT_EQ(b.build().isa_version, npu::isa::kIsaVersion1_2);

  npu::DeviceProperties v11;
  v11.hw_version = npu::isa::kIsaVersion1_1;
  v11.dtypes.set();
  for (const npu::isa::OpcodeInfo& op : npu::isa::opcode_table()) {
    v11.ops.set(static_cast<std::size_t>(op.opcode), op.isa_version <= npu::isa::kIsaVersion1_1);
  }
  try {
    npu::check_supported(b.build(), v11);
    FAIL();
  } catch (const npu::KernelFormatError& e) {
    EXPECT_EQ(e.code(), npu::KernelErrc::unsupported_by_device);
    EXPECT_NE(std::string(e.what()).find("uses convert (ISA v1.2)"), std::string::npos) << e.what();
  }
}

// CONVERT to INT32 (v1.7, hw-spec 7.4.7): assembled as `to=int32`, the
// kernel declares ISA 1.7, and a v1.6 device, which has the CONVERT bit,
// refuses it at load.
TEST(KernelBuilder, ConvertToInt32NeedsAV17Device) {
  npu::KernelBuilder b("truncate");
  auto x = b.arg_buffer("x");
  auto y = b.arg_buffer("y");
  b.convert(DataType::fp16, DataType::int32, {.input = x, .output = y, .count = 32});
  const npu::KernelImage built = b.build();
  EXPECT_EQ(built, npu::assemble(".kernel truncate\n.arg buffer x\n.arg buffer y\n"
                                 "convert.fp16 [to=int32] @x, @y, 32, 0, 0, 1.0\n"));
  EXPECT_EQ(built.isa_version, npu::isa::kIsaVersion1_7);
  EXPECT_EQ(npu::assemble(npu::disassemble(built)), built);

  npu::DeviceProperties v16;
  v16.hw_version = npu::isa::kIsaVersion1_6;
  v16.dtypes.set();
  for (const npu::isa::OpcodeInfo& op : npu::isa::opcode_table()) {
    v16.ops.set(static_cast<std::size_t>(op.opcode));
  }
  try {
    npu::check_supported(built, v16);
    FAIL();
  } catch (const npu::KernelFormatError& e) {
    EXPECT_EQ(e.code(), npu::KernelErrc::unsupported_by_device);
    EXPECT_NE(std::string(e.what()).find("of ISA v1.7"), std::string::npos) << e.what();
  }
  npu::DeviceProperties v17 = v16;
  v17.hw_version = npu::isa::kIsaVersion1_7;
  EXPECT_NO_THROW(npu::check_supported(built, v17));
}

// v1.5's ACTIVATION_PARAM functions and SOFTMAX log (hw-spec 7.4.5): the
// builder's words are the assembler's and round-trip through the
// disassembler, the kernel declares ISA 1.5 (a flag value, not an opcode),
// a kernel declaring 1.4 with them is invalid, and a v1.4 device, which has
// every opcode bit, refuses them at load.
TEST(KernelBuilder, V15FunctionsAndLogSoftmaxNeedAV15Device) {
  npu::KernelBuilder b("v15");
  auto x = b.arg_buffer("x");
  auto y = b.arg_buffer("y");
  using npu::ParamActivation;
  for (ParamActivation function :
       {ParamActivation::log, ParamActivation::softplus, ParamActivation::mish,
        ParamActivation::gelu_tanh, ParamActivation::abs, ParamActivation::round}) {
    b.activation_param(DataType::fp32, function, x, y, 64, 0.0F, 0.0F);
  }
  b.log_softmax(DataType::bf16, x, y, 4, 16);
  const npu::KernelImage assembled = npu::assemble(R"(.kernel v15
.arg buffer x
.arg buffer y
    activation_param.fp32 [func=log] @x, @y, 64, 0, 0
    activation_param.fp32 [func=softplus] @x, @y, 64, 0, 0
    activation_param.fp32 [func=mish] @x, @y, 64, 0, 0
    activation_param.fp32 [func=gelu_tanh] @x, @y, 64, 0, 0
    activation_param.fp32 [func=abs] @x, @y, 64, 0, 0
    activation_param.fp32 [func=round] @x, @y, 64, 0, 0
    softmax.bf16 [log] @x, @y, 4, 16
)");
  const npu::KernelImage built = b.build();
  EXPECT_EQ(built, assembled);
  EXPECT_EQ(built.isa_version, npu::isa::kIsaVersion1_5);
  EXPECT_EQ(npu::assemble(npu::disassemble(built)), built);
  EXPECT_NE(npu::disassemble(built).find("softmax.bf16 [log]"), std::string::npos)
      << npu::disassemble(built);

  npu::KernelImage declares_v14 = built;
  declares_v14.isa_version = npu::isa::kIsaVersion1_4;
  try {
    npu::validate(declares_v14);
    FAIL();
  } catch (const npu::KernelFormatError& e) {
    EXPECT_EQ(e.code(), npu::KernelErrc::unsupported_isa);
    EXPECT_NE(std::string(e.what()).find("activation_param needs ISA version 0x00010005"),
              std::string::npos)
        << e.what();
  }

  npu::DeviceProperties v14;
  v14.hw_version = npu::isa::kIsaVersion1_4;
  v14.dtypes.set();
  for (const npu::isa::OpcodeInfo& op : npu::isa::opcode_table()) {
    v14.ops.set(static_cast<std::size_t>(op.opcode));
  }
  try {
    npu::check_supported(built, v14);
    FAIL();
  } catch (const npu::KernelFormatError& e) {
    EXPECT_EQ(e.code(), npu::KernelErrc::unsupported_by_device);
    EXPECT_NE(std::string(e.what()).find("activation_param flags 0x7 of ISA v1.5"),
              std::string::npos)
        << e.what();
  }
  npu::DeviceProperties v15 = v14;
  v15.hw_version = npu::isa::kIsaVersion1_5;
  EXPECT_NO_THROW(npu::check_supported(built, v15));
}

// GATHER (v1.3): the builder's words are the assembler's, the kernel
// declares ISA 1.3, and a v1.2 device (no GATHER bit) refuses it.
TEST(KernelBuilder, GatherMatchesTheAssemblerAndNeedsAV13Device) {
  npu::KernelBuilder b("embed");
  auto table = b.arg_buffer("table");
  auto ids = b.arg_buffer("ids");
  auto out = b.arg_buffer("out");
  b.gather(
       DataType::fp32,
       {.table = table, .indices = ids, .output = out, .rows = 1000, .row_elems = 64, .count = 8})
      .gather(DataType::int8, {.table = table,
                               .indices = ids,
                               .output = out,
                               .rows = 7,
                               .row_elems = 3,
                               .count = 2,
                               .index_type = npu::IndexType::int32});
  const npu::KernelImage assembled = npu::assemble(
      ".kernel embed\n.arg buffer table\n.arg buffer ids\n.arg buffer out\n"
      "gather.fp32 [index_int64] @table, @ids, @out, 1000, 64, 8\n"
      "gather.int8 @table, @ids, @out, 7, 3, 2\n");
  EXPECT_EQ(b.build(), assembled);
  EXPECT_EQ(b.build().isa_version, npu::isa::kIsaVersion1_3);

  npu::DeviceProperties v12;
  v12.hw_version = npu::isa::kIsaVersion1_2;
  v12.dtypes.set();
  for (const npu::isa::OpcodeInfo& op : npu::isa::opcode_table()) {
    v12.ops.set(static_cast<std::size_t>(op.opcode), op.isa_version <= npu::isa::kIsaVersion1_2);
  }
  try {
    npu::check_supported(b.build(), v12);
    FAIL();
  } catch (const npu::KernelFormatError& e) {
    EXPECT_EQ(e.code(), npu::KernelErrc::unsupported_by_device);
    EXPECT_NE(std::string(e.what()).find("uses gather (ISA v1.3)"), std::string::npos) << e.what();
  }
}

// COMPARE and SELECT (v1.4): the builder's words are the assembler's, the
// kernel declares ISA 1.4, and a v1.3 device (no OPS bits 32, 33) refuses it.
TEST(KernelBuilder, CompareAndSelectMatchTheAssemblerAndNeedAV14Device) {
  npu::KernelBuilder b("mask");
  auto ids = b.arg_buffer("ids");
  auto zero = b.arg_buffer("zero");
  auto padded = b.arg_buffer("padded");
  auto lowest = b.arg_buffer("lowest");
  auto scores = b.arg_buffer("scores");
  auto out = b.arg_buffer("out");
  b.compare(DataType::int32, npu::CompareOp::eq, ids, zero, padded, 128, 1)
      .compare(DataType::bf16, npu::CompareOp::ge, scores, lowest, padded, 8, 8)
      .select(DataType::fp32, {.condition = padded,
                               .x = lowest,
                               .y = scores,
                               .output = out,
                               .count = 8192,
                               .condition_count = 128,
                               .x_count = 1,
                               .y_count = 8192});
  const npu::KernelImage assembled = npu::assemble(
      ".kernel mask\n.arg buffer ids\n.arg buffer zero\n.arg buffer padded\n"
      ".arg buffer lowest\n.arg buffer scores\n.arg buffer out\n"
      "compare.int32 [op=eq] @ids, @zero, @padded, 128, 1\n"
      "compare.bf16 [op=ge] @scores, @lowest, @padded, 8, 8\n"
      "select.fp32 @padded, @lowest, @scores, @out, 8192, 128, 1, 8192\n");
  EXPECT_EQ(b.build(), assembled);
  EXPECT_EQ(b.build().isa_version, npu::isa::kIsaVersion1_4);

  npu::DeviceProperties v13;
  v13.hw_version = npu::isa::kIsaVersion1_3;
  v13.dtypes.set();
  for (const npu::isa::OpcodeInfo& op : npu::isa::opcode_table()) {
    v13.ops.set(static_cast<std::size_t>(op.opcode), op.isa_version <= npu::isa::kIsaVersion1_3);
  }
  try {
    npu::check_supported(b.build(), v13);
    FAIL();
  } catch (const npu::KernelFormatError& e) {
    EXPECT_EQ(e.code(), npu::KernelErrc::unsupported_by_device);
    EXPECT_NE(std::string(e.what()).find("uses compare (ISA v1.4)"), std::string::npos) << e.what();
  }
}

// The v1.5 fused activations (hw-spec 7.4.5): the builder's words are the
// assembler's, the kernel declares v1.5 though its opcodes are v1.0's, a
// kernel declaring v1.4 is malformed, and a v1.4 device (every opcode bit
// set) refuses it by its HW_VERSION.
TEST(KernelBuilder, V15FusedActivationsNeedTheVersionAndTheDevice) {
  npu::KernelBuilder b("hard");
  auto x = b.arg_buffer("x");
  auto w = b.arg_buffer("w");
  auto y = b.arg_buffer("y");
  b.gemm(DataType::fp32, {.a = x,
                          .b = w,
                          .c = y,
                          .m = 4,
                          .n = 8,
                          .k = 16,
                          .lda = 16,
                          .ldb = 8,
                          .ldc = 8,
                          .activation = npu::Activation::hardswish})
      .conv2d(DataType::fp16, {.input = x,
                               .weight = w,
                               .output = y,
                               .n = 1,
                               .c = 8,
                               .h = 4,
                               .w = 4,
                               .k = 8,
                               .r = 1,
                               .s = 1,
                               .activation = npu::Activation::relu6})
      .activation(DataType::bf16, npu::Activation::hardsigmoid, x, y, 64);
  const npu::KernelImage assembled = npu::assemble(
      ".kernel hard\n.arg buffer x\n.arg buffer w\n.arg buffer y\n"
      "gemm.fp32 [act=hardswish] @x, @w, @y, 0, 4, 8, 16, 16, 8, 8, 1.0, 0\n"
      "conv2d.fp16 [act=relu6] @x, @w, 0, @y, 1, 8, 4, 4, 8, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1.0, 0\n"
      "activation.bf16 [act=hardsigmoid] @x, @y, 64\n");
  EXPECT_EQ(b.build(), assembled);
  EXPECT_EQ(b.build().isa_version, npu::isa::kIsaVersion1_5);

  npu::KernelImage declares_v14 = b.build();
  declares_v14.isa_version = npu::isa::kIsaVersion1_4;
  try {
    npu::validate(declares_v14);
    FAIL();
  } catch (const npu::KernelFormatError& e) {
    EXPECT_EQ(e.code(), npu::KernelErrc::unsupported_isa);
    EXPECT_NE(std::string(e.what()).find("gemm needs ISA version 0x00010005"), std::string::npos)
        << e.what();
  }

  npu::DeviceProperties device;
  device.dtypes.set();
  for (const npu::isa::OpcodeInfo& op : npu::isa::opcode_table()) {
    device.ops.set(static_cast<std::size_t>(op.opcode));
  }
  device.hw_version = npu::isa::kIsaVersion1_5;
  EXPECT_NO_THROW(npu::check_supported(b.build(), device));
  device.hw_version = npu::isa::kIsaVersion1_4;
  try {
    npu::check_supported(b.build(), device);
    FAIL();
  } catch (const npu::KernelFormatError& e) {
    EXPECT_EQ(e.code(), npu::KernelErrc::unsupported_by_device);
    EXPECT_NE(std::string(e.what()).find("of ISA v1.5, which the device"), std::string::npos)
        << e.what();
  }
}

// A kernel that declares v1.0 but uses a v1.1 opcode is malformed, and a
// device whose OPS lack a v1.1 opcode refuses the kernel, naming the op.
TEST(KernelBuilder, V11KernelsNeedTheVersionAndTheDevice) {
  npu::KernelBuilder b("resize_only");
  auto x = b.arg_buffer("x");
  auto y = b.arg_buffer("y");
  b.resize(DataType::fp32, {.input = x,
                            .output = y,
                            .n = 1,
                            .c = 1,
                            .h = 4,
                            .w = 4,
                            .out_h = 8,
                            .out_w = 8,
                            .mode = npu::ResizeMode::linear});
  npu::KernelImage image = b.build();
  image.isa_version = npu::isa::kIsaVersion1_0;
  try {
    npu::validate(image);
    FAIL();
  } catch (const npu::KernelFormatError& e) {
    EXPECT_EQ(e.code(), npu::KernelErrc::unsupported_isa);
    EXPECT_NE(std::string(e.what()).find("resize needs ISA version 0x00010001"), std::string::npos)
        << e.what();
  }

  // A v1.0 device: every v1.1 opcode bit clear.
  npu::DeviceProperties v10;
  v10.hw_version = npu::isa::kIsaVersion1_0;
  v10.dtypes.set();
  for (const npu::isa::OpcodeInfo& op : npu::isa::opcode_table()) {
    v10.ops.set(static_cast<std::size_t>(op.opcode), op.isa_version == npu::isa::kIsaVersion1_0);
  }
  try {
    npu::check_supported(b.build(), v10);
    FAIL();
  } catch (const npu::KernelFormatError& e) {
    EXPECT_EQ(e.code(), npu::KernelErrc::unsupported_by_device);
    EXPECT_NE(std::string(e.what()).find("uses resize (ISA v1.1)"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("hw version 1.0"), std::string::npos) << e.what();
  }
  v10.ops.set(static_cast<std::size_t>(npu::isa::Opcode::resize));
  EXPECT_NO_THROW(npu::check_supported(b.build(), v10));
}

}  // namespace
