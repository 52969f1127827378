// The instruction set v1.2 addition (hw-spec 7.4.2) through libnpu and
// knpu.ko: CONVERT in every conversion the spec defines, per tensor and per
// channel, on random data against a reference written here (one FP32
// multiplication, then the destination's rounding), and the conversions of
// an INT8 layer chained in one job. v1.7's float to INT32 (7.4.7) on a
// device that has it.
#include <algorithm>
#include <cmath>
#include <string>

#include "compute_support.hpp"

namespace guest {
namespace {

using npu::isa::Opcode;

constexpr unsigned kSeed = 20261204;

struct Conversion {
  DataType from, to;
  float scale;    // per tensor; per channel: scales around it
  double lo, hi;  // the random source values
};

std::string conversion_name(const testing::TestParamInfo<Conversion>& info) {
  return std::string(npu::isa::name(info.param.from)) + "_to_" +
         std::string(npu::isa::name(info.param.to));
}

// hw-spec 7.4.2: the source as FP32 (INT32 rounded to nearest-even), times
// the scale in FP32, then rounded to the destination (INT8: half to even,
// saturated; NaN 0; INT32, 7.4.7: toward zero, saturated).
double convert_reference(DataType from, DataType to, double x, float scale) {
  const float xf = from == DataType::int32 ? static_cast<float>(static_cast<std::int32_t>(x))
                                           : static_cast<float>(x);
  const auto y = static_cast<float>(static_cast<double>(xf) * scale);
  if ((to == DataType::int8 || to == DataType::int32) && std::isnan(y)) {
    return 0;
  }
  if (to == DataType::int32) {
    return std::clamp(std::trunc(static_cast<double>(y)), -2147483648.0, 2147483647.0);
  }
  return representable(to, y);
}

class Convert : public DeviceTest, public testing::WithParamInterface<Conversion> {
 protected:
  // One CONVERT of outer x channels x inner elements; channels 0: per tensor.
  void check(std::uint32_t outer, std::uint32_t channels, std::uint32_t inner) {
    const Conversion& k = GetParam();
    const std::uint32_t count = outer * std::max(channels, 1U) * std::max(inner, 1U);
    DeviceTensor in(device(), k.from, count);
    DeviceTensor out(device(), k.to, count);
    DeviceTensor scales(device(), DataType::fp32, std::max(channels, 1U));
    const auto x = random_values(rng_, k.from, count, k.lo, k.hi);
    const auto s = random_values(rng_, DataType::fp32, scales.count(), k.scale / 4, k.scale * 4);
    in.store(x);
    scales.store(s);
    npu::KernelBuilder builder("convert");
    npu::ConvertOperands o{.input = builder.arg_buffer("in"),
                           .output = builder.arg_buffer("out"),
                           .count = count,
                           .scale = k.scale};
    if (channels != 0) {
      o.channel_scales = builder.arg_buffer("scales");
      o.channels = channels;
      o.inner = inner;
    }
    builder.convert(k.from, k.to, o);
    const npu::JobResult result =
        channels != 0
            ? run_kernel(
                  device(), builder.build(),
                  {{"in", &in.buffer()}, {"out", &out.buffer()}, {"scales", &scales.buffer()}})
            : run_kernel(device(), builder.build(), {{"in", &in.buffer()}, {"out", &out.buffer()}});
    ASSERT_TRUE(result.ok()) << npu::to_string(result.error);
    std::vector<double> want(count);
    for (std::uint32_t i = 0; i < count; ++i) {
      const float scale = channels != 0 ? static_cast<float>(s[(i / inner) % channels]) : k.scale;
      want[i] = convert_reference(k.from, k.to, x[i], scale);
    }
    EXPECT_TRUE(all_near(out.load(), want, {0, 0}));
  }

