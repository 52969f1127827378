#include "qdq.hpp"

#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "graph.hpp"
#include "npu/onnx/model.hpp"
#include "onnx_import.hpp"
#include "proto_builder.hpp"
#include "unique_names.hpp"

namespace npu::onnx_runtime {

using npu::onnx::ModelError;

namespace {

// How a tensor is quantized: one scale and zero point per tensor, or one
// per index along `axis`.
struct Quantization {
  ElementType type = ElementType::uint8;
  std::vector<float> scales;
  std::vector<std::int64_t> zero_points;
  std::optional<std::size_t> axis;  // none: per tensor
};

std::int64_t type_min(ElementType type) {
  return type == ElementType::int8    ? -128
         : type == ElementType::int32 ? std::numeric_limits<std::int32_t>::min()
                                      : 0;
}

std::int64_t type_max(ElementType type) {
  return type == ElementType::int8    ? 127
         : type == ElementType::int32 ? std::numeric_limits<std::int32_t>::max()
                                      : 255;
}

// "int16", "float8e4m3fn": ONNX's name of an element type, for messages.
std::string type_name(int type) {
  std::string name =
      ::onnx::TensorProto::DataType_IsValid(type)
          ? ::onnx::TensorProto::DataType_Name(static_cast<::onnx::TensorProto::DataType>(type))
          : fmt::format("type {}", type);
  std::ranges::transform(name, name.begin(),
                         [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return name;
}

std::string label(const ::onnx::NodeProto& node) {
  return fmt::format("{} '{}'", node.op_type(),
                     node.name().empty() && node.output_size() > 0 ? node.output(0) : node.name());
}

using Nodes = ::google::protobuf::RepeatedPtrField<::onnx::NodeProto>;

class QdqRewriter {
 public:
  explicit QdqRewriter(::onnx::ModelProto& model) : model_(model), graph_(*model.mutable_graph()) {
    for (const auto& opset : model.opset_import()) {
      if (opset.domain().empty() || opset.domain() == "ai.onnx") {
        opset_ = opset.version();
      }
    }
    for (int i = 0; i < graph_.initializer_size(); ++i) {
      initializers_[graph_.initializer(i).name()] = i;
    }
    names_ = UniqueNames(graph_);
    for (const auto& node : graph_.node()) {
      names_.insert(node.name());
      for (const std::string& output : node.output()) {
        producers_[output] = &node;
      }
    }
  }

  QdqRewriteStats run() {
    Nodes rewritten;
    for (const ::onnx::NodeProto& node : graph_.node()) {
      const bool default_domain = node.domain().empty() || node.domain() == "ai.onnx";
      if (default_domain && node.op_type() == "QuantizeLinear") {
        quantize(node, rewritten);
      } else if (default_domain && node.op_type() == "DequantizeLinear") {
        dequantize(node, rewritten);
      } else {
        refuse_quantized_reads(node);
        *rewritten.Add() = node;
      }
    }
    drop_replaced_gathers(rewritten);
    graph_.mutable_node()->Swap(&rewritten);
    drop_unread(model_);
    return stats_;
  }

 private:
  struct PendingQuantize {
    std::string label;
    std::string input;
    Quantization quantization;
  };

  [[noreturn]] static void refuse(const ::onnx::NodeProto& node, const std::string& why) {
    throw ModelError(fmt::format("{}: {}", label(node), why));
  }

  // Initializer `name` as a Constant, its type checked first against
  // `allowed` so that the refusal names the node.
  const Constant& constant(const ::onnx::NodeProto& node, const std::string& name, const char* role,
                           std::initializer_list<ElementType> allowed) {
    const auto index = initializers_.find(name);
    if (index == initializers_.end()) {
      refuse(node, fmt::format("its {} '{}' is computed at run time; the runtime takes a "
                               "constant {}",
                               role, name, role));
    }
    const int type = graph_.initializer(index->second).data_type();
    if (std::ranges::find(allowed, static_cast<ElementType>(type)) == allowed.end()) {
      std::vector<std::string> names;
      for (const ElementType t : allowed) {
        names.push_back(to_string(t));
      }
      refuse(node, fmt::format("its {} '{}' is {}; supported: {}", role, name, type_name(type),
                               fmt::join(names, ", ")));
    }
    if (const auto parsed = parsed_.find(name); parsed != parsed_.end()) {
      return parsed->second;
    }
    return parsed_[name] = from_tensor_proto(graph_.initializer(index->second));
  }

  // The scale and zero point of `node` (inputs 1 and 2) for a tensor of
  // `type`, per axis if the scale has more than one element (then the
  // quantized tensor is the constant of shape `shape`).
  Quantization quantization(const ::onnx::NodeProto& node, ElementType type,
                            const std::optional<Shape>& shape) {
    for (const char* attribute : {"block_size", "output_dtype"}) {
      for (const auto& a : node.attribute()) {
        if (a.name() == attribute && a.i() != 0) {
          refuse(node, fmt::format("attribute {} (opset 21) is not supported", attribute));
        }
      }
    }
    Quantization q;
    q.type = type;
    const Constant& scale = constant(node, node.input(1), "scale", {ElementType::float32});
    for (const float s : scale.floats) {
      if (!std::isfinite(s) || s <= 0.0F) {
        refuse(node, fmt::format("scale '{}' holds {}; a scale must be finite and positive",
                                 node.input(1), s));
      }
    }
    q.scales = scale.floats;
    if (q.scales.empty()) {
      refuse(node, fmt::format("scale '{}' is empty", node.input(1)));
    }
    if (node.input_size() > 2 && !node.input(2).empty()) {
      const Constant& zero = constant(node, node.input(2), "zero point", {type});
      if (zero.size() != scale.size() || zero.shape.size() != scale.shape.size()) {
        refuse(node, fmt::format("zero point '{}' has shape {}, its scale {}", node.input(2),
                                 to_string(zero.shape), to_string(scale.shape)));
      }
      for (const std::int64_t z : zero.ints) {
        if (z < type_min(type) || z > type_max(type) || (type == ElementType::int32 && z != 0)) {
          refuse(node, fmt::format("zero point {} is outside {}{}", z, to_string(type),
                                   type == ElementType::int32 ? " (whose zero point is 0)" : ""));
        }
      }
      q.zero_points = zero.ints;
    } else {
      q.zero_points.assign(q.scales.size(), 0);
    }
    if (q.scales.size() == 1) {
      return q;  // per tensor, also a 1-D scale of one element (as onnxruntime)
    }
    if (opset_ < 13) {
      refuse(node, fmt::format("{} scales: opset {} takes one scale per tensor", q.scales.size(),
                               opset_));
    }
    if (scale.shape.size() != 1) {
      refuse(node, fmt::format("scale '{}' has shape {}: one scale or a 1-D scale per axis index",
                               node.input(1), to_string(scale.shape)));
    }
    if (!shape) {
      refuse(node, "per-axis scales on a tensor of unknown rank (per tensor only)");
    }
    const auto rank = static_cast<std::int64_t>(shape->size());
    std::int64_t axis = 1;
    for (const auto& a : node.attribute()) {
      if (a.name() == "axis") {
        axis = a.i();
      }
    }
    if (axis < -rank || axis >= rank) {
      refuse(node, fmt::format("axis {} is outside rank {}", axis, rank));
    }
    axis = axis < 0 ? axis + rank : axis;
    const std::int64_t extent = (*shape)[static_cast<std::size_t>(axis)];
    if (extent >= 0 && extent != static_cast<std::int64_t>(q.scales.size())) {
      refuse(node,
             fmt::format("{} scales for axis {} of extent {}", q.scales.size(), axis, extent));
    }
    q.axis = static_cast<std::size_t>(axis);
    return q;
  }

  // The index into q's scales of element `i` of a tensor of `shape`.
  static std::size_t channel(const Quantization& q, const Shape& shape, std::int64_t i) {
    if (!q.axis) {
      return 0;
    }
    std::int64_t inner = 1;
    for (std::size_t d = *q.axis + 1; d < shape.size(); ++d) {
      inner *= shape[d];
    }
    return static_cast<std::size_t>((i / inner) % shape[*q.axis]);
  }

  std::string fresh(const std::string& base) { return names_.fresh(base); }

  void add_initializer(const std::string& name, const Constant& value) {
    initializers_[name] = graph_.initializer_size();
    *graph_.add_initializer() = to_tensor_proto(name, value);
    parsed_[name] = value;
  }

  std::string scalar(const std::string& base, float value) {
    const std::string name = fresh(base);
    add_initializer(name, Constant::of_floats({}, {value}));
    return name;
  }

  // QuantizeLinear: of a constant computed here (as onnxruntime does:
  // saturate(round_half_even(x / s) + zp)); of a computed tensor kept for
  // the DequantizeLinear nodes that must read it.
  void quantize(const ::onnx::NodeProto& node, Nodes& rewritten) {
    refuse_quantized_reads(node);
    ElementType type = ElementType::uint8;  // without a zero point
    if (node.input_size() > 2 && !node.input(2).empty()) {
      type =
          constant(node, node.input(2), "zero point", {ElementType::int8, ElementType::uint8}).type;
    }
    const std::string& x = node.input(0);
    if (!initializers_.contains(x)) {
      const Quantization q = quantization(node, type, shape_if_per_axis(node));
      if (is_graph_output(node.output(0))) {
        quantize_into_output(node, q, rewritten);
      }
      pending_[node.output(0)] = {label(node), x, q};
      return;
    }
    const Constant& input = constant(node, x, "input", {ElementType::float32});
    const Shape shape = input.shape;
    const std::vector<float> values = input.floats;
    const Quantization q = quantization(node, type, shape);
    std::vector<std::int64_t> quantized(values.size());
    for (std::size_t i = 0; i < values.size(); ++i) {
      const std::size_t c = channel(q, shape, static_cast<std::int64_t>(i));
      const float v = std::nearbyint(values[i] / q.scales[c]);
      if (std::isnan(v)) {
        refuse(node, fmt::format("input '{}' holds NaN at {}", x, i));
      }
      const auto low = static_cast<float>(type_min(type) - q.zero_points[c]);
      const auto high = static_cast<float>(type_max(type) - q.zero_points[c]);
      quantized[i] = static_cast<std::int64_t>(std::clamp(v, low, high)) + q.zero_points[c];
    }
    add_initializer(node.output(0), Constant::of_ints(shape, std::move(quantized), type));
    ++stats_.folded;
  }

  void dequantize(const ::onnx::NodeProto& node, Nodes& rewritten) {
    const std::string& x = node.input(0);
    if (const auto q = pending_.find(x); q != pending_.end()) {
      round_trip(node, q->second, rewritten);
      return;
    }
    if (dequantize_gathered(node, rewritten)) {
      return;
    }
    if (!initializers_.contains(x)) {
      dequantize_computed(node, rewritten);
      return;
    }
    const Constant& input =
        constant(node, x, "input", {ElementType::int8, ElementType::uint8, ElementType::int32});
    const Shape shape = input.shape;
    const std::vector<std::int64_t> values = input.ints;
    const Quantization q = quantization(node, input.type, shape);
    std::vector<float> result(values.size());
    for (std::size_t i = 0; i < values.size(); ++i) {
      const std::size_t c = channel(q, shape, static_cast<std::int64_t>(i));
      // onnxruntime's order: the difference in integers, then one float
      // multiplication.
      result[i] = static_cast<float>(values[i] - q.zero_points[c]) * q.scales[c];
    }
    add_initializer(node.output(0), Constant::of_floats(shape, std::move(result)));
    ++stats_.folded;
  }

  // DequantizeLinear, per tensor, of a Gather of a constant 8-bit or int32
  // table (an embedding quantize_dynamic quantized): a Gather of the table
  // dequantized here, which selects the same values. The integer Gather
  // goes if nothing else reads it (drop_replaced_gathers).
  bool dequantize_gathered(const ::onnx::NodeProto& node, Nodes& rewritten) {
    const auto producer = producers_.find(node.input(0));
    if (producer == producers_.end()) {
      return false;
    }
    const ::onnx::NodeProto& gather = *producer->second;
    const bool default_domain = gather.domain().empty() || gather.domain() == "ai.onnx";
    const auto table = initializers_.find(gather.input(0));
    const auto scale = initializers_.find(node.input(1));
    if (!default_domain || gather.op_type() != "Gather" || table == initializers_.end() ||
        scale == initializers_.end() ||
        !std::ranges::all_of(graph_.initializer(scale->second).dims(),
                             [](std::int64_t d) { return d == 1; })) {
      return false;
    }
    const Constant& values = constant(node, gather.input(0), "table",
                                      {ElementType::int8, ElementType::uint8, ElementType::int32});
    const Quantization q = quantization(node, values.type, std::nullopt);
    std::vector<float> dequantized(values.ints.size());
    for (std::size_t i = 0; i < dequantized.size(); ++i) {
      dequantized[i] = static_cast<float>(values.ints[i] - q.zero_points[0]) * q.scales[0];
    }
    const std::string table_name = fresh(gather.input(0) + "/dequantized");
    add_initializer(table_name, Constant::of_floats(values.shape, std::move(dequantized)));
    ::onnx::NodeProto& selected = *rewritten.Add() = gather;
    selected.set_name(fresh(node.output(0) + "/Gather"));
    selected.set_input(0, table_name);
    selected.set_output(0, node.output(0));
    replaced_gathers_.insert(gather.output(0));
    ++stats_.folded;
    return true;
  }

  // The integer Gathers dequantize_gathered replaced, where nothing reads
  // them any more.
  void drop_replaced_gathers(Nodes& nodes) const {
    std::set<std::string> read;
    for (const auto& node : nodes) {
      read.insert(node.input().begin(), node.input().end());
    }
    for (const auto& output : graph_.output()) {
      read.insert(output.name());
    }
    for (int i = 0; i < nodes.size();) {
      const std::string& output = nodes.Get(i).output(0);
      if (replaced_gathers_.contains(output) && !read.contains(output)) {
        nodes.DeleteSubrange(i, 1);
      } else {
        ++i;
      }
    }
  }

  // DequantizeLinear(QuantizeLinear(x)) on a computed x, in float32:
  //   y = (clamp(round_half_even(x / s_q), min - zp_q, max - zp_q) + zp_q - zp_dq) * s_dq
  // which is ONNX's (saturate(round(x / s_q) + zp_q) - zp_dq) * s_dq.
  void round_trip(const ::onnx::NodeProto& node, const PendingQuantize& q, Nodes& rewritten) {
    const Quantization& qq = q.quantization;
    if (qq.axis) {
      refuse(node, fmt::format("it reads {}, quantized per axis; a QuantizeLinear read by a "
                               "DequantizeLinear takes one scale",
                               q.label));
    }
    const Quantization dq = quantization(node, q.quantization.type, std::nullopt);
    const std::string& y = node.output(0);
    const auto add = [&](const std::string& op, const std::vector<std::string>& inputs,
                         const std::string& output) {
      return add_node(rewritten, op, inputs, output);
    };
    const std::string scaled = fresh(y + "/scaled");
    add("Div", {q.input, scalar(y + "/quantize_scale", qq.scales[0])}, scaled);
    const auto low = static_cast<float>(type_min(qq.type) - qq.zero_points[0]);
    const auto high = static_cast<float>(type_max(qq.type) - qq.zero_points[0]);
    const std::string clipped = fresh(y + "/saturated");
    if (opset_ >= 11) {
      add("Clip", {scaled, scalar(y + "/low", low), scalar(y + "/high", high)}, clipped);
    } else {
      ::onnx::NodeProto* clip = add("Clip", {scaled}, clipped);
      for (const auto& [name, value] : {std::pair{"min", low}, std::pair{"max", high}}) {
        ::onnx::AttributeProto& a = *clip->add_attribute();
        a.set_name(name);
        a.set_type(::onnx::AttributeProto::FLOAT);
        a.set_f(value);
      }
    }
    const std::string offset = scalar(y + "/rounding_offset", kRoundingOffset);
    const std::string shifted = fresh(y + "/shifted");
    add("Add", {clipped, offset}, shifted);
    std::string rounded = fresh(y + "/rounded");
    add("Sub", {shifted, offset}, rounded);
    if (qq.zero_points[0] != dq.zero_points[0]) {
      const std::string moved = fresh(y + "/zero_point_moved");
      add("Add",
          {rounded, scalar(y + "/zero_point_difference",
                           static_cast<float>(qq.zero_points[0] - dq.zero_points[0]))},
          moved);
      rounded = moved;
    }
    add("Mul", {rounded, scalar(y + "/dequantize_scale", dq.scales[0])}, y);
    ++stats_.round_trips;
  }

  ::onnx::NodeProto* add_node(Nodes& nodes, const std::string& op,
                              const std::vector<std::string>& inputs, const std::string& output) {
    ::onnx::NodeProto& made = *nodes.Add();
    made.set_op_type(op);
    made.set_name(fresh(fmt::format("{}/{}", output, op)));
    for (const std::string& input : inputs) {
      made.add_input(input);
    }
    made.add_output(output);
    return &made;
  }

  bool is_graph_output(const std::string& name) const {
    return std::ranges::any_of(graph_.output(), [&](const auto& o) { return o.name() == name; });
  }

  // The type graph input, output or value `name` is declared with in
  // `graph`, if any.
  static const ::onnx::TypeProto_Tensor* declared_in(const ::onnx::GraphProto& graph,
                                                     const std::string& name) {
    for (const auto* infos : {&graph.input(), &graph.value_info(), &graph.output()}) {
      for (const auto& info : *infos) {
        if (info.name() == name && info.type().has_tensor_type()) {
          return &info.type().tensor_type();
        }
      }
    }
    return nullptr;
  }

  const ::onnx::TypeProto_Tensor* declared(const std::string& name) const {
    return declared_in(graph_, name);
  }

  // `name`'s shape as the model declares it or, for a tensor computed
  // inside, as ONNX's shape inference finds it (on a copy of the model,
  // made the first time it is needed): -1 for a dimension not a number.
  std::optional<Shape> declared_shape(const std::string& name) {
    const ::onnx::TypeProto_Tensor* type = declared(name);
    if (type == nullptr) {
      if (!inferred_) {
        inferred_ = model_;
        infer_shapes(*inferred_);
      }
      type = declared_in(inferred_->graph(), name);
    }
    if (type == nullptr || !type->has_shape()) {
      return std::nullopt;
    }
    Shape shape;
    for (const auto& dim : type->shape().dim()) {
      shape.push_back(dim.has_dim_value() ? dim.dim_value() : -1);
    }
    return shape;
  }

  // The shape of `node`'s input where its scale (a constant) has more than
  // one value: only per-axis scales need it, and finding a computed
  // tensor's runs ONNX's shape inference on a copy of the model.
  std::optional<Shape> shape_if_per_axis(const ::onnx::NodeProto& node) {
    const auto scale = initializers_.find(node.input(1));
    if (scale == initializers_.end()) {
      return std::nullopt;  // quantization() refuses a computed scale
    }
    std::int64_t values = 1;
    for (const std::int64_t dim : graph_.initializer(scale->second).dims()) {
      values *= dim;
    }
    return values > 1 ? declared_shape(node.input(0)) : std::nullopt;
  }

  // A float constant of one value per channel of q (shaped to broadcast
  // along q's axis of a rank-`rank` tensor), or a scalar.
  std::string per_channel(const std::string& base, const Quantization& q, std::size_t rank,
                          const std::function<float(std::size_t)>& value) {
    const std::string name = fresh(base);
    std::vector<float> values(q.scales.size());
    for (std::size_t c = 0; c < values.size(); ++c) {
      values[c] = value(c);
    }
    Shape shape;
    if (q.axis) {
      shape.assign(rank - *q.axis, 1);
      shape[0] = static_cast<std::int64_t>(values.size());
    }
    add_initializer(name, Constant::of_floats(shape, std::move(values)));
    return name;
  }

  // DequantizeLinear of a computed tensor (a uint8 or int8 graph input, an
  // integer computed on the device) in float arithmetic, exactly
  // onnxruntime's float(x - zp) * s: Cast to float, Sub zp (exact below
  // 2^24), Mul s.
  void dequantize_computed(const ::onnx::NodeProto& node, Nodes& rewritten) {
    const std::string& x = node.input(0);
    const ::onnx::TypeProto_Tensor* type = declared(x);
    ElementType element = ElementType::uint8;
    if (type != nullptr && type->elem_type() != 0) {
      element = static_cast<ElementType>(type->elem_type());
    } else if (node.input_size() > 2 && !node.input(2).empty() &&
               initializers_.contains(node.input(2))) {
      element =
          static_cast<ElementType>(graph_.initializer(initializers_[node.input(2)]).data_type());
    }
    if (element != ElementType::int8 && element != ElementType::uint8 &&
        element != ElementType::int32) {
      refuse(node, fmt::format("its input '{}' is {}; supported: int8, uint8, int32", x,
                               type_name(static_cast<int>(element))));
    }
    const std::optional<Shape> shape = shape_if_per_axis(node);
    const Quantization q = quantization(node, element, shape);
    const std::size_t rank = shape ? shape->size() : 0;
    const std::string& y = node.output(0);
    std::string value = fresh(y + "/float");
    ::onnx::NodeProto* cast = add_node(rewritten, "Cast", {x}, value);
    ::onnx::AttributeProto& to = *cast->add_attribute();
    to.set_name("to");
    to.set_type(::onnx::AttributeProto::INT);
    to.set_i(::onnx::TensorProto::FLOAT);
    if (std::ranges::any_of(q.zero_points, [](std::int64_t z) { return z != 0; })) {
      const std::string centred = fresh(y + "/centred");
      add_node(
          rewritten, "Sub",
          {value, per_channel(y + "/zero_point", q, rank,
                              [&](std::size_t c) { return static_cast<float>(q.zero_points[c]); })},
          centred);
      value = centred;
    }
    add_node(
        rewritten, "Mul",
        {value, per_channel(y + "/scale", q, rank, [&](std::size_t c) { return q.scales[c]; })}, y);
    ++stats_.dequantized_inputs;
  }

  // QuantizeLinear of a computed tensor into a graph output of q's type,
  // ONNX's saturate(round_half_even(x / s) + zp) in float arithmetic, then
  // a Cast to the type (exact: the values are integers in its range):
  //   Div by s, Max and Min to [type_min - zp, type_max - zp], Add and Sub
  //   1.5 * 2^23 (the rounding), Add zp, Cast.
  void quantize_into_output(const ::onnx::NodeProto& node, const Quantization& q,
                            Nodes& rewritten) {
    const std::string& y = node.output(0);
    const std::size_t rank = q.axis ? declared_shape(node.input(0))->size() : 0;
    const auto step = [&](const std::string& op, const std::string& in, const std::string& name,
                          const std::function<float(std::size_t)>& value) {
      const std::string out = fresh(y + "/" + name);
      add_node(rewritten, op, {in, per_channel(y + "/" + name + "_by", q, rank, value)}, out);
      return out;
    };
    std::string v =
        step("Div", node.input(0), "scaled", [&](std::size_t c) { return q.scales[c]; });
    v = step("Max", v, "raised", [&](std::size_t c) {
      return static_cast<float>(type_min(q.type) - q.zero_points[c]);
    });
    v = step("Min", v, "saturated", [&](std::size_t c) {
      return static_cast<float>(type_max(q.type) - q.zero_points[c]);
    });
    v = step("Add", v, "shifted", [](std::size_t) { return kRoundingOffset; });
    v = step("Sub", v, "rounded", [](std::size_t) { return kRoundingOffset; });
    if (std::ranges::any_of(q.zero_points, [](std::int64_t z) { return z != 0; })) {
      v = step("Add", v, "offset",
               [&](std::size_t c) { return static_cast<float>(q.zero_points[c]); });
    }
    ::onnx::NodeProto* cast = add_node(rewritten, "Cast", {v}, y);
    ::onnx::AttributeProto& to = *cast->add_attribute();
    to.set_name("to");
    to.set_type(::onnx::AttributeProto::INT);
    to.set_i(static_cast<int>(q.type));
    ++stats_.round_trips;  // its rounding needs FP32 like a round trip's
  }

  // A node other than DequantizeLinear reading a QuantizeLinear's output.
  void refuse_quantized_reads(const ::onnx::NodeProto& node) {
    for (const std::string& input : node.input()) {
      if (const auto q = pending_.find(input); q != pending_.end()) {
        throw ModelError(
            fmt::format("{} reads the output of {}; the device runs quantized tensors only between "
                        "QuantizeLinear and DequantizeLinear",
                        label(node), q->second.label));
      }
    }
  }

  // The integer weights, scales and zero points the folded values replaced.
  static void drop_unread(::onnx::ModelProto& model) {
    ::onnx::GraphProto& g = *model.mutable_graph();
    std::set<std::string> read;
    for (const auto& node : g.node()) {
      read.insert(node.input().begin(), node.input().end());
    }
    for (const auto& output : g.output()) {
      read.insert(output.name());
    }
    std::set<std::string> listed;
    for (const auto& input : g.input()) {
      listed.insert(input.name());
    }
    auto* initializers = g.mutable_initializer();
    for (int i = 0; i < initializers->size();) {
      const std::string& name = initializers->Get(i).name();
      if (!read.contains(name) && !listed.contains(name)) {
        initializers->DeleteSubrange(i, 1);
      } else {
        ++i;
      }
    }
  }

  ::onnx::ModelProto& model_;
  ::onnx::GraphProto& graph_;
  std::int64_t opset_ = 0;
  std::map<std::string, int> initializers_;  // name -> index in graph_.initializer
  std::map<std::string, Constant> parsed_;
  UniqueNames names_;
  std::optional<::onnx::ModelProto> inferred_;                 // declared_shape()'s, when needed
  std::map<std::string, PendingQuantize> pending_;             // by the QuantizeLinear's output
  std::map<std::string, const ::onnx::NodeProto*> producers_;  // in the model as given
  std::set<std::string> replaced_gathers_;                     // dequantize_gathered's
  QdqRewriteStats stats_;
};

}  // namespace

QdqRewriteStats rewrite_qdq(::onnx::ModelProto& model) {
  const bool has_qdq = std::ranges::any_of(model.graph().node(), [](const auto& node) {
    return (node.domain().empty() || node.domain() == "ai.onnx") &&
           (node.op_type() == "QuantizeLinear" || node.op_type() == "DequantizeLinear");
  });
  if (!has_qdq) {
    return {};
  }
  check_before_rewrite(model);
  return QdqRewriter(model).run();
}

}  // namespace npu::onnx_runtime
