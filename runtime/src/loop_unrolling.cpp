#include "loop_unrolling.hpp"

#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "graph.hpp"
#include "npu/onnx/model.hpp"
#include "onnx_import.hpp"
#include "proto_builder.hpp"
#include "subgraph_splicing.hpp"
#include "unique_names.hpp"

namespace npu::onnx_runtime {

using npu::onnx::ModelError;

namespace {

// A graph that unrolling would grow past this many nodes is refused rather
// than compiled: the bound holds for loops nested in bodies too, whose
// unrolling multiplies.
constexpr std::int64_t kMaxGraphNodes = std::int64_t{1} << 16;

std::string label(const ::onnx::NodeProto& node) {
  return fmt::format("{} '{}'", node.op_type(),
                     node.name().empty() && node.output_size() > 0 ? node.output(0) : node.name());
}

[[noreturn]] void refuse(const ::onnx::NodeProto& node, const std::string& why) {
  throw ModelError(fmt::format("{}: {}", label(node), why));
}

const ::onnx::AttributeProto* attribute(const ::onnx::NodeProto& node, const char* name) {
  for (const auto& a : node.attribute()) {
    if (a.name() == name) {
      return &a;
    }
  }
  return nullptr;
}

// Attribute `name`'s integers, or `count` zeros without it.
std::vector<std::int64_t> ints_or_zeros(const ::onnx::NodeProto& node, const char* name,
                                        std::size_t count) {
  const ::onnx::AttributeProto* a = attribute(node, name);
  std::vector<std::int64_t> values =
      a != nullptr ? std::vector<std::int64_t>(a->ints().begin(), a->ints().end())
                   : std::vector<std::int64_t>(count, 0);
  if (values.size() != count) {
    refuse(node, fmt::format("{} holds {} values for {}", name, values.size(), count));
  }
  return values;
}

std::optional<Constant> constant_of(const ::onnx::GraphProto& graph, const std::string& name) {
  for (const auto& initializer : graph.initializer()) {
    if (initializer.name() == name) {
      return from_tensor_proto(initializer);
    }
  }
  return std::nullopt;
}

std::optional<Shape> static_shape(const ::onnx::GraphProto& graph, const std::string& name) {
  for (const auto* infos : {&graph.input(), &graph.value_info(), &graph.output()}) {
    for (const auto& info : *infos) {
      if (info.name() != name || !info.type().tensor_type().has_shape()) {
        continue;
      }
      Shape shape;
      for (const auto& dim : info.type().tensor_type().shape().dim()) {
        if (!dim.has_dim_value()) {
          return std::nullopt;
        }
        shape.push_back(dim.dim_value());
      }
      return shape;
    }
  }
  for (const auto& initializer : graph.initializer()) {
    if (initializer.name() == name) {
      return Shape(initializer.dims().begin(), initializer.dims().end());
    }
  }
  return std::nullopt;
}

// `axis` of a rank-`rank` tensor, negative counted from the back.
std::int64_t normalized(const ::onnx::NodeProto& node, std::int64_t axis, std::int64_t rank) {
  const std::int64_t a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) {
    refuse(node, fmt::format("axis {} of a rank-{} tensor", axis, rank));
  }
  return a;
}

// The body with its Constant nodes as initializers, checked as the main
// graph's are.
::onnx::GraphProto body_of(const ::onnx::NodeProto& node, std::size_t inputs, std::size_t outputs) {
  const ::onnx::AttributeProto* a = attribute(node, "body");
  if (a == nullptr || !a->has_g()) {
    refuse(node, "no body");
  }
  ::onnx::GraphProto body = a->g();
  if (static_cast<std::size_t>(body.input_size()) != inputs ||
      static_cast<std::size_t>(body.output_size()) != outputs) {
    refuse(node, fmt::format("its body has {} inputs and {} outputs, not {} and {}",
                             body.input_size(), body.output_size(), inputs, outputs));
  }
  inline_constant_nodes(body);
  (void)check_initializers(body);
  return body;
}

// The iterations' values of each state and scan output.
struct Steps {
  std::vector<std::string> states;
  std::vector<std::vector<std::string>> outputs;  // per scan output, per step
};

// Writes the nodes of one Loop's or Scan's unrolling in place of it.
class Unroller {
 public:
  // `nodes` receives the unrolling; `done` holds the graph's new nodes so far.
  Unroller(::onnx::GraphProto& graph, UniqueNames& names, Nodes& nodes, const Nodes& done,
           std::int64_t opset, const ::onnx::NodeProto& node)
      : graph_(graph), names_(names), nodes_(nodes), done_(done), opset_(opset), node_(node) {}

