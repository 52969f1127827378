#include "scatter_lowering.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "lowerer.hpp"

namespace npu::onnx_runtime {
namespace {

// A scatter with its indices resolved: the data as rows of `row_elems`
// elements, and for each update row (in order) the data row it lands on.
struct ScatterPlan {
  std::int64_t data_rows = 0, row_elems = 0;
  std::vector<std::int64_t> targets;
};

// More rounds than this (an index repeated more often, under a reduction)
// would be that many instructions again; refused.
constexpr std::size_t kMaxScatterRounds = 64;

// `reduction`'s ELTWISE and the value that leaves a row as it is.
std::pair<EltwiseOp, float> reduction_op(const std::string& reduction) {
  static const std::map<std::string, std::pair<EltwiseOp, float>, std::less<>> kOps{
      {"add", {EltwiseOp::add, 0.0F}},
      {"mul", {EltwiseOp::mul, 1.0F}},
      {"max", {EltwiseOp::max, -std::numeric_limits<float>::infinity()}},
      {"min", {EltwiseOp::min, std::numeric_limits<float>::infinity()}}};
  const auto it = kOps.find(reduction);
  if (it == kOps.end()) {
    throw Unsupported(fmt::format("reduction {}", reduction));
  }
  return it->second;
}

// reduction none: output row r is the last update landing on r, or data
// row r: one GATHER from [data; updates].
void scatter_replacing(Lowerer& l, const Node& n, const ScatterPlan& p) {
  const auto updates = static_cast<std::int64_t>(p.targets.size());
  std::vector<std::int64_t> rows(static_cast<std::size_t>(p.data_rows));
  for (std::int64_t r = 0; r < p.data_rows; ++r) {
    rows[static_cast<std::size_t>(r)] = r;
  }
  for (std::int64_t u = 0; u < updates; ++u) {
    rows[static_cast<std::size_t>(p.targets[static_cast<std::size_t>(u)])] = p.data_rows + u;
  }
  const std::string both = side_by_side(l, n.label(), l.ref(input(n, 0)), p.data_rows,
                                        l.ref(input(n, 2)), updates, p.row_elems);
  gather_rows(l, n.label(), both, n.outputs.at(0), p.row_elems, std::move(rows));
}

// A reduction: round k gathers, for every data row, its k-th update (or a
// row of the reduction's identity) and combines it with the rows so far
// by one ELTWISE; as many rounds as an index repeats at most.
void scatter_reducing(Lowerer& l, const Node& n, const ScatterPlan& p,
                      const std::string& reduction) {
  const auto [op, identity] = reduction_op(reduction);
  const auto updates = static_cast<std::int64_t>(p.targets.size());
  std::vector<std::vector<std::int64_t>> arrivals(static_cast<std::size_t>(p.data_rows));
  for (std::int64_t u = 0; u < updates; ++u) {
    arrivals[static_cast<std::size_t>(p.targets[static_cast<std::size_t>(u)])].push_back(u);
  }
  std::size_t rounds = 0;
  for (const auto& a : arrivals) {
    rounds = std::max(rounds, a.size());
  }
  if (rounds > kMaxScatterRounds) {
    throw Unsupported(fmt::format("an index repeated {} times (at most {} under a reduction)",
                                  rounds, kMaxScatterRounds));
  }
  check_gathered_rows(p.data_rows, static_cast<std::int64_t>(rounds));
  const std::string both = side_by_side(l, n.label(), l.ref(input(n, 2)), updates,
                                        l.ref(l.filled(p.row_elems, identity)), 1, p.row_elems);
  const std::int64_t count = p.data_rows * p.row_elems;
  std::string so_far = input(n, 0);
  for (std::size_t k = 0; k < rounds; ++k) {
    std::vector<std::int64_t> rows;
    for (const auto& a : arrivals) {
      rows.push_back(k < a.size() ? a[k] : updates);
    }
    const std::string gathered = l.scratch_shaped({p.data_rows, p.row_elems});
    gather_rows(l, n.label(), both, gathered, p.row_elems, std::move(rows));
    const std::string combined = k + 1 == rounds ? n.outputs.at(0) : l.scratch(count);
    l.eltwise(n.label(), op, l.ref(so_far), l.ref(gathered), l.ref(combined), count, count);
    so_far = combined;
  }
}

void scatter(Lowerer& l, const Node& n, const ScatterPlan& p) {
  check_gathered_rows(p.data_rows, 1);  // before any table of them is built
  const std::string reduction = n.get_string("reduction", "none");
  if (reduction == "none") {
    scatter_replacing(l, n, p);
  } else {
    scatter_reducing(l, n, p, reduction);
  }
}

// An index tuple's element checked against `dim` and made non-negative.
std::int64_t checked_index(std::int64_t index, std::int64_t dim) {
  index += index < 0 ? dim : 0;
  if (index < 0 || index >= dim) {
    throw Unsupported(fmt::format("index {} out of range for {}", index, dim));
  }
  return index;
}

// Unsupported unless the updates (input 2) have the shape the indices
// ask for.
void check_updates(Lowerer& l, const Node& n, const Shape& wanted) {
  const Shape& given = l.shape(input(n, 2));
  if (given != wanted) {
    throw Unsupported(fmt::format("updates of shape {} where the indices ask for {}",
                                  to_string(given), to_string(wanted)));
  }
}

// Unsupported unless `n` replaces (reduction none): the rounds of a
// reduction depend on how often an index repeats, known only at run time.
void check_replacing(const Node& n) {
  const std::string reduction = n.get_string("reduction", "none");
  if (reduction != "none") {
    throw Unsupported(fmt::format(
        "reduction {} at positions known only at run time (only replacing scatters)", reduction));
  }
}

}  // namespace

// ScatterND: indices [..., k] of tuples, each replacing (or reducing into)
// the slice data[i1, ..., ik, ...]; the slices are the rows. Tuples known
// only at run time (a KV cache written at a cache position) replace only.
void lower_scatter_nd(Lowerer& l, const Node& n) {
  const Shape& sx = l.shape(input(n, 0));
  const Shape& si = l.shape(input(n, 1));
  if (si.empty() || si.back() < 1 || static_cast<std::size_t>(si.back()) > sx.size()) {
    throw Unsupported(
        fmt::format("index tuples of shape {} for data of rank {}", to_string(si), sx.size()));
  }
  const auto k = static_cast<std::size_t>(si.back());
  ScatterPlan p{
      .data_rows = product(sx, 0, k), .row_elems = product(sx, k, sx.size()), .targets = {}};
  if (p.data_rows < 1 || p.row_elems < 1 || element_count(si) < 1) {
    throw Unsupported("an empty tensor, which the device does not compute");
  }
  Shape updates(si.begin(), si.end() - 1);
  updates.insert(updates.end(), sx.begin() + static_cast<std::ptrdiff_t>(k), sx.end());
  check_updates(l, n, updates);
  const std::int64_t tuples = element_count(si) / static_cast<std::int64_t>(k);
  check_gathered_rows(tuples, 1);
  if (!l.graph().is_constant(input(n, 1))) {
    check_replacing(n);
    scatter_by_runtime_targets(l, n, runtime_tuple_rows(l, n, 0, k), tuples, p.data_rows,
                               p.row_elems);
    return;
  }
  const std::vector<std::int64_t> indices = constant_ints(l, n, 1);
  for (std::size_t t = 0; t + k <= indices.size(); t += k) {
    std::int64_t row = 0;
    for (std::size_t j = 0; j < k; ++j) {
      row = row * sx[j] + checked_index(indices[t + j], sx[j]);
    }
    p.targets.push_back(row);
  }
  scatter(l, n, p);
}

// ScatterElements (and opset 9's Scatter): updates[p] lands on data at p
// with its `axis` coordinate replaced by indices[p]; one-element rows.
// Indices known only at run time replace only.
void lower_scatter_elements(Lowerer& l, const Node& n) {
  const Shape& sx = l.shape(input(n, 0));
  const Shape& si = l.shape(input(n, 1));
  const std::size_t a = elements_axis(n, sx, si);
  ScatterPlan p{.data_rows = element_count(sx), .row_elems = 1, .targets = {}};
  if (p.data_rows < 1 || element_count(si) < 1) {
    throw Unsupported("an empty tensor, which the device does not compute");
  }
  check_updates(l, n, si);
  check_gathered_rows(element_count(si), 1);
  if (!l.graph().is_constant(input(n, 1))) {
    check_replacing(n);
    scatter_by_runtime_targets(l, n, runtime_element_rows(l, n, a), element_count(si), p.data_rows,
                               1);
    return;
  }
  const std::vector<std::int64_t> indices = constant_indices(l, n, sx[a]);
  const std::vector<std::int64_t> strides = strides_of(sx);
  for (std::size_t i = 0; i < indices.size(); ++i) {
    auto rest = static_cast<std::int64_t>(i);
    std::int64_t target = 0;
    for (std::size_t d = si.size(); d-- > 0;) {
      const std::int64_t coordinate = rest % si[d];
      rest /= si[d];
      if (d != a && coordinate >= sx[d]) {
        throw Unsupported(fmt::format("indices of shape {} beyond data of shape {}", to_string(si),
                                      to_string(sx)));
      }
      target += (d == a ? indices[i] : coordinate) * strides[d];
    }
    p.targets.push_back(target);
  }
  scatter(l, n, p);
}

}  // namespace npu::onnx_runtime
