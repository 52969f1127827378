#include "normalization.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace npu::onnx_runtime {
namespace {

// The groups a node normalizes over, or nothing if the node cannot be
// rewritten.
std::optional<std::int64_t> groups_of(const Node& node, const Shape& shape) {
  const bool instance = node.op == "InstanceNormalization";
  if (shape.size() < (instance ? 3U : 2U) || shape[1] < 1) {
    return std::nullopt;
  }
  const std::int64_t groups = instance ? shape[1] : node.get_int("num_groups", 0);
  if (groups < 1 || shape[1] % groups != 0) {
    return std::nullopt;
  }
  return groups;
}

// `values` (one per group, or already one per channel) as one per channel.
std::optional<std::vector<float>> per_channel(const Constant& values, std::int64_t channels,
                                              std::int64_t groups, bool per_group) {
  const std::int64_t expected = per_group ? groups : channels;
  if (values.size() != expected || !values.is_float()) {
    return std::nullopt;
  }
  std::vector<float> result;
  for (std::int64_t c = 0; c < channels; ++c) {
    result.push_back(static_cast<float>(values.value(per_group ? c / (channels / groups) : c)));
  }
  return result;
}

std::string add_constant(Graph& graph, const std::string& base, std::vector<float> values) {
  const std::string name = fresh_name(graph, base);
  const Shape shape{static_cast<std::int64_t>(values.size())};
  graph.values[name] = {ElementType::float32, shape};
  graph.constants[name] = Constant::of_floats(shape, std::move(values));
  return name;
}

}  // namespace

std::size_t lower_group_norm(Graph& graph) {
  std::size_t rewritten = 0;
  for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
    const Node& node = graph.nodes[i];
    if ((node.op != "InstanceNormalization" && node.op != "GroupNormalization") ||
        node.inputs.size() < 3 || node.outputs.size() != 1 || !graph.is_constant(node.inputs[1]) ||
        !graph.is_constant(node.inputs[2])) {
      continue;
    }
    const Shape shape = graph.shape(node.inputs[0]);
    const std::optional<std::int64_t> groups = groups_of(node, shape);
    if (!groups) {
      continue;
    }
    // GroupNormalization of opsets 18 to 20 scales per group; opset 21
    // (and InstanceNormalization) per channel.
    const bool per_group = node.op == "GroupNormalization" && graph.opset < 21;
    const std::optional<std::vector<float>> scale =
        per_channel(graph.constants.at(node.inputs[1]), shape[1], *groups, per_group);
    const std::optional<std::vector<float>> bias =
        per_channel(graph.constants.at(node.inputs[2]), shape[1], *groups, per_group);
    if (!scale || !bias) {
      continue;
    }
    const std::string out = node.outputs[0];
    const bool identity = std::ranges::all_of(*scale, [](float s) { return s == 1.0F; }) &&
                          std::ranges::all_of(*bias, [](float b) { return b == 0.0F; });
    Node normalize;
    normalize.op = "NormalizeGroups";
    normalize.name = node.name;
    normalize.inputs = {node.inputs[0]};
    normalize.outputs = {identity ? out : fresh_name(graph, out + ".normalized")};
    normalize.attributes["groups"] = *groups;
    normalize.attributes["epsilon"] = node.get_float("epsilon", 1e-5F);
    if (identity) {
      graph.nodes[i] = std::move(normalize);
      ++rewritten;
      continue;
    }
    graph.values[normalize.outputs[0]] = {ElementType::float32, shape};
    // y = normalized * scale / sqrt(1 + 0) + (bias - 0 * ...): scale and bias exactly.
    const auto channels = static_cast<std::size_t>(shape[1]);
    Node affine;
    affine.op = "BatchNormalization";
    affine.name = node.name;
    affine.inputs = {normalize.outputs[0], add_constant(graph, out + ".scale", *scale),
                     add_constant(graph, out + ".bias", *bias),
                     add_constant(graph, out + ".zero_mean", std::vector<float>(channels, 0.0F)),
                     add_constant(graph, out + ".unit_var", std::vector<float>(channels, 1.0F))};
    affine.outputs = {out};
    affine.attributes["epsilon"] = 0.0F;
    graph.nodes[i] = std::move(normalize);
    graph.nodes.insert(graph.nodes.begin() + static_cast<std::ptrdiff_t>(i) + 1, std::move(affine));
    ++i;
    ++rewritten;
  }
  return rewritten;
}

}  // namespace npu::onnx_runtime
