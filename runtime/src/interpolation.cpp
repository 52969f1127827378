#include "interpolation.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>

namespace npu::onnx_runtime {
namespace {

// Output element x's coordinate in the input (ONNX's Resize, opset 11-13).
double source_coordinate(const ResizedAxis& a, CoordinateTransform transform, std::int64_t x) {
  const auto in = static_cast<double>(a.in);
  const auto out = static_cast<double>(a.out);
  const auto xd = static_cast<double>(x);
  switch (transform) {
    case CoordinateTransform::half_pixel:
      return (xd + 0.5) / a.scale - 0.5;
    case CoordinateTransform::pytorch_half_pixel:
      return a.out > 1 ? (xd + 0.5) / a.scale - 0.5 : 0.0;
    case CoordinateTransform::align_corners:
      return a.out > 1 ? xd * (in - 1) / (out - 1) : 0.0;
    case CoordinateTransform::asymmetric:
      return xd / a.scale;
    case CoordinateTransform::tf_crop_and_resize:
      return a.out > 1
                 ? a.roi_start * (in - 1) + xd * (a.roi_end - a.roi_start) * (in - 1) / (out - 1)
                 : 0.5 * (a.roi_start + a.roi_end) * (in - 1);
  }
  return 0.0;
}

std::int64_t nearest_index(double coordinate, NearestMode mode) {
  const double below = std::floor(coordinate);
  switch (mode) {
    case NearestMode::round_prefer_floor:
      return static_cast<std::int64_t>(coordinate - below == 0.5 ? below : std::round(coordinate));
    case NearestMode::round_prefer_ceil:
      return static_cast<std::int64_t>(coordinate - below == 0.5 ? below + 1
                                                                 : std::round(coordinate));
    case NearestMode::floor:
      return static_cast<std::int64_t>(below);
    case NearestMode::ceil:
      return static_cast<std::int64_t>(std::ceil(coordinate));
  }
  return 0;
}

// Keys' cubic convolution weights of the four neighbours floor(x) - 1 ..
// floor(x) + 2 at fraction t = x - floor(x).
std::array<double, 4> cubic_weights(double t, double a) {
  const auto far = [a](double d) { return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a; };
  const auto near = [a](double d) { return ((a + 2) * d - (a + 3)) * d * d + 1; };
  return {far(t + 1), near(t), near(1 - t), far(2 - t)};
}

void interpolate_row(const ResizedAxis& a, const Interpolation& how, double x, float* row) {
  const auto clamped = [&a](std::int64_t k) { return std::clamp<std::int64_t>(k, 0, a.in - 1); };
  const double below = std::floor(x);
  const auto first = static_cast<std::int64_t>(below);
  switch (how.mode) {
    case InterpolationMode::nearest:
      row[clamped(nearest_index(x, how.nearest))] = 1.0F;
      return;
    case InterpolationMode::linear: {
      const double inside = std::clamp(x, 0.0, static_cast<double>(a.in - 1));
      const auto low = static_cast<std::int64_t>(std::floor(inside));
      const double t = inside - static_cast<double>(low);
      row[low] += static_cast<float>(1 - t);
      row[clamped(low + 1)] += static_cast<float>(t);
      return;
    }
    case InterpolationMode::cubic: {
      std::array<double, 4> w = cubic_weights(x - below, how.cubic_coeff_a);
      if (how.exclude_outside) {
        double sum = 0;
        for (std::size_t i = 0; i < w.size(); ++i) {
          const std::int64_t k = first - 1 + static_cast<std::int64_t>(i);
          w[i] = k < 0 || k >= a.in ? 0.0 : w[i];
          sum += w[i];
        }
        for (double& v : w) {
          v /= sum;
        }
      }
      for (std::size_t i = 0; i < w.size(); ++i) {
        row[clamped(first - 1 + static_cast<std::int64_t>(i))] += static_cast<float>(w[i]);
      }
      return;
    }
  }
}

}  // namespace

bool InterpolationMatrix::is_identity(std::int64_t in, std::int64_t out) const {
  if (in != out || std::ranges::find(outside, true) != outside.end()) {
    return false;
  }
  for (std::int64_t j = 0; j < out; ++j) {
    for (std::int64_t k = 0; k < in; ++k) {
      if (weights[static_cast<std::size_t>(j * in + k)] != (j == k ? 1.0F : 0.0F)) {
        return false;
      }
    }
  }
  return true;
}

InterpolationMatrix interpolation_matrix(const ResizedAxis& axis, const Interpolation& how) {
  InterpolationMatrix m;
  m.weights.assign(static_cast<std::size_t>(axis.out * axis.in), 0.0F);
  m.outside.assign(static_cast<std::size_t>(axis.out), false);
  const auto last = static_cast<double>(axis.in - 1);
  for (std::int64_t j = 0; j < axis.out; ++j) {
    const double x = source_coordinate(axis, how.transform, j);
    if (how.transform == CoordinateTransform::tf_crop_and_resize && !(x >= 0 && x <= last)) {
      m.outside[static_cast<std::size_t>(j)] = true;  // NaN too (an roi of huge values)
      continue;
    }
    // Beyond a few elements past the edges every neighbour clamps to the
    // edge: the same row, and no integer conversion of a huge coordinate
    // (a scale of 1e-30).
    const double bounded = std::isnan(x) ? 0.0 : std::clamp(x, -4.0, last + 4.0);
    interpolate_row(axis, how, bounded, &m.weights[static_cast<std::size_t>(j * axis.in)]);
  }
  return m;
}

}  // namespace npu::onnx_runtime
