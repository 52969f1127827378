// The instruction set v1.1 additions (hw-spec 7.4.1) through libnpu and
// knpu.ko, in every data type the spec defines for them, on random data
// against references written here as plain loops in double precision:
// COPY_STRIDED, RESIZE, CONV_TRANSPOSE, GEMM_BATCHED, ACTIVATION_PARAM, and
// a detection-head kernel that chains them in one job.
#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>
#include <vector>

#include "compute_support.hpp"

namespace guest {
namespace {

using npu::Activation;
using npu::isa::Opcode;

constexpr unsigned kSeed = 20261203;

class V11Op : public DeviceTest, public testing::WithParamInterface<DataType> {
 protected:
  DataType dtype() const { return GetParam(); }
  std::mt19937 rng_{kSeed};
};

// FP32 sums over `terms` products may be reordered (as compute_ops_test).
Tolerance sum_tolerance(DataType dtype, std::size_t terms) {
  Tolerance t = tolerance(dtype);
  t.abs *= static_cast<double>(std::max<std::size_t>(terms, 8)) / 8;
  return t;
}

// --- COPY_STRIDED ----------------------------------------------------------------

class CopyStrided : public V11Op {};

// A permutation (0, 2, 3, 1) of a dense 2x3x4x5 tensor, and the tensor
// concatenated into channels 0..2 of a 6-channel one whose other channels
// must stay as they were: bit for bit.
TEST_P(CopyStrided, PermuteThenConcatLeavesTheRestAlone) {
  SKIP_UNLESS_DEVICE_RUNS(Opcode::copy_strided, dtype());
  constexpr std::uint32_t n = 2, c = 3, h = 4, w = 5;
  constexpr std::uint32_t wide_c = 6;
  DeviceTensor in(device(), dtype(), n * c * h * w);
  DeviceTensor permuted(device(), dtype(), n * c * h * w);
  DeviceTensor wide(device(), dtype(), n * wide_c * h * w);
  const auto inv = random_values(rng_, dtype(), in.count(), -100, 100);
  const auto widev = random_values(rng_, dtype(), wide.count(), -100, 100);
  in.store(inv);
  wide.store(widev);
  npu::KernelBuilder builder("permute_concat");
  const auto in_arg = builder.arg_buffer("in");
  const auto perm_arg = builder.arg_buffer("permuted");
  const auto wide_arg = builder.arg_buffer("wide");
  // out[n][h][w][c] = in[n][c][h][w]
  builder
      .copy_strided(dtype(), {.dst = perm_arg,
                              .src = in_arg,
                              .sizes = {n, h, w, c},
                              .src_strides = {c * h * w, w, 1U, h * w},
                              .dst_strides = {h * w * c, w * c, c, 1U}})
      // wide[n][ch][y][x] = in[n][ch][y][x]
      .copy_strided(dtype(), {.dst = wide_arg,
                              .src = in_arg,
                              .sizes = {1U, n, c, h * w},
                              .src_strides = {0U, c * h * w, h * w, 1U},
                              .dst_strides = {0U, wide_c * h * w, h * w, 1U}});
  const npu::KernelImage image = builder.build();
  const npu::JobResult result = run_kernel(
      device(), image,
      {{"in", &in.buffer()}, {"permuted", &permuted.buffer()}, {"wide", &wide.buffer()}});
  ASSERT_TRUE(result.ok()) << npu::to_string(result.error);
  std::vector<double> want_perm(permuted.count());
  std::vector<double> want_wide = widev;
  for (std::uint32_t b = 0; b < n; ++b) {
    for (std::uint32_t ch = 0; ch < c; ++ch) {
      for (std::uint32_t y = 0; y < h; ++y) {
        for (std::uint32_t x = 0; x < w; ++x) {
          const double v = inv[((std::size_t{b} * c + ch) * h + y) * w + x];
          want_perm[((std::size_t{b} * h + y) * w + x) * c + ch] = v;
          want_wide[((std::size_t{b} * wide_c + ch) * h + y) * w + x] = v;
        }
      }
    }
  }
  EXPECT_TRUE(all_near(permuted.load(), want_perm, {0, 0}));
  EXPECT_TRUE(all_near(wide.load(), want_wide, {0, 0}));
}

INSTANTIATE_TEST_SUITE_P(Dtypes, CopyStrided,
                         testing::ValuesIn(defined_dtypes(Opcode::copy_strided)), dtype_param_name);

// --- RESIZE ----------------------------------------------------------------------

class Resize : public V11Op {
 protected:
  struct Case {
    std::uint32_t c, h, w, out_h, out_w;
    float scale;  // both axes; 0: out/in
    npu::ResizeMode mode;
    npu::ResizeCoordinates coordinates;
    npu::NearestRounding rounding;
  };

