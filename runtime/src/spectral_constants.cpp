#include "spectral_constants.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <stdexcept>

#include "element_codec.hpp"

namespace npu::onnx_runtime {

namespace {

// A DFT matrix or mel filter bank of more elements is refused rather than
// built: it becomes weights in device memory (2^24 float32: 64 MiB).
constexpr std::int64_t kMaxElements = std::int64_t{1} << 24;

void check_size(std::int64_t rows, std::int64_t columns, const char* what) {
  if (rows < 1 || columns < 1 || rows > kMaxElements / columns) {
    throw std::runtime_error(fmt::format("a {} of {} x {} elements: more than the {} allowed", what,
                                         rows, columns, kMaxElements));
  }
}

}  // namespace

Constant dft_matrix(const DftSpec& spec) {
  const std::int64_t parts = spec.complex_input ? 2 : 1;
  check_size(spec.samples * parts, 2 * spec.bins, "DFT matrix");
  const std::int64_t columns = 2 * spec.bins;
  std::vector<float> w(static_cast<std::size_t>(spec.samples * parts * columns), 0.0F);
  const double sign = spec.inverse ? 1.0 : -1.0;
  const double scale = spec.inverse ? 1.0 / static_cast<double>(spec.length) : 1.0;
  // Samples past `length` are truncated: their rows stay zero.
  for (std::int64_t n = 0; n < std::min(spec.samples, spec.length); ++n) {
    const double weight =
        scale * (spec.window.empty() ? 1.0 : spec.window.at(static_cast<std::size_t>(n)));
    for (std::int64_t k = 0; k < spec.bins; ++k) {
      const double angle = 2.0 * std::numbers::pi * static_cast<double>(k * n % spec.length) /
                           static_cast<double>(spec.length);
      const auto c = static_cast<float>(weight * std::cos(angle));
      const auto s = static_cast<float>(weight * sign * std::sin(angle));
      float* re_row = &w[static_cast<std::size_t>(n * parts * columns + 2 * k)];
      re_row[0] = c;  // (x_re) · (c + i s)
      re_row[1] = s;
      if (spec.complex_input) {
        float* im_row = re_row + columns;
        im_row[0] = -s;  // (i x_im) · (c + i s)
        im_row[1] = c;
      }
    }
  }
  return Constant::of_floats({spec.samples * parts, columns}, std::move(w));
}

namespace {

double scalar_input(const Node& node, const Graph& graph, std::size_t index) {
  const Constant& c = graph.constants.at(node.inputs.at(index));
  if (c.size() != 1) {
    throw std::runtime_error(
        fmt::format("{}: input {} has {} values, not one", node.label(), index, c.size()));
  }
  return c.value(0);
}

double mel(double hertz) {
  return 2595.0 * std::log10(1.0 + hertz / 700.0);
}

double hertz(double mel) {
  return 700.0 * (std::pow(10.0, mel / 2595.0) - 1.0);
}

ElementType mel_output_type(const Node& node) {
  const std::int64_t type = node.get_int("output_datatype", 1);
  switch (static_cast<ElementType>(type)) {
    case ElementType::float32:
    case ElementType::float16:
    case ElementType::bfloat16:
    case ElementType::float64:
    case ElementType::uint8:
    case ElementType::int8:
    case ElementType::int32:
    case ElementType::int64:
      return static_cast<ElementType>(type);
    default:
      throw std::runtime_error(fmt::format(
          "{}: output_datatype {} is not a type the runtime computes", node.label(), type));
  }
}

}  // namespace

Constant mel_weight_matrix(const Node& node, const Graph& graph) {
  if (node.inputs.size() != 5) {
    throw std::runtime_error(fmt::format("{}: {} inputs, not 5", node.label(), node.inputs.size()));
  }
  const double mel_bins = scalar_input(node, graph, 0);
  const double dft_length = scalar_input(node, graph, 1);
  const double sample_rate = scalar_input(node, graph, 2);
  const double lower = scalar_input(node, graph, 3);
  const double upper = scalar_input(node, graph, 4);
  if (!(mel_bins >= 1 && dft_length >= 1 && sample_rate >= 1 && lower >= 0 && upper > lower &&
        mel_bins <= kMaxElements && dft_length <= 2 * kMaxElements)) {
    throw std::runtime_error(
        fmt::format("{}: num_mel_bins {}, dft_length {}, sample_rate {}, edges {} .. {} Hz: "
                    "not a filter bank",
                    node.label(), mel_bins, dft_length, sample_rate, lower, upper));
  }
  const auto bins = static_cast<std::int64_t>(mel_bins);
  const auto spectrum = static_cast<std::int64_t>(dft_length) / 2 + 1;
  check_size(spectrum, bins, "mel weight matrix");
  // Band edges as spectrum bins, as ONNX's reference places them (its mel
  // step divides by num_mel_bins + 2).
  const double low_mel = mel(lower);
  const double step = (mel(upper) - low_mel) / static_cast<double>(bins + 2);
  std::vector<std::int64_t> edges;
  for (std::int64_t i = 0; i < bins + 2; ++i) {
    const double f = hertz(static_cast<double>(i) * step + low_mel);
    const double bin = std::floor((dft_length + 1.0) * f / sample_rate);
    if (!(bin >= 0 && bin < static_cast<double>(spectrum))) {
      throw std::runtime_error(
          fmt::format("{}: band edge {} ({} Hz) falls in bin {}, outside the {} bins of the "
                      "spectrum",
                      node.label(), i, f, bin, spectrum));
    }
    edges.push_back(static_cast<std::int64_t>(bin));
  }
  std::vector<double> weights(static_cast<std::size_t>(spectrum * bins), 0.0);
  const auto at = [&](std::int64_t row, std::int64_t band) -> double& {
    return weights[static_cast<std::size_t>(row * bins + band)];
  };
  for (std::int64_t i = 0; i < bins; ++i) {
    const auto band = static_cast<std::size_t>(i);
    const std::int64_t left = edges[band], center = edges[band + 1], right = edges[band + 2];
    if (center == left) {
      at(center, i) = 1.0;
    }
    for (std::int64_t j = left; center > left && j <= center; ++j) {
      at(j, i) = static_cast<double>(j - left) / static_cast<double>(center - left);
    }
    for (std::int64_t j = center; j < right; ++j) {
      at(j, i) = static_cast<double>(right - j) / static_cast<double>(right - center);
    }
  }
  Constant out;
  out.type = mel_output_type(node);
  out.shape = {spectrum, bins};
  for (const double w : weights) {
    if (out.is_float()) {
      out.floats.push_back(static_cast<float>(w));
    } else {
      out.ints.push_back(static_cast<std::int64_t>(w));
    }
  }
  if (out.type == ElementType::float16 || out.type == ElementType::bfloat16) {
    const isa::DataType half =
        out.type == ElementType::float16 ? isa::DataType::fp16 : isa::DataType::bf16;
    out.floats = decode_elements(encode_elements(out.floats, half), half);
  }
  return out;
}

}  // namespace npu::onnx_runtime
