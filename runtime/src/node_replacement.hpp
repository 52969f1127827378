// The nodes a pass puts in place of one node of the runtime's graph
// (Einsum, DFT, STFT): each writes a new value with its shape, and the last
// one the replaced node's output.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "graph.hpp"

namespace npu::onnx_runtime {

class NodeReplacement {
 public:
  NodeReplacement(Graph& graph, const Node& replaced) : graph_(graph), replaced_(replaced) {}

  [[nodiscard]] const Graph& graph() const { return graph_; }

  // `op` of `inputs` into a new value of `shape`, of `element_type` (undefined:
  // the replaced output's).
  Node& add(const std::string& op, std::vector<std::string> inputs, const Shape& shape,
            ElementType element_type = ElementType::undefined);
  // `value` reshaped to `shape` (itself if it has that shape), of its type.
  std::string reshaped(const std::string& value, const Shape& shape);
  // `value` with its axes permuted by `perm` (itself for the identity), of
  // its type.
  std::string transposed(const std::string& value, const std::vector<std::int64_t>& perm);
  // A new constant of the graph, named after `base`.
  std::string constant(const std::string& base, Constant value);
  // The nodes, the last one writing the replaced node's first output (an
  // Identity of `result` when no node writes it).
  std::vector<Node> finish(const std::string& result);

 private:
  [[nodiscard]] ElementType type() const;
  std::string fresh(const std::string& from) const;

  Graph& graph_;
  const Node& replaced_;
  std::vector<Node> nodes_;
};

// The nodes replacing `node`, or nullopt to leave it (the lowering then
// refuses it by name).
using NodeRewrite = std::function<std::optional<std::vector<Node>>(Graph&, const Node&)>;

// Every node of `op` that `rewrite` takes is replaced by its nodes, in
// place. Returns how many were replaced.
std::size_t replace_nodes(Graph& graph, const std::string& op, const NodeRewrite& rewrite);

}  // namespace npu::onnx_runtime
