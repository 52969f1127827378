#include "dynamic_quantization.hpp"

#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "graph.hpp"
#include "npu/onnx/model.hpp"
#include "onnx_import.hpp"
#include "proto_builder.hpp"

namespace npu::onnx_runtime {

using npu::onnx::ModelError;

namespace {

using Nodes = ProtoBuilder::Nodes;

bool in_default_domain(const ::onnx::NodeProto& node) {
  return node.domain().empty() || node.domain() == "ai.onnx";
}

bool is_op(const ::onnx::NodeProto& node, const char* op) {
  return in_default_domain(node) && node.op_type() == op;
}

bool is_microsoft_op(const ::onnx::NodeProto& node, const char* op) {
  return node.domain() == "com.microsoft" && node.op_type() == op;
}

// The nodes this pass rewrites into float arithmetic, which read their
// 8-bit and int32 operands in float form.
bool is_integer_product(const ::onnx::NodeProto& node) {
  return is_op(node, "MatMulInteger") || is_op(node, "ConvInteger") ||
         is_microsoft_op(node, "MatMulIntegerToFloat") ||
         is_microsoft_op(node, "DynamicQuantizeMatMul");
}

bool is_dynamic(const ::onnx::NodeProto& node) {
  return is_op(node, "DynamicQuantizeLinear") || is_integer_product(node) ||
         is_microsoft_op(node, "DynamicQuantizeLSTM");
}

bool casts_to_float(const ::onnx::NodeProto& node) {
  return is_op(node, "Cast") && int_attribute(node, "to") == ::onnx::TensorProto::FLOAT;
}

std::string label(const ::onnx::NodeProto& node) {
  return fmt::format("{} '{}'", node.op_type(),
                     node.name().empty() && node.output_size() > 0 ? node.output(0) : node.name());
}

// Optional input `i` of `node`: "" when omitted.
std::string optional_input(const ::onnx::NodeProto& node, int i) {
  return node.input_size() > i ? node.input(i) : std::string();
}

// Every value name read inside `graph`'s subgraphs (If, Loop, Scan bodies).
void collect_subgraph_reads(const ::onnx::GraphProto& graph, std::set<std::string>& reads) {
  for (const auto& node : graph.node()) {
    for (const auto& a : node.attribute()) {
      std::vector<const ::onnx::GraphProto*> bodies;
      if (a.has_g()) {
        bodies.push_back(&a.g());
      }
      for (const auto& g : a.graphs()) {
        bodies.push_back(&g);
      }
      for (const auto* body : bodies) {
        for (const auto& inner : body->node()) {
          reads.insert(inner.input().begin(), inner.input().end());
        }
        collect_subgraph_reads(*body, reads);
      }
    }
  }
}

class DynamicQuantizationRewriter {
 public:
  explicit DynamicQuantizationRewriter(::onnx::ModelProto& model)
      : graph_(*model.mutable_graph()), build_(graph_) {
    for (const auto& node : graph_.node()) {
      for (const std::string& input : node.input()) {
        readers_[input].push_back(&node);
      }
      if (is_op(node, "DynamicQuantizeLinear")) {
        in_float_form_.insert(node.output(0));
        if (node.output_size() > 2) {
          in_float_form_.insert(node.output(2));
        }
      } else if (is_op(node, "MatMulInteger") || is_op(node, "ConvInteger")) {
        in_float_form_.insert(node.output(0));
      }
    }
    collect_subgraph_reads(graph_, read_elsewhere_);
    for (const auto& output : graph_.output()) {
      read_elsewhere_.insert(output.name());
    }
    for (const auto& initializer : graph_.initializer()) {
      initializers_[initializer.name()] = &initializer;
    }
  }

