#include "graph.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <stdexcept>
#include <utility>

namespace npu::onnx_runtime {

std::string to_string(ElementType type) {
  switch (type) {
    case ElementType::float32:
      return "float32";
    case ElementType::uint8:
      return "uint8";
    case ElementType::int8:
      return "int8";
    case ElementType::int32:
      return "int32";
    case ElementType::int64:
      return "int64";
    case ElementType::boolean:
      return "bool";
    case ElementType::float16:
      return "float16";
    case ElementType::float64:
      return "float64";
    case ElementType::bfloat16:
      return "bfloat16";
    case ElementType::undefined:
      break;
  }
  // ONNX's other element types (TensorProto.DataType), named in messages.
  switch (static_cast<int>(type)) {
    case 4:
      return "uint16";
    case 5:
      return "int16";
    case 8:
      return "string";
    case 12:
      return "uint32";
    case 13:
      return "uint64";
    default:
      return fmt::format("type {}", static_cast<int>(type));
  }
}

std::int64_t element_count(const Shape& shape) {
  // The nonzero dimensions are bounded even when another is 0: lowering
  // multiplies strides and offsets out of any of them.
  std::int64_t nonzero = 1;
  bool empty = false;
  for (const std::int64_t dim : shape) {
    if (dim < 0 || (dim != 0 && nonzero > (std::int64_t{1} << 40) / dim)) {
      throw std::runtime_error(fmt::format("shape {} is negative or too large", to_string(shape)));
    }
    empty = empty || dim == 0;
    nonzero *= dim == 0 ? 1 : dim;
  }
  return empty ? 0 : nonzero;
}

std::string to_string(const Shape& shape) {
  return fmt::format("[{}]", fmt::join(shape, "x"));
}

ElementType computed_type(ElementType type) {
  return type == ElementType::float16 || type == ElementType::bfloat16 ||
                 type == ElementType::float64
             ? ElementType::float32
             : type;
}

bool Constant::is_float() const {
  return type == ElementType::float32 || type == ElementType::float16 ||
         type == ElementType::float64 || type == ElementType::bfloat16;
}

double Constant::value(std::int64_t index) const {
  const auto i = static_cast<std::size_t>(index);
  return is_float() ? static_cast<double>(floats.at(i)) : static_cast<double>(ints.at(i));
}

std::int64_t Constant::integer(std::int64_t index) const {
  const auto i = static_cast<std::size_t>(index);
  if (!is_float()) {
    return ints.at(i);
  }
  // Converting NaN or a value past int64's range is undefined behaviour.
  const double value = floats.at(i);
  if (!(value >= -0x1p63 && value < 0x1p63)) {
    throw std::out_of_range(fmt::format("constant value {} is not a 64-bit integer", value));
  }
  return static_cast<std::int64_t>(value);
}

std::vector<std::int64_t> Constant::integers() const {
  std::vector<std::int64_t> out;
  for (std::int64_t i = 0; i < size(); ++i) {
    out.push_back(integer(i));
  }
  return out;
}

Constant Constant::of_floats(Shape shape, std::vector<float> values) {
  Constant c;
  c.type = ElementType::float32;
  c.shape = std::move(shape);
  c.floats = std::move(values);
  return c;
}

Constant Constant::of_ints(Shape shape, std::vector<std::int64_t> values, ElementType type) {
  Constant c;
  c.type = type;
  c.shape = std::move(shape);
  c.ints = std::move(values);
  return c;
}

Constant Constant::filled(ElementType type, Shape shape, float real, std::int64_t integer) {
  Constant c;
  c.type = type;
  c.shape = std::move(shape);
  const auto count = static_cast<std::size_t>(c.size());
  if (c.is_float()) {
    c.floats.assign(count, real);
  } else {
    c.ints.assign(count, integer);
  }
  return c;
}

bool Node::has(const std::string& attribute) const {
  return attributes.contains(attribute);
}

namespace {

// Attribute `name` of `node` as a T, `fallback` if absent; what a T is
// called in the error when the attribute has another type.
template <typename T>
T attribute_or(const Node& node, const std::string& name, T fallback, const char* kind) {
  const auto it = node.attributes.find(name);
  if (it == node.attributes.end()) {
    return fallback;
  }
  if (const auto* value = std::get_if<T>(&it->second)) {
    return *value;
  }
  throw std::runtime_error(fmt::format("{}: attribute '{}' is not {}", node.label(), name, kind));
}

}  // namespace

std::int64_t Node::get_int(const std::string& attribute, std::int64_t fallback) const {
  return attribute_or(*this, attribute, fallback, "an integer");
}

float Node::get_float(const std::string& attribute, float fallback) const {
  return attribute_or(*this, attribute, fallback, "a float");
}

std::string Node::get_string(const std::string& attribute, std::string fallback) const {
  return attribute_or(*this, attribute, std::move(fallback), "a string");
}

std::vector<std::int64_t> Node::get_ints(const std::string& attribute,
                                         std::vector<std::int64_t> fallback) const {
  return attribute_or(*this, attribute, std::move(fallback), "a list of integers");
}

std::vector<float> Node::get_floats(const std::string& attribute,
                                    std::vector<float> fallback) const {
  return attribute_or(*this, attribute, std::move(fallback), "a list of floats");
}

std::vector<std::string> Node::get_strings(const std::string& attribute,
                                           std::vector<std::string> fallback) const {
  return attribute_or(*this, attribute, std::move(fallback), "a list of strings");
}

std::string Node::label() const {
  return name.empty() ? fmt::format("{} (output '{}')", op, outputs.empty() ? "" : outputs[0])
                      : fmt::format("{} '{}'", op, name);
}

bool Graph::is_output(const std::string& value) const {
  return std::ranges::find(outputs, value) != outputs.end();
}

const Shape& Graph::shape(const std::string& value) const {
  const Shape* known = known_shape(value);
  if (known == nullptr) {
    throw std::runtime_error(fmt::format("the shape of '{}' is not known", value));
  }
  return *known;
}

const Shape* Graph::known_shape(const std::string& value) const {
  const auto it = values.find(value);
  return it != values.end() && it->second.shape ? &*it->second.shape : nullptr;
}

std::size_t Graph::use_count(const std::string& value) const {
  std::size_t count = static_cast<std::size_t>(std::ranges::count(outputs, value));
  for (const Node& node : nodes) {
    count += static_cast<std::size_t>(std::ranges::count(node.inputs, value));
  }
  return count;
}

std::vector<std::size_t> Graph::consumers(const std::string& value) const {
  std::vector<std::size_t> result;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    if (std::ranges::find(nodes[i].inputs, value) != nodes[i].inputs.end()) {
      result.push_back(i);
    }
  }
  return result;
}

std::string fresh_name(const Graph& graph, const std::string& base) {
  std::string name = base;
  for (int i = 1; graph.values.contains(name) || graph.constants.contains(name); ++i) {
    name = base + "." + std::to_string(i);
  }
  return name;
}

Node reshape_node(Graph& graph, const std::string& from, const std::string& to, const Shape& shape,
                  const std::string& name) {
  const std::string dims = fresh_name(graph, to + ".shape");
  const auto rank = static_cast<std::int64_t>(shape.size());
  graph.constants[dims] = Constant::of_ints({rank}, shape);
  graph.values[dims] = {ElementType::int64, Shape{rank}};
  Node node;
  node.op = "Reshape";
  node.name = name;
  node.inputs = {from, dims};
  node.outputs = {to};
  return node;
}

}  // namespace npu::onnx_runtime
