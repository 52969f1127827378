#include "node_replacement.hpp"

#include <iterator>
#include <utility>

namespace npu::onnx_runtime {

Node& NodeReplacement::add(const std::string& op, std::vector<std::string> inputs,
                           const Shape& shape, ElementType element_type) {
  Node node;
  node.op = op;
  node.name = replaced_.name;
  node.outputs = {fresh(inputs.at(0))};
  node.inputs = std::move(inputs);
  graph_.values[node.outputs[0]] = {element_type == ElementType::undefined ? type() : element_type,
                                    shape};
  nodes_.push_back(std::move(node));
  return nodes_.back();
}

std::string NodeReplacement::reshaped(const std::string& value, const Shape& shape) {
  if (graph_.shape(value) == shape) {
    return value;
  }
  const std::string out = fresh(value);
  graph_.values[out] = {graph_.values.at(value).type, shape};
  nodes_.push_back(reshape_node(graph_, value, out, shape, replaced_.name));
  return out;
}

std::string NodeReplacement::transposed(const std::string& value,
                                        const std::vector<std::int64_t>& perm) {
  const Shape& in = graph_.shape(value);
  Shape shape;
  bool identity = true;
  for (std::size_t a = 0; a < perm.size(); ++a) {
    shape.push_back(in.at(static_cast<std::size_t>(perm[a])));
    identity = identity && perm[a] == static_cast<std::int64_t>(a);
  }
  if (identity) {
    return value;
  }
  Node& node = add("Transpose", {value}, shape, graph_.values.at(value).type);
  node.attributes["perm"] = perm;
  return node.outputs[0];
}

std::string NodeReplacement::constant(const std::string& base, Constant value) {
  const std::string name = fresh(base);
  graph_.values[name] = {computed_type(value.type), value.shape};
  graph_.constants[name] = std::move(value);
  return name;
}

std::vector<Node> NodeReplacement::finish(const std::string& result) {
  if (nodes_.empty() || nodes_.back().outputs[0] != result) {
    add("Identity", {result}, graph_.shape(result));
  }
  graph_.values.erase(nodes_.back().outputs[0]);
  nodes_.back().outputs[0] = replaced_.outputs.at(0);
  return std::move(nodes_);
}

ElementType NodeReplacement::type() const {
  const auto it = graph_.values.find(replaced_.outputs.at(0));
  return it != graph_.values.end() ? it->second.type : ElementType::float32;
}

std::string NodeReplacement::fresh(const std::string& from) const {
  return fresh_name(graph_, replaced_.outputs.at(0) + "." + from);
}

std::size_t replace_nodes(Graph& graph, const std::string& op, const NodeRewrite& rewrite) {
  std::size_t replaced = 0;
  for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
    if (graph.nodes[i].op != op) {
      continue;
    }
    const Node original = graph.nodes[i];
    std::optional<std::vector<Node>> nodes = rewrite(graph, original);
    if (!nodes) {
      continue;
    }
    const auto at = graph.nodes.erase(graph.nodes.begin() + static_cast<std::ptrdiff_t>(i));
    const std::size_t added = nodes->size();
    graph.nodes.insert(at, std::make_move_iterator(nodes->begin()),
                       std::make_move_iterator(nodes->end()));
    i += added - 1;
    ++replaced;
  }
  return replaced;
}

}  // namespace npu::onnx_runtime
