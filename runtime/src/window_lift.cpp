#include "window_lift.hpp"

#include <cstdint>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

namespace npu::onnx_runtime {
namespace {

// A 1-D window: its input, output and (a convolution's) weights of rank 3
// with known shapes.
bool is_liftable(const Graph& graph, const Node& node) {
  if ((node.op != "Conv" && node.op != "ConvTranspose" && node.op != "MaxPool" &&
       node.op != "AveragePool") ||
      node.inputs.empty() || node.outputs.empty()) {
    return false;
  }
  if (node.op == "MaxPool" && node.outputs.size() > 1 && !node.outputs[1].empty()) {
    return false;  // Indices: refused by the lowering, named so
  }
  auto rank_3 = [&](const std::string& value) {
    const auto it = graph.values.find(value);
    return it != graph.values.end() && it->second.shape && it->second.shape->size() == 3;
  };
  const bool convolution = node.op.starts_with("Conv");
  return rank_3(node.inputs[0]) && rank_3(node.outputs[0]) &&
         (!convolution || (node.inputs.size() > 1 && rank_3(node.inputs[1])));
}

ElementType type_of(const Graph& graph, const std::string& value) {
  const auto it = graph.values.find(value);
  return it == graph.values.end() ? ElementType::float32 : it->second.type;
}

// `shape` with a 1 inserted before its last axis.
Shape with_height_one(Shape shape) {
  shape.insert(std::prev(shape.end()), 1);
  return shape;
}

// Each window attribute of one value per axis, given the height's: 1 for
// the kernel, strides and dilations, 0 for output_padding's, the output
// size 1; pads [b, e] become [0, b, 0, e].
void lift_attributes(Node& node) {
  const std::vector<std::pair<const char*, std::int64_t>> leading{{"kernel_shape", 1},
                                                                  {"strides", 1},
                                                                  {"dilations", 1},
                                                                  {"output_padding", 0},
                                                                  {"output_shape", 1}};
  for (const auto& [name, value] : leading) {
    if (node.has(name)) {
      std::vector<std::int64_t> values = node.get_ints(name, {});
      values.insert(values.begin(), value);
      node.attributes[name] = std::move(values);
    }
  }
  if (node.has("pads")) {
    const std::vector<std::int64_t> pads = node.get_ints("pads", {});
    if (pads.size() == 2) {
      node.attributes["pads"] = std::vector<std::int64_t>{0, pads[0], 0, pads[1]};
    }
  }
}

// Node i's input `index` with a height of 1: a reshaped copy of a
// constant, or a Reshape inserted before node i (which moves i on by one).
std::string lifted_input(Graph& graph, std::size_t& i, std::size_t index) {
  const std::string value = graph.nodes[i].inputs.at(index);
  const Shape shape = with_height_one(graph.shape(value));
  const std::string name = fresh_name(graph, value + ".2d");
  const ElementType type = type_of(graph, value);
  if (graph.is_constant(value)) {
    Constant copy = graph.constants.at(value);
    copy.shape = shape;
    graph.constants[name] = std::move(copy);
    graph.values[name] = {type, shape};
    return name;
  }
  Node node = reshape_node(graph, value, name, shape, graph.nodes[i].name);
  graph.values[name] = {type, shape};
  graph.nodes.insert(graph.nodes.begin() + static_cast<std::ptrdiff_t>(i), std::move(node));
  ++i;
  return name;
}

}  // namespace

std::size_t lift_1d_windows(Graph& graph) {
  std::size_t lifted = 0;
  for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
    if (!is_liftable(graph, graph.nodes[i])) {
      continue;
    }
    const bool convolution = graph.nodes[i].op.starts_with("Conv");
    const std::string x = lifted_input(graph, i, 0);
    graph.nodes[i].inputs[0] = x;
    if (convolution) {
      const std::string w = lifted_input(graph, i, 1);
      graph.nodes[i].inputs[1] = w;
    }
    Node& node = graph.nodes[i];
    lift_attributes(node);
    const std::string y = node.outputs[0];
    const Shape y_shape = graph.shape(y);
    const std::string y4 = fresh_name(graph, y + ".2d");
    graph.values[y4] = {type_of(graph, y), with_height_one(y_shape)};
    node.outputs[0] = y4;
    Node back = reshape_node(graph, y4, y, y_shape, node.name);
    graph.nodes.insert(graph.nodes.begin() + static_cast<std::ptrdiff_t>(i) + 1, std::move(back));
    ++i;
    ++lifted;
  }
  return lifted;
}

}  // namespace npu::onnx_runtime