  void check_size(std::int64_t iterations, const ::onnx::GraphProto& body) const {
    const std::int64_t room = kMaxGraphNodes - graph_.node_size() - done_.size() - nodes_.size();
    if (body.node_size() > 0 && iterations > room / body.node_size()) {
      refuse(node_, fmt::format("{} iterations of {} nodes: the graph would hold more than {} "
                                "nodes",
                                iterations, body.node_size(), kMaxGraphNodes));
    }
  }

  std::string initializer(const std::string& base, const Constant& value) {
    const std::string name = names_.fresh(base);
    *graph_.add_initializer() = to_tensor_proto(name, value);
    return name;
  }

  std::string int64_scalar(std::int64_t value) {
    return initializer(fmt::format("{}/i{}", base(), value), Constant::of_ints({}, {value}));
  }

  // Element `index` of `value` along `axis` (the axis dropped).
  std::string gathered(const std::string& value, std::int64_t index, std::int64_t axis) {
    ::onnx::NodeProto& gather = emit("Gather", {value, int64_scalar(index)}, "step");
    ProtoBuilder::set_int(gather, "axis", axis);
    return gather.output(0);
  }

  // `values` stacked along a new axis `axis`, last first if `reverse`,
  // into `out` (a new value if empty).
  std::string stack(std::vector<std::string> values, std::int64_t axis, bool reverse,
                    const std::string& out = "") {
    if (reverse) {
      std::ranges::reverse(values);
    }
    std::vector<std::string> parts;
    for (const std::string& value : values) {
      parts.push_back(unsqueezed(value, axis));
    }
    ::onnx::NodeProto& node = emit("Concat", parts, "stacked", out);
    ProtoBuilder::set_int(node, "axis", axis);
    return node.output(0);
  }

  void identity(const std::string& from, const std::string& to) {
    emit("Identity", {from}, "", to);
  }

  // `body` spliced once, its inputs bound to `bindings`: its outputs.
  std::vector<std::string> once(const ::onnx::GraphProto& body, const Renames& bindings) {
    return splice_subgraph(graph_, body, bindings, names_, nodes_);
  }

  // Scan steps 0 .. count - 1 over `scans` (each read along its axis, from
  // the back if its direction is 1), the states threaded through.
  Steps scan(const ::onnx::GraphProto& body, std::vector<std::string> states,
             const std::vector<std::string>& scans, const std::vector<std::int64_t>& axes,
             const std::vector<std::int64_t>& directions, std::int64_t count) {
    Steps steps;
    steps.outputs.resize(static_cast<std::size_t>(body.output_size()) - states.size());
    for (std::int64_t t = 0; t < count; ++t) {
      Renames bindings;
      for (std::size_t i = 0; i < states.size(); ++i) {
        bindings[body.input(static_cast<int>(i)).name()] = states[i];
      }
      for (std::size_t j = 0; j < scans.size(); ++j) {
        const std::int64_t index = directions[j] != 0 ? count - 1 - t : t;
        bindings[body.input(static_cast<int>(states.size() + j)).name()] =
            gathered(scans[j], index, axes[j]);
      }
      const std::vector<std::string> outs = once(body, bindings);
      for (std::size_t i = 0; i < states.size(); ++i) {
        states[i] = outs[i];
      }
      for (std::size_t k = 0; k < steps.outputs.size(); ++k) {
        steps.outputs[k].push_back(outs[states.size() + k]);
      }
    }
    steps.states = std::move(states);
    return steps;
  }

 private:
  std::string base() const { return node_.name().empty() ? node_.output(0) : node_.name(); }

  ::onnx::NodeProto& emit(const char* op, const std::vector<std::string>& inputs,
                          const char* suffix, const std::string& out = "") {
    ::onnx::NodeProto& node = *nodes_.Add();
    node.set_op_type(op);
    node.set_name(names_.fresh(fmt::format("{}/{}", base(), op)));
    for (const std::string& input : inputs) {
      node.add_input(input);
    }
    node.add_output(out.empty() ? names_.fresh(fmt::format("{}/{}", base(), suffix)) : out);
    return node;
  }

