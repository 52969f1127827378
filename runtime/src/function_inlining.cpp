#include "function_inlining.hpp"

#include <fmt/format.h>
#include <onnx/defs/function.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <exception>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "npu/onnx/model.hpp"
#include "onnx_import.hpp"
#include "shape_inference_guard.hpp"
#include "unique_names.hpp"

namespace npu::onnx_runtime {

using npu::onnx::ModelError;

namespace {

// Bodies bring in operators of their own (SoftmaxCrossEntropyLoss a
// NegativeLogLikelihoodLoss); none nests deeper than this.
constexpr int kMaxRounds = 4;

using Nodes = ::google::protobuf::RepeatedPtrField<::onnx::NodeProto>;

std::int64_t default_opset(const ::onnx::ModelProto& model) {
  for (const auto& opset : model.opset_import()) {
    if (opset.domain().empty() || opset.domain() == "ai.onnx") {
      return opset.version();
    }
  }
  return 0;
}

bool default_domain(const ::onnx::NodeProto& node) {
  return node.domain().empty() || node.domain() == "ai.onnx";
}

// The schema of `node` at `opset` if it defines the operator as a function.
const ::onnx::OpSchema* function_schema(const ::onnx::NodeProto& node, std::int64_t opset,
                                        const std::set<std::string>& lowerable) {
  if (!default_domain(node) || lowerable.contains(node.op_type())) {
    return nullptr;
  }
  const ::onnx::OpSchema* schema =
      guarded_schemas().GetSchema(node.op_type(), static_cast<int>(opset), "");
  return schema != nullptr && (schema->HasFunction() || schema->HasContextDependentFunction())
             ? schema
             : nullptr;
}

// Every value's type in `model` as ONNX's shape inference finds it.
std::map<std::string, ::onnx::TypeProto> value_types(const ::onnx::ModelProto& model) {
  ::onnx::ModelProto typed = model;
  infer_shapes(typed);
  std::map<std::string, ::onnx::TypeProto> types;
  const ::onnx::GraphProto& g = typed.graph();
  for (const auto* infos : {&g.input(), &g.value_info(), &g.output()}) {
    for (const auto& info : *infos) {
      types[info.name()] = info.type();
    }
  }
  for (const auto& initializer : g.initializer()) {
    ::onnx::TypeProto_Tensor& tensor = *types[initializer.name()].mutable_tensor_type();
    tensor.set_elem_type(initializer.data_type());
    for (const std::int64_t dim : initializer.dims()) {
      tensor.mutable_shape()->add_dim()->set_dim_value(dim);
    }
  }
  return types;
}

// Whether `body` can stand for its node: every operator of it has the
// schema at the model's opset that it has at the function's own (the body
// then means the same in the model), and has a lowering or a function of
// its own (otherwise the node stays, refused under the name the model gave
// it: Bernoulli, not the RandomUniformLike of its body).
bool usable_body(const ::onnx::FunctionProto& body, std::int64_t function_opset,
                 std::int64_t model_opset, const std::set<std::string>& lowerable) {
  for (const auto& node : body.node()) {
    if (!default_domain(node)) {
      return false;
    }
    const auto* at_model =
        guarded_schemas().GetSchema(node.op_type(), static_cast<int>(model_opset), "");
    const auto* at_function =
        guarded_schemas().GetSchema(node.op_type(), static_cast<int>(function_opset), "");
    if (at_model == nullptr || at_model != at_function) {
      return false;
    }
    if (node.op_type() != "Constant" && !lowerable.contains(node.op_type()) &&
        !at_model->HasFunction() && !at_model->HasContextDependentFunction()) {
      return false;
    }
  }
  return true;
}

class FunctionInliner {
 public:
  FunctionInliner(::onnx::ModelProto& model, const std::set<std::string>& lowerable)
      : model_(model), lowerable_(lowerable), opset_(default_opset(model)) {}

  std::size_t run() {
    std::size_t inlined = 0;
    for (int round = 0; round < kMaxRounds; ++round) {
      const std::size_t done = one_round();
      if (done == 0) {
        break;
      }
      inlined += done;
    }
    return inlined;
  }

 private:
  std::size_t one_round() {
    ::onnx::GraphProto& graph = *model_.mutable_graph();
    const bool any = std::ranges::any_of(graph.node(), [&](const ::onnx::NodeProto& node) {
      return function_schema(node, opset_, lowerable_) != nullptr;
    });
    if (!any) {
      return 0;
    }
    check_before_rewrite(model_);  // input counts and initializers trusted from here
    const std::map<std::string, ::onnx::TypeProto> types = value_types(model_);
    names_.insert_graph(graph);
    Nodes rewritten;
    std::size_t inlined = 0;
    for (const ::onnx::NodeProto& written : graph.node()) {
      const ::onnx::OpSchema* schema = function_schema(written, opset_, lowerable_);
      if (schema == nullptr) {
        *rewritten.Add() = written;
        continue;
      }
      const ::onnx::NodeProto node = with_defaults(written, *schema);
      ::onnx::FunctionProto body;
      if (!function_of(node, *schema, types, body)) {
        *rewritten.Add() = written;
        continue;
      }
      ::onnx::GraphProto expanded;
      try {
        ::onnx::FunctionExpandHelper(node, body, expanded, names_.fresh(node.op_type()));
      } catch (const std::exception& e) {
        throw ModelError(fmt::format("{} '{}': ONNX cannot expand its function: {}", node.op_type(),
                                     label(node), e.what()));
      }
      drop_unresolved_attributes(expanded);
      check_inner_names(node, expanded, names_);
      for (auto& made : *expanded.mutable_node()) {
        *rewritten.Add() = std::move(made);
      }
      ++inlined;
    }
    graph.mutable_node()->Swap(&rewritten);
    return inlined;
  }