  // ONNX Resize (opset 11+) in 2-D, coordinates in FP32 as ONNX computes.
  static float coordinate(const Case& k, std::uint32_t x, std::uint32_t in, std::uint32_t out) {
    const float scale = k.scale != 0 ? k.scale : static_cast<float>(out) / static_cast<float>(in);
    const auto fx = static_cast<float>(x);
    switch (k.coordinates) {
      case npu::ResizeCoordinates::asymmetric:
        return fx / scale;
      case npu::ResizeCoordinates::align_corners:
        return out == 1 ? 0.0F : fx * static_cast<float>(in - 1) / static_cast<float>(out - 1);
      case npu::ResizeCoordinates::pytorch_half_pixel:
        return out == 1 ? 0.0F : (fx + 0.5F) / scale - 0.5F;
      case npu::ResizeCoordinates::half_pixel:
        break;
    }
    return (fx + 0.5F) / scale - 0.5F;
  }

  static std::int64_t nearest(const Case& k, float x, std::uint32_t in) {
    const float lo = std::floor(x);
    float r = std::round(x);
    switch (k.rounding) {
      case npu::NearestRounding::round_prefer_floor:
        r = x == lo + 0.5F ? lo : r;
        break;
      case npu::NearestRounding::round_prefer_ceil:
        r = x == lo + 0.5F ? lo + 1 : r;
        break;
      case npu::NearestRounding::floor:
        r = lo;
        break;
      case npu::NearestRounding::ceil:
        r = std::ceil(x);
        break;
    }
    return std::clamp<std::int64_t>(static_cast<std::int64_t>(r), 0, in - 1);
  }

