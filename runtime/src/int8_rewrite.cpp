#include "int8_rewrite.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "fusion.hpp"
#include "lowering.hpp"
#include "npu/onnx/model.hpp"
#include "quantization.hpp"

namespace npu::onnx_runtime {
namespace {

bool float_constant(const Graph& graph, const std::string& value, std::size_t rank) {
  return graph.is_constant(value) && graph.constants.at(value).is_float() &&
         graph.constants.at(value).shape.size() == rank;
}

bool float_tensor(const Graph& graph, const std::string& value) {
  const auto it = graph.values.find(value);
  return it != graph.values.end() && it->second.type == ElementType::float32 &&
         it->second.shape.has_value() && !graph.is_constant(value);
}

// A bias input (index 2) that is absent, or a constant of `channels` values.
bool optional_bias(const Graph& graph, const Node& node, std::int64_t channels) {
  if (node.inputs.size() < 3 || node.inputs[2].empty()) {
    return true;
  }
  const std::string& bias = node.inputs[2];
  return graph.is_constant(bias) && graph.constants.at(bias).is_float() &&
         graph.constants.at(bias).size() == channels &&
         graph.constants.at(bias).shape.back() == channels;
}

// A Conv whose CONV2D pads both sides of each axis alike (the lowering
// copies the input of any other into a padded FP32 tensor first).
bool symmetric_padding(const Node& node) {
  const std::string auto_pad = node.get_string("auto_pad", "NOTSET");
  const auto pads = node.get_ints("pads", {0, 0, 0, 0});
  return auto_pad == "VALID" ||
         (auto_pad == "NOTSET" && pads.size() == 4 && pads[0] == pads[2] && pads[1] == pads[3]);
}

// Whether `node`'s product stays one INT8 instruction within the device's
// limits (hw-spec 7.4): x and the weights in INT8 and the output in up to
// four bytes (INT32 accumulators, an FP32 result) each within the 64 MiB
// operand, a convolution's multiply-adds per image within 2^32. The INT8
// instructions are not split; a larger product stays float, which the
// lowering runs in bands of rows or blocks of columns.
bool fits_one_instruction(const Graph& graph, const Node& node) {
  const auto elements = [&](const std::string& value) {
    return static_cast<double>(element_count(graph.shape(value)));
  };
  const double operand = static_cast<double>(kMaxOperandBytes);
  const double output = elements(node.outputs[0]);
  if (elements(node.inputs[0]) > operand || elements(node.inputs[1]) > operand ||
      4 * output > operand) {
    return false;
  }
  if (node.op != "Conv") {
    return true;
  }
  const Shape& so = graph.shape(node.outputs[0]);
  const Shape& sw = graph.shape(node.inputs[1]);
  const double macs_per_image =
      output / static_cast<double>(so[0]) * static_cast<double>(element_count(sw) / sw[0]);
  return macs_per_image <= kMaxImageMacs;
}

// Whether the device can run `node`'s product in INT8 (GEMM or CONV2D with
// constant weights, within one instruction), whatever its fused activation.
bool quantizable_product(const Graph& graph, const Node& node) {
  if (node.inputs.size() < 2 || node.outputs.size() != 1 || !float_tensor(graph, node.inputs[0]) ||
      !float_tensor(graph, node.outputs[0])) {
    return false;
  }
  const std::string& w = node.inputs[1];
  const std::size_t input_rank = graph.shape(node.inputs[0]).size();
  if (node.op == "Conv") {
    return input_rank == 4 && float_constant(graph, w, 4) && symmetric_padding(node) &&
           optional_bias(graph, node, graph.constants.at(w).shape[0]) &&
           fits_one_instruction(graph, node);
  }
  if (node.op == "MatMul") {
    return input_rank >= 2 && float_constant(graph, w, 2) &&
           optional_bias(graph, node, graph.constants.at(w).shape[1]) &&
           fits_one_instruction(graph, node);
  }
  if (node.op == "Gemm") {
    const bool tb = node.get_int("transB", 0) != 0;
    return input_rank == 2 && node.get_int("transA", 0) == 0 && float_constant(graph, w, 2) &&
           optional_bias(graph, node, graph.constants.at(w).shape[tb ? 0 : 1]) &&
           fits_one_instruction(graph, node);
  }
  return false;
}

// INT8 GEMM and CONV2D apply RELU only (hw-spec 7.3).
bool quantizable(const Graph& graph, const Node& node) {
  const std::string act = node.get_string("activation", "");
  return (act.empty() || act == "Relu") && quantizable_product(graph, node);
}

float scale_of(const std::map<std::string, float>& max_abs, const std::string& tensor) {
  const auto it = max_abs.find(tensor);
  if (it == max_abs.end()) {
    throw npu::onnx::ModelError(fmt::format(
        "the calibration has no range for '{}' (calibrated for another model or other passes?)",
        tensor));
  }
  return symmetric_scale(it->second);
}

// The weights as [rows][channels] of the product (MatMul's K x N; Gemm's
// alpha * op(B)) or a convolution's K x (C/g) x R x S, and the float bias.
struct FloatWeights {
  std::vector<float> values;
  std::int64_t outer, channels, inner;
  std::vector<float> bias;
};

FloatWeights weights_of(const Graph& graph, const Node& node) {
  const Constant& w = graph.constants.at(node.inputs[1]);
  FloatWeights f{w.floats, 1, w.shape[0], w.size() / w.shape[0], {}};
  if (node.op != "Conv") {
    f.outer = w.shape[0];
    f.channels = w.shape[1];
    f.inner = 1;
  }
  if (node.op == "Gemm") {
    const auto alpha = node.get_float("alpha", 1.0F);
    if (node.get_int("transB", 0) != 0) {  // N x K stored: transpose to K x N
      f.outer = w.shape[1];
      f.channels = w.shape[0];
      for (std::int64_t k = 0; k < f.outer; ++k) {
        for (std::int64_t n = 0; n < f.channels; ++n) {
          f.values[static_cast<std::size_t>(k * f.channels + n)] =
              w.floats[static_cast<std::size_t>(n * f.outer + k)];
        }
      }
    }
    std::ranges::transform(f.values, f.values.begin(), [&](float v) { return alpha * v; });
  }
  f.bias.assign(static_cast<std::size_t>(f.channels), 0.0F);
  if (node.inputs.size() > 2 && !node.inputs[2].empty()) {
    const Constant& b = graph.constants.at(node.inputs[2]);
    const float beta = node.op == "Gemm" ? node.get_float("beta", 1.0F) : 1.0F;
    std::ranges::transform(b.floats, f.bias.begin(), [&](float v) { return beta * v; });
  }
  return f;
}

// Ops that only reinterpret their input's bytes (an alias on the device):
// INT8 passes through them with its scale.
bool layout_only(const Node& node) {
  static const std::set<std::string> ops{"Reshape",   "Flatten",  "Squeeze",
                                         "Unsqueeze", "Identity", "Dropout"};
  return ops.contains(node.op) && node.outputs.size() == 1 && !node.inputs.empty();
}

class Rewriter {
 public:
  Rewriter(Graph& graph, const std::map<std::string, float>& max_abs, bool device_converts)
      : graph_(graph), max_abs_(max_abs), device_converts_(device_converts) {}