  DynamicQuantizationStats run() {
    Nodes rewritten;
    build_.emit_into(rewritten);
    for (const ::onnx::NodeProto& node : graph_.node()) {
      if (is_op(node, "DynamicQuantizeLinear")) {
        quantize_dynamically(node);
      } else if (is_op(node, "MatMulInteger") || is_op(node, "ConvInteger")) {
        integer_product(node);
      } else if (is_microsoft_op(node, "MatMulIntegerToFloat")) {
        matmul_integer_to_float(node);
      } else if (is_microsoft_op(node, "DynamicQuantizeMatMul")) {
        dynamic_quantize_matmul(node);
      } else if (is_microsoft_op(node, "DynamicQuantizeLSTM")) {
        throw ModelError(
            fmt::format("{}: a dynamically quantized LSTM is not supported; export "
                        "the LSTM unquantized (its float weights)",
                        label(node)));
      } else if (is_op(node, "DequantizeLinear") && has_float_form(node.input(0))) {
        dequantize_float_form(node);
      } else if (casts_to_float(node) && node.input_size() == 1 && has_float_form(node.input(0))) {
        build_.emit("Identity", {float_of(node.input(0))}, {node.output(0)});
      } else {
        *rewritten.Add() = node;
      }
    }
    graph_.mutable_node()->Swap(&rewritten);
    return stats_;
  }

 private:
  // A DynamicQuantizeLinear's y: round(x / scale), the float form of its
  // zero point, and the zero point's name in the model ("" if omitted).
  struct Quantized {
    std::string rounded;
    std::string zero_point;
    std::string zero_point_output;
  };

  [[noreturn]] static void refuse(const ::onnx::NodeProto& node, const std::string& why) {
    throw ModelError(fmt::format("{}: {}", label(node), why));
  }

  // round_half_even(v) for |v| < 2^22.
  std::string rounded(const std::string& v, const std::string& base) {
    const std::string offset = build_.scalar(base + "/rounding_offset", kRoundingOffset);
    return build_.step("Sub", {build_.step("Add", {v, offset}, base + "/shifted"), offset}, base);
  }

  // Whether the integer value `name` must exist as such: a graph output,
  // read in a subgraph, or read by a node that does not take its float form.
  bool integer_read(const std::string& name) const {
    if (read_elsewhere_.contains(name)) {
      return true;
    }
    const auto readers = readers_.find(name);
    return readers != readers_.end() &&
           std::ranges::any_of(readers->second, [this](const ::onnx::NodeProto* reader) {
             return !reads_float_form(*reader);
           });
  }

  // The nodes this pass rewrites to read their integer operands in float
  // form: the integer products, Casts to float and DequantizeLinear of a
  // value made in float form here.
  bool reads_float_form(const ::onnx::NodeProto& reader) const {
    return is_integer_product(reader) || casts_to_float(reader) ||
           (is_op(reader, "DequantizeLinear") && in_float_form_.contains(reader.input(0)));
  }

  // The integer value `name` of ONNX type `type` is `float_form`: recorded
  // for its readers, and Cast to the type where an integer is read.
  void computed_in_float(const std::string& name, const std::string& float_form, int type) {
    float_forms_[name] = float_form;
    if (integer_read(name)) {
      ProtoBuilder::set_int(build_.emit("Cast", {float_form}, {name}), "to", type);
    }
  }

  bool has_float_form(const std::string& name) const {
    return float_forms_.contains(name) || quantized_.contains(name);
  }

  // The float value of the 8-bit or int32 operand `name`.
  std::string float_of(const std::string& name) {
    if (const auto known = float_forms_.find(name); known != float_forms_.end()) {
      return known->second;
    }
    if (const auto q = quantized_.find(name); q != quantized_.end()) {
      // clamp(round(x / scale) + zp, 0, 255)
      const std::string offset =
          build_.step("Add", {q->second.rounded, q->second.zero_point}, name + "/offset");
      const std::string raised =
          build_.step("Max", {offset, build_.scalar(name + "/lowest", 0.0F)}, name + "/raised");
      return float_forms_[name] = build_.step(
                 "Min", {raised, build_.scalar(name + "/highest", 255.0F)}, name + "/saturated");
    }
    const std::string value = build_.fresh(name + "/float");
    ProtoBuilder::set_int(build_.emit("Cast", {name}, {value}), "to", ::onnx::TensorProto::FLOAT);
    float_forms_[name] = value;
    return value;
  }

  // The rank of `name` where it is known before shape inference: a
  // constant's, a value this pass made, a declared one's.
  std::optional<std::size_t> rank_of(const std::string& name) const {
    if (const auto known = ranks_.find(name); known != ranks_.end()) {
      return known->second;
    }
    if (const auto init = initializers_.find(name); init != initializers_.end()) {
      return static_cast<std::size_t>(init->second->dims_size());
    }
    const ::onnx::TensorShapeProto* shape = declared_shape(name);
    return shape ? std::optional<std::size_t>(shape->dim_size()) : std::nullopt;
  }

