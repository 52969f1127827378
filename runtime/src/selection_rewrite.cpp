#include "selection_rewrite.hpp"

#include <fmt/format.h>

#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "node_replacement.hpp"

namespace npu::onnx_runtime {
namespace {

[[noreturn]] void refuse(const Node& node, const std::string& why) {
  throw std::runtime_error(fmt::format("{}: {}", node.label(), why));
}

// The position along the time axis each element is read from, for constant
// lengths: the whole index tensor of x's shape.
Constant reversal_indices(const Node& node, const Shape& shape, std::size_t time_axis,
                          const std::vector<std::int64_t>& lengths) {
  const std::int64_t steps = shape[time_axis];
  std::vector<std::int64_t> indices(static_cast<std::size_t>(element_count(shape)));
  std::vector<std::int64_t> strides(shape.size(), 1);
  for (std::size_t d = shape.size() - 1; d > 0; --d) {
    strides[d - 1] = strides[d] * shape[d];
  }
  const std::size_t batch_axis = 1 - time_axis;
  for (std::size_t i = 0; i < indices.size(); ++i) {
    const auto flat = static_cast<std::int64_t>(i);
    const std::int64_t t = flat / strides[time_axis] % steps;
    const std::int64_t length =
        lengths.at(static_cast<std::size_t>(flat / strides[batch_axis] % shape[batch_axis]));
    if (length < 0 || length > steps) {
      refuse(node, fmt::format("a sequence length of {} along a time axis of {}", length, steps));
    }
    indices[i] = t < length ? length - 1 - t : t;
  }
  return Constant::of_ints(shape, std::move(indices));
}

// The same computed on the device from lengths known at run time, in the
// [time, batch] or [batch, time] plane, expanded to x's shape.
std::string computed_reversal(NodeReplacement& r, const Node& node, const Shape& shape,
                              std::size_t time_axis) {
  const std::size_t batch_axis = 1 - time_axis;
  Shape plane{shape[0], shape[1]};
  Shape time_shape{1, 1};
  time_shape[time_axis] = shape[time_axis];
  Shape length_shape{1, 1};
  length_shape[batch_axis] = shape[batch_axis];
  std::vector<std::int64_t> steps;
  for (std::int64_t t = 0; t < shape[time_axis]; ++t) {
    steps.push_back(t);
  }
  const std::string t = r.constant("steps", Constant::of_ints(time_shape, std::move(steps)));
  const std::string one = r.constant("one", Constant::of_ints({}, {1}));
  const std::string lengths = r.reshaped(node.inputs.at(1), length_shape);
  const std::string inside = r.add("Less", {t, lengths}, plane, ElementType::boolean).outputs[0];
  const std::string last =
      r.add("Sub", {lengths, one}, length_shape, ElementType::int64).outputs[0];
  const std::string reversed = r.add("Sub", {last, t}, plane, ElementType::int64).outputs[0];
  const std::string source =
      r.add("Where", {inside, reversed, t}, plane, ElementType::int64).outputs[0];
  Shape lifted = plane;
  lifted.resize(shape.size(), 1);
  const std::string shape_value =
      r.constant("shape", Constant::of_ints({static_cast<std::int64_t>(shape.size())}, shape));
  return r.add("Expand", {r.reshaped(source, lifted), shape_value}, shape, ElementType::int64)
      .outputs[0];
}

std::optional<std::vector<Node>> rewritten_reverse_sequence(Graph& graph, const Node& node) {
  const Shape* in = graph.known_shape(node.inputs.at(0));
  if (in == nullptr || node.inputs.size() < 2) {
    return std::nullopt;
  }
  const Shape shape = *in;
  const std::int64_t time = node.get_int("time_axis", 0);
  const std::int64_t batch = node.get_int("batch_axis", 1);
  if (shape.size() < 2 || !((time == 0 && batch == 1) || (time == 1 && batch == 0))) {
    refuse(node, fmt::format("time_axis {} and batch_axis {} of a rank-{} input: ONNX takes 0 "
                             "and 1",
                             time, batch, shape.size()));
  }
  const auto time_axis = static_cast<std::size_t>(time);
  NodeReplacement r(graph, node);
  std::string indices;
  const auto lengths = graph.constants.find(node.inputs[1]);
  if (lengths != graph.constants.end()) {
    if (lengths->second.size() != shape[1 - time_axis]) {
      refuse(node, fmt::format("{} sequence lengths for a batch of {}", lengths->second.size(),
                               shape[1 - time_axis]));
    }
    indices =
        r.constant("sources", reversal_indices(node, shape, time_axis, lengths->second.integers()));
  } else {
    indices = computed_reversal(r, node, shape, time_axis);
  }
  Node& gather = r.add("GatherElements", {node.inputs[0], indices}, shape);
  gather.attributes["axis"] = time;
  return r.finish(gather.outputs[0]);
}

std::optional<std::vector<Node>> rewritten_compress(Graph& graph, const Node& node) {
  const Shape* in = graph.known_shape(node.inputs.at(0));
  const auto condition = graph.constants.find(node.inputs.at(1));
  if (in == nullptr || condition == graph.constants.end()) {
    return std::nullopt;
  }
  Shape shape = *in;
  NodeReplacement r(graph, node);
  std::string data = node.inputs[0];
  std::int64_t axis = 0;
  if (node.has("axis")) {
    const auto rank = static_cast<std::int64_t>(shape.size());
    axis = node.get_int("axis", 0);
    axis += axis < 0 ? rank : 0;
    if (axis < 0 || axis >= rank) {
      refuse(node, fmt::format("axis {} of a rank-{} input", node.get_int("axis", 0), rank));
    }
  } else {
    shape = {element_count(shape)};
    data = r.reshaped(data, shape);
  }
  std::vector<std::int64_t> kept;
  for (std::int64_t i = 0; i < condition->second.size(); ++i) {
    if (condition->second.value(i) != 0.0) {
      kept.push_back(i);
    }
  }
  const std::int64_t extent = shape[static_cast<std::size_t>(axis)];
  if (kept.empty() || kept.back() >= extent) {
    refuse(node, kept.empty()
                     ? std::string("a condition that keeps nothing")
                     : fmt::format("a condition keeping position {} of {}", kept.back(), extent));
  }
  shape[static_cast<std::size_t>(axis)] = static_cast<std::int64_t>(kept.size());
  const auto count = static_cast<std::int64_t>(kept.size());
  const std::string positions = r.constant("kept", Constant::of_ints({count}, std::move(kept)));
  Node& gather = r.add("Gather", {data, positions}, shape);
  gather.attributes["axis"] = axis;
  return r.finish(gather.outputs[0]);
}

}  // namespace

std::size_t rewrite_selections(Graph& graph) {
  return replace_nodes(graph, "ReverseSequence", rewritten_reverse_sequence) +
         replace_nodes(graph, "Compress", rewritten_compress);
}

}  // namespace npu::onnx_runtime
