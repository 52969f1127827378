#include "subgraph_splicing.hpp"

#include <utility>

namespace npu::onnx_runtime {

namespace {

std::string renamed(const Renames& renames, const std::string& name) {
  const auto it = renames.find(name);
  return it == renames.end() ? name : it->second;
}

// The inputs of `graph`'s nodes, and of the graphs nested in them, that
// name a value of the spliced graph, by its new name.
void rename_reads(::onnx::GraphProto& graph, const Renames& renames) {
  for (auto& node : *graph.mutable_node()) {
    for (std::string& input : *node.mutable_input()) {
      input = renamed(renames, input);
    }
    for (auto& attribute : *node.mutable_attribute()) {
      if (attribute.has_g()) {
        rename_reads(*attribute.mutable_g(), renames);
      }
      for (auto& nested : *attribute.mutable_graphs()) {
        rename_reads(nested, renames);
      }
    }
  }
}

}  // namespace

void insert_names(UniqueNames& names, const ::onnx::GraphProto& graph) {
  names.insert_graph(graph);
  for (const auto& node : graph.node()) {
    for (const auto& attribute : node.attribute()) {
      if (attribute.has_g()) {
        insert_names(names, attribute.g());
      }
      for (const auto& nested : attribute.graphs()) {
        insert_names(names, nested);
      }
    }
  }
}

std::vector<std::string> splice_subgraph(::onnx::GraphProto& graph, ::onnx::GraphProto body,
                                         const Renames& bindings, UniqueNames& names,
                                         Nodes& nodes) {
  Renames renames = bindings;
  for (const auto& initializer : body.initializer()) {
    renames[initializer.name()] = names.fresh(initializer.name());
  }
  for (const auto& body_node : body.node()) {
    for (const std::string& output : body_node.output()) {
      if (!output.empty()) {
        renames[output] = names.fresh(output);
      }
    }
  }
  for (auto& initializer : *body.mutable_initializer()) {
    initializer.set_name(renamed(renames, initializer.name()));
    *graph.add_initializer() = std::move(initializer);
  }
  rename_reads(body, renames);
  for (auto& body_node : *body.mutable_node()) {
    for (std::string& output : *body_node.mutable_output()) {
      output = renamed(renames, output);
    }
    *nodes.Add() = std::move(body_node);
  }
  std::vector<std::string> outputs;
  for (const auto& output : body.output()) {
    outputs.push_back(renamed(renames, output.name()));
  }
  return outputs;
}

}  // namespace npu::onnx_runtime