  // The shape the model declares for `name` (input, value_info, output).
  const ::onnx::TensorShapeProto* declared_shape(const std::string& name) const {
    for (const auto* infos : {&graph_.input(), &graph_.value_info(), &graph_.output()}) {
      for (const auto& info : *infos) {
        if (info.name() == name && info.type().tensor_type().has_shape()) {
          return &info.type().tensor_type().shape();
        }
      }
    }
    return nullptr;
  }

  // Whether `name` is known to hold one value: a constant of one element,
  // a value this pass made of rank 0, a declaration of dimensions 1.
  bool single_value(const std::string& name) const {
    if (const auto known = ranks_.find(name); known != ranks_.end()) {
      return known->second == 0;
    }
    if (const auto init = initializers_.find(name); init != initializers_.end()) {
      return std::ranges::all_of(init->second->dims(), [](std::int64_t d) { return d == 1; });
    }
    const ::onnx::TensorShapeProto* shape = declared_shape(name);
    return shape != nullptr && std::ranges::all_of(shape->dim(), [](const auto& d) {
             return d.has_dim_value() && d.dim_value() == 1;
           });
  }

  // Operand `input` of `node` minus its zero point `zero_point` ("" for
  // none), in float. `per_index_shape`: the shape a 1-D zero point of
  // several values takes to run along its axis; empty where it must be one
  // value, {-1} where it broadcasts along the last axis as it is.
  std::string centred(const ::onnx::NodeProto& node, const std::string& input,
                      const std::string& zero_point,
                      const std::vector<std::int64_t>& per_index_shape) {
    if (const auto q = quantized_.find(input);
        q != quantized_.end() && !zero_point.empty() && zero_point == q->second.zero_point_output) {
      return centred_quantized(input, q->second);
    }
    const std::string value = float_of(input);
    if (zero_point.empty()) {
      return value;
    }
    const std::optional<std::size_t> rank = rank_of(zero_point);
    if (per_index_shape.empty() && !single_value(zero_point)) {
      refuse(node, fmt::format("zero point '{}' of '{}' is not known to be one value (a scalar, "
                               "as onnxruntime takes it)",
                               zero_point, input));
    }
    if (!rank) {
      refuse(node, fmt::format("zero point '{}' is computed at run time and its rank is not "
                               "declared",
                               zero_point));
    }
    std::string zp = float_of(zero_point);
    if (*rank == 1 && per_index_shape.size() > 1) {
      const auto axes = static_cast<std::int64_t>(per_index_shape.size());
      const std::string shape = build_.initializer(zero_point + "/per_index_shape",
                                                   Constant::of_ints({axes}, per_index_shape));
      zp = build_.step("Reshape", {zp, shape}, zero_point + "/per_index");
    }
    return build_.step("Sub", {value, zp}, input + "/centred");
  }

  // y - zp of a DynamicQuantizeLinear's y and its own zero point, without
  // y: clamp(round(x / scale), -zp, 255 - zp), two passes fewer over the
  // tensor than y's Add and Sub of zp.
  std::string centred_quantized(const std::string& y, const Quantized& q) {
    if (const auto known = centred_forms_.find(y); known != centred_forms_.end()) {
      return known->second;
    }
    const std::string lowest =
        build_.step("Sub", {build_.scalar(y + "/zero", 0.0F), q.zero_point}, y + "/lowest");
    const std::string highest =
        build_.step("Sub", {build_.scalar(y + "/levels", 255.0F), q.zero_point}, y + "/highest");
    const std::string raised = build_.step("Max", {q.rounded, lowest}, y + "/centred_raised");
    return centred_forms_[y] = build_.step("Min", {raised, highest}, y + "/centred");
  }

