#include "spectral_rewrite.hpp"

#include <fmt/format.h>

#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "node_replacement.hpp"
#include "spectral_constants.hpp"

namespace npu::onnx_runtime {
namespace {

// A gathered frame table of more indices is refused rather than built.
constexpr std::int64_t kMaxFrameIndices = std::int64_t{1} << 24;

[[noreturn]] void refuse(const Node& node, const std::string& why) {
  throw std::runtime_error(fmt::format("{}: {}", node.label(), why));
}

std::int64_t product(const Shape& shape, std::size_t begin, std::size_t end) {
  std::int64_t p = 1;
  for (std::size_t a = begin; a < end; ++a) {
    p *= shape[a];
  }
  return p;
}

// Optional input `index` of `node`: absent, a constant scalar, or known
// only at run time (then the node cannot be rewritten).
struct ScalarInput {
  bool given = false;
  bool constant = false;
  std::int64_t value = 0;
};

ScalarInput scalar_input(const Graph& graph, const Node& node, std::size_t index,
                         const char* name) {
  if (index >= node.inputs.size() || node.inputs[index].empty()) {
    return {};
  }
  const auto it = graph.constants.find(node.inputs[index]);
  if (it == graph.constants.end()) {
    return {.given = true};
  }
  if (it->second.size() != 1) {
    refuse(node, fmt::format("{} has {} values, not one", name, it->second.size()));
  }
  return {.given = true, .constant = true, .value = it->second.integer(0)};
}

// Whether the last dimension of `shape` holds real values (1) or (re, im)
// pairs (2), as DFT and STFT read their inputs.
bool complex_values(const Node& node, const Shape& shape) {
  if (shape.size() < 2 || (shape.back() != 1 && shape.back() != 2)) {
    refuse(node, fmt::format("an input of shape {}: its last dimension must hold 1 (real) or 2 "
                             "(complex) values",
                             to_string(shape)));
  }
  return shape.back() == 2;
}

std::int64_t bins_of(const Node& node, std::int64_t length, bool complex_input) {
  const bool onesided = node.get_int("onesided", node.op == "STFT" ? 1 : 0) != 0;
  if (onesided && complex_input) {
    refuse(node, "onesided of a complex signal (its spectrum has no symmetry to halve)");
  }
  return onesided ? length / 2 + 1 : length;
}

// The DFT's axis: the attribute before opset 20 (default 1), the input from
// 20 (default -2); nullopt if it is known only at run time.
std::optional<std::int64_t> dft_axis(const Graph& graph, const Node& dft, std::size_t rank) {
  std::int64_t axis = dft.get_int("axis", graph.opset >= 20 ? -2 : 1);
  if (graph.opset >= 20) {
    const ScalarInput input = scalar_input(graph, dft, 2, "axis");
    if (input.given && !input.constant) {
      return std::nullopt;
    }
    axis = input.given ? input.value : axis;
  }
  const auto r = static_cast<std::int64_t>(rank);
  const std::int64_t a = axis < 0 ? axis + r : axis;
  if (a < 0 || a > r - 2) {
    refuse(dft, fmt::format("axis {} of a rank-{} input: only its signal axes, [{}, {}] or "
                            "[0, {}], not the last (the (re, im) pairs)",
                            axis, rank, -r, -2, r - 2));
  }
  return a;
}

std::int64_t dft_length(const Node& node, const ScalarInput& given, std::int64_t samples) {
  if (!given.given) {
    return samples;
  }
  if (given.value < 1) {
    refuse(node, fmt::format("a DFT length of {}", given.value));
  }
  return given.value;
}

std::optional<std::vector<Node>> rewritten_dft(Graph& graph, const Node& dft) {
  const Shape* in = graph.known_shape(dft.inputs.at(0));
  if (in == nullptr) {
    return std::nullopt;
  }
  const Shape shape = *in;
  const std::size_t rank = shape.size();
  const bool complex_input = complex_values(dft, shape);
  const std::optional<std::int64_t> axis = dft_axis(graph, dft, rank);
  const ScalarInput length_input = scalar_input(graph, dft, 1, "dft_length");
  if (!axis || (length_input.given && !length_input.constant)) {
    return std::nullopt;
  }
  const auto a = static_cast<std::size_t>(*axis);
  const std::int64_t length = dft_length(dft, length_input, shape[a]);
  DftSpec spec{.samples = shape[a],
               .length = length,
               .bins = bins_of(dft, length, complex_input),
               .complex_input = complex_input,
               .inverse = dft.get_int("inverse", 0) != 0,
               .window = {}};
  NodeReplacement r(graph, dft);
  // The signal axis next to the pairs: [rest..., samples, 1 or 2].
  std::vector<std::int64_t> perm;
  for (std::size_t d = 0; d + 1 < rank; ++d) {
    if (d != a) {
      perm.push_back(static_cast<std::int64_t>(d));
    }
  }
  perm.push_back(*axis);
  perm.push_back(static_cast<std::int64_t>(rank - 1));
  const std::string moved = r.transposed(dft.inputs[0], perm);
  Shape rows_shape = graph.shape(moved);
  rows_shape.resize(rank - 2);
  const std::int64_t rows = product(rows_shape, 0, rows_shape.size());
  const std::string flat = r.reshaped(moved, {rows, spec.samples * shape.back()});
  const std::string matrix = r.constant("dft_matrix", dft_matrix(spec));
  const std::string spectrum = r.add("MatMul", {flat, matrix}, {rows, 2 * spec.bins}).outputs[0];
  Shape bins_shape = rows_shape;
  bins_shape.insert(bins_shape.end(), {spec.bins, 2});
  std::vector<std::int64_t> back(rank);
  for (std::size_t d = 0; d < rank; ++d) {
    back[static_cast<std::size_t>(perm[d])] = static_cast<std::int64_t>(d);
  }
  return r.finish(r.transposed(r.reshaped(spectrum, bins_shape), back));
}

// The window's weights if it is a constant; empty if absent or computed.
std::vector<float> constant_window(const Graph& graph, const std::string& window) {
  const auto it = graph.constants.find(window);
  if (window.empty() || it == graph.constants.end()) {
    return {};
  }
  std::vector<float> weights;
  for (std::int64_t i = 0; i < it->second.size(); ++i) {
    weights.push_back(static_cast<float>(it->second.value(i)));
  }
  return weights;
}

std::int64_t frame_length(const Graph& graph, const Node& stft, const ScalarInput& given,
                          const std::string& window) {
  const Shape* window_shape = window.empty() ? nullptr : graph.known_shape(window);
  if (!window.empty() && (window_shape == nullptr || window_shape->size() != 1)) {
    refuse(stft, "a window that is not one static dimension");
  }
  if (!given.given && window_shape == nullptr) {
    refuse(stft, "neither a window nor a frame_length");
  }
  const std::int64_t length = given.given ? given.value : window_shape->front();
  if (length < 1 || (window_shape != nullptr && window_shape->front() != length)) {
    refuse(stft, fmt::format("frame_length {} with a window of {}", length,
                             window_shape != nullptr ? to_string(*window_shape) : "none"));
  }
  return length;
}

// Frame f of the signal: samples f · step .. f · step + length - 1.
Constant frame_indices(const Node& stft, std::int64_t frames, std::int64_t length,
                       std::int64_t step) {
  if (frames > kMaxFrameIndices / length) {
    refuse(stft, fmt::format("{} frames of {} samples: more than {} indices", frames, length,
                             kMaxFrameIndices));
  }
  std::vector<std::int64_t> indices;
  for (std::int64_t f = 0; f < frames; ++f) {
    for (std::int64_t n = 0; n < length; ++n) {
      indices.push_back(f * step + n);
    }
  }
  return Constant::of_ints({frames, length}, std::move(indices));
}

std::optional<std::vector<Node>> rewritten_stft(Graph& graph, const Node& stft) {
  const Shape* in = graph.known_shape(stft.inputs.at(0));
  const ScalarInput step = scalar_input(graph, stft, 1, "frame_step");
  const ScalarInput length_input = scalar_input(graph, stft, 3, "frame_length");
  if (in == nullptr || !step.constant || (length_input.given && !length_input.constant)) {
    return std::nullopt;
  }
  const Shape shape = *in;
  const bool complex_input = shape.size() == 3 && complex_values(stft, shape);
  if (shape.size() != 2 && shape.size() != 3) {
    refuse(stft, fmt::format("a signal of shape {}: [batch, length] or [batch, length, 1 or 2]",
                             to_string(shape)));
  }
  const std::string window = stft.inputs.size() > 2 ? stft.inputs[2] : "";
  const std::int64_t length = frame_length(graph, stft, length_input, window);
  if (step.value < 1 || shape[1] < length) {
    refuse(stft, fmt::format("frame_step {} over a signal of {} samples in frames of {}",
                             step.value, shape[1], length));
  }
  const std::int64_t frames = (shape[1] - length) / step.value + 1;
  const std::int64_t values = shape.size() == 3 ? shape[2] : 1;
  DftSpec spec{.samples = length,
               .length = length,
               .bins = bins_of(stft, length, complex_input),
               .complex_input = complex_input,
               .inverse = false,
               .window = constant_window(graph, window)};
  NodeReplacement r(graph, stft);
  const std::string indices =
      r.constant("frame_indices", frame_indices(stft, frames, length, step.value));
  Shape framed_shape{shape[0], frames, length};
  if (shape.size() == 3) {
    framed_shape.push_back(values);
  }
  Node& gather = r.add("Gather", {stft.inputs[0], indices}, framed_shape);
  gather.attributes["axis"] = std::int64_t{1};
  std::string framed = gather.outputs[0];
  if (!window.empty() && spec.window.empty()) {
    const std::string weights =
        r.reshaped(window, shape.size() == 3 ? Shape{length, 1} : Shape{length});
    framed = r.add("Mul", {framed, weights}, framed_shape).outputs[0];
  }
  const std::string flat = r.reshaped(framed, {shape[0] * frames, length * values});
  const std::string matrix = r.constant("dft_matrix", dft_matrix(spec));
  const std::string spectrum =
      r.add("MatMul", {flat, matrix}, {shape[0] * frames, 2 * spec.bins}).outputs[0];
  return r.finish(r.reshaped(spectrum, {shape[0], frames, spec.bins, 2}));
}

}  // namespace

std::size_t rewrite_spectral(Graph& graph) {
  return replace_nodes(graph, "DFT", rewritten_dft) + replace_nodes(graph, "STFT", rewritten_stft);
}

}  // namespace npu::onnx_runtime