  Int8RewriteStats run() {
    const std::vector<std::size_t> chosen = quantizable_nodes(graph_);
    for (const std::size_t i : chosen) {
      int8_readers_.insert(graph_.nodes[i].inputs[0]);
    }
    // A quantized node that reads through layout-only ops reads their
    // input in INT8 too.
    for (std::size_t i = graph_.nodes.size(); i-- > 0;) {
      const Node& n = graph_.nodes[i];
      if (layout_only(n) && int8_readers_.contains(n.outputs[0])) {
        int8_readers_.insert(n.inputs[0]);
      }
    }
    std::vector<Node> old = std::move(graph_.nodes);
    graph_.nodes.clear();
    for (std::size_t i = 0; i < old.size(); ++i) {
      if (std::ranges::find(chosen, i) != chosen.end()) {
        quantize(old[i]);
        continue;
      }
      if (layout_only(old[i])) {
        pass_int8(old[i]);
      }
      graph_.nodes.push_back(std::move(old[i]));
    }
    // Float nodes nobody reads any more: dequantizations, and layout-only
    // ops whose readers all take the INT8 twin.
    for (bool removed = true; removed;) {
      removed = std::erase_if(graph_.nodes, [&](const Node& n) {
                  return (n.op == "DequantizeInt8" || layout_only(n)) &&
                         graph_.values.at(n.outputs[0]).type != ElementType::int8 &&
                         graph_.use_count(n.outputs[0]) == 0;
                }) != 0;
    }
    Int8RewriteStats stats{chosen.size(), 0};
    for (const Node& n : graph_.nodes) {
      stats.conversions +=
          n.op == "QuantizeInt8" || n.op == "DequantizeInt8" || n.get_int("float_output", 0) != 0
              ? 1U
              : 0U;
    }
    return stats;
  }