  // DynamicQuantizeLinear(x) -> y, y_scale, y_zero_point, as onnxruntime
  // computes it (dynamic_quantization.hpp).
  void quantize_dynamically(const ::onnx::NodeProto& node) {
    const std::string& x = node.input(0);
    const std::string base = node.output(0);
    const auto reduced = [&](const char* op, const char* name) {
      ::onnx::NodeProto& r = build_.emit(op, {x}, {build_.fresh(base + "/" + name)});
      ProtoBuilder::set_int(r, "keepdims", 0);
      return r.output(0);
    };
    const std::string zero = build_.scalar(base + "/zero", 0.0F);
    const std::string low = build_.step("Min", {reduced("ReduceMin", "min"), zero}, base + "/low");
    const std::string high =
        build_.step("Max", {reduced("ReduceMax", "max"), zero}, base + "/high");
    const std::string range = build_.step("Sub", {high, low}, base + "/range");
    const std::string steps = build_.step("Div", {range, build_.scalar(base + "/levels", 255.0F)},
                                          base + "/range_per_step");
    const std::string flat = build_.step("Equal", {high, low}, base + "/flat");
    const std::string scale = node.output_size() > 1 && !node.output(1).empty()
                                  ? node.output(1)
                                  : build_.fresh(base + "/scale");
    build_.emit("Where", {flat, build_.scalar(base + "/unit", 1.0F), steps}, {scale});
    const std::string lowest = build_.scalar(base + "/lowest", 0.0F);
    const std::string highest = build_.scalar(base + "/highest", 255.0F);
    std::string zp =
        build_.step("Sub", {zero, build_.step("Div", {low, scale}, base + "/low_steps")},
                    base + "/initial_zero_point");
    zp =
        build_.step("Min", {build_.step("Max", {zp, lowest}, base + "/zero_point_raised"), highest},
                    base + "/zero_point_saturated");
    zp = rounded(zp, base + "/zero_point");
    const std::string& y = node.output(0);
    const std::string zp_output = node.output_size() > 2 ? node.output(2) : std::string();
    quantized_[y] = {rounded(build_.step("Div", {x, scale}, base + "/scaled"), base + "/rounded"),
                     zp, zp_output};
    if (integer_read(y)) {
      ProtoBuilder::set_int(build_.emit("Cast", {float_of(y)}, {y}), "to",
                            ::onnx::TensorProto::UINT8);
    }
    ranks_[scale] = 0;
    if (!zp_output.empty()) {
      ranks_[zp_output] = 0;
      computed_in_float(zp_output, zp, ::onnx::TensorProto::UINT8);
    }
    ++stats_.quantizers;
  }

  // DequantizeLinear of a value quantized at run time (a
  // DynamicQuantizeLinear's, as Intel Neural Compressor's dynamic QDQ
  // writes it, or an integer product's): (x - zp) * scale in float, per
  // tensor.
  void dequantize_float_form(const ::onnx::NodeProto& node) {
    if (node.input_size() < 2 || !single_value(node.input(1))) {
      refuse(node, fmt::format("the scale of '{}', quantized at run time, is not known to be one "
                               "value (per tensor)",
                               node.input(0)));
    }
    const std::string centred_value = centred(node, node.input(0), optional_input(node, 2), {});
    build_.emit("Mul", {centred_value, node.input(1)}, {node.output(0)});
  }

  // (A - a_zp) x (B - b_zp) in float: MatMul's operands, centred.
  std::string centred_matmul(const ::onnx::NodeProto& node, const std::string& a,
                             const std::string& b, const std::string& a_zero_point,
                             const std::string& b_zero_point, const std::string& base) {
    // A's zero point is one value (onnxruntime refuses ONNX's per-row
    // form); B's per column of B runs along its last axis as it broadcasts.
    const std::string a_centred = centred(node, a, a_zero_point, {});
    const std::string b_centred = centred(node, b, b_zero_point, {-1});
    ++stats_.integer_products;
    return build_.step("MatMul", {a_centred, b_centred}, base + "/product");
  }

