// INT8 quantization arithmetic (docs/onnx-runtime.md "INT8"): symmetric
// scales, weights per output channel, INT32 biases, the device's
// requantization scales, and min/max calibration of activations. Pure
// functions, so the host tests check them against hand-computed values.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace npu::onnx_runtime {

// 1.5 * 2^23: a float in [2^23, 2^24) has a unit step, so adding this to a
// value below 2^22 in magnitude rounds it to the nearest integer (ties to
// even), and the low bits of the sum's IEEE-754 pattern are that integer.
// The device has no conversion instruction; the runtime converts with it.
inline constexpr float kRoundingBias = 12582912.0F;
inline constexpr std::int32_t kRoundingBiasBits = 0x4B400000;

// The scale mapping [-max_abs, max_abs] onto [-127, 127]; 1 when max_abs is
// 0 (any scale represents zeros), so a scale is always finite and > 0.
float symmetric_scale(float max_abs);

// round_half_even(value / scale), saturated to [low, high] (hw-spec 7.3).
std::int64_t quantize_value(float value, float scale, std::int64_t low, std::int64_t high);
// An activation: saturated to the INT8 range [-128, 127].
std::int8_t quantize_activation(float value, float scale);

// Weights whose elements are laid out [outer][channels][inner]: each output
// channel gets its own symmetric scale, values in [-127, 127].
struct ChannelQuantized {
  std::vector<std::int64_t> values;
  std::vector<float> scales;  // one per channel
};
ChannelQuantized quantize_per_channel(std::span<const float> weights, std::int64_t outer,
                                      std::int64_t channels, std::int64_t inner);

// A float bias added to accumulators of input_scale * weight_scales[k]:
// round_half_even(bias[k] / (input_scale * weight_scales[k])), saturated to
// INT32.
std::vector<std::int64_t> quantize_bias(std::span<const float> bias, float input_scale,
                                        std::span<const float> weight_scales);

// The device's per-channel requantization scales (hw-spec 7.3): an
// accumulator of input_scale * weight_scales[k] re-expressed in units of
// output_scale.
std::vector<float> requantization_scales(float input_scale, std::span<const float> weight_scales,
                                         float output_scale);

// Whether every INT32 accumulator of these weights (laid out as for
// quantize_per_channel) plus its bias stays below 2^22 in magnitude for any
// INT8 input (128 * sum |w| + |bias| per channel), so that adding
// kRoundingBiasBits converts it to FP32 exactly.
bool accumulators_convert_exactly(const ChannelQuantized& weights,
                                  std::span<const std::int64_t> bias, std::int64_t outer,
                                  std::int64_t inner);

// Calibration of a tensor's range over the samples: per sample, the
// `percentile`-th percentile of the magnitudes (100: the largest, min/max
// calibration; below 100 the outliers saturate, finer steps for the rest;
// the element at rank ceil(p/100 * n) - 1 of the sorted magnitudes), and the
// largest of those over the samples. NaN and infinities are ignored.
class RangeObserver {
 public:
  explicit RangeObserver(double percentile = 100.0);
  void observe(std::span<const float> values);
  [[nodiscard]] float max_abs() const { return max_abs_; }

 private:
  double percentile_;
  float max_abs_ = 0.0F;
};

}  // namespace npu::onnx_runtime