  void check(const Case& k) {
    DeviceTensor in(device(), dtype(), std::size_t{k.c} * k.h * k.w);
    DeviceTensor out(device(), dtype(), std::size_t{k.c} * k.out_h * k.out_w);
    const auto inv = random_values(rng_, dtype(), in.count(), -1, 1);
    in.store(inv);
    npu::KernelBuilder builder("resize");
    const auto in_arg = builder.arg_buffer("in");
    const auto out_arg = builder.arg_buffer("out");
    builder.resize(dtype(), {.input = in_arg,
                             .output = out_arg,
                             .n = 1,
                             .c = k.c,
                             .h = k.h,
                             .w = k.w,
                             .out_h = k.out_h,
                             .out_w = k.out_w,
                             .scale_h = k.scale,
                             .scale_w = k.scale,
                             .mode = k.mode,
                             .coordinates = k.coordinates,
                             .rounding = k.rounding});
    const npu::JobResult result =
        run_kernel(device(), builder.build(), {{"in", &in.buffer()}, {"out", &out.buffer()}});
    ASSERT_TRUE(result.ok()) << npu::to_string(result.error);
    std::vector<double> want;
    for (std::uint32_t ch = 0; ch < k.c; ++ch) {
      const auto at = [&](std::int64_t y, std::int64_t x) {
        return inv[(std::size_t{ch} * k.h + static_cast<std::size_t>(y)) * k.w +
                   static_cast<std::size_t>(x)];
      };
      for (std::uint32_t y = 0; y < k.out_h; ++y) {
        for (std::uint32_t x = 0; x < k.out_w; ++x) {
          float cy = coordinate(k, y, k.h, k.out_h);
          float cx = coordinate(k, x, k.w, k.out_w);
          if (k.mode == npu::ResizeMode::nearest) {
            want.push_back(at(nearest(k, cy, k.h), nearest(k, cx, k.w)));
            continue;
          }
          cy = std::clamp(cy, 0.0F, static_cast<float>(k.h - 1));
          cx = std::clamp(cx, 0.0F, static_cast<float>(k.w - 1));
          const auto y0 = static_cast<std::int64_t>(std::floor(cy));
          const auto x0 = static_cast<std::int64_t>(std::floor(cx));
          const std::int64_t y1 = std::min<std::int64_t>(y0 + 1, k.h - 1);
          const std::int64_t x1 = std::min<std::int64_t>(x0 + 1, k.w - 1);
          const double wy = cy - static_cast<float>(y0), wx = cx - static_cast<float>(x0);
          want.push_back((1 - wy) * ((1 - wx) * at(y0, x0) + wx * at(y0, x1)) +
                         wy * ((1 - wx) * at(y1, x0) + wx * at(y1, x1)));
        }
      }
    }
    for (double& v : want) {
      v = representable(dtype(), v);
    }
    EXPECT_TRUE(all_near(out.load(), want, tolerance(dtype())));
  }
};

TEST_P(Resize, NearestAndBilinearWithOnnxCoordinates) {
  SKIP_UNLESS_DEVICE_RUNS(Opcode::resize, dtype());
  using C = npu::ResizeCoordinates;
  using M = npu::ResizeMode;
  using R = npu::NearestRounding;
  // PaddleOCR's detection neck: nearest x2, asymmetric, floor.
  check({4, 5, 7, 10, 14, 2.0F, M::nearest, C::asymmetric, R::floor});
  check({3, 7, 9, 4, 5, 0, M::nearest, C::half_pixel, R::round_prefer_floor});
  check({3, 6, 5, 12, 13, 0, M::nearest, C::align_corners, R::round_prefer_ceil});
  check({2, 5, 6, 11, 9, 0, M::linear, C::half_pixel, R::round_prefer_floor});
  check({2, 4, 4, 7, 7, 0, M::linear, C::align_corners, R::round_prefer_floor});
  check({2, 3, 5, 7, 12, 2.5F, M::linear, C::pytorch_half_pixel, R::round_prefer_floor});
}

INSTANTIATE_TEST_SUITE_P(Dtypes, Resize, testing::ValuesIn(defined_dtypes(Opcode::resize)),
                         dtype_param_name);

// --- CONV_TRANSPOSE --------------------------------------------------------------

class ConvTranspose : public V11Op {
 protected:
  struct Case {
    std::uint32_t n, c, h, w, k, r, s, stride, pad, out_pad, dilation, groups;
    bool bias;
    Activation act;
  };

