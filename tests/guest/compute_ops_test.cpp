// Every compute instruction of hw-spec 7.4, in every data type the spec
// defines for it, on random data through libnpu and knpu.ko, against a
// reference written here as plain loops in double precision. The tolerances
// are compute_support's per dtype unless a test says why it differs. An op
// or dtype the device does not advertise in OPS / DTYPES is skipped with the
// reason.
#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>

#include "compute_support.hpp"

namespace guest {
namespace {

using npu::Activation;
using npu::isa::Opcode;

constexpr unsigned kSeed = 20261202;

class ComputeOp : public DeviceTest, public testing::WithParamInterface<DataType> {
 protected:
  DataType dtype() const { return GetParam(); }
  bool is_int8() const { return dtype() == DataType::int8; }
  std::mt19937 rng_{kSeed};
};

// Inputs of a float dtype in [-1, 1], of INT8 over its whole range.
std::vector<double> operand(std::mt19937& rng, DataType dtype, std::size_t count) {
  return dtype == DataType::int8 ? random_values(rng, dtype, count, -128, 127)
                                 : random_values(rng, dtype, count, -1, 1);
}

// The type bias and INT32 outputs have for an input type (hw-spec 7.4 GEMM).
DataType bias_type(DataType dtype) {
  return dtype == DataType::int8 ? DataType::int32 : dtype;
}

// The epilogue GEMM and CONV2D share: bias, activation, scale, and for INT8
// requantization (or the INT32 accumulator with OUT_INT32).
struct Epilogue {
  Activation act = Activation::none;
  float scale = 1.0F;
  int zero_point = 0;
  bool int32_output = false;