  // `node` with every attribute it leaves out that has a default: a body
  // refers to attributes by name (SoftmaxCrossEntropyLoss's `reduction`),
  // and FunctionExpandHelper resolves only those the node holds.
  static ::onnx::NodeProto with_defaults(const ::onnx::NodeProto& node,
                                         const ::onnx::OpSchema& schema) {
    ::onnx::NodeProto filled = node;
    for (const auto& [name, attribute] : schema.attributes()) {
      const bool given = std::ranges::any_of(
          node.attribute(), [&](const ::onnx::AttributeProto& a) { return a.name() == name; });
      if (!given && attribute.default_value.has_type()) {
        ::onnx::AttributeProto& added = *filled.add_attribute();
        added = attribute.default_value;
        added.set_name(name);
      }
    }
    return filled;
  }

  // A body's attribute that refers to one the node leaves out (with no
  // default) is absent, as ONNX defines it; FunctionExpandHelper keeps its
  // name without a type or value (SoftmaxCrossEntropyLoss's
  // `ignore_index`).
  static void drop_unresolved_attributes(::onnx::GraphProto& expanded) {
    for (auto& made : *expanded.mutable_node()) {
      auto* attributes = made.mutable_attribute();
      for (int i = attributes->size() - 1; i >= 0; --i) {
        const ::onnx::AttributeProto& a = attributes->Get(i);
        if (!a.ref_attr_name().empty() || a.type() == ::onnx::AttributeProto::UNDEFINED) {
          attributes->DeleteSubrange(i, 1);
        }
      }
    }
  }

  // The body's own values (prefixed by FunctionExpandHelper) must not be
  // names the model already has: a model may use any name.
  static void check_inner_names(const ::onnx::NodeProto& node, const ::onnx::GraphProto& expanded,
                                UniqueNames& names) {
    const std::set<std::string> outputs(node.output().begin(), node.output().end());
    for (const auto& made : expanded.node()) {
      for (const std::string& value : made.output()) {
        if (outputs.contains(value)) {
          continue;
        }
        if (names.contains(value)) {
          throw ModelError(
              fmt::format("{} '{}': its function's value '{}' is a name the model "
                          "already uses",
                          node.op_type(), label(node), value));
        }
        names.insert(value);
      }
    }
  }

  static std::string label(const ::onnx::NodeProto& node) {
    return node.name().empty() && node.output_size() > 0 ? node.output(0) : node.name();
  }

  // `node`'s function body in `body`; false where there is none that means
  // the same at the model's opset.
  bool function_of(const ::onnx::NodeProto& node, const ::onnx::OpSchema& schema,
                   const std::map<std::string, ::onnx::TypeProto>& types,
                   ::onnx::FunctionProto& body) const {
    if (schema.HasContextDependentFunction()) {
      std::vector<::onnx::TypeProto> input_types;
      for (const std::string& input : node.input()) {
        const auto it = types.find(input);
        input_types.push_back(it != types.end() ? it->second : ::onnx::TypeProto{});
      }
      const ::onnx::FunctionBodyBuildContextImpl context(node, input_types);
      try {
        if (!schema.BuildContextDependentFunction(context, body)) {
          return false;
        }
      } catch (const std::exception& e) {
        throw ModelError(fmt::format("{} '{}': ONNX cannot build its function: {}", node.op_type(),
                                     label(node), e.what()));
      }
    } else {
      body = *schema.GetFunction();
    }
    std::int64_t function_opset = schema.since_version();
    for (const auto& opset : body.opset_import()) {
      if (opset.domain().empty() || opset.domain() == "ai.onnx") {
        function_opset = opset.version();
      }
    }
    return usable_body(body, function_opset, opset_, lowerable_);
  }

  ::onnx::ModelProto& model_;
  const std::set<std::string>& lowerable_;
  std::int64_t opset_;
  UniqueNames names_;  // the model's, the prefixes and the bodies' values of every round
};

}  // namespace

std::size_t inline_functions(::onnx::ModelProto& model, const std::set<std::string>& lowerable) {
  return FunctionInliner(model, lowerable).run();
}

}  // namespace npu::onnx_runtime
