#include "onnx_import.hpp"

#include <fmt/format.h>
#include <onnx/defs/tensor_proto_util.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <set>

#include "constant_folding.hpp"
#include "element_codec.hpp"
#include "empty_tensors.hpp"
#include "external_data.hpp"
#include "if_inlining.hpp"
#include "loop_unrolling.hpp"
#include "shape_inference_guard.hpp"

namespace npu::onnx_runtime {

using npu::onnx::ModelError;

namespace {

// Folding and inference alternate at most this often: each round resolves
// at least one more level of a shape-computing chain. torchvision's Swin
// Transformer (each block's padding and window mask computed from the
// shapes the previous block's reshapes give) needs more than 16.
constexpr int kMaxFoldRounds = 64;

// Initializers of at least this many bytes leave the proto once decoded
// (detach_weights): ONNX's shape inference needs only their type and
// shape. It reads the values of small integer tensors (shapes, axes, pads)
// and of small float ones (Resize's scales), which stay.
constexpr std::size_t kDetachBytes = 4096;

}  // namespace

// Bytes per element of the types whose data may be raw, 0 for the others.
std::size_t raw_element_size(int type) {
  switch (static_cast<ElementType>(type)) {
    case ElementType::float32:
    case ElementType::int32:
      return 4;
    case ElementType::float64:
    case ElementType::int64:
      return 8;
    case ElementType::float16:
    case ElementType::bfloat16:
      return 2;
    case ElementType::uint8:
    case ElementType::int8:
    case ElementType::boolean:
      return 1;
    case ElementType::undefined:
      break;
  }
  return 0;
}

namespace {

// A float16 or bfloat16 tensor's values, widened exactly: two bytes per
// element in raw_data, or one element's bits per int32_data entry.
std::vector<float> half_precision_values(const ::onnx::TensorProto& tensor, ElementType type) {
  std::vector<std::byte> bytes;
  if (tensor.has_raw_data()) {
    const std::string& raw = tensor.raw_data();
    bytes.resize(raw.size());
    std::memcpy(bytes.data(), raw.data(), raw.size());
  } else {
    for (const std::int32_t bits : tensor.int32_data()) {
      bytes.push_back(static_cast<std::byte>(bits & 0xff));
      bytes.push_back(static_cast<std::byte>((bits >> 8) & 0xff));
    }
  }
  if (bytes.size() % 2 != 0) {
    throw ModelError(fmt::format("tensor '{}': {} bytes of {} data, not whole elements",
                                 tensor.name(), bytes.size(), to_string(type)));
  }
  return decode_elements(bytes,
                         type == ElementType::float16 ? isa::DataType::fp16 : isa::DataType::bf16);
}

}  // namespace

Constant from_tensor_proto(const ::onnx::TensorProto& tensor) {
  if (tensor.data_location() == ::onnx::TensorProto::EXTERNAL) {
    throw ModelError(fmt::format(
        "tensor '{}' keeps its data in an external file, which is not supported", tensor.name()));
  }
  Constant c;
  c.type = static_cast<ElementType>(tensor.data_type());
  c.shape.assign(tensor.dims().begin(), tensor.dims().end());
  try {
    switch (c.type) {
      case ElementType::float32:
        c.floats = ::onnx::ParseData<float>(&tensor);
        break;
      case ElementType::float64:
        for (const double v : ::onnx::ParseData<double>(&tensor)) {
          c.floats.push_back(static_cast<float>(v));
        }
        c.type = ElementType::float32;
        break;
      case ElementType::float16:
      case ElementType::bfloat16:
        c.floats = half_precision_values(tensor, c.type);
        c.type = ElementType::float32;
        break;
      case ElementType::int64:
        c.ints = ::onnx::ParseData<std::int64_t>(&tensor);
        break;
      case ElementType::int32:
        for (const std::int32_t v : ::onnx::ParseData<std::int32_t>(&tensor)) {
          c.ints.push_back(v);
        }
        break;
      case ElementType::boolean:
      case ElementType::int8:
      case ElementType::uint8:
        // One byte per element in raw_data, one int32 each otherwise.
        if (tensor.has_raw_data()) {
          for (const char v : tensor.raw_data()) {
            c.ints.push_back(c.type == ElementType::int8 ? static_cast<std::int8_t>(v)
                                                         : static_cast<std::uint8_t>(v));
          }
        } else {
          c.ints.assign(tensor.int32_data().begin(), tensor.int32_data().end());
        }
        break;
      default:
        throw ModelError(fmt::format("tensor '{}' has element type {}, which is not supported",
                                     tensor.name(), to_string(c.type)));
    }
  } catch (const ModelError&) {
    throw;
  } catch (const std::exception& e) {
    throw ModelError(fmt::format("tensor '{}': {}", tensor.name(), e.what()));
  }
  const std::int64_t stored = c.is_float() ? static_cast<std::int64_t>(c.floats.size())
                                           : static_cast<std::int64_t>(c.ints.size());
  if (stored != element_count(c.shape)) {
    throw ModelError(fmt::format("tensor '{}' has {} elements for shape {}", tensor.name(), stored,
                                 to_string(c.shape)));
  }
  return c;
}

::onnx::TensorProto to_tensor_proto(const std::string& name, const Constant& c) {
  ::onnx::TensorProto tensor;
  tensor.set_name(name);
  for (const std::int64_t dim : c.shape) {
    tensor.add_dims(dim);
  }
  if (c.type == ElementType::float64) {
    // Stored as the model typed it: shape inference checks it against the
    // values it reaches (a graph output declared double).
    tensor.set_data_type(::onnx::TensorProto::DOUBLE);
    for (const float v : c.floats) {
      tensor.add_double_data(v);
    }
  } else if (c.is_float()) {
    tensor.set_data_type(::onnx::TensorProto::FLOAT);
    for (const float v : c.floats) {
      tensor.add_float_data(v);
    }
  } else {
    tensor.set_data_type(static_cast<std::int32_t>(c.type));
    for (const std::int64_t v : c.ints) {
      if (c.type == ElementType::int64) {
        tensor.add_int64_data(v);
      } else {
        tensor.add_int32_data(static_cast<std::int32_t>(v));
      }
    }
  }
  return tensor;
}

namespace {

AttributeValue from_attribute(const ::onnx::AttributeProto& a, const std::string& node) {
  switch (a.type()) {
    case ::onnx::AttributeProto::INT:
      return a.i();
    case ::onnx::AttributeProto::FLOAT:
      return a.f();
    case ::onnx::AttributeProto::STRING:
      return a.s();
    case ::onnx::AttributeProto::INTS:
      return std::vector<std::int64_t>(a.ints().begin(), a.ints().end());
    case ::onnx::AttributeProto::FLOATS:
      return std::vector<float>(a.floats().begin(), a.floats().end());
    case ::onnx::AttributeProto::STRINGS:
      return std::vector<std::string>(a.strings().begin(), a.strings().end());
    default:
      // Tensor and graph attributes are read where they matter (Constant).
      return fmt::format("<{} attribute of {}>", static_cast<int>(a.type()), node);
  }
}

std::optional<Shape> static_shape(const ::onnx::TypeProto& type) {
  if (!type.has_tensor_type() || !type.tensor_type().has_shape()) {
    return std::nullopt;
  }
  Shape shape;
  for (const auto& dim : type.tensor_type().shape().dim()) {
    if (!dim.has_dim_value()) {
      return std::nullopt;
    }
    shape.push_back(dim.dim_value());
  }
  return shape;
}

// A graph input or output declared float16, bfloat16 or float64: computed
// as float32, exchanged in its own type.
void record_narrowed_io(Graph& graph, const ::onnx::ValueInfoProto& info) {
  if (!info.type().has_tensor_type()) {
    return;
  }
  const auto declared = static_cast<ElementType>(info.type().tensor_type().elem_type());
  if (computed_type(declared) != declared &&
      (graph.is_output(info.name()) ||
       std::ranges::find(graph.inputs, info.name()) != graph.inputs.end())) {
    graph.narrowed_float_io[info.name()] = declared;
  }
}

void record_value(Graph& graph, const ::onnx::ValueInfoProto& info) {
  ValueInfo& value = graph.values[info.name()];
  if (info.type().has_tensor_type()) {
    value.type = computed_type(static_cast<ElementType>(info.type().tensor_type().elem_type()));
    record_narrowed_io(graph, info);
  }
  value.shape = static_shape(info.type());
  if (value.shape) {
    try {
      (void)element_count(*value.shape);
    } catch (const std::runtime_error& e) {
      throw ModelError(fmt::format("value '{}': {}", info.name(), e.what()));
    }
  }
}

}  // namespace

namespace {

// A Constant node's value as a tensor: `value` itself, or the scalar or
// 1-D list of `value_float(s)` and `value_int(s)` (opset 12 on).
::onnx::TensorProto constant_value(::onnx::NodeProto& node) {
  if (node.output_size() != 1 || node.attribute_size() != 1) {
    throw ModelError(
        fmt::format("Constant '{}': one output and one value attribute expected", node.name()));
  }
  ::onnx::AttributeProto& a = *node.mutable_attribute(0);
  ::onnx::TensorProto tensor;
  if (a.name() == "value" && a.has_t()) {
    tensor = std::move(*a.mutable_t());
  } else if (a.name() == "value_float" && a.has_f()) {
    tensor.set_data_type(::onnx::TensorProto::FLOAT);
    tensor.add_float_data(a.f());
  } else if (a.name() == "value_floats") {
    tensor.set_data_type(::onnx::TensorProto::FLOAT);
    tensor.add_dims(a.floats_size());
    *tensor.mutable_float_data() = a.floats();
  } else if (a.name() == "value_int" && a.has_i()) {
    tensor.set_data_type(::onnx::TensorProto::INT64);
    tensor.add_int64_data(a.i());
  } else if (a.name() == "value_ints") {
    tensor.set_data_type(::onnx::TensorProto::INT64);
    tensor.add_dims(a.ints_size());
    *tensor.mutable_int64_data() = a.ints();
  } else {
    throw ModelError(
        fmt::format("Constant '{}': attribute '{}' (strings and sparse tensors are not supported)",
                    node.name(), a.name()));
  }
  return tensor;
}

}  // namespace

// Constant nodes become initializers, so every pass sees one kind of constant.
void inline_constant_nodes(::onnx::GraphProto& graph) {
  auto* nodes = graph.mutable_node();
  for (int i = 0; i < nodes->size();) {
    const ::onnx::NodeProto& node = nodes->Get(i);
    if (node.op_type() != "Constant" || !node.domain().empty()) {
      ++i;
      continue;
    }
    ::onnx::TensorProto tensor = constant_value(*nodes->Mutable(i));
    tensor.set_name(node.output(0));
    *graph.add_initializer() = std::move(tensor);
    nodes->DeleteSubrange(i, 1);
  }
}

namespace {

std::int64_t default_opset(const ::onnx::ModelProto& model) {
  for (const auto& opset : model.opset_import()) {
    if (opset.domain().empty() || opset.domain() == "ai.onnx") {
      return opset.version();
    }
  }
  throw ModelError("the model imports no version of the default ONNX operator set");
}

// The graph of `model`, whose initializers are taken from `known` where it
// has them (decoded before: detached weights, earlier folds) and decoded
// from the proto otherwise.
// Every value's element type as the file declares it (float16 kept: the
// Graph's values hold the computed type).
std::map<std::string, std::int32_t> declared_types(const ::onnx::GraphProto& g) {
  std::map<std::string, std::int32_t> types;
  for (const auto& tensor : g.initializer()) {
    types[tensor.name()] = tensor.data_type();
  }
  for (const auto* infos : {&g.input(), &g.value_info(), &g.output()}) {
    for (const auto& info : *infos) {
      if (info.type().has_tensor_type()) {
        types.try_emplace(info.name(), info.type().tensor_type().elem_type());
      }
    }
  }
  return types;
}

// CastLike(x, like) is Cast(x) to like's declared type, which lowering and
// constant folding know.
void cast_like_to_cast(Node& node, const std::map<std::string, std::int32_t>& declared) {
  if (node.op != "CastLike" || node.inputs.size() != 2) {
    return;
  }
  const auto type = declared.find(node.inputs[1]);
  if (type == declared.end()) {
    return;
  }
  node.op = "Cast";
  node.inputs.resize(1);
  node.attributes["to"] = std::int64_t{type->second};
}

Graph graph_from_proto(const ::onnx::ModelProto& model, std::map<std::string, Constant> known) {
  Graph graph;
  graph.opset = default_opset(model);
  const ::onnx::GraphProto& g = model.graph();
  for (const auto& tensor : g.initializer()) {
    const auto it = known.find(tensor.name());
    const Constant& c = graph.constants[tensor.name()] =
        it != known.end() ? std::move(it->second) : from_tensor_proto(tensor);
    graph.values[tensor.name()] = {computed_type(c.type), c.shape};
  }
  for (const auto& input : g.input()) {
    if (!graph.is_constant(input.name())) {
      graph.inputs.push_back(input.name());
      record_value(graph, input);
    }
  }
  for (const auto& info : g.value_info()) {
    record_value(graph, info);
  }
  for (const auto& output : g.output()) {
    graph.outputs.push_back(output.name());
    if (!graph.is_constant(output.name())) {
      record_value(graph, output);
    } else {
      record_narrowed_io(graph, output);  // a folded output keeps its declared type
    }
  }
  const std::map<std::string, std::int32_t> declared = declared_types(g);
  for (const auto& proto : g.node()) {
    Node node;
    node.op = proto.op_type();
    node.name = proto.name();
    if (!proto.domain().empty() && proto.domain() != "ai.onnx") {
      node.op = proto.domain() + "." + proto.op_type();
    }
    node.inputs.assign(proto.input().begin(), proto.input().end());
    node.outputs.assign(proto.output().begin(), proto.output().end());
    for (const auto& attribute : proto.attribute()) {
      node.attributes[attribute.name()] = from_attribute(attribute, node.label());
      if (attribute.type() == ::onnx::AttributeProto::TENSOR) {
        node.tensor_attributes[attribute.name()] = from_tensor_proto(attribute.t());
      }
    }
    cast_like_to_cast(node, declared);
    graph.nodes.push_back(std::move(node));
  }
  return graph;
}

}  // namespace

// Every node of the default domain has the inputs, outputs and attribute
// types its operator's schema allows (what the passes index without
// checking again).
void check_node_schemas(const ::onnx::ModelProto& model) {
  const auto opset = static_cast<int>(default_opset(model));
  for (const auto& node : model.graph().node()) {
    const ::onnx::OpSchema* schema =
        guarded_schemas().GetSchema(node.op_type(), opset, node.domain());
    if (!schema && (node.domain().empty() || node.domain() == "ai.onnx")) {
      throw ModelError(
          fmt::format("{} '{}': no such operator in version {} of the ONNX operator set",
                      node.op_type(), node.name(), opset));
    }
    if (!schema) {
      continue;  // another domain: Model::load names what it cannot run
    }
    try {
      schema->Verify(node);
    } catch (const std::exception& e) {
      throw ModelError(fmt::format("{} '{}': {}", node.op_type(), node.name(), e.what()));
    }
  }
}

void check_before_rewrite(::onnx::ModelProto& model) {
  check_node_schemas(model);
  inline_constant_nodes(*model.mutable_graph());
  (void)check_initializers(model.graph());
}

namespace {

// Every value a node reads is defined before it (the graph is a DAG in
// topological order, as ONNX requires), and every output is computed.
void check_references(const ::onnx::GraphProto& g) {
  std::set<std::string> initializers, defined;
  const auto define = [&defined](const std::string& name, const char* what) {
    if (!defined.insert(name).second) {
      throw ModelError(fmt::format("{} '{}' is defined twice", what, name));
    }
  };
  for (const auto& tensor : g.initializer()) {
    define(tensor.name(), "initializer");
    initializers.insert(tensor.name());
  }
  for (const auto& input : g.input()) {
    if (!initializers.contains(input.name())) {  // an initializer may be listed as input
      define(input.name(), "input");
    }
  }
  for (const auto& node : g.node()) {
    for (const std::string& input : node.input()) {
      if (!input.empty() && !defined.contains(input)) {
        throw ModelError(
            fmt::format("{} '{}' reads '{}', which no earlier node, input or initializer defines",
                        node.op_type(), node.name(), input));
      }
    }
    for (const std::string& output : node.output()) {
      if (!output.empty()) {
        define(output, "value");
      }
    }
  }
  for (const auto& output : g.output()) {
    if (!defined.contains(output.name())) {
      throw ModelError(fmt::format("graph output '{}' is not computed by any node", output.name()));
    }
  }
}

// The values a tensor without raw data keeps in the field onnx.proto gives
// its element type, and how many of them make one element; nullopt for a
// type without such a field.
struct TypedValues {
  std::int64_t values;
  std::int64_t per_element;
};

std::optional<TypedValues> typed_values(const ::onnx::TensorProto& t) {
  using T = ::onnx::TensorProto;
  switch (t.data_type()) {
    case T::FLOAT:
      return TypedValues{t.float_data_size(), 1};
    case T::COMPLEX64:
      return TypedValues{t.float_data_size(), 2};
    case T::DOUBLE:
      return TypedValues{t.double_data_size(), 1};
    case T::COMPLEX128:
      return TypedValues{t.double_data_size(), 2};
    case T::INT64:
      return TypedValues{t.int64_data_size(), 1};
    case T::UINT32:
    case T::UINT64:
      return TypedValues{t.uint64_data_size(), 1};
    case T::STRING:
      return TypedValues{t.string_data_size(), 1};
    case T::INT32:
    case T::INT16:
    case T::INT8:
    case T::UINT16:
    case T::UINT8:
    case T::BOOL:
    case T::FLOAT16:
    case T::BFLOAT16:
      return TypedValues{t.int32_data_size(), 1};
    default:
      return std::nullopt;
  }
}

// A tensor holds as many values as its shape needs, raw or typed.
void check_tensor_data(const ::onnx::TensorProto& tensor, std::int64_t count) {
  const auto shape = [&tensor] {
    return to_string(Shape(tensor.dims().begin(), tensor.dims().end()));
  };
  if (tensor.has_raw_data()) {
    const std::size_t size = raw_element_size(tensor.data_type());
    if (size != 0 && tensor.raw_data().size() != static_cast<std::size_t>(count) * size) {
      throw ModelError(fmt::format("tensor '{}' has {} bytes of data for shape {}", tensor.name(),
                                   tensor.raw_data().size(), shape()));
    }
    return;
  }
  const std::optional<TypedValues> typed = typed_values(tensor);
  if (typed && typed->values != count * typed->per_element) {
    throw ModelError(fmt::format("tensor '{}' has {} values for shape {}, which needs {}",
                                 tensor.name(), typed->values, shape(),
                                 count * typed->per_element));
  }
}

}  // namespace

// Every tensor's data is as much as its shape needs: ONNX's own parsing
// (libonnx 1.12's ParseData, also in shape inference) copies raw bytes by
// the shape and trusts them, and shape inference reads a value that typed
// fields lack (Range's start of a scalar with no data).
// Checks each initializer's data against its shape; returns their elements
// in all. External data is loaded before (load_external_data); a tensor
// that still names a file is refused where it is decoded.
std::int64_t check_initializers(const ::onnx::GraphProto& g) {
  std::int64_t elements = 0;
  for (const auto& tensor : g.initializer()) {
    std::int64_t count = 0;
    try {
      count = element_count(Shape(tensor.dims().begin(), tensor.dims().end()));
    } catch (const std::runtime_error& e) {
      throw ModelError(fmt::format("tensor '{}': {}", tensor.name(), e.what()));
    }
    if (tensor.data_location() != ::onnx::TensorProto::EXTERNAL) {
      check_tensor_data(tensor, count);
    }
    elements += count;
  }
  return elements;
}

namespace {

bool is_large_weight(ElementType type, std::int64_t elements) {
  const bool detachable = type == ElementType::float32 || type == ElementType::float64 ||
                          type == ElementType::float16 || type == ElementType::bfloat16 ||
                          type == ElementType::int8 || type == ElementType::uint8;
  return detachable &&
         static_cast<std::size_t>(elements) * raw_element_size(static_cast<int>(type)) >=
             kDetachBytes;
}

// `tensor` without its data, which is freed: a name, a type and a shape.
void drop_data(::onnx::TensorProto& tensor) {
  ::onnx::TensorProto header;
  header.set_name(tensor.name());
  header.set_data_type(tensor.data_type());
  *header.mutable_dims() = tensor.dims();
  tensor.Swap(&header);
}

// Decodes the large initializers and drops their data from the proto, one
// at a time, so the weights are in memory once while they change form.
std::map<std::string, Constant> detach_weights(::onnx::GraphProto& g) {
  std::map<std::string, Constant> weights;
  for (auto& tensor : *g.mutable_initializer()) {
    // check_initializers ran: the shape's count is valid.
    const Shape shape(tensor.dims().begin(), tensor.dims().end());
    if (tensor.data_location() != ::onnx::TensorProto::EXTERNAL &&
        is_large_weight(static_cast<ElementType>(tensor.data_type()), element_count(shape))) {
      weights[tensor.name()] = from_tensor_proto(tensor);
      drop_data(tensor);
    }
  }
  return weights;
}

// A folded value as an initializer for ONNX's shape inference: a large
// float one as its type and shape only (graph_from_proto keeps the value).
::onnx::TensorProto folded_initializer(const std::string& name, const Constant& c) {
  if (!c.is_float() || !is_large_weight(ElementType::float32, c.size())) {
    return to_tensor_proto(name, c);
  }
  ::onnx::TensorProto tensor;
  tensor.set_name(name);
  tensor.set_data_type(::onnx::TensorProto::FLOAT);
  for (const std::int64_t dim : c.shape) {
    tensor.add_dims(dim);
  }
  return tensor;
}

// Constants no node reads any more and no output is (a weight a fold
// replaced by its transpose, say): released, not carried to the device.
void drop_unread_constants(Graph& graph) {
  std::set<std::string> read(graph.outputs.begin(), graph.outputs.end());
  for (const Node& node : graph.nodes) {
    read.insert(node.inputs.begin(), node.inputs.end());
  }
  std::erase_if(graph.constants,
                [&read](const auto& entry) { return !read.contains(entry.first); });
}

// Writes folded values back as initializers and drops the nodes that
// computed them, so ONNX's shape inference sees the constants.
void apply_folding(::onnx::ModelProto& model, const Graph& graph) {
  ::onnx::GraphProto& g = *model.mutable_graph();
  std::set<std::string> initializers;
  for (const auto& tensor : g.initializer()) {
    initializers.insert(tensor.name());
  }
  auto* nodes = g.mutable_node();
  for (int i = 0; i < nodes->size();) {
    const auto& node = nodes->Get(i);
    const bool all_constant = std::ranges::all_of(
        node.output(), [&](const std::string& out) { return graph.is_constant(out); });
    if (!all_constant) {
      ++i;
      continue;
    }
    for (const std::string& out : node.output()) {
      if (!initializers.contains(out)) {
        *g.add_initializer() = folded_initializer(out, graph.constants.at(out));
        initializers.insert(out);
      }
    }
    nodes->DeleteSubrange(i, 1);
  }
}

void set_input_shapes(::onnx::ModelProto& model, const std::map<std::string, Shape>& input_shapes) {
  const std::map<std::string, Shape> declared = declared_inputs(model);
  for (const auto& [name, shape] : input_shapes) {
    if (!declared.contains(name)) {
      throw ModelError(fmt::format("the model has no input '{}'", name));
    }
  }
  for (auto& input : *model.mutable_graph()->mutable_input()) {
    const auto want = declared.find(input.name());
    if (want == declared.end()) {
      continue;  // an initializer listed as input
    }
    const auto given = input_shapes.find(input.name());
    if (given == input_shapes.end()) {
      if (std::ranges::any_of(want->second, [](std::int64_t d) { return d < 0; })) {
        throw ModelError(fmt::format("input '{}' has the dynamic shape {}: give its shape",
                                     input.name(), to_string(want->second)));
      }
      continue;
    }
    const Shape& shape = given->second;
    if (shape.size() != want->second.size()) {
      throw ModelError(fmt::format("input '{}' has rank {}, the model declares {}", input.name(),
                                   shape.size(), to_string(want->second)));
    }
    auto* dims = input.mutable_type()->mutable_tensor_type()->mutable_shape();
    for (std::size_t d = 0; d < shape.size(); ++d) {
      if (want->second[d] >= 0 && want->second[d] != shape[d]) {
        throw ModelError(fmt::format("input '{}' has shape {}, the model declares {}", input.name(),
                                     to_string(shape), to_string(want->second)));
      }
      if (shape[d] < 0) {
        throw ModelError(fmt::format("input '{}': dimension {} is {}", input.name(), d, shape[d]));
      }
      dims->mutable_dim(static_cast<int>(d))->set_dim_value(shape[d]);
    }
  }
}

}  // namespace

void infer_shapes(::onnx::ModelProto& model) {
  model.mutable_graph()->clear_value_info();
  try {
    ::onnx::shape_inference::InferShapes(model, &guarded_schemas(),
                                         ::onnx::ShapeInferenceOptions{false, 1, true});
  } catch (const std::exception& e) {
    throw ModelError(fmt::format("shape inference failed: {}", e.what()));
  }
}

::onnx::ModelProto parse_model(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    throw ModelError(fmt::format("{}: cannot open", path.string()));
  }
  // Parsed from the stream, not from a copy of the file: a model is mostly
  // its weights, and a second copy of them would double the peak memory.
  ::onnx::ModelProto model;
  if (file.peek() == std::ifstream::traits_type::eof() || !model.ParseFromIstream(&file)) {
    throw ModelError(
        fmt::format("{}: not an ONNX model (the protobuf does not parse)", path.string()));
  }
  if (!model.has_graph() || model.graph().node_size() == 0) {
    throw ModelError(fmt::format("{}: not an ONNX model (no graph nodes)", path.string()));
  }
  default_opset(model);
  // IR 3 lists every initializer among the graph inputs, and ONNX's shape
  // inference types an initializer of an IR-3 model only from there; IR 4
  // took initializers as values of their own. Read as IR 4, an IR-3 model
  // means the same (its initializers are inputs with defaults, which the
  // runtime takes as constants), and the initializers the passes add are
  // typed.
  if (model.ir_version() < 4) {
    model.set_ir_version(4);
  }
  load_external_data(model, path);
  return model;
}