  double apply(DataType dtype, double acc, double bias) const {
    if (dtype != DataType::int8) {
      return activate(act, scale * acc + bias);
    }
    const double v = activate(act, acc + bias);
    return int32_output ? v : requantize(v, scale, zero_point);
  }
  DataType output_type(DataType dtype) const { return int32_output ? DataType::int32 : dtype; }
};

// Accumulations over K terms in FP32 may differ from the double reference by
// reordering; INT8 requantization of a product at exactly .5 may round either
// way when the device forms scale * acc in another precision.
Tolerance accumulation_tolerance(DataType dtype, std::size_t terms, bool requantized) {
  if (dtype == DataType::int8) {
    return {requantized ? 1.0 : 0.0, 0};
  }
  Tolerance t = tolerance(dtype);
  t.abs *= static_cast<double>(terms) / 8;
  return t;
}

// The conversions the references rely on, at the values that matter.
TEST(ComputeConversions, HalfAndBfloat16RoundToNearestEven) {
  EXPECT_EQ(to_fp16(1.0F), 0x3c00);
  EXPECT_EQ(to_fp16(-2.0F), 0xc000);
  EXPECT_EQ(to_fp16(0.1F), 0x2e66);
  EXPECT_EQ(to_fp16(65504.0F), 0x7bff);
  EXPECT_EQ(to_fp16(65519.0F), 0x7bff);
  EXPECT_EQ(to_fp16(65520.0F), 0x7c00) << "rounds to infinity";
  EXPECT_EQ(to_fp16(5.9604645e-8F), 0x0001) << "the smallest subnormal";
  EXPECT_EQ(to_fp16(2.9802322e-8F), 0x0000) << "half of it: a tie, to even";
  EXPECT_EQ(to_fp16(1.0F + 1.0F / 2048), 0x3c00) << "a tie, to even";
  EXPECT_EQ(to_fp16(1.0F + 3.0F / 2048), 0x3c02) << "a tie, to even";
  EXPECT_EQ(from_fp16(0x3555), 0.33325195F);
  EXPECT_EQ(from_fp16(0x0001), 5.9604645e-8F);
  EXPECT_TRUE(std::isinf(from_fp16(0xfc00)));
  EXPECT_EQ(to_bf16(1.0F), 0x3f80);
  EXPECT_EQ(to_bf16(std::bit_cast<float>(0x3f808000U)), 0x3f80) << "a tie, to even";
  EXPECT_EQ(to_bf16(std::bit_cast<float>(0x3f818000U)), 0x3f82) << "a tie, to even";
  EXPECT_EQ(to_bf16(std::bit_cast<float>(0x3f808001U)), 0x3f81);
  EXPECT_EQ(from_bf16(0xc040), -3.0F);
  EXPECT_TRUE(std::isnan(from_bf16(to_bf16(std::numeric_limits<float>::quiet_NaN()))));
  EXPECT_EQ(representable(DataType::int8, 200), 127);
  EXPECT_EQ(representable(DataType::int8, -2.5), -2) << "half to even";
}

// --- GEMM ----------------------------------------------------------------------

struct GemmCase {
  std::uint32_t m, n, k;
  bool trans_a, trans_b, bias;
  Epilogue epilogue;
  bool per_channel = false;  // INT8: one FP32 scale per output column
};

class Gemm : public ComputeOp {
 protected:
  void check(const GemmCase& c) {
    // Leading dimensions larger than the rows, to check that they are used.
    const std::uint32_t lda = (c.trans_a ? c.m : c.k) + 3;
    const std::uint32_t ldb = (c.trans_b ? c.k : c.n) + 5;
    const std::uint32_t ldc = c.n + 2;
    const std::size_t a_rows = c.trans_a ? c.k : c.m;
    const std::size_t b_rows = c.trans_b ? c.n : c.k;
    const DataType out_type = c.epilogue.output_type(dtype());

    DeviceTensor a(device(), dtype(), a_rows * lda);
    DeviceTensor b(device(), dtype(), b_rows * ldb);
    DeviceTensor bias(device(), bias_type(dtype()), c.n);
    DeviceTensor out(device(), out_type, c.m * ldc);
    const std::vector<double> av = operand(rng_, dtype(), a.count());
    const std::vector<double> bv = operand(rng_, dtype(), b.count());
    const std::vector<double> biasv = is_int8()
                                          ? random_values(rng_, DataType::int32, c.n, -5000, 5000)
                                          : random_values(rng_, dtype(), c.n, -1, 1);
    const std::vector<double> sentinel(out.count(), out_type == DataType::int8 ? 99 : 7);
    a.store(av);
    b.store(bv);
    bias.store(biasv);
    out.store(sentinel);
    DeviceTensor scales(device(), DataType::fp32, c.n);
    const std::vector<double> scalesv =
        random_values(rng_, DataType::fp32, c.n, 1.0 / 512, 1.0 / 64);
    scales.store(scalesv);

    npu::KernelBuilder builder("gemm");
    const auto a_arg = builder.arg_buffer("a");
    const auto b_arg = builder.arg_buffer("b");
    const auto c_arg = builder.arg_buffer("c");
    const auto bias_arg = builder.arg_buffer("bias");
    const auto scales_arg = builder.arg_buffer("scales");
    builder.gemm(dtype(),
                 {.a = a_arg,
                  .b = b_arg,
                  .c = c_arg,
                  .bias = c.bias ? std::optional(bias_arg) : std::nullopt,
                  .m = c.m,
                  .n = c.n,
                  .k = c.k,
                  .lda = lda,
                  .ldb = ldb,
                  .ldc = ldc,
                  .transpose_a = c.trans_a,
                  .transpose_b = c.trans_b,
                  .activation = c.epilogue.act,
                  .scale = c.epilogue.scale,
                  .channel_scales = c.per_channel ? std::optional(scales_arg) : std::nullopt,
                  .zero_point = static_cast<std::uint32_t>(c.epilogue.zero_point) & 0xffU,
                  .int32_output = c.epilogue.int32_output});
    const npu::JobResult result = run_kernel(device(), builder.build(),
                                             {{"a", &a.buffer()},
                                              {"b", &b.buffer()},
                                              {"c", &out.buffer()},
                                              {"bias", &bias.buffer()},
                                              {"scales", &scales.buffer()}});
    ASSERT_TRUE(result.ok()) << npu::to_string(result.status) << " "
                             << npu::to_string(result.error);

    std::vector<double> want = sentinel;
    for (std::size_t i = 0; i < c.m; ++i) {
      for (std::size_t j = 0; j < c.n; ++j) {
        double acc = 0;
        for (std::size_t l = 0; l < c.k; ++l) {
          const double x = c.trans_a ? av[l * lda + i] : av[i * lda + l];
          const double y = c.trans_b ? bv[j * ldb + l] : bv[l * ldb + j];
          acc += x * y;
        }
        Epilogue e = c.epilogue;
        if (c.per_channel) {
          e.scale = static_cast<float>(scalesv[j]);
        }
        want[i * ldc + j] = e.apply(dtype(), acc, c.bias ? biasv[j] : 0.0);
        if (out_type != DataType::int8) {
          want[i * ldc + j] = representable(out_type, want[i * ldc + j]);
        }
      }
    }
    EXPECT_TRUE(all_near(out.load(), want,
                         accumulation_tolerance(dtype(), c.k, out_type == DataType::int8)))
        << "the columns past N (ldc) keep the sentinel";
  }
};

TEST_P(Gemm, PlainWithLeadingDimensions) {
  SKIP_UNLESS_DEVICE_RUNS(Opcode::gemm, dtype());
  Epilogue e;
  if (is_int8()) {
    e.scale = 1.0F / 256;
    e.zero_point = -3;
  }
  check({.m = 24,
         .n = 40,
         .k = 56,
         .trans_a = false,
         .trans_b = false,
         .bias = false,
         .epilogue = e});
}

TEST_P(Gemm, TransposedWithBiasAndActivation) {
  SKIP_UNLESS_DEVICE_RUNS(Opcode::gemm, dtype());
  Epilogue e{.act = is_int8() ? Activation::relu : Activation::gelu, .scale = 0.5F};
  if (is_int8()) {
    e.scale = 1.0F / 128;
    e.zero_point = 5;
  }
  check({.m = 17, .n = 33, .k = 20, .trans_a = true, .trans_b = true, .bias = true, .epilogue = e});
  check({.m = 9, .n = 16, .k = 31, .trans_a = false, .trans_b = true, .bias = true, .epilogue = e});
}

INSTANTIATE_TEST_SUITE_P(Dtypes, Gemm, testing::ValuesIn(defined_dtypes(Opcode::gemm)),
                         dtype_param_name);

// The INT8-only forms: OUT_INT32 (the accumulators plus bias, no
// requantization) and PER_CHANNEL requantization.
class GemmInt8Only : public Gemm {};

TEST_P(GemmInt8Only, AccumulatorsWithoutRequantization) {
  SKIP_UNLESS_DEVICE_RUNS(Opcode::gemm, dtype());
  check({.m = 12,
         .n = 20,
         .k = 64,
         .trans_a = false,
         .trans_b = false,
         .bias = true,
         .epilogue = {.int32_output = true}});
}

TEST_P(GemmInt8Only, PerChannelRequantization) {
  SKIP_UNLESS_DEVICE_RUNS(Opcode::gemm, dtype());
  check({.m = 10,
         .n = 24,
         .k = 48,
         .trans_a = false,
         .trans_b = true,
         .bias = true,
         .epilogue = {.act = Activation::relu, .zero_point = -4},
         .per_channel = true});
}

INSTANTIATE_TEST_SUITE_P(Int8, GemmInt8Only, testing::Values(DataType::int8), dtype_param_name);

// --- CONV2D --------------------------------------------------------------------

struct ConvShape {
  std::uint32_t n, c, h, w, k, r, s, stride_h, stride_w, pad_h, pad_w, dil_h, dil_w, groups;