  void check(const Case& k) {
    const std::uint32_t span_h = k.dilation * (k.r - 1) + 1, span_w = k.dilation * (k.s - 1) + 1;
    const std::uint32_t p = k.stride * (k.h - 1) + k.out_pad + span_h - 2 * k.pad;
    const std::uint32_t q = k.stride * (k.w - 1) + k.out_pad + span_w - 2 * k.pad;
    const std::uint32_t cg = k.c / k.groups, kg = k.k / k.groups;
    DeviceTensor in(device(), dtype(), std::size_t{k.n} * k.c * k.h * k.w);
    DeviceTensor weight(device(), dtype(), std::size_t{k.c} * kg * k.r * k.s);
    DeviceTensor bias(device(), dtype(), k.k);
    DeviceTensor out(device(), dtype(), std::size_t{k.n} * k.k * p * q);
    const auto inv = random_values(rng_, dtype(), in.count(), -1, 1);
    const auto wv = random_values(rng_, dtype(), weight.count(), -1, 1);
    const auto bv = random_values(rng_, dtype(), bias.count(), -1, 1);
    in.store(inv);
    weight.store(wv);
    bias.store(bv);
    npu::KernelBuilder builder("conv_transpose");
    const auto in_arg = builder.arg_buffer("in");
    const auto w_arg = builder.arg_buffer("weight");
    const auto b_arg = builder.arg_buffer("bias");
    const auto out_arg = builder.arg_buffer("out");
    npu::ConvTransposeOperands ops{.input = in_arg,
                                   .weight = w_arg,
                                   .output = out_arg,
                                   .n = k.n,
                                   .c = k.c,
                                   .h = k.h,
                                   .w = k.w,
                                   .k = k.k,
                                   .r = k.r,
                                   .s = k.s,
                                   .stride_h = k.stride,
                                   .stride_w = k.stride,
                                   .pad_h = k.pad,
                                   .pad_w = k.pad,
                                   .output_pad_h = k.out_pad,
                                   .output_pad_w = k.out_pad,
                                   .dilation_h = k.dilation,
                                   .dilation_w = k.dilation,
                                   .groups = k.groups,
                                   .activation = k.act};
    if (k.bias) {
      ops.bias = b_arg;
    }
    builder.conv_transpose(dtype(), ops);
    const npu::JobResult result = run_kernel(device(), builder.build(),
                                             {{"in", &in.buffer()},
                                              {"weight", &weight.buffer()},
                                              {"bias", &bias.buffer()},
                                              {"out", &out.buffer()}});
    ASSERT_TRUE(result.ok()) << npu::to_string(result.error);
    // Each input element scatters its weighted window (ONNX ConvTranspose).
    std::vector<double> want(out.count(), 0.0);
    for (std::uint32_t b = 0; b < k.n; ++b) {
      for (std::uint32_t ch = 0; ch < k.c; ++ch) {
        for (std::uint32_t y = 0; y < k.h; ++y) {
          for (std::uint32_t x = 0; x < k.w; ++x) {
            const double v = inv[((std::size_t{b} * k.c + ch) * k.h + y) * k.w + x];
            for (std::uint32_t kk = 0; kk < kg; ++kk) {
              const std::uint32_t oc = ch / cg * kg + kk;
              for (std::uint32_t r = 0; r < k.r; ++r) {
                for (std::uint32_t s = 0; s < k.s; ++s) {
                  const std::int64_t oy = std::int64_t{y} * k.stride - k.pad + r * k.dilation;
                  const std::int64_t ox = std::int64_t{x} * k.stride - k.pad + s * k.dilation;
                  if (oy < 0 || oy >= p || ox < 0 || ox >= q) {
                    continue;
                  }
                  want[((std::size_t{b} * k.k + oc) * p + static_cast<std::size_t>(oy)) * q +
                       static_cast<std::size_t>(ox)] +=
                      v * wv[((std::size_t{ch} * kg + kk) * k.r + r) * k.s + s];
                }
              }
            }
          }
        }
      }
    }
    for (std::size_t i = 0; i < want.size(); ++i) {
      const double b = k.bias ? bv[i / (std::size_t{p} * q) % k.k] : 0.0;
      want[i] = representable(dtype(), activate(k.act, want[i] + b));
    }
    EXPECT_TRUE(all_near(out.load(), want, sum_tolerance(dtype(), std::size_t{cg} * k.r * k.s)));
  }
};

TEST_P(ConvTranspose, OnnxSemantics) {
  SKIP_UNLESS_DEVICE_RUNS(Opcode::conv_transpose, dtype());
  // The detection head's upsampling: 2x2, stride 2, bias and ReLU.
  check({1, 8, 6, 7, 4, 2, 2, 2, 0, 0, 1, 1, true, Activation::relu});
  // 3x3, stride 2, pad 1, output padding 1; two images.
  check({2, 4, 4, 5, 6, 3, 3, 2, 1, 1, 1, 1, true, Activation::none});
  // groups and dilation; output padding beyond the pad (bias-only border).
  check({1, 4, 5, 5, 6, 3, 3, 1, 0, 1, 2, 2, true, Activation::sigmoid});
}

INSTANTIATE_TEST_SUITE_P(Dtypes, ConvTranspose,
                         testing::ValuesIn(defined_dtypes(Opcode::conv_transpose)),
                         dtype_param_name);

// --- GEMM_BATCHED ----------------------------------------------------------------

class GemmBatched : public V11Op {};

// Attention scores: batch x (M x K) times a K x N matrix per batch, B
// transposed, scaled; then the same with one B broadcast to every batch.
TEST_P(GemmBatched, PerBatchAndBroadcast) {
  SKIP_UNLESS_DEVICE_RUNS(Opcode::gemm_batched, dtype());
  constexpr std::uint32_t batch = 3, m = 9, n = 11, k = 16;
  constexpr float kScale = 0.25F;
  for (const bool broadcast : {false, true}) {
    SCOPED_TRACE(broadcast ? "broadcast B" : "B per batch");
    const std::uint32_t stride_b = broadcast ? 0U : n * k;
    DeviceTensor a(device(), dtype(), std::size_t{batch} * m * k);
    DeviceTensor b(device(), dtype(), broadcast ? std::size_t{n} * k : std::size_t{batch} * n * k);
    DeviceTensor bias(device(), dtype(), n);
    DeviceTensor c(device(), dtype(), std::size_t{batch} * m * n);
    const auto av = random_values(rng_, dtype(), a.count(), -1, 1);
    const auto bv = random_values(rng_, dtype(), b.count(), -1, 1);
    const auto biasv = random_values(rng_, dtype(), n, -1, 1);
    a.store(av);
    b.store(bv);
    bias.store(biasv);
    npu::KernelBuilder builder("gemm_batched");
    const auto a_arg = builder.arg_buffer("a");
    const auto b_arg = builder.arg_buffer("b");
    const auto bias_arg = builder.arg_buffer("bias");
    const auto c_arg = builder.arg_buffer("c");
    builder.gemm_batched(dtype(), {.a = a_arg,
                                   .b = b_arg,
                                   .c = c_arg,
                                   .bias = bias_arg,
                                   .m = m,
                                   .n = n,
                                   .k = k,
                                   .lda = k,
                                   .ldb = k,
                                   .ldc = n,
                                   .batch = batch,
                                   .stride_a = m * k,
                                   .stride_b = stride_b,
                                   .stride_c = m * n,
                                   .transpose_b = true,
                                   .activation = Activation::gelu,
                                   .scale = kScale});
    const npu::JobResult result = run_kernel(
        device(), builder.build(),
        {{"a", &a.buffer()}, {"b", &b.buffer()}, {"bias", &bias.buffer()}, {"c", &c.buffer()}});
    ASSERT_TRUE(result.ok()) << npu::to_string(result.error);
    std::vector<double> want;
    for (std::uint32_t t = 0; t < batch; ++t) {
      for (std::uint32_t i = 0; i < m; ++i) {
        for (std::uint32_t j = 0; j < n; ++j) {
          double acc = 0;
          for (std::uint32_t kk = 0; kk < k; ++kk) {
            acc += av[(std::size_t{t} * m + i) * k + kk] *
                   bv[std::size_t{t} * stride_b + std::size_t{j} * k + kk];
          }
          want.push_back(
              representable(dtype(), activate(Activation::gelu, kScale * acc + biasv[j])));
        }
      }
    }
    EXPECT_TRUE(all_near(c.load(), want, sum_tolerance(dtype(), k)));
  }
}

INSTANTIATE_TEST_SUITE_P(Dtypes, GemmBatched,
                         testing::ValuesIn(defined_dtypes(Opcode::gemm_batched)), dtype_param_name);

// --- ACTIVATION_PARAM ------------------------------------------------------------

class ActivationParam : public V11Op {};

TEST_P(ActivationParam, EveryFunction) {
  SKIP_UNLESS_DEVICE_RUNS(Opcode::activation_param, dtype());
  using F = npu::ParamActivation;
  struct Case {
    F function;
    float alpha, beta;
  };
  constexpr std::size_t kCount = 256;
  std::vector cases{Case{F::hardsigmoid, 0.2F, 0.5F},
                    Case{F::hardsigmoid, 1.0F / 6, 0.5F},
                    Case{F::hardswish, 1.0F / 6, 0.5F},
                    Case{F::clip, 0.0F, 6.0F},
                    Case{F::sqrt, 0, 0},
                    Case{F::exp, 0, 0},
                    Case{F::pow, 1.0F, 2.0F},
                    Case{F::leaky_relu, 0.01F, 0}};
  if (device().properties().hw_version >= npu::isa::kIsaVersion1_5) {  // hw-spec 7.4.5
    for (const F function : {F::log, F::softplus, F::mish, F::gelu_tanh, F::abs, F::round}) {
      cases.push_back(Case{function, 0, 0});
    }
  }
  if (device().properties().hw_version >= npu::isa::kIsaVersion1_6) {  // hw-spec 7.4.6
    cases.push_back(Case{F::sin, 0, 0});
    cases.push_back(Case{F::cos, 0, 0});
  }
  if (device().properties().hw_version >= npu::isa::kIsaVersion1_8) {  // hw-spec 7.4.8
    for (const F function : {F::tan, F::asin, F::acos, F::atan, F::sinh, F::cosh, F::asinh,
                             F::acosh, F::atanh, F::erf}) {
      cases.push_back(Case{function, 0, 0});
    }
  }
  for (const Case& k : cases) {
    SCOPED_TRACE(static_cast<int>(k.function));
    DeviceTensor in(device(), dtype(), kCount);
    DeviceTensor out(device(), dtype(), kCount);
    // Each function over its domain: the inverse functions of [-1, 1]
    // inside it, acosh from 1, tan between its poles.
    const bool unit = k.function == F::asin || k.function == F::acos || k.function == F::atanh;
    const double lo = k.function == F::sqrt    ? 0
                      : k.function == F::log   ? 1.0 / 64
                      : k.function == F::acosh ? 1
                      : unit                   ? -0.99
                      : k.function == F::tan   ? -1.5
                                               : -8;
    const double hi = k.function == F::exp ? 4 : unit ? 0.99 : k.function == F::tan ? 1.5 : 8;
    const auto inv = random_values(rng_, dtype(), kCount, lo, hi);
    in.store(inv);
    npu::KernelBuilder builder("activation_param");
    const auto in_arg = builder.arg_buffer("in");
    const auto out_arg = builder.arg_buffer("out");
    builder.activation_param(dtype(), k.function, in_arg, out_arg,
                             static_cast<std::uint32_t>(kCount), k.alpha, k.beta);
    const npu::JobResult result =
        run_kernel(device(), builder.build(), {{"in", &in.buffer()}, {"out", &out.buffer()}});
    ASSERT_TRUE(result.ok()) << npu::to_string(result.error);
    std::vector<double> want;
    for (const double x : inv) {
      const double hs = std::clamp(k.alpha * x + k.beta, 0.0, 1.0);
      double v = 0;
      switch (k.function) {
        case F::hardsigmoid:
          v = hs;
          break;
        case F::hardswish:
          v = x * hs;
          break;
        case F::clip:
          v = std::clamp(x, double{k.alpha}, double{k.beta});
          break;
        case F::sqrt:
          v = std::sqrt(x);
          break;
        case F::exp:
          v = std::exp(x);
          break;
        case F::pow:
          v = k.alpha * std::pow(x, k.beta);
          break;
        case F::leaky_relu:
          v = x >= 0 ? x : k.alpha * x;
          break;
        case F::log:
          v = std::log(x);
          break;
        case F::softplus:
          v = std::log1p(std::exp(x));
          break;
        case F::mish:
          v = x * std::tanh(std::log1p(std::exp(x)));
          break;
        case F::gelu_tanh:
          v = 0.5 * x *
              (1 + std::tanh(std::sqrt(2 / std::numbers::pi) * (x + 0.044715 * x * x * x)));
          break;
        case F::abs:
          v = std::abs(x);
          break;
        case F::round:
          v = std::nearbyint(x);  // ties to even, the default rounding mode
          break;
        case F::sin:
          v = std::sin(x);
          break;
        case F::cos:
          v = std::cos(x);
          break;
        case F::tan:
          v = std::tan(x);
          break;
        case F::asin:
          v = std::asin(x);
          break;
        case F::acos:
          v = std::acos(x);
          break;
        case F::atan:
          v = std::atan(x);
          break;
        case F::sinh:
          v = std::sinh(x);
          break;
        case F::cosh:
          v = std::cosh(x);
          break;
        case F::asinh:
          v = std::asinh(x);
          break;
        case F::acosh:
          v = std::acosh(x);
          break;
        case F::atanh:
          v = std::atanh(x);
          break;
        case F::erf:
          v = std::erf(x);
          break;
      }
      want.push_back(representable(dtype(), v));
    }
    EXPECT_TRUE(all_near(out.load(), want, tolerance(dtype())));
  }
}

INSTANTIATE_TEST_SUITE_P(Dtypes, ActivationParam,
                         testing::ValuesIn(defined_dtypes(Opcode::activation_param)),
                         dtype_param_name);

// --- one job, several v1.1 instructions ------------------------------------------

// A text-detection neck in one kernel: nearest x2 upsampling, a 2x2 stride-2
// transposed convolution with bias, hard-swish; FP32, checked at the end.
class V11Kernel : public DeviceTest {};

TEST_F(V11Kernel, DetectionNeckInOneJob) {
  const npu::DeviceProperties& p = device().properties();
  for (Opcode op : {Opcode::resize, Opcode::conv_transpose, Opcode::activation_param}) {
    if (!p.supports(op)) {
      GTEST_SKIP() << "the device does not advertise " << npu::isa::info(op).mnemonic;
    }
  }
  constexpr std::uint32_t c = 4, h = 3, w = 5, k = 2;
  std::mt19937 rng(kSeed);
  DeviceTensor in(device(), DataType::fp32, c * h * w);
  DeviceTensor up(device(), DataType::fp32, c * 2 * h * 2 * w);
  DeviceTensor weight(device(), DataType::fp32, c * k * 2 * 2);
  DeviceTensor bias(device(), DataType::fp32, k);
  DeviceTensor out(device(), DataType::fp32, k * 4 * h * 4 * w);
  const auto inv = random_values(rng, DataType::fp32, in.count(), -1, 1);
  const auto wv = random_values(rng, DataType::fp32, weight.count(), -1, 1);
  const auto bv = random_values(rng, DataType::fp32, k, -1, 1);
  in.store(inv);
  weight.store(wv);
  bias.store(bv);
  npu::KernelBuilder builder("neck");
  const auto in_arg = builder.arg_buffer("in");
  const auto up_arg = builder.arg_buffer("up");
  const auto w_arg = builder.arg_buffer("weight");
  const auto b_arg = builder.arg_buffer("bias");
  const auto out_arg = builder.arg_buffer("out");
  builder
      .resize(DataType::fp32, {.input = in_arg,
                               .output = up_arg,
                               .n = 1,
                               .c = c,
                               .h = h,
                               .w = w,
                               .out_h = 2 * h,
                               .out_w = 2 * w,
                               .coordinates = npu::ResizeCoordinates::asymmetric,
                               .rounding = npu::NearestRounding::floor})
      .conv_transpose(DataType::fp32, {.input = up_arg,
                                       .weight = w_arg,
                                       .output = out_arg,
                                       .bias = b_arg,
                                       .n = 1,
                                       .c = c,
                                       .h = 2 * h,
                                       .w = 2 * w,
                                       .k = k,
                                       .r = 2,
                                       .s = 2,
                                       .stride_h = 2,
                                       .stride_w = 2})
      .activation_param(DataType::fp32, npu::ParamActivation::hardswish, out_arg, out_arg,
                        k * 4 * h * 4 * w, 1.0F / 6, 0.5F);
  const npu::KernelImage image = builder.build();
  EXPECT_EQ(image.isa_version, npu::isa::kIsaVersion1_1);
  const npu::JobResult result = run_kernel(device(), image,
                                           {{"in", &in.buffer()},
                                            {"up", &up.buffer()},
                                            {"weight", &weight.buffer()},
                                            {"bias", &bias.buffer()},
                                            {"out", &out.buffer()}});
  ASSERT_TRUE(result.ok()) << npu::to_string(result.error);
  std::vector<double> want(out.count());
  // Stride 2 with a 2x2 kernel: every output pixel gets exactly one tap.
  for (std::uint32_t oc = 0; oc < k; ++oc) {
    for (std::uint32_t y = 0; y < 4 * h; ++y) {
      for (std::uint32_t x = 0; x < 4 * w; ++x) {
        double acc = bv[oc];
        for (std::uint32_t ch = 0; ch < c; ++ch) {
          const double u = inv[(std::size_t{ch} * h + y / 4) * w + x / 4];
          acc += u * wv[((std::size_t{ch} * k + oc) * 2 + y % 2) * 2 + x % 2];
        }
        want[(std::size_t{oc} * 4 * h + y) * 4 * w + x] = acc * std::clamp(acc / 6 + 0.5, 0.0, 1.0);
      }
    }
  }
  EXPECT_TRUE(all_near(out.load(), want, sum_tolerance(DataType::fp32, c)));
}

}  // namespace
}  // namespace guest
