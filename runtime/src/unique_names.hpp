// Tensor and node names a graph rewrite has seen, so the names it makes up
// for new tensors and nodes never collide with the model's own.
#pragma once

#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include <map>
#include <set>
#include <string>

namespace npu::onnx_runtime {

class UniqueNames {
 public:
  UniqueNames() = default;

  // The names of `graph`'s initializers, inputs and node outputs.
  explicit UniqueNames(const ::onnx::GraphProto& graph) { insert_graph(graph); }

  void insert_graph(const ::onnx::GraphProto& graph) {
    for (const auto& initializer : graph.initializer()) {
      names_.insert(initializer.name());
    }
    for (const auto& input : graph.input()) {
      names_.insert(input.name());
    }
    for (const auto& node : graph.node()) {
      names_.insert(node.output().begin(), node.output().end());
    }
  }

  void insert(const std::string& name) { names_.insert(name); }
  bool contains(const std::string& name) const { return names_.contains(name); }

  template <typename Iterator>
  void insert(Iterator first, Iterator last) {
    names_.insert(first, last);
  }

  // `base`, or `base_N` with the smallest N not tried for `base` yet and
  // not taken; taken from now on. The N tried are remembered: a pass asking
  // for the same base many times (a loop unrolled) stays linear.
  std::string fresh(const std::string& base) {
    std::string name = base;
    for (int& n = next_[base]; names_.contains(name);) {
      name = fmt::format("{}_{}", base, ++n);
    }
    names_.insert(name);
    return name;
  }

 private:
  std::set<std::string> names_;
  std::map<std::string, int> next_;  // per base, the last N tried
};

}  // namespace npu::onnx_runtime