  [[nodiscard]] std::uint32_t p() const {
    return (h + 2 * pad_h - dil_h * (r - 1) - 1) / stride_h + 1;
  }
  [[nodiscard]] std::uint32_t q() const {
    return (w + 2 * pad_w - dil_w * (s - 1) - 1) / stride_w + 1;
  }
};

class Conv2d : public ComputeOp {
 protected:
  // per_channel (INT8): one FP32 requantization scale per output channel.
  void check(const ConvShape& sh, bool with_bias, Epilogue e, bool per_channel = false) {
    const std::uint32_t cg = sh.c / sh.groups;
    const std::uint32_t kg = sh.k / sh.groups;
    const std::uint32_t p = sh.p();
    const std::uint32_t q = sh.q();
    const DataType out_type = e.output_type(dtype());
    DeviceTensor in(device(), dtype(), std::size_t{sh.n} * sh.c * sh.h * sh.w);
    DeviceTensor weight(device(), dtype(), std::size_t{sh.k} * cg * sh.r * sh.s);
    DeviceTensor bias(device(), bias_type(dtype()), sh.k);
    DeviceTensor out(device(), out_type, std::size_t{sh.n} * sh.k * p * q);
    const auto inv = operand(rng_, dtype(), in.count());
    const auto wv = operand(rng_, dtype(), weight.count());
    const auto biasv = is_int8() ? random_values(rng_, DataType::int32, sh.k, -5000, 5000)
                                 : random_values(rng_, dtype(), sh.k, -1, 1);
    in.store(inv);
    weight.store(wv);
    bias.store(biasv);
    DeviceTensor scales(device(), DataType::fp32, sh.k);
    const std::vector<double> scalesv =
        random_values(rng_, DataType::fp32, sh.k, 1.0 / 512, 1.0 / 64);
    scales.store(scalesv);

    npu::KernelBuilder builder("conv2d");
    const auto in_arg = builder.arg_buffer("in");
    const auto w_arg = builder.arg_buffer("weight");
    const auto out_arg = builder.arg_buffer("out");
    const auto bias_arg = builder.arg_buffer("bias");
    const auto scales_arg = builder.arg_buffer("scales");
    builder.conv2d(dtype(),
                   {.input = in_arg,
                    .weight = w_arg,
                    .output = out_arg,
                    .bias = with_bias ? std::optional(bias_arg) : std::nullopt,
                    .n = sh.n,
                    .c = sh.c,
                    .h = sh.h,
                    .w = sh.w,
                    .k = sh.k,
                    .r = sh.r,
                    .s = sh.s,
                    .stride_h = sh.stride_h,
                    .stride_w = sh.stride_w,
                    .pad_h = sh.pad_h,
                    .pad_w = sh.pad_w,
                    .dilation_h = sh.dil_h,
                    .dilation_w = sh.dil_w,
                    .groups = sh.groups,
                    .activation = e.act,
                    .scale = e.scale,
                    .channel_scales = per_channel ? std::optional(scales_arg) : std::nullopt,
                    .zero_point = static_cast<std::uint32_t>(e.zero_point) & 0xffU,
                    .int32_output = e.int32_output});
    const npu::JobResult result = run_kernel(device(), builder.build(),
                                             {{"in", &in.buffer()},
                                              {"weight", &weight.buffer()},
                                              {"out", &out.buffer()},
                                              {"bias", &bias.buffer()},
                                              {"scales", &scales.buffer()}});
    ASSERT_TRUE(result.ok()) << npu::to_string(result.status) << " "
                             << npu::to_string(result.error);

    std::vector<double> want(out.count());
    for (std::uint32_t n = 0; n < sh.n; ++n) {
      for (std::uint32_t k = 0; k < sh.k; ++k) {
        const std::uint32_t group = k / kg;
        for (std::uint32_t y = 0; y < p; ++y) {
          for (std::uint32_t x = 0; x < q; ++x) {
            double acc = 0;
            for (std::uint32_t c = 0; c < cg; ++c) {
              for (std::uint32_t r = 0; r < sh.r; ++r) {
                for (std::uint32_t s = 0; s < sh.s; ++s) {
                  const long iy = long{y} * sh.stride_h - sh.pad_h + long{r} * sh.dil_h;
                  const long ix = long{x} * sh.stride_w - sh.pad_w + long{s} * sh.dil_w;
                  if (iy < 0 || ix < 0 || iy >= sh.h || ix >= sh.w) {
                    continue;
                  }
                  const std::size_t ic = group * cg + c;
                  acc += inv[((n * sh.c + ic) * sh.h + static_cast<std::size_t>(iy)) * sh.w +
                             static_cast<std::size_t>(ix)] *
                         wv[((std::size_t{k} * cg + c) * sh.r + r) * sh.s + s];
                }
              }
            }
            Epilogue channel = e;
            if (per_channel) {
              channel.scale = static_cast<float>(scalesv[k]);
            }
            double v = channel.apply(dtype(), acc, with_bias ? biasv[k] : 0.0);
            if (out_type != DataType::int8) {
              v = representable(out_type, v);
            }
            want[((std::size_t{n} * sh.k + k) * p + y) * q + x] = v;
          }
        }
      }
    }
    EXPECT_TRUE(all_near(out.load(), want,
                         accumulation_tolerance(dtype(), std::size_t{cg} * sh.r * sh.s,
                                                out_type == DataType::int8)));
  }
};

TEST_P(Conv2d, DenseSamePadding) {
  SKIP_UNLESS_DEVICE_RUNS(Opcode::conv2d, dtype());
  Epilogue e{.act = Activation::relu};
  if (is_int8()) {
    e.scale = 1.0F / 64;
    e.zero_point = -7;
  }
  check({.n = 1,
         .c = 3,
         .h = 8,
         .w = 8,
         .k = 4,
         .r = 3,
         .s = 3,
         .stride_h = 1,
         .stride_w = 1,
         .pad_h = 1,
         .pad_w = 1,
         .dil_h = 1,
         .dil_w = 1,
         .groups = 1},
        true, e);
}

TEST_P(Conv2d, StridedDilatedGrouped) {
  SKIP_UNLESS_DEVICE_RUNS(Opcode::conv2d, dtype());
  Epilogue e{.scale = 0.75F};
  if (is_int8()) {
    e.scale = 1.0F / 32;
  }
  check({.n = 2,
         .c = 4,
         .h = 9,
         .w = 7,
         .k = 6,
         .r = 3,
         .s = 2,
         .stride_h = 2,
         .stride_w = 1,
         .pad_h = 1,
         .pad_w = 1,
         .dil_h = 1,
         .dil_w = 2,
         .groups = 2},
        false, e);
  // Depthwise: groups == C == K.
  check({.n = 1,
         .c = 5,
         .h = 6,
         .w = 6,
         .k = 5,
         .r = 3,
         .s = 3,
         .stride_h = 1,
         .stride_w = 1,
         .pad_h = 0,
         .pad_w = 0,
         .dil_h = 1,
         .dil_w = 1,
         .groups = 5},
        true, e);
}

INSTANTIATE_TEST_SUITE_P(Dtypes, Conv2d, testing::ValuesIn(defined_dtypes(Opcode::conv2d)),
                         dtype_param_name);

class Conv2dInt8Only : public Conv2d {};

// What a per-channel quantized network's convolutions do: dense and depthwise,
// each output channel requantized with its own scale.
TEST_P(Conv2dInt8Only, PerChannelRequantization) {
  SKIP_UNLESS_DEVICE_RUNS(Opcode::conv2d, dtype());
  const Epilogue e{.act = Activation::relu, .zero_point = 5};
  check({.n = 1,
         .c = 3,
         .h = 7,
         .w = 6,
         .k = 8,
         .r = 3,
         .s = 3,
         .stride_h = 1,
         .stride_w = 2,
         .pad_h = 1,
         .pad_w = 1,
         .dil_h = 1,
         .dil_w = 1,
         .groups = 1},
        true, e, true);
  check({.n = 2,
         .c = 6,
         .h = 5,
         .w = 5,
         .k = 6,
         .r = 3,
         .s = 3,
         .stride_h = 1,
         .stride_w = 1,
         .pad_h = 1,
         .pad_w = 1,
         .dil_h = 1,
         .dil_w = 1,
         .groups = 6},
        true, e, true);
}

INSTANTIATE_TEST_SUITE_P(Int8, Conv2dInt8Only, testing::Values(DataType::int8), dtype_param_name);

// --- POOL2D --------------------------------------------------------------------

class Pool2d : public ComputeOp {};

TEST_P(Pool2d, MaxAverageAndAverageWithPadding) {
  SKIP_UNLESS_DEVICE_RUNS(Opcode::pool2d, dtype());
  constexpr std::uint32_t n = 2, c = 3, h = 7, w = 6, kh = 3, kw = 2, sh = 2, sw = 2, ph = 1,
                          pw = 1;
  constexpr std::uint32_t p = (h + 2 * ph - kh) / sh + 1;
  constexpr std::uint32_t q = (w + 2 * pw - kw) / sw + 1;
  for (npu::PoolMode mode :
       {npu::PoolMode::max, npu::PoolMode::average, npu::PoolMode::average_with_padding}) {
    SCOPED_TRACE(static_cast<int>(mode));
    DeviceTensor in(device(), dtype(), n * c * h * w);
    DeviceTensor out(device(), dtype(), n * c * p * q);
    const auto inv = operand(rng_, dtype(), in.count());
    in.store(inv);
    npu::KernelBuilder builder("pool2d");
    const auto in_arg = builder.arg_buffer("in");
    const auto out_arg = builder.arg_buffer("out");
    builder.pool2d(dtype(), {.input = in_arg,
                             .output = out_arg,
                             .n = n,
                             .c = c,
                             .h = h,
                             .w = w,
                             .kernel_h = kh,
                             .kernel_w = kw,
                             .stride_h = sh,
                             .stride_w = sw,
                             .pad_h = ph,
                             .pad_w = pw,
                             .mode = mode});
    const npu::JobResult result =
        run_kernel(device(), builder.build(), {{"in", &in.buffer()}, {"out", &out.buffer()}});
    ASSERT_TRUE(result.ok()) << npu::to_string(result.error);

    std::vector<double> want(out.count());
    for (std::uint32_t plane = 0; plane < n * c; ++plane) {
      for (std::uint32_t y = 0; y < p; ++y) {
        for (std::uint32_t x = 0; x < q; ++x) {
          double best = -std::numeric_limits<double>::infinity();
          double sum = 0;
          int inside = 0;
          for (std::uint32_t r = 0; r < kh; ++r) {
            for (std::uint32_t s = 0; s < kw; ++s) {
              const long iy = long{y} * sh - ph + r;
              const long ix = long{x} * sw - pw + s;
              if (iy < 0 || ix < 0 || iy >= h || ix >= w) {
                continue;
              }
              const double v = inv[(std::size_t{plane} * h + static_cast<std::size_t>(iy)) * w +
                                   static_cast<std::size_t>(ix)];
              best = std::max(best, v);
              sum += v;
              ++inside;
            }
          }
          const double v = mode == npu::PoolMode::max       ? best
                           : mode == npu::PoolMode::average ? sum / inside
                                                            : sum / (kh * kw);
          want[(std::size_t{plane} * p + y) * q + x] = representable(dtype(), v);
        }
      }
    }
    // INT8 averages round half to even (hw-spec 7.4), as representable() does.
    EXPECT_TRUE(all_near(out.load(), want, tolerance(dtype())));
  }
}

INSTANTIATE_TEST_SUITE_P(Dtypes, Pool2d, testing::ValuesIn(defined_dtypes(Opcode::pool2d)),
                         dtype_param_name);

// --- ELTWISE -------------------------------------------------------------------

class Eltwise : public ComputeOp {
 protected:
  bool is_integer() const { return is_int8() || dtype() == DataType::int32; }