  std::mt19937 rng_{kSeed};
};

// Exact: one FP32 product, one rounding, saturation at both ends.
TEST_P(Convert, PerTensorAndPerChannelAreExact) {
  SKIP_UNLESS_DEVICE_RUNS(Opcode::convert, GetParam().from);
  SKIP_UNLESS_DEVICE_RUNS(Opcode::convert, GetParam().to);
  if (GetParam().to == DataType::int32 &&
      device().properties().hw_version < npu::isa::kIsaVersion1_7) {
    GTEST_SKIP() << "CONVERT to INT32 is ISA v1.7 (hw-spec 7.4.7)";
  }
  check(5000, 0, 0);
  check(3, 16, 49);  // NCHW: channels C, inner H*W
  check(40, 24, 1);  // rows x N, scaled per column
}

INSTANTIATE_TEST_SUITE_P(
    Conversions, Convert,
    testing::Values(Conversion{DataType::fp32, DataType::int8, 60.0F, -3, 3},
                    Conversion{DataType::fp16, DataType::int8, 45.0F, -4, 4},
                    Conversion{DataType::bf16, DataType::int8, 30.0F, -6, 6},
                    Conversion{DataType::int8, DataType::fp32, 0.02F, -128, 127},
                    Conversion{DataType::int8, DataType::fp16, 0.5F, -128, 127},
                    Conversion{DataType::int8, DataType::bf16, 0.003F, -128, 127},
                    Conversion{DataType::int32, DataType::int8, 0.001F, -200000, 200000},
                    Conversion{DataType::int32, DataType::fp32, 3e-4F, -3e7, 3e7},
                    Conversion{DataType::int32, DataType::bf16, 0.01F, -1e6, 1e6},
                    Conversion{DataType::fp32, DataType::int32, 1000.0F, -3, 3},
                    Conversion{DataType::fp16, DataType::int32, 1e8F, -100, 100},  // saturates
                    Conversion{DataType::bf16, DataType::int32, 3.0F, -1e5, 1e5}),
    conversion_name);

// An INT8 1x1 convolution as the runtime lowers it on a v1.2 device:
// quantize the FP32 input, the INT8 product's INT32 accumulators with RELU,
// each output channel's accumulators scaled back to FP32; one job.
class ConvertLayer : public DeviceTest {};

TEST_F(ConvertLayer, Int8LayerConversionsInOneJob) {
  SKIP_UNLESS_DEVICE_RUNS(Opcode::convert, DataType::int8);
  constexpr std::uint32_t c = 8, k = 6, hw = 25;
  constexpr float kInputScale = 1.0F / 40;
  std::mt19937 rng{kSeed};
  DeviceTensor x(device(), DataType::fp32, c * hw);
  DeviceTensor q(device(), DataType::int8, c * hw);
  DeviceTensor w(device(), DataType::int8, k * c);
  DeviceTensor acc(device(), DataType::int32, k * hw);
  DeviceTensor scales(device(), DataType::fp32, k);
  DeviceTensor y(device(), DataType::fp32, k * hw);
  const auto xv = random_values(rng, DataType::fp32, x.count(), -4, 4);
  const auto wv = random_values(rng, DataType::int8, w.count(), -127, 127);
  const auto sv = random_values(rng, DataType::fp32, k, 1e-4, 1e-2);
  x.store(xv);
  w.store(wv);
  scales.store(sv);
  npu::KernelBuilder b("int8_layer");
  const auto xa = b.arg_buffer("x");
  const auto qa = b.arg_buffer("q");
  const auto wa = b.arg_buffer("w");
  const auto aa = b.arg_buffer("acc");
  const auto sa = b.arg_buffer("scales");
  const auto ya = b.arg_buffer("y");
  b.convert(DataType::fp32, DataType::int8,
            {.input = xa, .output = qa, .count = c * hw, .scale = 1.0F / kInputScale})
      .conv2d(DataType::int8, {.input = qa,
                               .weight = wa,
                               .output = aa,
                               .n = 1,
                               .c = c,
                               .h = 5,
                               .w = 5,
                               .k = k,
                               .r = 1,
                               .s = 1,
                               .activation = npu::Activation::relu,
                               .int32_output = true})
      .convert(DataType::int32, DataType::fp32,
               {.input = aa,
                .output = ya,
                .count = k * hw,
                .channel_scales = sa,
                .channels = k,
                .inner = hw});
  const npu::JobResult result = run_kernel(device(), b.build(),
                                           {{"x", &x.buffer()},
                                            {"q", &q.buffer()},
                                            {"w", &w.buffer()},
                                            {"acc", &acc.buffer()},
                                            {"scales", &scales.buffer()},
                                            {"y", &y.buffer()}});
  ASSERT_TRUE(result.ok()) << npu::to_string(result.error);
  std::vector<double> want(y.count());
  for (std::uint32_t o = 0; o < k; ++o) {
    for (std::uint32_t p = 0; p < hw; ++p) {
      double sum = 0;
      for (std::uint32_t i = 0; i < c; ++i) {
        const double qi =
            convert_reference(DataType::fp32, DataType::int8, xv[i * hw + p], 1.0F / kInputScale);
        sum += qi * wv[o * c + i];
      }
      want[o * hw + p] = convert_reference(DataType::int32, DataType::fp32, std::max(sum, 0.0),
                                           static_cast<float>(sv[o]));
    }
  }
  EXPECT_TRUE(all_near(y.load(), want, {0, 0}));
}

}  // namespace
}  // namespace guest