  // MatMulInteger and ConvInteger: their float op on centred operands; the
  // int32 result in float form.
  void integer_product(const ::onnx::NodeProto& node) {
    const std::string& y = node.output(0);
    std::string product;
    if (node.op_type() == "MatMulInteger") {
      product = centred_matmul(node, node.input(0), node.input(1), optional_input(node, 2),
                               optional_input(node, 3), y);
    } else {
      const std::string x_centred = centred(node, node.input(0), optional_input(node, 2), {});
      // W's zero point per output channel: [M, 1, ...] against W's rank.
      const std::optional<std::size_t> w_rank = rank_of(node.input(1));
      const std::string w_zero_point = optional_input(node, 3);
      if (!w_zero_point.empty() && !w_rank) {
        refuse(node, fmt::format("weights '{}' of unknown rank", node.input(1)));
      }
      std::vector<std::int64_t> per_channel(w_rank.value_or(1), 1);
      per_channel.front() = -1;
      const std::string w_centred = centred(node, node.input(1), w_zero_point, per_channel);
      product = build_.fresh(y + "/product");
      ::onnx::NodeProto& conv = build_.emit("Conv", {x_centred, w_centred}, {product});
      *conv.mutable_attribute() = node.attribute();
      ++stats_.integer_products;
    }
    computed_in_float(y, product, ::onnx::TensorProto::INT32);
  }

  // A float result: the product times a_scale * b_scale, plus the bias.
  void scaled(const ::onnx::NodeProto& node, const std::string& product, const std::string& a_scale,
              const std::string& b_scale, const std::string& bias) {
    const std::string& y = node.output(0);
    const std::string scale = build_.step("Mul", {a_scale, b_scale}, y + "/scale");
    if (bias.empty()) {
      build_.emit("Mul", {product, scale}, {y});
      return;
    }
    build_.emit("Add", {build_.step("Mul", {product, scale}, y + "/unbiased"), bias}, {y});
  }

  // com.microsoft MatMulIntegerToFloat(A, B, a_scale, b_scale, a_zp, b_zp, bias).
  void matmul_integer_to_float(const ::onnx::NodeProto& node) {
    if (node.input_size() < 4) {
      refuse(node, fmt::format("{} inputs; it takes 4 to 7", node.input_size()));
    }
    const std::string product =
        centred_matmul(node, node.input(0), node.input(1), optional_input(node, 4),
                       optional_input(node, 5), node.output(0));
    scaled(node, product, node.input(2), node.input(3), optional_input(node, 6));
  }

  // com.microsoft DynamicQuantizeMatMul(A, B, b_scale, b_zp, bias): A
  // quantized as DynamicQuantizeLinear does, then MatMulIntegerToFloat.
  void dynamic_quantize_matmul(const ::onnx::NodeProto& node) {
    if (node.input_size() < 3) {
      refuse(node, fmt::format("{} inputs; it takes 3 to 5", node.input_size()));
    }
    const std::string& y = node.output(0);
    ::onnx::NodeProto quantize;
    quantize.set_op_type("DynamicQuantizeLinear");
    quantize.add_input(node.input(0));
    for (const char* part : {"/a_quantized", "/a_scale", "/a_zero_point"}) {
      quantize.add_output(build_.fresh(y + part));
    }
    quantize_dynamically(quantize);
    const std::string product = centred_matmul(node, quantize.output(0), node.input(1),
                                               quantize.output(2), optional_input(node, 3), y);
    scaled(node, product, quantize.output(1), node.input(2), optional_input(node, 4));
  }

  ::onnx::GraphProto& graph_;
  ProtoBuilder build_;
  std::map<std::string, std::vector<const ::onnx::NodeProto*>> readers_;
  std::set<std::string> read_elsewhere_;  // graph outputs, subgraph reads
  std::set<std::string> in_float_form_;   // the integer values this pass makes in float form
  std::map<std::string, const ::onnx::TensorProto*> initializers_;  // the model's
  std::map<std::string, Quantized> quantized_;                      // by y
  std::map<std::string, std::string> centred_forms_;                // y -> y - its own zero point
  std::map<std::string, std::string> float_forms_;  // integer value -> its float form
  std::map<std::string, std::size_t> ranks_;        // of values made here
  DynamicQuantizationStats stats_;
};

}  // namespace

DynamicQuantizationStats rewrite_dynamic_quantization(::onnx::ModelProto& model) {
  if (std::ranges::none_of(model.graph().node(), is_dynamic)) {
    return {};
  }
  check_before_rewrite(model);
  return DynamicQuantizationRewriter(model).run();
}

}  // namespace npu::onnx_runtime