  // Unsqueeze's axes: an input from opset 13, an attribute before.
  std::string unsqueezed(const std::string& value, std::int64_t axis) {
    if (opset_ >= 13) {
      const std::string axes =
          initializer(fmt::format("{}/axes", base()), Constant::of_ints({1}, {axis}));
      return emit("Unsqueeze", {value, axes}, "stacked").output(0);
    }
    ::onnx::NodeProto& node = emit("Unsqueeze", {value}, "stacked");
    ::onnx::AttributeProto& a = *node.add_attribute();
    a.set_name("axes");
    a.set_type(::onnx::AttributeProto::INTS);
    a.add_ints(axis);
    return node.output(0);
  }

  ::onnx::GraphProto& graph_;
  UniqueNames& names_;
  Nodes& nodes_;
  const Nodes& done_;
  std::int64_t opset_;
  const ::onnx::NodeProto& node_;
};

// The Scan's states and scan outputs, written to its outputs.
void write_outputs(Unroller& u, const ::onnx::NodeProto& node, const Steps& steps,
                   const std::vector<std::int64_t>& axes,
                   const std::vector<std::int64_t>& directions) {
  const std::size_t n = steps.states.size();
  for (std::size_t i = 0; i < n; ++i) {
    if (!node.output(static_cast<int>(i)).empty()) {
      u.identity(steps.states[i], node.output(static_cast<int>(i)));
    }
  }
  for (std::size_t k = 0; k < steps.outputs.size(); ++k) {
    const std::string& out = node.output(static_cast<int>(n + k));
    if (!out.empty()) {
      u.stack(steps.outputs[k], axes[k], directions[k] != 0, out);
    }
  }
}

// Each scan input's length along its axis, which must agree: the step
// count; nullopt while a shape is not static.
std::optional<std::int64_t> scan_length(const ::onnx::GraphProto& graph,
                                        const ::onnx::NodeProto& node,
                                        const std::vector<std::string>& scans,
                                        std::vector<std::int64_t>& axes) {
  std::optional<std::int64_t> length;
  for (std::size_t j = 0; j < scans.size(); ++j) {
    const std::optional<Shape> shape = static_shape(graph, scans[j]);
    if (!shape) {
      return std::nullopt;
    }
    axes[j] = normalized(node, axes[j], static_cast<std::int64_t>(shape->size()));
    const std::int64_t dim = (*shape)[static_cast<std::size_t>(axes[j])];
    if (length && *length != dim) {
      refuse(node, fmt::format("scan inputs of {} and {} steps", *length, dim));
    }
    length = dim;
  }
  if (!length || *length < 1) {
    refuse(node, "no steps to scan");
  }
  return length;
}

// Scan of opsets 9 and later.
bool unroll_scan(Unroller& u, const ::onnx::GraphProto& graph, const ::onnx::NodeProto& node) {
  const ::onnx::AttributeProto* m = attribute(node, "num_scan_inputs");
  if (m == nullptr || m->i() < 1 || m->i() > node.input_size()) {
    refuse(node, "num_scan_inputs must count its scan inputs");
  }
  const auto scans_count = static_cast<std::size_t>(m->i());
  const std::size_t n = static_cast<std::size_t>(node.input_size()) - scans_count;
  if (static_cast<std::size_t>(node.output_size()) < n) {
    refuse(node, fmt::format("{} outputs for {} states", node.output_size(), n));
  }
  const std::size_t k = static_cast<std::size_t>(node.output_size()) - n;
  const ::onnx::GraphProto body = body_of(node, n + scans_count, n + k);
  const std::vector<std::string> states(node.input().begin(),
                                        node.input().begin() + static_cast<int>(n));
  const std::vector<std::string> scans(node.input().begin() + static_cast<int>(n),
                                       node.input().end());
  std::vector<std::int64_t> axes = ints_or_zeros(node, "scan_input_axes", scans_count);
  const std::optional<std::int64_t> length = scan_length(graph, node, scans, axes);
  std::vector<std::int64_t> out_axes = ints_or_zeros(node, "scan_output_axes", k);
  for (std::size_t i = 0; i < k; ++i) {
    if (out_axes[i] < 0) {
      const std::optional<Shape> shape = static_shape(graph, node.output(static_cast<int>(n + i)));
      if (!shape) {
        return false;
      }
      out_axes[i] = normalized(node, out_axes[i], static_cast<std::int64_t>(shape->size()));
    }
  }
  if (!length) {
    return false;
  }
  u.check_size(*length, body);
  const Steps steps = u.scan(body, states, scans, axes,
                             ints_or_zeros(node, "scan_input_directions", scans_count), *length);
  write_outputs(u, node, steps, out_axes, ints_or_zeros(node, "scan_output_directions", k));
  return true;
}

// Scan-8: a batch axis 0 before the scan axis 1 of every input, sequence
// lengths all the full length: one unrolling per batch element, stacked.
bool unroll_scan_8(Unroller& u, const ::onnx::GraphProto& graph, const ::onnx::NodeProto& node) {
  const ::onnx::AttributeProto* m = attribute(node, "num_scan_inputs");
  if (m == nullptr || m->i() < 1 || m->i() >= node.input_size()) {
    refuse(node, "num_scan_inputs must count its scan inputs");
  }
  if (!node.input(0).empty()) {
    return false;  // sequence_lens: refused by name when lowered
  }
  const auto scans_count = static_cast<std::size_t>(m->i());
  const std::size_t n = static_cast<std::size_t>(node.input_size()) - 1 - scans_count;
  if (static_cast<std::size_t>(node.output_size()) < n) {
    refuse(node, fmt::format("{} outputs for {} states", node.output_size(), n));
  }
  const std::size_t k = static_cast<std::size_t>(node.output_size()) - n;
  const ::onnx::GraphProto body = body_of(node, n + scans_count, n + k);
  const std::vector<std::string> scans(node.input().begin() + 1 + static_cast<int>(n),
                                       node.input().end());
  const std::optional<Shape> first = static_shape(graph, scans.at(0));
  if (!first) {
    return false;
  }
  if (first->size() < 2) {
    refuse(node, "scan inputs of [batch, sequence, ...]");
  }
  const std::int64_t batch = (*first)[0];
  std::vector<std::int64_t> axes(scans_count, 1);
  const std::optional<std::int64_t> length = scan_length(graph, node, scans, axes);
  if (!length) {
    return false;
  }
  u.check_size(batch * *length, body);
  const std::vector<std::int64_t> directions = ints_or_zeros(node, "directions", scans_count);
  std::vector<std::vector<std::string>> states_per_batch(n), outputs_per_batch(k);
  for (std::int64_t b = 0; b < batch; ++b) {
    std::vector<std::string> states, batch_scans;
    for (std::size_t i = 0; i < n; ++i) {
      states.push_back(u.gathered(node.input(static_cast<int>(1 + i)), b, 0));
    }
    for (const std::string& scan : scans) {
      batch_scans.push_back(u.gathered(scan, b, 0));
    }
    const Steps steps = u.scan(body, states, batch_scans, std::vector<std::int64_t>(scans_count, 0),
                               directions, *length);
    for (std::size_t i = 0; i < n; ++i) {
      states_per_batch[i].push_back(steps.states[i]);
    }
    for (std::size_t j = 0; j < k; ++j) {
      outputs_per_batch[j].push_back(u.stack(steps.outputs[j], 0, false));
    }
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (!node.output(static_cast<int>(i)).empty()) {
      u.stack(states_per_batch[i], 0, false, node.output(static_cast<int>(i)));
    }
  }
  for (std::size_t j = 0; j < k; ++j) {
    if (!node.output(static_cast<int>(n + j)).empty()) {
      u.stack(outputs_per_batch[j], 0, false, node.output(static_cast<int>(n + j)));
    }
  }
  return true;
}

// Whether the body's cond_out is true whenever its cond_in is: cond_in
// itself, an Identity of it, or a constant true.
bool condition_stays_true(const ::onnx::GraphProto& body) {
  const std::string& in = body.input(1).name();
  const std::string& out = body.output(0).name();
  if (out == in) {
    return true;
  }
  for (const auto& node : body.node()) {
    if (node.output_size() > 0 && node.output(0) == out) {
      return node.op_type() == "Identity" && node.input_size() == 1 && node.input(0) == in;
    }
  }
  const std::optional<Constant> value = constant_of(body, out);
  return value && value->size() == 1 && value->value(0) != 0.0;
}

// Loop (opsets 1 to 21) of a constant trip count whose condition stays true.
bool unroll_loop(Unroller& u, const ::onnx::GraphProto& graph, const ::onnx::NodeProto& node) {
  if (node.input_size() < 2 || node.input(0).empty()) {
    return false;  // no trip count: runs until its condition ends it
  }
  const std::optional<Constant> trips = constant_of(graph, node.input(0));
  std::optional<Constant> condition;
  if (!node.input(1).empty()) {
    condition = constant_of(graph, node.input(1));
    if (!condition) {
      return false;
    }
  }
  if (!trips || trips->size() != 1 || (condition && condition->size() != 1)) {
    return false;
  }
  const std::size_t n = static_cast<std::size_t>(node.input_size()) - 2;
  if (static_cast<std::size_t>(node.output_size()) < n) {
    refuse(node, fmt::format("{} outputs for {} loop-carried values", node.output_size(), n));
  }
  const std::size_t k = static_cast<std::size_t>(node.output_size()) - n;
  const ::onnx::GraphProto body = body_of(node, n + 2, 1 + n + k);
  if (!condition_stays_true(body)) {
    return false;  // it may end early: refused by name when lowered
  }
  const std::int64_t count =
      condition && condition->value(0) == 0.0 ? 0 : std::max<std::int64_t>(trips->integer(0), 0);
  if (count == 0 && k > 0) {
    refuse(node, "zero iterations: its scan outputs would be empty");
  }
  u.check_size(count, body);
  const std::string always = u.initializer(fmt::format("{}/true", node.output(0)),
                                           Constant::of_ints({}, {1}, ElementType::boolean));
  std::vector<std::string> carried(node.input().begin() + 2, node.input().end());
  std::vector<std::vector<std::string>> outputs(k);
  for (std::int64_t t = 0; t < count; ++t) {
    Renames bindings{{body.input(0).name(), u.int64_scalar(t)}, {body.input(1).name(), always}};
    for (std::size_t i = 0; i < n; ++i) {
      bindings[body.input(static_cast<int>(2 + i)).name()] = carried[i];
    }
    const std::vector<std::string> outs = u.once(body, bindings);
    for (std::size_t i = 0; i < n; ++i) {
      carried[i] = outs[1 + i];
    }
    for (std::size_t j = 0; j < k; ++j) {
      outputs[j].push_back(outs[1 + n + j]);
    }
  }
  write_outputs(u, node, Steps{carried, outputs}, std::vector<std::int64_t>(k, 0),
                std::vector<std::int64_t>(k, 0));
  return true;
}

bool unroll(Unroller& u, const ::onnx::GraphProto& graph, const ::onnx::NodeProto& node,
            std::int64_t opset) {
  if (node.op_type() == "Loop") {
    return unroll_loop(u, graph, node);
  }
  return opset >= 9 ? unroll_scan(u, graph, node) : unroll_scan_8(u, graph, node);
}

}  // namespace

