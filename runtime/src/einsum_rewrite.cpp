#include "einsum_rewrite.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "einsum_equation.hpp"
#include "node_replacement.hpp"

namespace npu::onnx_runtime {
namespace {

bool contains(const std::string& labels, char c) {
  return labels.find(c) != std::string::npos;
}

// A value being rewritten: its name and one label per axis.
struct Term {
  std::string value;
  std::string labels;
};

// The nodes replacing one Einsum, over its operands' labelled axes.
class Rewrite {
 public:
  Rewrite(Graph& graph, const Node& einsum) : nodes_(graph, einsum) {}

  std::size_t size(const Term& t, char label) const {
    return static_cast<std::size_t>(nodes_.graph().shape(t.value).at(t.labels.find(label)));
  }

  // `t` with its axes in the order of `order` (a permutation of its labels).
  Term transposed(const Term& t, const std::string& order) {
    std::vector<std::int64_t> perm;
    for (const char c : order) {
      perm.push_back(static_cast<std::int64_t>(t.labels.find(c)));
    }
    return {nodes_.transposed(t.value, perm), order};
  }

  // `t` summed over every axis whose label `keep` lacks (moved last first).
  Term summed_to(const Term& t, const std::string& keep) {
    std::string kept, dropped;
    for (const char c : t.labels) {
      (contains(keep, c) ? kept : dropped) += c;
    }
    if (dropped.empty()) {
      return t;
    }
    const Term moved = transposed(t, kept + dropped);
    const Shape& in = nodes_.graph().shape(moved.value);
    std::vector<std::int64_t> axes;
    for (std::size_t a = kept.size(); a < in.size(); ++a) {
      axes.push_back(static_cast<std::int64_t>(a));
    }
    Node& node =
        nodes_.add("ReduceSum", {moved.value},
                   Shape(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(kept.size())));
    node.attributes["axes"] = std::move(axes);
    node.attributes["keepdims"] = std::int64_t{0};
    return {node.outputs[0], kept};
  }

  std::string reshaped(const std::string& value, const Shape& shape) {
    return nodes_.reshaped(value, shape);
  }

  std::string matmul(const std::string& a, const std::string& b, const Shape& shape) {
    return nodes_.add("MatMul", {a, b}, shape).outputs[0];
  }

  std::vector<Node> finish(const std::string& result) { return nodes_.finish(result); }

 private:
  NodeReplacement nodes_;
};

std::vector<Node> one_operand(Rewrite& r, const Term& x, const std::string& output) {
  const Term summed = r.summed_to(x, output);
  return r.finish(r.transposed(summed, output).value);
}

// Whether every index both operands have agrees in size, but for a batch
// index's 1 (broadcast).
bool sizes_agree(const Rewrite& r, const Term& a, const Term& b, const std::string& output) {
  return std::ranges::all_of(a.labels, [&](char c) {
    if (!contains(b.labels, c)) {
      return true;
    }
    const std::size_t sa = r.size(a, c), sb = r.size(b, c);
    return sa == sb || (contains(output, c) && (sa == 1 || sb == 1));
  });
}

// A·B as one MatMul over [batch..., rows, contracted] × [batch...,
// contracted, columns], after each operand is summed over the indices
// only it has and the output lacks.
std::vector<Node> two_operands(Rewrite& r, Term a, Term b, const std::string& output) {
  std::string a_keep, b_keep, batch, rows, columns, contracted;
  for (const char c : a.labels) {
    if (contains(b.labels, c) || contains(output, c)) {
      a_keep += c;
    }
    if (contains(b.labels, c) && !contains(output, c)) {
      contracted += c;
    }
  }
  for (const char c : b.labels) {
    if (contains(a.labels, c) || contains(output, c)) {
      b_keep += c;
    }
  }
  for (const char c : output) {
    const bool in_a = contains(a.labels, c), in_b = contains(b.labels, c);
    (in_a && in_b ? batch : in_a ? rows : columns) += c;
  }
  a = r.summed_to(a, a_keep);
  b = r.summed_to(b, b_keep);
  const auto product_of = [&](const Term& t, const std::string& labels) {
    std::int64_t p = 1;
    for (const char c : labels) {
      p *= static_cast<std::int64_t>(r.size(t, c));
    }
    return p;
  };
  const std::int64_t m = product_of(a, rows), k = product_of(a, contracted);
  const std::int64_t n = product_of(b, columns);
  Shape a_shape, b_shape, product, out_shape;
  for (const char c : batch) {
    const auto sa = static_cast<std::int64_t>(r.size(a, c));
    const auto sb = static_cast<std::int64_t>(r.size(b, c));
    a_shape.push_back(sa);
    b_shape.push_back(sb);
    product.push_back(std::max(sa, sb));
  }
  out_shape = product;
  for (const char c : rows) {
    out_shape.push_back(static_cast<std::int64_t>(r.size(a, c)));
  }
  for (const char c : columns) {
    out_shape.push_back(static_cast<std::int64_t>(r.size(b, c)));
  }
  a_shape.insert(a_shape.end(), {m, k});
  b_shape.insert(b_shape.end(), {k, n});
  product.insert(product.end(), {m, n});
  const Term at = r.transposed(a, batch + rows + contracted);
  const Term bt = r.transposed(b, batch + contracted + columns);
  const std::string p =
      r.matmul(r.reshaped(at.value, a_shape), r.reshaped(bt.value, b_shape), product);
  const Term result{r.reshaped(p, out_shape), batch + rows + columns};
  return r.finish(r.transposed(result, output).value);
}

std::optional<std::vector<Node>> rewritten(Graph& graph, const Node& einsum) {
  if (einsum.inputs.empty() || einsum.inputs.size() > 2 || einsum.outputs.empty()) {
    return std::nullopt;
  }
  std::vector<std::size_t> ranks;
  for (const std::string& operand : einsum.inputs) {
    const auto it = graph.values.find(operand);
    if (it == graph.values.end() || !it->second.shape) {
      return std::nullopt;
    }
    ranks.push_back(it->second.shape->size());
  }
  const auto out = graph.values.find(einsum.outputs[0]);
  if (out == graph.values.end() || !out->second.shape) {
    return std::nullopt;
  }
  const std::optional<EinsumEquation> e = parse_einsum(einsum.get_string("equation", ""), ranks);
  if (!e || std::ranges::any_of(e->operands, has_repeated_label)) {
    return std::nullopt;  // a diagonal: refused by the lowering
  }
  Rewrite r(graph, einsum);
  const Term a{einsum.inputs[0], e->operands[0]};
  if (einsum.inputs.size() == 1) {
    return one_operand(r, a, e->output);
  }
  const Term b{einsum.inputs[1], e->operands[1]};
  if (!sizes_agree(r, a, b, e->output)) {
    return std::nullopt;
  }
  return two_operands(r, a, b, e->output);
}

}  // namespace

std::size_t rewrite_einsum(Graph& graph) {
  return replace_nodes(graph, "Einsum", rewritten);
}

}  // namespace npu::onnx_runtime
