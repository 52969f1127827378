#include "constant_folding.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <stdexcept>

namespace npu::onnx_runtime {
namespace {

const Constant& input_constant(const Node& node, const Graph& graph, std::size_t index) {
  if (index >= node.inputs.size() || node.inputs[index].empty()) {
    throw std::runtime_error(fmt::format("{}: input {} is missing", node.label(), index));
  }
  return graph.constants.at(node.inputs[index]);
}

std::vector<std::int64_t> as_ints(const Constant& c) {
  std::vector<std::int64_t> out;
  for (std::int64_t i = 0; i < c.size(); ++i) {
    out.push_back(c.integer(i));
  }
  return out;
}

std::int64_t normalize_axis(std::int64_t axis, std::size_t rank, const Node& node) {
  const auto r = static_cast<std::int64_t>(rank);
  if (axis < -r || axis >= r) {
    throw std::runtime_error(
        fmt::format("{}: axis {} out of range for rank {}", node.label(), axis, rank));
  }
  return axis < 0 ? axis + r : axis;
}

// Row-major strides of a shape, in elements.
std::vector<std::int64_t> strides_of(const Shape& shape) {
  std::vector<std::int64_t> strides(shape.size(), 1);
  for (std::size_t i = shape.size(); i-- > 1;) {
    strides[i - 1] = strides[i] * shape[i];
  }
  return strides;
}

// An output built by picking elements of `input` by flat index.
Constant gather_elements(const Constant& input, Shape shape,
                         const std::vector<std::int64_t>& picks) {
  Constant out;
  out.type = input.type;
  out.shape = std::move(shape);
  for (const std::int64_t i : picks) {
    if (input.is_float()) {
      out.floats.push_back(input.floats.at(static_cast<std::size_t>(i)));
    } else {
      out.ints.push_back(input.ints.at(static_cast<std::size_t>(i)));
    }
  }
  return out;
}

Constant reshaped(Constant c, Shape shape) {
  if (element_count(shape) != c.size()) {
    throw std::runtime_error(
        fmt::format("cannot reshape {} to {}", to_string(c.shape), to_string(shape)));
  }
  c.shape = std::move(shape);
  return c;
}

Constant cast(const Constant& in, ElementType to) {
  Constant out;
  out.type = to;
  out.shape = in.shape;
  const bool to_float = to == ElementType::float32 || to == ElementType::float16 ||
                        to == ElementType::float64 || to == ElementType::bfloat16;
  for (std::int64_t i = 0; i < in.size(); ++i) {
    if (to_float) {
      out.floats.push_back(static_cast<float>(in.value(i)));
    } else if (to == ElementType::boolean) {
      out.ints.push_back(in.value(i) != 0.0 ? 1 : 0);
    } else {
      out.ints.push_back(in.integer(i));
    }
  }
  return out;
}

Constant binary(const Node& node, const Constant& a, const Constant& b) {
  const Shape shape = broadcast_shapes(a.shape, b.shape);
  const auto out_strides = strides_of(shape);
  auto index_in = [&](const Constant& c, std::int64_t flat) {
    // The element of c that broadcasts to output element `flat`.
    const auto strides = strides_of(c.shape);
    const std::size_t offset = shape.size() - c.shape.size();
    std::int64_t index = 0;
    for (std::size_t d = 0; d < shape.size(); ++d) {
      const std::int64_t coordinate = (flat / out_strides[d]) % shape[d];
      if (d >= offset && c.shape[d - offset] != 1) {
        index += coordinate * strides[d - offset];
      }
    }
    return index;
  };
  const bool floating = a.is_float() || b.is_float();
  Constant out;
  out.type = floating ? ElementType::float32 : a.type;
  out.shape = shape;
  const std::string& op = node.op;
  for (std::int64_t i = 0; i < element_count(shape); ++i) {
    const std::int64_t ia = index_in(a, i);
    const std::int64_t ib = index_in(b, i);
    if (floating) {
      const double x = a.value(ia);
      const double y = b.value(ib);
      const double r = op == "Add" ? x + y : op == "Sub" ? x - y : op == "Mul" ? x * y : x / y;
      out.floats.push_back(static_cast<float>(r));
    } else {
      const std::int64_t x = a.integer(ia);
      const std::int64_t y = b.integer(ib);
      if (op == "Div" && y == 0) {
        throw std::runtime_error(fmt::format("{}: integer division by zero", node.label()));
      }
      out.ints.push_back(op == "Add" ? x + y : op == "Sub" ? x - y : op == "Mul" ? x * y : x / y);
    }
  }
  return out;
}

Constant slice(const Node& node, const Graph& graph) {
  const Constant& data = input_constant(node, graph, 0);
  std::vector<std::int64_t> starts, ends, axes, steps;
  if (graph.opset < 10) {
    starts = node.get_ints("starts", {});
    ends = node.get_ints("ends", {});
    axes = node.get_ints("axes", {});
  } else {
    starts = as_ints(input_constant(node, graph, 1));
    ends = as_ints(input_constant(node, graph, 2));
    if (node.inputs.size() > 3 && !node.inputs[3].empty()) {
      axes = as_ints(input_constant(node, graph, 3));
    }
    if (node.inputs.size() > 4 && !node.inputs[4].empty()) {
      steps = as_ints(input_constant(node, graph, 4));
    }
  }
  if (axes.empty()) {
    for (std::size_t i = 0; i < starts.size(); ++i) {
      axes.push_back(static_cast<std::int64_t>(i));
    }
  }
  steps.resize(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size()) {
    throw std::runtime_error(
        fmt::format("{}: starts, ends and axes differ in length", node.label()));
  }
  const std::size_t rank = data.shape.size();
  std::vector<std::int64_t> begin(rank, 0), step(rank, 1), count(data.shape);
  for (std::size_t i = 0; i < starts.size(); ++i) {
    const auto axis = static_cast<std::size_t>(normalize_axis(axes[i], rank, node));
    const std::int64_t dim = data.shape[axis];
    if (steps[i] <= 0) {
      throw std::runtime_error(fmt::format("{}: only positive steps are folded", node.label()));
    }
    auto clampi = [dim](std::int64_t v) {
      return std::clamp(v < 0 ? v + dim : v, std::int64_t{0}, dim);
    };
    const std::int64_t s = clampi(starts[i]);
    const std::int64_t e = clampi(ends[i]);
    begin[axis] = s;
    step[axis] = steps[i];
    count[axis] = e > s ? (e - s + steps[i] - 1) / steps[i] : 0;
  }
  const auto in_strides = strides_of(data.shape);
  const auto out_strides = strides_of(count);
  std::vector<std::int64_t> picks;
  for (std::int64_t i = 0; i < element_count(count); ++i) {
    std::int64_t index = 0;
    for (std::size_t d = 0; d < rank; ++d) {
      index += (begin[d] + ((i / out_strides[d]) % count[d]) * step[d]) * in_strides[d];
    }
    picks.push_back(index);
  }
  return gather_elements(data, count, picks);
}

Constant concat(const Node& node, const Graph& graph) {
  const Constant& first = input_constant(node, graph, 0);
  const auto axis =
      static_cast<std::size_t>(normalize_axis(node.get_int("axis", 0), first.shape.size(), node));
  Shape shape = first.shape;
  shape[axis] = 0;
  for (std::size_t i = 0; i < node.inputs.size(); ++i) {
    shape[axis] += input_constant(node, graph, i).shape.at(axis);
  }
  std::int64_t outer = 1;
  for (std::size_t d = 0; d < axis; ++d) {
    outer *= shape[d];
  }
  Constant out;
  out.type = first.type;
  out.shape = shape;
  for (std::int64_t o = 0; o < outer; ++o) {
    for (std::size_t i = 0; i < node.inputs.size(); ++i) {
      const Constant& part = input_constant(node, graph, i);
      const std::int64_t block = part.size() / std::max<std::int64_t>(outer, 1);
      for (std::int64_t j = o * block; j < (o + 1) * block; ++j) {
        if (out.is_float()) {
          out.floats.push_back(static_cast<float>(part.value(j)));
        } else {
          out.ints.push_back(part.integer(j));
        }
      }
    }
  }
  return out;
}

Constant gather(const Node& node, const Graph& graph) {
  const Constant& data = input_constant(node, graph, 0);
  const Constant& indices = input_constant(node, graph, 1);
  const auto axis =
      static_cast<std::size_t>(normalize_axis(node.get_int("axis", 0), data.shape.size(), node));
  Shape shape(data.shape.begin(), data.shape.begin() + static_cast<std::ptrdiff_t>(axis));
  shape.insert(shape.end(), indices.shape.begin(), indices.shape.end());
  shape.insert(shape.end(), data.shape.begin() + static_cast<std::ptrdiff_t>(axis) + 1,
               data.shape.end());
  std::int64_t outer = 1, inner = 1;
  for (std::size_t d = 0; d < axis; ++d) {
    outer *= data.shape[d];
  }
  for (std::size_t d = axis + 1; d < data.shape.size(); ++d) {
    inner *= data.shape[d];
  }
  const std::int64_t dim = data.shape[axis];
  std::vector<std::int64_t> picks;
  for (std::int64_t o = 0; o < outer; ++o) {
    for (std::int64_t k = 0; k < indices.size(); ++k) {
      std::int64_t index = indices.integer(k);
      index = index < 0 ? index + dim : index;
      if (index < 0 || index >= dim) {
        throw std::runtime_error(
            fmt::format("{}: index {} out of range", node.label(), indices.integer(k)));
      }
      for (std::int64_t i = 0; i < inner; ++i) {
        picks.push_back((o * dim + index) * inner + i);
      }
    }
  }
  return gather_elements(data, shape, picks);
}

std::vector<std::int64_t> axes_of(const Node& node, const Graph& graph) {
  if (node.has("axes")) {
    return node.get_ints("axes", {});
  }
  if (node.inputs.size() > 1 && !node.inputs[1].empty()) {
    return as_ints(input_constant(node, graph, 1));
  }
  return {};
}

Constant unsqueeze(const Node& node, const Graph& graph) {
  const Constant& data = input_constant(node, graph, 0);
  std::vector<std::int64_t> axes = axes_of(node, graph);
  const std::size_t rank = data.shape.size() + axes.size();
  for (std::int64_t& axis : axes) {
    axis = normalize_axis(axis, rank, node);
  }
  std::ranges::sort(axes);
  Shape shape = data.shape;
  for (const std::int64_t axis : axes) {
    shape.insert(shape.begin() + axis, 1);
  }
  return reshaped(data, shape);
}

Constant squeeze(const Node& node, const Graph& graph) {
  const Constant& data = input_constant(node, graph, 0);
  std::vector<std::int64_t> axes = axes_of(node, graph);
  for (std::int64_t& axis : axes) {
    axis = normalize_axis(axis, data.shape.size(), node);
  }
  Shape shape;
  for (std::size_t d = 0; d < data.shape.size(); ++d) {
    const bool listed = std::ranges::find(axes, static_cast<std::int64_t>(d)) != axes.end();
    if ((axes.empty() && data.shape[d] == 1) || listed) {
      continue;
    }
    shape.push_back(data.shape[d]);
  }
  return reshaped(data, shape);
}

}  // namespace

Shape reshape_target(const Node& node, const Shape& input,
                     const std::vector<std::int64_t>& target) {
  Shape shape;
  std::optional<std::size_t> inferred;
  std::int64_t known = 1;
  for (std::size_t i = 0; i < target.size(); ++i) {
    std::int64_t dim = target[i];
    if (dim == 0 && node.get_int("allowzero", 0) == 0) {
      if (i >= input.size()) {
        throw std::runtime_error(
            fmt::format("{}: 0 at axis {} beyond the input's rank", node.label(), i));
      }
      dim = input[i];
    }
    if (dim == -1) {
      if (inferred) {
        throw std::runtime_error(
            fmt::format("{}: more than one -1 in the target shape", node.label()));
      }
      inferred = i;
      dim = 1;
    } else if (dim < 0) {
      throw std::runtime_error(fmt::format("{}: negative dimension {}", node.label(), dim));
    } else {
      known *= dim;
    }
    shape.push_back(dim);
  }
  const std::int64_t total = element_count(input);
  if (inferred) {
    if (known == 0 || total % known != 0) {
      throw std::runtime_error(fmt::format("{}: cannot infer -1 reshaping {} to {} elements",
                                           node.label(), to_string(input), known));
    }
    shape[*inferred] = total / known;
  }
  if (element_count(shape) != total) {
    throw std::runtime_error(fmt::format("{}: cannot reshape {} to {}", node.label(),
                                         to_string(input), to_string(shape)));
  }
  return shape;
}

Shape broadcast_shapes(const Shape& a, const Shape& b) {
  const std::size_t rank = std::max(a.size(), b.size());
  Shape out(rank, 1);
  for (std::size_t i = 0; i < rank; ++i) {
    const std::int64_t x = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    const std::int64_t y = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (x != y && x != 1 && y != 1) {
      throw std::runtime_error(
          fmt::format("shapes {} and {} do not broadcast", to_string(a), to_string(b)));
    }
    out[i] = x == 1 ? y : x;
  }
  return out;
}

std::optional<std::vector<Constant>> evaluate_on_host(const Node& node, const Graph& graph) {
  if (node.op == "Shape") {
    const auto it = graph.values.find(node.inputs.at(0));
    if (it == graph.values.end() || !it->second.shape) {
      return std::nullopt;
    }
    const Shape& shape = *it->second.shape;
    return std::vector{Constant::of_ints({static_cast<std::int64_t>(shape.size())}, shape)};
  }
  for (const std::string& input : node.inputs) {
    if (!input.empty() && !graph.is_constant(input)) {
      return std::nullopt;
    }
  }
  const std::string& op = node.op;
  if (op == "Identity" || op == "Dropout") {
    return std::vector{input_constant(node, graph, 0)};
  }
  if (op == "Cast") {
    return std::vector{
        cast(input_constant(node, graph, 0), static_cast<ElementType>(node.get_int("to", 1)))};
  }
  if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div") {
    return std::vector{
        binary(node, input_constant(node, graph, 0), input_constant(node, graph, 1))};
  }
  if (op == "Slice") {
    return std::vector{slice(node, graph)};
  }
  if (op == "Concat") {
    return std::vector{concat(node, graph)};
  }
  if (op == "Gather") {
    return std::vector{gather(node, graph)};
  }
  if (op == "Unsqueeze") {
    return std::vector{unsqueeze(node, graph)};
  }
  if (op == "Squeeze") {
    return std::vector{squeeze(node, graph)};
  }
  if (op == "Reshape") {
    const Constant& data = input_constant(node, graph, 0);
    return std::vector{
        reshaped(data, reshape_target(node, data.shape, as_ints(input_constant(node, graph, 1))))};
  }
  if (op == "Sqrt") {
    Constant c = cast(input_constant(node, graph, 0), ElementType::float32);
    std::ranges::transform(c.floats, c.floats.begin(), [](float x) { return std::sqrt(x); });
    return std::vector{c};
  }
  return std::nullopt;
}

std::size_t fold_constants(Graph& graph) {
  std::size_t folded = 0;
  for (auto it = graph.nodes.begin(); it != graph.nodes.end();) {
    std::optional<std::vector<Constant>> values = evaluate_on_host(*it, graph);
    if (!values) {
      ++it;
      continue;
    }
    for (std::size_t i = 0; i < it->outputs.size() && i < values->size(); ++i) {
      ValueInfo& info = graph.values[it->outputs[i]];
      info.type = (*values)[i].type;
      info.shape = (*values)[i].shape;
      graph.constants[it->outputs[i]] = std::move((*values)[i]);
    }
    it = graph.nodes.erase(it);
    ++folded;
  }
  return folded;
}

}  // namespace npu::onnx_runtime