std::map<std::string, Shape> declared_inputs(const ::onnx::ModelProto& model) {
  std::set<std::string> initializers;
  for (const auto& tensor : model.graph().initializer()) {
    initializers.insert(tensor.name());
  }
  std::map<std::string, Shape> inputs;
  for (const auto& input : model.graph().input()) {
    if (initializers.contains(input.name())) {
      continue;
    }
    Shape shape;
    if (input.type().has_tensor_type() && input.type().tensor_type().has_shape()) {
      for (const auto& dim : input.type().tensor_type().shape().dim()) {
        shape.push_back(dim.has_dim_value() && dim.dim_value() > 0 ? dim.dim_value() : -1);
      }
    }
    inputs[input.name()] = shape;
  }
  return inputs;
}

std::vector<std::pair<std::string, std::string>> node_ops(const ::onnx::ModelProto& model) {
  std::vector<std::pair<std::string, std::string>> ops;
  for (const auto& node : model.graph().node()) {
    const std::string op = node.domain().empty() || node.domain() == "ai.onnx"
                               ? node.op_type()
                               : node.domain() + "." + node.op_type();
    ops.emplace_back(op,
                     node.name().empty() && node.output_size() > 0 ? node.output(0) : node.name());
  }
  return ops;
}

Graph import_graph(::onnx::ModelProto model, const std::map<std::string, Shape>& input_shapes) {
  std::size_t folded_nodes = 0;
  return import_graph(std::move(model), input_shapes, folded_nodes);
}

