// Constant folding: nodes whose inputs are all known on the host (and Shape
// of a value whose shape is static) are evaluated at compile time, so the
// Shape/Gather/Unsqueeze/Concat chains exporters emit to compute reshape
// targets become constants and the device never sees them.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "graph.hpp"

namespace npu::onnx_runtime {

// Evaluates `node` if it can be folded: its outputs' values, else nullopt.
// std::runtime_error if the node is malformed (names the node).
std::optional<std::vector<Constant>> evaluate_on_host(const Node& node, const Graph& graph);

// The ops evaluate_on_host() folds when their inputs are constant (Shape
// and Size when the shape is static): a model using them loads, and any
// left at compile time is refused naming the node.
std::set<std::string> host_evaluated_ops();

// The host work one model may ask of folding, counted as the elements of all
// its folded outputs: each fold is capped, but a hostile file could chain
// many folds of the largest size. A model may fold four times its own
// weights' elements (transposing or casting them), and at least kMinimum.
class FoldBudget {
 public:
  explicit FoldBudget(std::int64_t model_elements)
      : left_(std::max(kMinimum, 4 * model_elements)), total_(left_) {}

  // std::runtime_error naming `node` once the model's folds exceed the budget.
  void spend(const Node& node, std::int64_t elements);

  static constexpr std::int64_t kMinimum = std::int64_t{1} << 24;

 private:
  std::int64_t left_;
  std::int64_t total_;
};

// Folds every foldable node, in order, until none is left; removes them from
// the graph and records their outputs as constants, charging them to
// `budget`. Returns how many nodes were folded.
std::size_t fold_constants(Graph& graph, FoldBudget& budget);

// An ONNX Reshape target resolved against the input shape (0 copies the
// input's dimension unless allowzero, -1 is inferred).
Shape reshape_target(const Node& node, const Shape& input, const std::vector<std::int64_t>& target);

// The elements Trilu keeps of each matrix (the last two axes): column j of
// row i where j - i >= k (upper) or j - i <= k (lower); `k` is its input 1,
// a constant (0 without it), else std::runtime_error saying why.
struct Triangle {
  bool upper = true;
  std::int64_t k = 0;
  [[nodiscard]] bool keeps(std::int64_t row, std::int64_t column) const {
    return upper ? column - row >= k : column - row <= k;
  }
};
Triangle triangle_of(const Node& trilu, const Graph& graph);

// NumPy broadcasting of two shapes; std::runtime_error if incompatible.
Shape broadcast_shapes(const Shape& a, const Shape& b);

}  // namespace npu::onnx_runtime
