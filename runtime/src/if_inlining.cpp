#include "if_inlining.hpp"

#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "npu/onnx/model.hpp"
#include "onnx_import.hpp"
#include "subgraph_splicing.hpp"
#include "unique_names.hpp"

namespace npu::onnx_runtime {

using npu::onnx::ModelError;

namespace {

// The If's condition when it is a one-element initializer; std::nullopt
// when it is computed at run time.
std::optional<bool> constant_condition(const ::onnx::GraphProto& graph,
                                       const ::onnx::NodeProto& node) {
  for (const auto& initializer : graph.initializer()) {
    if (initializer.name() != node.input(0)) {
      continue;
    }
    const Constant condition = from_tensor_proto(initializer);
    if (condition.size() != 1) {
      throw ModelError(fmt::format("If '{}': its condition '{}' holds {} elements, not one",
                                   node.name(), node.input(0), condition.size()));
    }
    return condition.value(0) != 0.0;
  }
  return std::nullopt;
}

::onnx::GraphProto taken_branch(const ::onnx::NodeProto& node, bool condition) {
  const char* wanted = condition ? "then_branch" : "else_branch";
  for (const auto& attribute : node.attribute()) {
    if (attribute.name() == wanted && attribute.has_g()) {
      ::onnx::GraphProto branch = attribute.g();
      if (branch.input_size() != 0 || branch.output_size() != node.output_size()) {
        throw ModelError(fmt::format(
            "If '{}': its {} has {} inputs and {} outputs; an If's "
            "branch has none and {}",
            node.name(), wanted, branch.input_size(), branch.output_size(), node.output_size()));
      }
      inline_constant_nodes(branch);
      (void)check_initializers(branch);
      return branch;
    }
  }
  throw ModelError(fmt::format("If '{}' has no {}", node.name(), wanted));
}

// The branch's nodes and initializers under fresh names, appended to
// `nodes` and `graph`, then one Identity per output of `node`.
void splice(::onnx::GraphProto& graph, const ::onnx::NodeProto& node, ::onnx::GraphProto branch,
            UniqueNames& names, Nodes& nodes) {
  const std::vector<std::string> outputs =
      splice_subgraph(graph, std::move(branch), {}, names, nodes);
  for (int i = 0; i < node.output_size(); ++i) {
    if (node.output(i).empty()) {
      continue;
    }
    ::onnx::NodeProto& identity = *nodes.Add();
    identity.set_op_type("Identity");
    identity.set_name(fmt::format("{}/output{}", node.name(), i));
    identity.add_input(outputs.at(static_cast<std::size_t>(i)));
    identity.add_output(node.output(i));
  }
}

}  // namespace

std::size_t inline_constant_ifs(::onnx::GraphProto& graph) {
  UniqueNames names;
  insert_names(names, graph);
  Nodes nodes;
  std::size_t replaced = 0;
  for (auto& node : *graph.mutable_node()) {
    const bool is_if = node.op_type() == "If" &&
                       (node.domain().empty() || node.domain() == "ai.onnx") &&
                       node.input_size() == 1;
    const std::optional<bool> condition = is_if ? constant_condition(graph, node) : std::nullopt;
    if (!condition) {
      *nodes.Add() = std::move(node);
      continue;
    }
    splice(graph, node, taken_branch(node, *condition), names, nodes);
    ++replaced;
  }
  graph.mutable_node()->Swap(&nodes);
  return replaced;
}

}  // namespace npu::onnx_runtime
