#include "empty_tensors.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace npu::onnx_runtime {
namespace {

bool has_no_elements(const Graph& graph, const std::string& value) {
  const Shape* shape = value.empty() ? nullptr : graph.known_shape(value);
  return shape != nullptr && element_count(*shape) == 0;
}

ElementType type_of(const Graph& graph, const std::string& value) {
  const auto it = graph.values.find(value);
  return it == graph.values.end() || it->second.type == ElementType::undefined
             ? ElementType::float32
             : it->second.type;
}

bool is_real(ElementType type) {
  return computed_type(type) == ElementType::float32;  // float16, bfloat16, float64 too
}

// The lowest and highest value of an integer `type`; none for bool.
std::optional<std::pair<std::int64_t, std::int64_t>> integer_range(ElementType type) {
  switch (type) {
    case ElementType::int8:
      return std::pair{INT8_MIN, INT8_MAX};
    case ElementType::uint8:
      return std::pair{0, UINT8_MAX};
    case ElementType::int32:
      return std::pair{INT32_MIN, INT32_MAX};
    case ElementType::int64:
      return std::pair{std::numeric_limits<std::int64_t>::min(),
                       std::numeric_limits<std::int64_t>::max()};
    default:
      return std::nullopt;
  }
}

// Reduction `op` over the empty set, each element of `shape` (ONNX's
// operator definitions, opset 18): none for an op that is not a reduction,
// or one whose value there an integer type cannot hold.
std::optional<Constant> reduced_over_nothing(const std::string& op, ElementType type,
                                             const Shape& shape) {
  constexpr float kInfinity = std::numeric_limits<float>::infinity();
  const bool real = is_real(type);
  const auto range = integer_range(type);
  if (!real && !range) {
    return std::nullopt;
  }
  if (op == "ReduceSum" || op == "ReduceSumSquare" || op == "ReduceL1" ||
      (op == "ReduceL2" && real)) {
    return Constant::filled(type, shape, 0, 0);
  }
  if (op == "ReduceProd") {
    return Constant::filled(type, shape, 1, 1);
  }
  if (op == "ReduceMax") {
    return Constant::filled(type, shape, -kInfinity, real ? 0 : range->first);
  }
  if (op == "ReduceMin") {
    return Constant::filled(type, shape, kInfinity, real ? 0 : range->second);
  }
  if ((op == "ReduceLogSum" || op == "ReduceLogSumExp") && real) {
    return Constant::filled(type, shape, -kInfinity, 0);
  }
  if (op == "ReduceMean" && real) {
    return Constant::filled(type, shape, std::numeric_limits<float>::quiet_NaN(), 0);
  }
  return std::nullopt;
}

// A Pad (mode constant) of an input without elements: its pad value
// everywhere; none for another mode or a value known only at run time.
std::optional<Constant> padded_nothing(const Node& pad, const Graph& graph, ElementType type,
                                       const Shape& shape) {
  if (pad.get_string("mode", "constant") != "constant") {
    return std::nullopt;
  }
  if (graph.opset < 11) {
    const float value = pad.get_float("value", 0);
    const bool exact_integer = std::isfinite(value) && std::abs(value) < 0x1p62F;
    if (!is_real(type) && !exact_integer) {
      return std::nullopt;  // no integer (converting it would be undefined)
    }
    return Constant::filled(type, shape, value,
                            exact_integer ? static_cast<std::int64_t>(value) : 0);
  }
  if (pad.inputs.size() < 3 || pad.inputs[2].empty()) {
    return Constant::filled(type, shape, 0, 0);
  }
  const auto value = graph.constants.find(pad.inputs[2]);
  if (value == graph.constants.end() || value->second.size() != 1) {
    return std::nullopt;
  }
  const Constant& v = value->second;
  return Constant::filled(type, shape, static_cast<float>(v.value(0)),
                          v.is_float() ? 0 : v.integer(0));
}

// The outputs of `node` when its inputs or outputs have no elements, known
// without computing anything; none otherwise.
std::optional<std::vector<Constant>> known_without_computing(const Node& node, const Graph& graph,
                                                             FoldBudget& budget) {
  const bool outputs_empty = std::ranges::all_of(
      node.outputs, [&](const std::string& output) { return has_no_elements(graph, output); });
  std::vector<Constant> values;
  if (outputs_empty) {
    for (const std::string& output : node.outputs) {
      values.push_back(Constant::filled(type_of(graph, output), graph.shape(output), 0, 0));
    }
    return values;
  }
  if (node.outputs.size() != 1 || node.inputs.empty() || !has_no_elements(graph, node.inputs[0])) {
    return std::nullopt;
  }
  const std::string& output = node.outputs[0];
  const Shape* shape = graph.known_shape(output);
  if (shape == nullptr ||
      (node.op != "MatMul" && node.op != "Pad" && !node.op.starts_with("Reduce"))) {
    return std::nullopt;
  }
  budget.spend(node, element_count(*shape));
  const ElementType type = type_of(graph, output);
  std::optional<Constant> value = node.op == "MatMul"
                                      ? std::optional(Constant::filled(type, *shape, 0, 0))
                                  : node.op == "Pad" ? padded_nothing(node, graph, type, *shape)
                                                     : reduced_over_nothing(node.op, type, *shape);
  if (!value) {
    return std::nullopt;
  }
  values.push_back(std::move(*value));
  return values;
}

// A Concat's inputs without elements add nothing to its output.
void drop_empty_operands(Node& concat, const Graph& graph) {
  if (std::ranges::all_of(concat.inputs,
                          [&](const std::string& in) { return has_no_elements(graph, in); })) {
    return;  // its output has no elements either: folded
  }
  std::erase_if(concat.inputs, [&](const std::string& in) { return has_no_elements(graph, in); });
}

// Nodes read an empty constant in place of each graph input without
// elements.
void read_empty_inputs_as_constants(Graph& graph) {
  for (const std::string& input : graph.inputs) {
    if (!has_no_elements(graph, input) || graph.is_output(input)) {
      continue;
    }
    const std::string constant = fresh_name(graph, input + ".empty");
    graph.constants[constant] = Constant::filled(type_of(graph, input), graph.shape(input), 0, 0);
    graph.values[constant] = graph.values.at(input);
    for (Node& node : graph.nodes) {
      std::ranges::replace(node.inputs, input, constant);
    }
  }
}

}  // namespace

std::size_t fold_empty_tensors(Graph& graph, FoldBudget& budget) {
  read_empty_inputs_as_constants(graph);
  std::size_t folded = 0;
  for (auto it = graph.nodes.begin(); it != graph.nodes.end();) {
    std::optional<std::vector<Constant>> values = known_without_computing(*it, graph, budget);
    if (!values) {
      if (it->op == "Concat") {
        drop_empty_operands(*it, graph);
      }
      ++it;
      continue;
    }
    for (std::size_t i = 0; i < values->size(); ++i) {
      Constant& value = (*values)[i];
      graph.values[it->outputs[i]] = {computed_type(value.type), value.shape};
      graph.constants[it->outputs[i]] = std::move(value);
    }
    it = graph.nodes.erase(it);
    ++folded;
  }
  return folded;
}

}  // namespace npu::onnx_runtime