Graph import_graph(::onnx::ModelProto model, const std::map<std::string, Shape>& input_shapes,
                   std::size_t& folded_nodes) {
  check_node_schemas(model);
  inline_constant_nodes(*model.mutable_graph());
  check_references(model.graph());
  FoldBudget budget(check_initializers(model.graph()));
  set_input_shapes(model, input_shapes);
  std::map<std::string, Constant> constants = detach_weights(*model.mutable_graph());
  for (int round = 0; round < kMaxFoldRounds; ++round) {
    if (inline_constant_ifs(*model.mutable_graph()) > 0) {
      check_node_schemas(model);
      check_references(model.graph());
      continue;  // an If it brought in may be decided already
    }
    infer_shapes(model);
    if (unroll_static_loops(model) > 0) {
      check_node_schemas(model);
      check_references(model.graph());
      continue;  // the unrolled bodies' shapes, and a loop they brought in
    }
    Graph graph = graph_from_proto(model, std::move(constants));
    std::size_t folded = 0;
    try {
      folded = fold_empty_tensors(graph, budget);
      folded += fold_constants(graph, budget);
    } catch (const ModelError&) {
      throw;
    } catch (const std::exception& e) {
      throw ModelError(e.what());
    }
    folded_nodes += folded;
    if (folded == 0) {
      drop_unread_constants(graph);
      return graph;
    }
    apply_folding(model, graph);
    constants = std::move(graph.constants);
  }
  throw ModelError("constant folding did not converge");
}

}  // namespace npu::onnx_runtime