 private:
  std::string add_constant(const std::string& name, Constant c) {
    graph_.values[name] = ValueInfo{c.type, c.shape};
    graph_.constants[name] = std::move(c);
    return name;
  }

  std::string int8_value(const std::string& of) {
    const std::string name = of + "/int8";
    graph_.values[name] = ValueInfo{ElementType::int8, graph_.shape(of)};
    return name;
  }

  // x's INT8 twin: the output of the quantized node that made x (or of a
  // layout-only op after it), or a new QuantizeInt8.
  std::string int8_input(const std::string& x, float scale, const std::string& origin) {
    if (const auto it = int8_of_.find(x); it != int8_of_.end()) {
      return it->second;
    }
    const std::string q = int8_value(x);
    graph_.nodes.push_back(
        Node{"QuantizeInt8", origin + "/quantize", {x}, {q}, {{"scale", scale}}});
    int8_of_[x] = q;
    int8_scale_[x] = scale;
    return q;
  }

  // A layout-only op whose input has an INT8 twin and whose output a
  // quantized node reads: the same op on the twin, at the twin's scale.
  void pass_int8(const Node& node) {
    const std::string& x = node.inputs[0];
    const std::string& y = node.outputs[0];
    const auto twin = int8_of_.find(x);
    if (twin == int8_of_.end() || !int8_readers_.contains(y)) {
      return;
    }
    Node q = node;
    q.name = node.name + "/int8";
    q.inputs[0] = twin->second;
    q.outputs[0] = int8_value(y);
    int8_of_[y] = q.outputs[0];
    int8_scale_[y] = int8_scale_.at(x);
    graph_.nodes.push_back(std::move(q));
  }