  // Divisors away from zero for floats; for integers small divisors, some
  // of them zero (hw-spec 7.4: integer division truncates toward zero, by
  // zero yields 0). Powers: positive bases to any exponent in [-3, 3], and
  // every fourth base negative to an integer exponent (a real result);
  // fmod: divisors as division's.
  void make_operands(npu::EltwiseOp op, std::size_t count, std::size_t b_count,
                     std::vector<double>& a, std::vector<double>& b) {
    const double range = is_int8() ? 127 : dtype() == DataType::int32 ? 1.5e9 : 2;
    if (op == npu::EltwiseOp::pow) {
      a = random_values(rng_, dtype(), count, 0.25, 4);
      b = random_values(rng_, dtype(), b_count, -3, 3);
      for (std::size_t i = 0; i < count; i += 4) {
        b[i % b_count] = std::round(b[i % b_count]);
        a[i] = -a[i];
      }
      return;
    }
    a = random_values(rng_, dtype(), count, -range, range);
    b = random_values(rng_, dtype(), b_count, -range, range);
    if (op != npu::EltwiseOp::div && op != npu::EltwiseOp::fmod) {
      return;
    }
    for (std::size_t i = 0; i < b_count; ++i) {
      const double sign = i % 2 == 0 ? 1 : -1;
      b[i] = is_integer() ? (i % 5 == 4 ? 0 : sign * static_cast<double>(1 + i % 11))
                          : representable(dtype(), sign * (0.5 + std::abs(b[i]) / 2));
    }
  }