std::size_t unroll_static_loops(::onnx::ModelProto& model) {
  ::onnx::GraphProto& graph = *model.mutable_graph();
  const bool any = std::ranges::any_of(graph.node(), [](const ::onnx::NodeProto& node) {
    return (node.domain().empty() || node.domain() == "ai.onnx") &&
           (node.op_type() == "Loop" || node.op_type() == "Scan");
  });
  if (!any) {
    return 0;
  }
  std::int64_t opset = 0;
  for (const auto& set : model.opset_import()) {
    opset = set.domain().empty() || set.domain() == "ai.onnx" ? set.version() : opset;
  }
  UniqueNames names;
  insert_names(names, graph);
  Nodes nodes;
  std::size_t unrolled = 0;
  for (const auto& node : graph.node()) {
    const bool loop = (node.domain().empty() || node.domain() == "ai.onnx") &&
                      (node.op_type() == "Loop" || node.op_type() == "Scan");
    Nodes attempt;
    Unroller u(graph, names, attempt, nodes, opset, node);
    if (loop && unroll(u, graph, node, opset)) {
      nodes.MergeFrom(attempt);
      ++unrolled;
    } else {
      *nodes.Add() = node;
    }
  }
  graph.mutable_node()->Swap(&nodes);
  return unrolled;
}

}  // namespace npu::onnx_runtime