  void quantize(const Node& node) {
    const std::string& x = node.inputs[0];
    const std::string& y = node.outputs[0];
    // An INT8 twin made through layout-only ops keeps its producer's scale.
    const float sx = int8_scale_.contains(x) ? int8_scale_.at(x) : scale_of(max_abs_, x);
    const float sy = scale_of(max_abs_, y);
    const FloatWeights f = weights_of(graph_, node);
    if (!std::ranges::all_of(f.values, [](float v) { return std::isfinite(v); })) {
      throw npu::onnx::ModelError(fmt::format(
          "{}: its weights hold a NaN or an infinity, which INT8 cannot represent", node.label()));
    }
    const ChannelQuantized w = quantize_per_channel(f.values, f.outer, f.channels, f.inner);
    const Shape weight_shape =
        node.op == "Conv" ? graph_.constants.at(node.inputs[1]).shape : Shape{f.outer, f.channels};
    std::vector<std::int64_t> bias = quantize_bias(f.bias, sx, w.scales);
    const FloatOutput float_output = float_output_of(y, w, bias, f);
    if (float_output == FloatOutput::rounding_bias) {
      std::ranges::transform(bias, bias.begin(),
                             [](std::int64_t b) { return b + kRoundingBiasBits; });
    }
    Node q{node.op == "Conv" ? "Int8Conv" : "Int8MatMul",
           node.name,
           {},
           {float_output != FloatOutput::none ? y : int8_value(y)},
           {}};
    q.inputs = {
        int8_input(x, sx, node.name.empty() ? y : node.name),
        add_constant(y + "/int8_weights",
                     Constant::of_ints(weight_shape, w.values, ElementType::int8)),
        add_constant(y + "/int8_bias", Constant::of_ints({f.channels}, bias, ElementType::int32)),
        add_constant(
            y + "/int8_scales",
            Constant::of_floats({f.channels},
                                requantization_scales(
                                    sx, w.scales, float_output != FloatOutput::none ? 1.0F : sy)))};
    if (node.op == "Conv") {
      q.attributes = node.attributes;
    } else if (node.has("activation")) {
      q.attributes["activation"] = node.attributes.at("activation");
    }
    if (float_output != FloatOutput::none) {
      q.attributes["float_output"] = static_cast<std::int64_t>(float_output);
      graph_.nodes.push_back(std::move(q));
      return;
    }
    graph_.nodes.push_back(std::move(q));
    graph_.nodes.push_back(
        Node{"DequantizeInt8", node.name + "/dequantize", {y + "/int8"}, {y}, {{"scale", sy}}});
    int8_of_[y] = y + "/int8";
    int8_scale_[y] = sy;
  }

  // A node read only as float writes FP32 from its INT32 accumulators,
  // without the output's quantization step: with CONVERT, or where every
  // accumulator converts exactly through the rounding bias.
  FloatOutput float_output_of(const std::string& y, const ChannelQuantized& w,
                              std::span<const std::int64_t> bias, const FloatWeights& f) const {
    if (int8_readers_.contains(y)) {
      return FloatOutput::none;
    }
    if (device_converts_) {
      return FloatOutput::convert;
    }
    return accumulators_convert_exactly(w, bias, f.outer, f.inner) ? FloatOutput::rounding_bias
                                                                   : FloatOutput::none;
  }

  Graph& graph_;
  const std::map<std::string, float>& max_abs_;
  bool device_converts_;
  std::map<std::string, std::string> int8_of_;
  std::map<std::string, float> int8_scale_;  // of each INT8 twin, by the float tensor
  std::set<std::string> int8_readers_;       // the inputs of the quantized nodes
};

}  // namespace

std::size_t split_float_activations(Graph& graph) {
  std::size_t split = 0;
  for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
    Node& node = graph.nodes[i];
    const std::string act = node.get_string("activation", "");
    if (act.empty() || act == "Relu" || !quantizable_product(graph, node)) {
      continue;
    }
    const std::string out = node.outputs[0];
    const std::string linear = out + "/linear";
    graph.values[linear] = graph.values.at(out);
    node.outputs[0] = linear;
    node.attributes.erase("activation");
    Node activation = standalone_activation(act, node.name + "/activation", linear, out);
    graph.nodes.insert(graph.nodes.begin() + static_cast<std::ptrdiff_t>(i) + 1,
                       std::move(activation));
    ++split;
  }
  return split;
}

std::vector<std::size_t> quantizable_nodes(const Graph& graph) {
  std::vector<std::size_t> chosen;
  for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
    if (quantizable(graph, graph.nodes[i])) {
      chosen.push_back(i);
    }
  }
  return chosen;
}

std::set<std::string> calibrated_tensors(const Graph& graph) {
  std::set<std::string> tensors;
  for (const std::size_t i : quantizable_nodes(graph)) {
    tensors.insert(graph.nodes[i].inputs[0]);
    tensors.insert(graph.nodes[i].outputs[0]);
  }
  return tensors;
}

Int8RewriteStats rewrite_int8(Graph& graph, const std::map<std::string, float>& max_abs,
                              bool device_converts) {
  return Rewriter(graph, max_abs, device_converts).run();
}

}  // namespace npu::onnx_runtime
