#include "quantization.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace npu::onnx_runtime {

float symmetric_scale(float max_abs) {
  if (!std::isfinite(max_abs) || max_abs < 0.0F) {
    throw std::invalid_argument("a range must be finite and not negative");
  }
  return max_abs == 0.0F ? 1.0F : max_abs / 127.0F;
}

std::int64_t quantize_value(float value, float scale, std::int64_t low, std::int64_t high) {
  const float scaled = value / scale;
  if (std::isnan(scaled)) {
    return 0;
  }
  // std::nearbyint rounds ties to even in the default rounding mode.
  const double rounded = std::nearbyint(static_cast<double>(scaled));
  return static_cast<std::int64_t>(
      std::clamp(rounded, static_cast<double>(low), static_cast<double>(high)));
}

std::int8_t quantize_activation(float value, float scale) {
  return static_cast<std::int8_t>(quantize_value(value, scale,
                                                 std::numeric_limits<std::int8_t>::min(),
                                                 std::numeric_limits<std::int8_t>::max()));
}

ChannelQuantized quantize_per_channel(std::span<const float> weights, std::int64_t outer,
                                      std::int64_t channels, std::int64_t inner) {
  if (outer * channels * inner != static_cast<std::int64_t>(weights.size())) {
    throw std::invalid_argument("the layout does not cover the weights");
  }
  auto index = [&](std::int64_t o, std::int64_t c, std::int64_t i) {
    return static_cast<std::size_t>((o * channels + c) * inner + i);
  };
  ChannelQuantized q{std::vector<std::int64_t>(weights.size()),
                     std::vector<float>(static_cast<std::size_t>(channels))};
  for (std::int64_t c = 0; c < channels; ++c) {
    float max_abs = 0.0F;
    for (std::int64_t o = 0; o < outer; ++o) {
      for (std::int64_t i = 0; i < inner; ++i) {
        max_abs = std::max(max_abs, std::fabs(weights[index(o, c, i)]));
      }
    }
    const float scale = symmetric_scale(max_abs);
    q.scales[static_cast<std::size_t>(c)] = scale;
    for (std::int64_t o = 0; o < outer; ++o) {
      for (std::int64_t i = 0; i < inner; ++i) {
        q.values[index(o, c, i)] = quantize_value(weights[index(o, c, i)], scale, -127, 127);
      }
    }
  }
  return q;
}

std::vector<std::int64_t> quantize_bias(std::span<const float> bias, float input_scale,
                                        std::span<const float> weight_scales) {
  if (bias.size() != weight_scales.size()) {
    throw std::invalid_argument("one bias per channel");
  }
  std::vector<std::int64_t> q(bias.size());
  for (std::size_t k = 0; k < bias.size(); ++k) {
    q[k] = quantize_value(bias[k], input_scale * weight_scales[k],
                          std::numeric_limits<std::int32_t>::min(),
                          std::numeric_limits<std::int32_t>::max());
  }
  return q;
}

std::vector<float> requantization_scales(float input_scale, std::span<const float> weight_scales,
                                         float output_scale) {
  std::vector<float> scales(weight_scales.size());
  std::ranges::transform(weight_scales, scales.begin(),
                         [&](float w) { return input_scale * w / output_scale; });
  return scales;
}

bool accumulators_convert_exactly(const ChannelQuantized& weights,
                                  std::span<const std::int64_t> bias, std::int64_t outer,
                                  std::int64_t inner) {
  const auto channels = static_cast<std::int64_t>(weights.scales.size());
  for (std::int64_t c = 0; c < channels; ++c) {
    std::int64_t bound = std::abs(bias[static_cast<std::size_t>(c)]);
    for (std::int64_t o = 0; o < outer; ++o) {
      for (std::int64_t i = 0; i < inner; ++i) {
        bound += 128 *
                 std::abs(weights.values[static_cast<std::size_t>((o * channels + c) * inner + i)]);
      }
    }
    if (bound >= (std::int64_t{1} << 22)) {
      return false;
    }
  }
  return true;
}

RangeObserver::RangeObserver(double percentile) : percentile_(percentile) {
  if (!(percentile > 0.0 && percentile <= 100.0)) {
    throw std::invalid_argument("a calibration percentile is in (0, 100]");
  }
}

void RangeObserver::observe(std::span<const float> values) {
  std::vector<float> magnitudes;
  magnitudes.reserve(values.size());
  for (const float v : values) {
    if (std::isfinite(v)) {
      magnitudes.push_back(std::fabs(v));
    }
  }
  if (magnitudes.empty()) {
    return;
  }
  const auto rank = static_cast<std::size_t>(
      std::ceil(percentile_ / 100.0 * static_cast<double>(magnitudes.size())));
  const auto nth =
      magnitudes.begin() + static_cast<std::ptrdiff_t>(std::max<std::size_t>(rank, 1) - 1);
  std::ranges::nth_element(magnitudes, nth);
  max_abs_ = std::max(max_abs_, *nth);
}

}  // namespace npu::onnx_runtime
