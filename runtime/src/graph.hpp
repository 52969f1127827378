// The runtime's graph: what the passes read and rewrite between the ONNX
// file and the device program. Values are named as in the ONNX graph; every
// value has a static shape once shape inference ran.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace npu::onnx_runtime {

using Shape = std::vector<std::int64_t>;

// Element types the runtime tracks (ONNX TensorProto.DataType values).
enum class ElementType : std::int32_t {
  undefined = 0,
  float32 = 1,
  uint8 = 2,
  int8 = 3,
  int32 = 6,
  int64 = 7,
  boolean = 9,
  float16 = 10,
  float64 = 11,
  bfloat16 = 16,
};

std::string to_string(ElementType type);
// The type a value of `type` is computed in: float16 and bfloat16 are
// computed as float32 (in the program's dtype, as onnxruntime's CPU
// provider computes half-precision nodes it has no kernel for), and so is
// float64, which the device has no type for (as OpenVINO runs a float64
// model in float32); every other type as itself.
ElementType computed_type(ElementType type);
std::int64_t element_count(const Shape& shape);
std::string to_string(const Shape& shape);

// A tensor known on the host: an initializer, a Constant node or a folded
// value. Floating types are held as float, integer types as int64.
struct Constant {
  ElementType type = ElementType::float32;
  Shape shape;
  std::vector<float> floats;
  std::vector<std::int64_t> ints;

  [[nodiscard]] bool is_float() const;
  [[nodiscard]] std::int64_t size() const { return element_count(shape); }
  // Element i as a double / integer, whatever the storage.
  [[nodiscard]] double value(std::int64_t index) const;
  [[nodiscard]] std::int64_t integer(std::int64_t index) const;
  // Every element as an integer (axes, shapes, indices).
  [[nodiscard]] std::vector<std::int64_t> integers() const;
  static Constant of_floats(Shape shape, std::vector<float> values);
  static Constant of_ints(Shape shape, std::vector<std::int64_t> values,
                          ElementType type = ElementType::int64);
  // `shape` filled with one value: `real` for a floating `type`, else
  // `integer`.
  static Constant filled(ElementType type, Shape shape, float real, std::int64_t integer);
};

using AttributeValue = std::variant<std::int64_t, float, std::string, std::vector<std::int64_t>,
                                    std::vector<float>, std::vector<std::string>>;

struct Node {
  std::string op;
  std::string name;
  std::vector<std::string> inputs;  // "" for an omitted optional input
  std::vector<std::string> outputs;
  std::map<std::string, AttributeValue> attributes;
  std::map<std::string, Constant> tensor_attributes{};  // ConstantOfShape's `value`

  [[nodiscard]] bool has(const std::string& attribute) const;
  [[nodiscard]] std::int64_t get_int(const std::string& attribute, std::int64_t fallback) const;
  [[nodiscard]] float get_float(const std::string& attribute, float fallback) const;
  [[nodiscard]] std::string get_string(const std::string& attribute, std::string fallback) const;
  [[nodiscard]] std::vector<std::int64_t> get_ints(const std::string& attribute,
                                                   std::vector<std::int64_t> fallback) const;
  [[nodiscard]] std::vector<float> get_floats(const std::string& attribute,
                                              std::vector<float> fallback) const;
  [[nodiscard]] std::vector<std::string> get_strings(const std::string& attribute,
                                                     std::vector<std::string> fallback) const;
  // "Conv 'conv2d_53'" for messages.
  [[nodiscard]] std::string label() const;
};

struct ValueInfo {
  ElementType type = ElementType::undefined;
  std::optional<Shape> shape;  // none: not inferred
};

struct Graph {
  std::vector<Node> nodes;  // in topological order
  std::map<std::string, ValueInfo> values;
  std::map<std::string, Constant> constants;
  std::vector<std::string> inputs;  // graph inputs that are not initializers
  std::vector<std::string> outputs;
  // Graph inputs and outputs the file declares float16, bfloat16 or
  // float64: float32 in `values` (computed_type), exchanged with the caller
  // in their own type.
  std::map<std::string, ElementType> narrowed_float_io;
  std::int64_t opset = 0;

  [[nodiscard]] bool is_constant(const std::string& value) const {
    return constants.contains(value);
  }
  [[nodiscard]] bool is_output(const std::string& value) const;
  // The static shape of `value`; std::runtime_error naming it if unknown.
  [[nodiscard]] const Shape& shape(const std::string& value) const;
  // The same, or nullptr if it is unknown (a pass that leaves such a node).
  [[nodiscard]] const Shape* known_shape(const std::string& value) const;
  // How many node inputs (and graph outputs) read `value`.
  [[nodiscard]] std::size_t use_count(const std::string& value) const;
  // The nodes that read `value`, by index.
  [[nodiscard]] std::vector<std::size_t> consumers(const std::string& value) const;
};

// `base`, or `base.1`, `base.2`, ...: a name no value or constant of
// `graph` has yet, for the values a pass adds.
std::string fresh_name(const Graph& graph, const std::string& base);

// A Reshape node of `from` into `to` of `shape` (its shape a new int64
// constant of `graph`), named `name`: the node a pass adds it for.
Node reshape_node(Graph& graph, const std::string& from, const std::string& to, const Shape& shape,
                  const std::string& name);

}  // namespace npu::onnx_runtime
