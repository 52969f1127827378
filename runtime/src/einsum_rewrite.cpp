#include "einsum_rewrite.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "einsum_equation.hpp"

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

// The nodes replacing one Einsum, each output a new value with its shape.
class Rewrite {
 public:
  Rewrite(Graph& graph, const Node& einsum) : graph_(graph), einsum_(einsum) {}

  std::size_t size(const Term& t, char label) const {
    return static_cast<std::size_t>(graph_.shape(t.value).at(t.labels.find(label)));
  }

  // `t` with its axes in the order of `order` (a permutation of its labels).
  Term transposed(const Term& t, const std::string& order) {
    if (order == t.labels) {
      return t;
    }
    std::vector<std::int64_t> perm;
    Shape shape;
    for (const char c : order) {
      const std::size_t axis = t.labels.find(c);
      perm.push_back(static_cast<std::int64_t>(axis));
      shape.push_back(graph_.shape(t.value).at(axis));
    }
    Node& node = add("Transpose", {t.value}, shape);
    node.attributes["perm"] = std::move(perm);
    return {node.outputs[0], order};
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
    const Shape& in = graph_.shape(moved.value);
    std::vector<std::int64_t> axes;
    for (std::size_t a = kept.size(); a < in.size(); ++a) {
      axes.push_back(static_cast<std::int64_t>(a));
    }
    Node& node = add("ReduceSum", {moved.value},
                     Shape(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(kept.size())));
    node.attributes["axes"] = std::move(axes);
    node.attributes["keepdims"] = std::int64_t{0};
    return {node.outputs[0], kept};
  }

  std::string reshaped(const std::string& value, const Shape& shape) {
    if (graph_.shape(value) == shape) {
      return value;
    }
    const std::string out = fresh(value);
    graph_.values[out] = {type(), shape};
    nodes_.push_back(reshape_node(graph_, value, out, shape, einsum_.name));
    return out;
  }

  std::string matmul(const std::string& a, const std::string& b, const Shape& shape) {
    return add("MatMul", {a, b}, shape).outputs[0];
  }

  // The nodes, the last one writing the Einsum's output (an Identity when
  // the equation moves nothing).
  std::vector<Node> finish(const std::string& result) {
    if (nodes_.empty() || nodes_.back().outputs[0] != result) {
      add("Identity", {result}, graph_.shape(result));
    }
    graph_.values.erase(nodes_.back().outputs[0]);
    nodes_.back().outputs[0] = einsum_.outputs.at(0);
    return std::move(nodes_);
  }

 private:
  ElementType type() const {
    const auto it = graph_.values.find(einsum_.outputs.at(0));
    return it != graph_.values.end() ? it->second.type : ElementType::float32;
  }
  std::string fresh(const std::string& from) {
    return fresh_name(graph_, einsum_.outputs.at(0) + "." + from);
  }
  Node& add(const std::string& op, std::vector<std::string> inputs, const Shape& shape) {
    Node node;
    node.op = op;
    node.name = einsum_.name;
    node.outputs = {fresh(inputs.at(0))};
    node.inputs = std::move(inputs);
    graph_.values[node.outputs[0]] = {type(), shape};
    nodes_.push_back(std::move(node));
    return nodes_.back();
  }

  Graph& graph_;
  const Node& einsum_;
  std::vector<Node> nodes_;
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
  std::size_t rewritten_count = 0;
  for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
    if (graph.nodes[i].op != "Einsum") {
      continue;
    }
    const Node einsum = graph.nodes[i];
    std::optional<std::vector<Node>> nodes = rewritten(graph, einsum);
    if (!nodes) {
      continue;
    }
    const auto at = graph.nodes.erase(graph.nodes.begin() + static_cast<std::ptrdiff_t>(i));
    const std::size_t added = nodes->size();
    graph.nodes.insert(at, std::make_move_iterator(nodes->begin()),
                       std::make_move_iterator(nodes->end()));
    i += added - 1;
    ++rewritten_count;
  }
  return rewritten_count;
}

}  // namespace npu::onnx_runtime
