#include "determinant_rewrite.hpp"

#include <algorithm>
#include <numeric>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "node_replacement.hpp"

namespace npu::onnx_runtime {
namespace {

// Each permutation's factor positions (row i, column p(i), in a flattened
// matrix) and its sign.
struct Permutations {
  std::vector<std::int64_t> positions;  // n! x n
  std::vector<float> signs;             // n!
};

Permutations permutations_of(std::int64_t n) {
  Permutations all;
  std::vector<std::int64_t> p(static_cast<std::size_t>(n));
  std::iota(p.begin(), p.end(), 0);
  do {
    std::int64_t inversions = 0;
    for (std::size_t i = 0; i < p.size(); ++i) {
      all.positions.push_back(static_cast<std::int64_t>(i) * n + p[i]);
      for (std::size_t j = i + 1; j < p.size(); ++j) {
        inversions += p[i] > p[j] ? 1 : 0;
      }
    }
    all.signs.push_back(inversions % 2 == 0 ? 1.0F : -1.0F);
  } while (std::ranges::next_permutation(p).found);
  return all;
}

std::optional<std::vector<Node>> rewritten_det(Graph& graph, const Node& det) {
  const Shape* known = graph.known_shape(det.inputs.at(0));
  if (known == nullptr) {
    return std::nullopt;
  }
  const Shape shape = *known;
  const std::size_t rank = shape.size();
  if (rank < 2 || shape[rank - 1] != shape[rank - 2] || shape[rank - 1] > kMaxDetOrder ||
      shape[rank - 1] < 1) {
    return std::nullopt;
  }
  const std::int64_t n = shape[rank - 1];
  const Shape batch(shape.begin(), shape.end() - 2);
  const std::int64_t matrices = element_count(batch);
  Permutations terms = permutations_of(n);
  const auto count = static_cast<std::int64_t>(terms.signs.size());
  NodeReplacement r(graph, det);
  const std::string flat = r.reshaped(det.inputs[0], {matrices, n * n});
  const std::string positions =
      r.constant("factors", Constant::of_ints({count, n}, std::move(terms.positions)));
  Node& gather = r.add("Gather", {flat, positions}, {matrices, count, n});
  gather.attributes["axis"] = std::int64_t{1};
  Node& product = r.add("ReduceProd", {gather.outputs[0]}, {matrices, count});
  product.attributes["axes"] = std::vector<std::int64_t>{2};
  product.attributes["keepdims"] = std::int64_t{0};
  const std::string signs = r.constant("signs", Constant::of_floats({count, 1}, terms.signs));
  const std::string sum = r.add("MatMul", {product.outputs[0], signs}, {matrices, 1}).outputs[0];
  return r.finish(r.reshaped(sum, batch));
}

}  // namespace

std::size_t rewrite_determinants(Graph& graph) {
  return replace_nodes(graph, "Det", rewritten_det);
}

}  // namespace npu::onnx_runtime
