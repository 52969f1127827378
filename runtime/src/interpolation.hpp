// ONNX Resize's interpolation along one axis as a constant matrix: output
// element j = sum over k of W[j][k] * input element k. Every mode and
// coordinate transform the operator defines is such a matrix, so a resize
// the RESIZE instruction cannot do (cubic, tf_crop_and_resize, any rank or
// axis) is one product per resized axis.
#pragma once

#include <cstdint>
#include <vector>

namespace npu::onnx_runtime {

enum class InterpolationMode { nearest, linear, cubic };
enum class CoordinateTransform {
  half_pixel,
  pytorch_half_pixel,
  align_corners,
  asymmetric,
  tf_crop_and_resize
};
enum class NearestMode { round_prefer_floor, round_prefer_ceil, floor, ceil };

struct Interpolation {
  InterpolationMode mode = InterpolationMode::nearest;
  CoordinateTransform transform = CoordinateTransform::half_pixel;
  NearestMode nearest = NearestMode::round_prefer_floor;
  double cubic_coeff_a = -0.75;
  bool exclude_outside = false;
};

struct ResizedAxis {
  std::int64_t in, out;
  double scale;  // the coordinate transform's factor: `scales` as given, or out/in
  double roi_start = 0.0, roi_end = 1.0;  // tf_crop_and_resize only
};

// Row j of `weights` (out x in, row-major) interpolates output element j.
// Under tf_crop_and_resize a row whose coordinate lies outside the input
// is all zeros and `outside` marks it: the extrapolation value goes there.
struct InterpolationMatrix {
  std::vector<float> weights;
  std::vector<bool> outside;
  [[nodiscard]] bool is_identity(std::int64_t in, std::int64_t out) const;
};

// As onnxruntime computes it: indices beyond the input clamped to its
// edges, cubic neighbours outside it dropped and the rest renormalised
// with exclude_outside, a coordinate computed from the output's integer
// length. The caller bounds in x out.
InterpolationMatrix interpolation_matrix(const ResizedAxis& axis, const Interpolation& how);

}  // namespace npu::onnx_runtime