  double reference(npu::EltwiseOp op, double x, double y) const {
    double v = 0;
    switch (op) {
      case npu::EltwiseOp::add:
        v = x + y;
        break;
      case npu::EltwiseOp::sub:
        v = x - y;
        break;
      case npu::EltwiseOp::mul:
        v = x * y;
        break;
      case npu::EltwiseOp::div:
        if (is_integer()) {
          v = y == 0 ? 0 : std::trunc(x / y);
        } else {
          v = x / y;
        }
        break;
      case npu::EltwiseOp::max:
        v = std::max(x, y);
        break;
      case npu::EltwiseOp::min:
        v = std::min(x, y);
        break;
      case npu::EltwiseOp::pow:
        v = std::pow(x, y);
        break;
      case npu::EltwiseOp::fmod:
        v = std::fmod(x, y);
        break;
    }
    return representable(dtype(), v);
  }
};

TEST_P(Eltwise, EveryOpSameShapeAndBroadcast) {
  SKIP_UNLESS_DEVICE_RUNS(Opcode::eltwise, dtype());
  constexpr std::size_t kCount = 96;
  std::vector ops{npu::EltwiseOp::add, npu::EltwiseOp::sub, npu::EltwiseOp::mul,
                  npu::EltwiseOp::div, npu::EltwiseOp::max, npu::EltwiseOp::min};
  // POW and FMOD are v1.8's, for floats (hw-spec 7.4.8).
  if (!is_integer() && device().properties().hw_version >= npu::isa::kIsaVersion1_8) {
    ops.push_back(npu::EltwiseOp::pow);
    ops.push_back(npu::EltwiseOp::fmod);
  }
  for (std::size_t b_count : {kCount, std::size_t{8}}) {
    for (npu::EltwiseOp op : ops) {
      SCOPED_TRACE(testing::Message() << "op " << static_cast<int>(op) << ", b_count " << b_count);
      std::vector<double> av;
      std::vector<double> bv;
      make_operands(op, kCount, b_count, av, bv);
      DeviceTensor a(device(), dtype(), kCount);
      DeviceTensor b(device(), dtype(), b_count);
      DeviceTensor out(device(), dtype(), kCount);
      a.store(av);
      b.store(bv);
      npu::KernelBuilder builder("eltwise");
      const auto a_arg = builder.arg_buffer("a");
      const auto b_arg = builder.arg_buffer("b");
      const auto out_arg = builder.arg_buffer("out");
      builder.eltwise(dtype(), op, a_arg, b_arg, out_arg, static_cast<std::uint32_t>(kCount),
                      static_cast<std::uint32_t>(b_count));
      const npu::JobResult result =
          run_kernel(device(), builder.build(),
                     {{"a", &a.buffer()}, {"b", &b.buffer()}, {"out", &out.buffer()}});
      ASSERT_TRUE(result.ok()) << npu::to_string(result.error);
      std::vector<double> want(kCount);
      for (std::size_t i = 0; i < kCount; ++i) {
        want[i] = reference(op, av[i], bv[i % b_count]);
      }
      EXPECT_TRUE(all_near(out.load(), want, tolerance(dtype())));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Dtypes, Eltwise, testing::ValuesIn(defined_dtypes(Opcode::eltwise)),
                         dtype_param_name);

// --- ACTIVATION ----------------------------------------------------------------

class ActivationOp : public ComputeOp {};

TEST_P(ActivationOp, EveryFunction) {
  SKIP_UNLESS_DEVICE_RUNS(Opcode::activation, dtype());
  constexpr std::size_t kCount = 200;
  const std::vector<Activation> functions =
      is_int8() ? std::vector{Activation::relu}
                : std::vector{Activation::relu,        Activation::gelu, Activation::silu,
                              Activation::sigmoid,     Activation::tanh, Activation::hardswish,
                              Activation::hardsigmoid, Activation::relu6};
  for (Activation act : functions) {
    SCOPED_TRACE(static_cast<int>(act));
    DeviceTensor in(device(), dtype(), kCount);
    DeviceTensor out(device(), dtype(), kCount);
    const auto inv = is_int8() ? random_values(rng_, dtype(), kCount, -128, 127)
                               : random_values(rng_, dtype(), kCount, -6, 6);
    in.store(inv);
    npu::KernelBuilder builder("activation");
    const auto in_arg = builder.arg_buffer("in");
    const auto out_arg = builder.arg_buffer("out");
    builder.activation(dtype(), act, in_arg, out_arg, static_cast<std::uint32_t>(kCount));
    const npu::JobResult result =
        run_kernel(device(), builder.build(), {{"in", &in.buffer()}, {"out", &out.buffer()}});
    ASSERT_TRUE(result.ok()) << npu::to_string(result.error);
    std::vector<double> want(kCount);
    std::ranges::transform(inv, want.begin(),
                           [&](double x) { return representable(dtype(), activate(act, x)); });
    EXPECT_TRUE(all_near(out.load(), want, tolerance(dtype())));
  }
}

INSTANTIATE_TEST_SUITE_P(Dtypes, ActivationOp,
                         testing::ValuesIn(defined_dtypes(Opcode::activation)), dtype_param_name);

// --- SOFTMAX, LAYERNORM, RMSNORM -----------------------------------------------

class RowOp : public ComputeOp {
 protected:
  static constexpr std::uint32_t kRows = 6;
  static constexpr std::uint32_t kCols = 37;
  static constexpr float kEpsilon = 1e-5F;

  struct RowStats {
    double mean, variance, mean_square, max;
  };
  static RowStats stats(const double* row) {
    RowStats s{0, 0, 0, -std::numeric_limits<double>::infinity()};
    for (std::uint32_t j = 0; j < kCols; ++j) {
      s.mean += row[j] / kCols;
      s.mean_square += row[j] * row[j] / kCols;
      s.max = std::max(s.max, row[j]);
    }
    for (std::uint32_t j = 0; j < kCols; ++j) {
      s.variance += (row[j] - s.mean) * (row[j] - s.mean) / kCols;
    }
    return s;
  }
};

TEST_P(RowOp, Softmax) {
  SKIP_UNLESS_DEVICE_RUNS(Opcode::softmax, dtype());
  DeviceTensor in(device(), dtype(), kRows * kCols);
  DeviceTensor out(device(), dtype(), kRows * kCols);
  // Large inputs: without the row maximum subtracted, exp() overflows.
  auto inv = random_values(rng_, dtype(), in.count(), -6, 6);
  inv[3] = 100;
  in.store(inv);
  npu::KernelBuilder builder("softmax");
  const auto in_arg = builder.arg_buffer("in");
  const auto out_arg = builder.arg_buffer("out");
  builder.softmax(dtype(), in_arg, out_arg, kRows, kCols);
  const npu::JobResult result =
      run_kernel(device(), builder.build(), {{"in", &in.buffer()}, {"out", &out.buffer()}});
  ASSERT_TRUE(result.ok()) << npu::to_string(result.error);
  std::vector<double> want(in.count());
  for (std::uint32_t i = 0; i < kRows; ++i) {
    const double* row = &inv[i * kCols];
    const RowStats s = stats(row);
    double sum = 0;
    for (std::uint32_t j = 0; j < kCols; ++j) {
      sum += std::exp(row[j] - s.max);
    }
    for (std::uint32_t j = 0; j < kCols; ++j) {
      want[i * kCols + j] = representable(dtype(), std::exp(row[j] - s.max) / sum);
    }
  }
  EXPECT_TRUE(all_near(out.load(), want, tolerance(dtype())));
}

TEST_P(RowOp, LayerNormAndRmsNorm) {
  SKIP_UNLESS_DEVICE_RUNS(Opcode::layernorm, dtype());
  SKIP_UNLESS_DEVICE_RUNS(Opcode::rmsnorm, dtype());
  DeviceTensor in(device(), dtype(), kRows * kCols);
  DeviceTensor layer_out(device(), dtype(), kRows * kCols);
  DeviceTensor rms_out(device(), dtype(), kRows * kCols);
  DeviceTensor gamma(device(), dtype(), kCols);
  DeviceTensor beta(device(), dtype(), kCols);
  const auto inv = random_values(rng_, dtype(), in.count(), -3, 5);
  const auto gv = random_values(rng_, dtype(), kCols, 0.5, 1.5);
  const auto bv = random_values(rng_, dtype(), kCols, -0.5, 0.5);
  in.store(inv);
  gamma.store(gv);
  beta.store(bv);
  npu::KernelBuilder builder("norms");
  const auto in_arg = builder.arg_buffer("in");
  const auto layer_arg = builder.arg_buffer("layer");
  const auto rms_arg = builder.arg_buffer("rms");
  const auto gamma_arg = builder.arg_buffer("gamma");
  const auto beta_arg = builder.arg_buffer("beta");
  builder.layernorm(dtype(), in_arg, layer_arg, gamma_arg, beta_arg, kRows, kCols, kEpsilon)
      .rmsnorm(dtype(), in_arg, rms_arg, gamma_arg, kRows, kCols, kEpsilon);
  const npu::JobResult result = run_kernel(device(), builder.build(),
                                           {{"in", &in.buffer()},
                                            {"layer", &layer_out.buffer()},
                                            {"rms", &rms_out.buffer()},
                                            {"gamma", &gamma.buffer()},
                                            {"beta", &beta.buffer()}});
  ASSERT_TRUE(result.ok()) << npu::to_string(result.error);
  std::vector<double> layer_want(in.count());
  std::vector<double> rms_want(in.count());
  for (std::uint32_t i = 0; i < kRows; ++i) {
    const double* row = &inv[i * kCols];
    const RowStats s = stats(row);
    for (std::uint32_t j = 0; j < kCols; ++j) {
      layer_want[i * kCols + j] = representable(
          dtype(), (row[j] - s.mean) / std::sqrt(s.variance + kEpsilon) * gv[j] + bv[j]);
      rms_want[i * kCols + j] =
          representable(dtype(), row[j] / std::sqrt(s.mean_square + kEpsilon) * gv[j]);
    }
  }
  // Normalised values are O(1): FP32 statistics add a few ulps.
  Tolerance tol = tolerance(dtype());
  tol.abs *= 4;
  EXPECT_TRUE(all_near(layer_out.load(), layer_want, tol)) << "LAYERNORM";
  EXPECT_TRUE(all_near(rms_out.load(), rms_want, tol)) << "RMSNORM";
}

INSTANTIATE_TEST_SUITE_P(Dtypes, RowOp, testing::ValuesIn(defined_dtypes(Opcode::softmax)),
                         dtype_param_name);

// --- REDUCE --------------------------------------------------------------------

class Reduce : public ComputeOp {};

TEST_P(Reduce, SumMeanMaxMinOverTheMiddleAxis) {
  SKIP_UNLESS_DEVICE_RUNS(Opcode::reduce, dtype());
  constexpr std::uint32_t outer = 3, length = 17, inner = 5;
  const bool integer = dtype() == DataType::int32;
  for (npu::ReduceOp op :
       {npu::ReduceOp::sum, npu::ReduceOp::mean, npu::ReduceOp::max, npu::ReduceOp::min}) {
    SCOPED_TRACE(static_cast<int>(op));
    DeviceTensor in(device(), dtype(), outer * length * inner);
    DeviceTensor out(device(), dtype(), outer * inner);
    const auto inv = integer ? random_values(rng_, dtype(), in.count(), -1e6, 1e6)
                             : random_values(rng_, dtype(), in.count(), -1, 1);
    in.store(inv);
    npu::KernelBuilder builder("reduce");
    const auto in_arg = builder.arg_buffer("in");
    const auto out_arg = builder.arg_buffer("out");
    builder.reduce(dtype(), op, in_arg, out_arg, outer, length, inner);
    const npu::JobResult result =
        run_kernel(device(), builder.build(), {{"in", &in.buffer()}, {"out", &out.buffer()}});
    ASSERT_TRUE(result.ok()) << npu::to_string(result.error);
    std::vector<double> want(out.count());
    for (std::uint32_t o = 0; o < outer; ++o) {
      for (std::uint32_t i = 0; i < inner; ++i) {
        double sum = 0;
        double hi = -std::numeric_limits<double>::infinity();
        double lo = std::numeric_limits<double>::infinity();
        for (std::uint32_t l = 0; l < length; ++l) {
          const double v = inv[(std::size_t{o} * length + l) * inner + i];
          sum += v;
          hi = std::max(hi, v);
          lo = std::min(lo, v);
        }
        const double v = op == npu::ReduceOp::sum    ? sum
                         : op == npu::ReduceOp::mean ? sum / length
                         : op == npu::ReduceOp::max  ? hi
                                                     : lo;
        want[std::size_t{o} * inner + i] = representable(dtype(), v);
      }
    }
    // INT32 sums are exact, the INT32 mean rounds half to even (hw-spec 7.4).
    Tolerance tol = tolerance(dtype());
    tol.abs *= 2;  // a sum of 17 terms
    EXPECT_TRUE(all_near(out.load(), want, tol));
  }
}

INSTANTIATE_TEST_SUITE_P(Dtypes, Reduce, testing::ValuesIn(defined_dtypes(Opcode::reduce)),
                         dtype_param_name);

// --- TRANSPOSE -----------------------------------------------------------------

class Transpose : public ComputeOp {};

TEST_P(Transpose, BatchedMatricesExactly) {
  SKIP_UNLESS_DEVICE_RUNS(Opcode::transpose, dtype());
  constexpr std::uint32_t batch = 2, rows = 5, cols = 7;
  DeviceTensor in(device(), dtype(), batch * rows * cols);
  DeviceTensor out(device(), dtype(), batch * rows * cols);
  const auto inv = random_values(rng_, dtype(), in.count(), -100, 100);
  in.store(inv);
  npu::KernelBuilder builder("transpose");
  const auto in_arg = builder.arg_buffer("in");
  const auto out_arg = builder.arg_buffer("out");
  builder.transpose(dtype(), in_arg, out_arg, batch, rows, cols);
  const npu::JobResult result =
      run_kernel(device(), builder.build(), {{"in", &in.buffer()}, {"out", &out.buffer()}});
  ASSERT_TRUE(result.ok()) << npu::to_string(result.error);
  std::vector<double> want(out.count());
  for (std::uint32_t b = 0; b < batch; ++b) {
    for (std::uint32_t r = 0; r < rows; ++r) {
      for (std::uint32_t c = 0; c < cols; ++c) {
        want[(std::size_t{b} * cols + c) * rows + r] = inv[(std::size_t{b} * rows + r) * cols + c];
      }
    }
  }
  EXPECT_TRUE(all_near(out.load(), want, {0, 0}));
}

INSTANTIATE_TEST_SUITE_P(Dtypes, Transpose, testing::ValuesIn(defined_dtypes(Opcode::transpose)),
                         dtype_param_name);

}  // namespace
}  // namespace guest
