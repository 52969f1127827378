#include "constant_folding.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <unordered_map>

#include "element_codec.hpp"
#include "npu/isa.hpp"
#include "spectral_constants.hpp"

namespace npu::onnx_runtime {
namespace {

const Constant& input_constant(const Node& node, const Graph& graph, std::size_t index) {
  if (index >= node.inputs.size() || node.inputs[index].empty()) {
    throw std::runtime_error(fmt::format("{}: input {} is missing", node.label(), index));
  }
  return graph.constants.at(node.inputs[index]);
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
  if (to == ElementType::float16 || to == ElementType::bfloat16) {
    // Rounded to the type (nearest even), held as float.
    const isa::DataType half =
        to == ElementType::float16 ? isa::DataType::fp16 : isa::DataType::bf16;
    out.floats = decode_elements(encode_elements(out.floats, half), half);
  }
  return out;
}

// The flat index into `c` of output element `flat` of `shape`, c broadcast
// to it with NumPy's rules.
std::int64_t broadcast_index(const Constant& c, const Shape& shape, std::int64_t flat) {
  const auto strides = strides_of(c.shape);
  const std::size_t offset = shape.size() - c.shape.size();
  std::int64_t index = 0;
  for (std::size_t d = shape.size(); d-- > 0;) {
    const std::int64_t coordinate = flat % shape[d];
    flat /= shape[d];
    if (d >= offset && c.shape[d - offset] != 1) {
      index += coordinate * strides[d - offset];
    }
  }
  return index;
}

bool is_comparison(const std::string& op) {
  return op == "Equal" || op == "Less" || op == "Greater" || op == "LessOrEqual" ||
         op == "GreaterOrEqual" || op == "And" || op == "Or" || op == "Xor";
}

// The arithmetic floats and integers share; nullopt for other ops.
template <typename T>
std::optional<T> arithmetic(const std::string& op, T x, T y) {
  if (op == "Add") {
    return x + y;
  }
  if (op == "Sub") {
    return x - y;
  }
  if (op == "Mul") {
    return x * y;
  }
  if (op == "Div") {
    return x / y;
  }
  if (op == "Max") {
    return std::max(x, y);
  }
  if (op == "Min") {
    return std::min(x, y);
  }
  return std::nullopt;
}

double float_op(const Node& node, double x, double y) {
  const std::string& op = node.op;
  if (const std::optional<double> r = arithmetic(op, x, y)) {
    return *r;
  }
  if (op == "Pow") {
    return std::pow(x, y);
  }
  if (op == "Mod") {
    return node.get_int("fmod", 0) != 0 ? std::fmod(x, y) : x - std::floor(x / y) * y;
  }
  const bool a = x != 0.0;
  const bool b = y != 0.0;
  const bool r = op == "Equal"            ? x == y
                 : op == "Less"           ? x < y
                 : op == "Greater"        ? x > y
                 : op == "LessOrEqual"    ? x <= y
                 : op == "GreaterOrEqual" ? x >= y
                 : op == "And"            ? a && b
                 : op == "Or"             ? a || b
                                          : a != b;
  return r ? 1.0 : 0.0;
}

std::int64_t integer_op(const Node& node, std::int64_t x, std::int64_t y) {
  const std::string& op = node.op;
  if ((op == "Div" || op == "Mod") && y == 0) {
    throw std::runtime_error(fmt::format("{}: integer division by zero", node.label()));
  }
  if (const std::optional<std::int64_t> r = arithmetic(op, x, y)) {
    return *r;
  }
  if (op == "Mod") {
    // Integer Mod takes the divisor's sign (Python's %), fmod the dividend's.
    const std::int64_t r = x % y;
    return node.get_int("fmod", 0) == 0 && r != 0 && ((r < 0) != (y < 0)) ? r + y : r;
  }
  if (op == "Pow") {
    return static_cast<std::int64_t>(std::pow(static_cast<double>(x), static_cast<double>(y)));
  }
  return static_cast<std::int64_t>(float_op(node, static_cast<double>(x), static_cast<double>(y)));
}

// Element-wise ops of two operands with NumPy broadcasting; comparisons
// and logic give bool.
Constant binary(const Node& node, const Constant& a, const Constant& b) {
  const Shape shape = broadcast_shapes(a.shape, b.shape);
  const bool floating = a.is_float() || b.is_float();
  Constant out;
  out.type = is_comparison(node.op) ? ElementType::boolean
             : floating             ? ElementType::float32
                                    : a.type;
  out.shape = shape;
  for (std::int64_t i = 0; i < element_count(shape); ++i) {
    const std::int64_t ia = broadcast_index(a, shape, i);
    const std::int64_t ib = broadcast_index(b, shape, i);
    if (floating) {
      const double r = float_op(node, a.value(ia), b.value(ib));
      if (out.is_float()) {
        out.floats.push_back(static_cast<float>(r));
      } else {
        out.ints.push_back(static_cast<std::int64_t>(r));
      }
    } else {
      out.ints.push_back(integer_op(node, a.integer(ia), b.integer(ib)));
    }
  }
  return out;
}

// Sum, Mean, Max, Min of any number of operands.
Constant variadic(const Node& node, const Graph& graph) {
  Node pairwise = node;
  pairwise.op = node.op == "Sum" || node.op == "Mean" ? "Add" : node.op;
  Constant out = input_constant(node, graph, 0);
  for (std::size_t i = 1; i < node.inputs.size(); ++i) {
    out = binary(pairwise, out, input_constant(node, graph, i));
  }
  if (node.op == "Mean") {
    const auto n = static_cast<float>(node.inputs.size());
    Node divide;
    divide.op = "Div";
    out = binary(divide, out, Constant::of_floats({}, {n}));
  }
  return out;
}

Constant where(const Node& node, const Graph& graph) {
  const Constant& condition = input_constant(node, graph, 0);
  const Constant& x = input_constant(node, graph, 1);
  const Constant& y = input_constant(node, graph, 2);
  const Shape shape = broadcast_shapes(condition.shape, broadcast_shapes(x.shape, y.shape));
  Constant out;
  out.type = x.type;
  out.shape = shape;
  for (std::int64_t i = 0; i < element_count(shape); ++i) {
    const bool pick_x = condition.integer(broadcast_index(condition, shape, i)) != 0;
    const Constant& from = pick_x ? x : y;
    const std::int64_t index = broadcast_index(from, shape, i);
    if (out.is_float()) {
      out.floats.push_back(static_cast<float>(from.value(index)));
    } else {
      out.ints.push_back(from.integer(index));
    }
  }
  return out;
}

// The unary functions folded on constants, computed in double. Rotary
// position embeddings take Sin and Cos of constant positions; the rest are
// ONNX's other elementwise math.
using UnaryFunction = double (*)(double);
const std::unordered_map<std::string_view, UnaryFunction>& unary_functions() {
  static const std::unordered_map<std::string_view, UnaryFunction> table = {
      {"Neg", [](double x) { return -x; }},
      {"Abs", [](double x) { return std::abs(x); }},
      {"Sign", [](double x) { return x > 0   ? 1.0
                                     : x < 0 ? -1.0
                                             : x; }},
      {"Floor", [](double x) { return std::floor(x); }},
      {"Ceil", [](double x) { return std::ceil(x); }},
      {"Round", [](double x) { return std::nearbyint(x); }},  // ties to even
      {"Sqrt", [](double x) { return std::sqrt(x); }},
      {"Reciprocal", [](double x) { return 1.0 / x; }},
      {"Exp", [](double x) { return std::exp(x); }},
      {"Log", [](double x) { return std::log(x); }},
      {"Sin", [](double x) { return std::sin(x); }},
      {"Cos", [](double x) { return std::cos(x); }},
      {"Tan", [](double x) { return std::tan(x); }},
      {"Asin", [](double x) { return std::asin(x); }},
      {"Acos", [](double x) { return std::acos(x); }},
      {"Atan", [](double x) { return std::atan(x); }},
      {"Sinh", [](double x) { return std::sinh(x); }},
      {"Cosh", [](double x) { return std::cosh(x); }},
      {"Asinh", [](double x) { return std::asinh(x); }},
      {"Acosh", [](double x) { return std::acosh(x); }},
      {"Atanh", [](double x) { return std::atanh(x); }},
      {"Tanh", [](double x) { return std::tanh(x); }},
      {"Erf", [](double x) { return std::erf(x); }},
      {"Sigmoid", [](double x) { return 1.0 / (1.0 + std::exp(-x)); }},
  };
  return table;
}

// Whether `op` of an integer constant gives integers (the others convert
// it to float first).
bool keeps_integers(std::string_view op) {
  return op == "Neg" || op == "Abs" || op == "Sign" || op == "Floor" || op == "Ceil" ||
         op == "Round";
}

// Neg, Abs, Sign, Floor, Ceil and Round of an integer, exactly (through a
// double, Neg of 2^60 + 1 would round and Neg of -2^63 overflow).
std::int64_t integer_unary(const Node& node, std::int64_t x) {
  if (node.op == "Sign") {
    return (x > 0 ? 1 : 0) - (x < 0 ? 1 : 0);
  }
  if (node.op != "Neg" && node.op != "Abs") {
    return x;  // Floor, Ceil, Round
  }
  if (x == std::numeric_limits<std::int64_t>::min()) {
    throw std::runtime_error(
        fmt::format("{}: {} of {} is beyond the 64-bit integers", node.label(), node.op, x));
  }
  return node.op == "Neg" || x < 0 ? -x : x;
}

Constant unary(const Node& node, const Constant& in) {
  const std::string& op = node.op;
  Constant out = in;
  if (op == "Not") {
    out.type = ElementType::boolean;
    std::ranges::transform(in.ints, out.ints.begin(),
                           [](std::int64_t v) { return v == 0 ? 1 : 0; });
    return out;
  }
  const UnaryFunction f = unary_functions().at(op);
  if (in.is_float() || !keeps_integers(op)) {
    out = cast(in, ElementType::float32);
    std::ranges::transform(out.floats, out.floats.begin(),
                           [f](float x) { return static_cast<float>(f(x)); });
  } else {
    std::ranges::transform(in.ints, out.ints.begin(),
                           [&node](std::int64_t x) { return integer_unary(node, x); });
  }
  return out;
}

// A folded constant becomes weights in device memory; a model that asks for
// more elements than this from ConstantOfShape, Range or Expand is refused
// rather than allocated (a hostile file could ask for 2^40).
constexpr double kMaxFoldedElements = 1 << 24;

void check_fold_size(const Node& node, double elements) {
  if (!(elements <= kMaxFoldedElements)) {
    throw std::runtime_error(fmt::format("{}: folds into {} elements, more than the {} allowed",
                                         node.label(), elements, kMaxFoldedElements));
  }
}

Constant constant_of_shape(const Node& node, const Graph& graph) {
  const Shape shape = input_constant(node, graph, 0).integers();
  const auto it = node.tensor_attributes.find("value");
  const Constant fill =
      it != node.tensor_attributes.end() ? it->second : Constant::of_floats({1}, {0.0F});
  if (fill.size() != 1) {
    throw std::runtime_error(fmt::format("{}: value has {} elements", node.label(), fill.size()));
  }
  check_fold_size(node, static_cast<double>(element_count(shape)));
  return fill.is_float() ? Constant::filled(fill.type, shape, fill.floats.at(0), 0)
                         : Constant::filled(fill.type, shape, 0, fill.ints.at(0));
}

Constant range(const Node& node, const Graph& graph) {
  const Constant& start = input_constant(node, graph, 0);
  const Constant& limit = input_constant(node, graph, 1);
  const Constant& delta = input_constant(node, graph, 2);
  if (delta.value(0) == 0.0) {
    throw std::runtime_error(fmt::format("{}: delta 0", node.label()));
  }
  const double count = std::max(0.0, std::ceil((limit.value(0) - start.value(0)) / delta.value(0)));
  check_fold_size(node, count);
  Constant out;
  out.type = start.type;
  out.shape = {static_cast<std::int64_t>(count)};
  for (std::int64_t i = 0; i < out.shape[0]; ++i) {
    if (out.is_float()) {
      out.floats.push_back(
          static_cast<float>(start.value(0) + static_cast<double>(i) * delta.value(0)));
    } else {
      std::int64_t step = 0, value = 0;
      if (__builtin_mul_overflow(i, delta.integer(0), &step) ||
          __builtin_add_overflow(start.integer(0), step, &value)) {
        throw std::runtime_error(
            fmt::format("{}: element {} is beyond the 64-bit integers", node.label(), i));
      }
      out.ints.push_back(value);
    }
  }
  return out;
}

Constant expand(const Node& node, const Graph& graph) {
  const Constant& data = input_constant(node, graph, 0);
  const Shape shape = broadcast_shapes(data.shape, input_constant(node, graph, 1).integers());
  check_fold_size(node, static_cast<double>(element_count(shape)));
  std::vector<std::int64_t> picks;
  for (std::int64_t i = 0; i < element_count(shape); ++i) {
    picks.push_back(broadcast_index(data, shape, i));
  }
  return gather_elements(data, shape, picks);
}

Constant transpose(const Node& node, const Graph& graph) {
  const Constant& data = input_constant(node, graph, 0);
  const std::size_t rank = data.shape.size();
  std::vector<std::int64_t> perm = node.get_ints("perm", {});
  if (perm.empty()) {
    for (std::size_t d = rank; d-- > 0;) {
      perm.push_back(static_cast<std::int64_t>(d));
    }
  }
  if (perm.size() != rank) {
    throw std::runtime_error(
        fmt::format("{}: perm of {} axes for rank {}", node.label(), perm.size(), rank));
  }
  Shape shape;
  for (const std::int64_t p : perm) {
    shape.push_back(data.shape.at(static_cast<std::size_t>(normalize_axis(p, rank, node))));
  }
  const auto in_strides = strides_of(data.shape);
  std::vector<std::int64_t> picks;
  for (std::int64_t i = 0; i < element_count(shape); ++i) {
    std::int64_t flat = i;
    std::int64_t index = 0;
    for (std::size_t d = rank; d-- > 0;) {
      index += (flat % shape[d]) * in_strides[static_cast<std::size_t>(perm[d])];
      flat /= shape[d];
    }
    picks.push_back(index);
  }
  return gather_elements(data, shape, picks);
}

Constant slice(const Node& node, const Graph& graph) {
  const Constant& data = input_constant(node, graph, 0);
  std::vector<std::int64_t> starts, ends, axes, steps;
  if (graph.opset < 10) {
    starts = node.get_ints("starts", {});
    ends = node.get_ints("ends", {});
    axes = node.get_ints("axes", {});
  } else {
    starts = input_constant(node, graph, 1).integers();
    ends = input_constant(node, graph, 2).integers();
    if (node.inputs.size() > 3 && !node.inputs[3].empty()) {
      axes = input_constant(node, graph, 3).integers();
    }
    if (node.inputs.size() > 4 && !node.inputs[4].empty()) {
      steps = input_constant(node, graph, 4).integers();
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
    if (steps[i] == 0) {
      throw std::runtime_error(fmt::format("{}: step 0", node.label()));
    }
    // ONNX's clamping: [0, dim] forwards; backwards (a flip, x[::-1]) the
    // start in [0, dim - 1] and the end in [-1, dim - 1].
    if (dim == 0) {
      continue;  // nothing to pick: the count stays 0
    }
    const bool forward = steps[i] > 0;
    auto clampi = [dim, forward](std::int64_t v, bool is_end) {
      const std::int64_t low = forward || !is_end ? 0 : -1;
      const std::int64_t high = forward ? dim : dim - 1;
      return std::clamp(v < 0 ? v + dim : v, low, high);
    };
    const std::int64_t s = clampi(starts[i], false);
    const std::int64_t e = clampi(ends[i], true);
    const std::int64_t span = forward ? e - s : s - e;
    const std::int64_t magnitude = forward ? steps[i] : -steps[i];
    begin[axis] = s;
    step[axis] = steps[i];
    count[axis] = span > 0 ? (span + magnitude - 1) / magnitude : 0;
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
    return input_constant(node, graph, 1).integers();
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

namespace {

// Shape and Size need only their input's static shape, not its value.
std::optional<Constant> shape_of(const Node& node, const Graph& graph) {
  const auto it = graph.values.find(node.inputs.at(0));
  if (it == graph.values.end() || !it->second.shape) {
    return std::nullopt;
  }
  const Shape& shape = *it->second.shape;
  if (node.op == "Size") {
    return Constant::of_ints({}, {element_count(shape)});
  }
  // Opset 15's start and end: a slice of the dimensions.
  const auto rank = static_cast<std::int64_t>(shape.size());
  auto clamp_axis = [rank](std::int64_t axis) {
    return std::clamp(axis < 0 ? axis + rank : axis, std::int64_t{0}, rank);
  };
  const std::int64_t start = clamp_axis(node.get_int("start", 0));
  const std::int64_t end = clamp_axis(node.get_int("end", rank));
  const Shape dims(shape.begin() + start, shape.begin() + std::max(start, end));
  return Constant::of_ints({static_cast<std::int64_t>(dims.size())}, dims);
}

// EyeLike needs only its input's static shape: ones on the diagonal k, in
// `dtype` (by default the input's type).
std::optional<Constant> eye_like(const Node& node, const Graph& graph) {
  const auto it = graph.values.find(node.inputs.at(0));
  if (it == graph.values.end() || !it->second.shape || it->second.shape->size() != 2) {
    return std::nullopt;
  }
  const Shape& shape = *it->second.shape;
  check_fold_size(node, static_cast<double>(shape[0]) * static_cast<double>(shape[1]));
  // Beyond the matrix no diagonal element is 1: clamped so r + k cannot overflow.
  const std::int64_t k = std::clamp<std::int64_t>(node.get_int("k", 0), -shape[0], shape[1]);
  std::vector<std::int64_t> ones(static_cast<std::size_t>(shape[0] * shape[1]), 0);
  for (std::int64_t r = 0; r < shape[0]; ++r) {
    if (r + k >= 0 && r + k < shape[1]) {
      ones[static_cast<std::size_t>(r * shape[1] + r + k)] = 1;
    }
  }
  const auto type =
      node.has("dtype") ? static_cast<ElementType>(node.get_int("dtype", 1)) : it->second.type;
  return cast(Constant::of_ints(shape, std::move(ones)), type);
}

Constant first_input(const Node& node, const Graph& graph) {
  return input_constant(node, graph, 0);
}

Constant cast_node(const Node& node, const Graph& graph) {
  return cast(input_constant(node, graph, 0), static_cast<ElementType>(node.get_int("to", 1)));
}

Constant binary_node(const Node& node, const Graph& graph) {
  return binary(node, input_constant(node, graph, 0), input_constant(node, graph, 1));
}

// Max and Min are binary with two operands and variadic with more.
Constant extremum(const Node& node, const Graph& graph) {
  return node.inputs.size() == 2 ? binary_node(node, graph) : variadic(node, graph);
}

Constant unary_node(const Node& node, const Graph& graph) {
  return unary(node, input_constant(node, graph, 0));
}

// Trilu of a constant (a causal mask built from a full matrix): the
// elements outside the triangle set to 0.
Constant trilu(const Node& node, const Graph& graph) {
  Constant out = input_constant(node, graph, 0);
  if (out.shape.size() < 2) {
    throw std::runtime_error(fmt::format("{}: an input of rank {}; Trilu takes matrices",
                                         node.label(), out.shape.size()));
  }
  Triangle triangle;
  try {
    triangle = triangle_of(node, graph);
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(fmt::format("{}: {}", node.label(), e.what()));
  }
  const std::int64_t rows = out.shape[out.shape.size() - 2], columns = out.shape.back();
  for (std::int64_t e = 0; e < out.size(); ++e) {
    if (triangle.keeps(e / columns % rows, e % columns)) {
      continue;
    }
    if (out.is_float()) {
      out.floats[static_cast<std::size_t>(e)] = 0.0F;
    } else {
      out.ints[static_cast<std::size_t>(e)] = 0;
    }
  }
  return out;
}

Constant reshape(const Node& node, const Graph& graph) {
  const Constant& data = input_constant(node, graph, 0);
  return reshaped(data,
                  reshape_target(node, data.shape, input_constant(node, graph, 1).integers()));
}

// The flat offset in a tensor of `shape` (row-major `strides`) of the
// slice that index tuple `tuple` of ScatterND's indices addresses.
std::int64_t scatter_offset(const Node& node, const Constant& indices, std::int64_t tuple,
                            const Shape& shape, const std::vector<std::int64_t>& strides) {
  const std::int64_t k = indices.shape.back();
  std::int64_t offset = 0;
  for (std::int64_t j = 0; j < k; ++j) {
    const std::int64_t dim = shape[static_cast<std::size_t>(j)];
    std::int64_t index = indices.integer(tuple * k + j);
    index = index < 0 ? index + dim : index;
    if (index < 0 || index >= dim) {
      throw std::runtime_error(fmt::format("{}: index {} outside the dimension of {}", node.label(),
                                           indices.integer(tuple * k + j), dim));
    }
    offset += index * strides[static_cast<std::size_t>(j)];
  }
  return offset;
}

// ScatterND of constants (the attention masks torchvision's Swin
// Transformer builds by slice assignment): `data` with the slices the index
// tuples address replaced by (or, with `reduction`, combined with) updates.
Constant scatter_nd(const Node& node, const Graph& graph) {
  Constant out = input_constant(node, graph, 0);
  const Constant& indices = input_constant(node, graph, 1);
  const Constant& updates = input_constant(node, graph, 2);
  const std::string reduction = node.get_string("reduction", "none");
  if (indices.shape.empty() || indices.shape.back() < 1 ||
      indices.shape.back() > static_cast<std::int64_t>(out.shape.size())) {
    throw std::runtime_error(fmt::format("{}: indices of shape {} for data of rank {}",
                                         node.label(), to_string(indices.shape), out.shape.size()));
  }
  const auto k = static_cast<std::size_t>(indices.shape.back());
  const std::int64_t slice =
      element_count(Shape(out.shape.begin() + static_cast<std::ptrdiff_t>(k), out.shape.end()));
  const std::int64_t tuples = indices.size() / indices.shape.back();
  if (updates.size() != tuples * slice || updates.is_float() != out.is_float()) {
    throw std::runtime_error(fmt::format("{}: updates of shape {} for {} slices of {}",
                                         node.label(), to_string(updates.shape), tuples, slice));
  }
  const std::vector<std::int64_t> strides = strides_of(out.shape);
  const auto combine = [&reduction, &node](auto old, auto update) {
    if (reduction == "none") {
      return update;
    }
    if (reduction == "add") {
      return old + update;
    }
    if (reduction == "mul") {
      return old * update;
    }
    if (reduction == "max") {
      return std::max(old, update);
    }
    if (reduction == "min") {
      return std::min(old, update);
    }
    throw std::runtime_error(fmt::format("{}: reduction {}", node.label(), reduction));
  };
  for (std::int64_t t = 0; t < tuples; ++t) {
    const std::int64_t offset = scatter_offset(node, indices, t, out.shape, strides);
    for (std::int64_t e = 0; e < slice; ++e) {
      const auto to = static_cast<std::size_t>(offset + e);
      const auto from = static_cast<std::size_t>(t * slice + e);
      if (out.is_float()) {
        out.floats[to] = combine(out.floats[to], updates.floats[from]);
      } else {
        out.ints[to] = combine(out.ints[to], updates.ints[from]);
      }
    }
  }
  return out;
}

using Folder = Constant (*)(const Node&, const Graph&);

// Every operator folded when all its inputs are constants.
const std::unordered_map<std::string_view, Folder>& folders() {
  static const std::unordered_map<std::string_view, Folder> table = [] {
    std::unordered_map<std::string_view, Folder> ops = {
        {"Identity", first_input},
        {"Dropout", first_input},
        {"Cast", cast_node},
        {"Add", binary_node},
        {"Sub", binary_node},
        {"Mul", binary_node},
        {"Div", binary_node},
        {"Pow", binary_node},
        {"Mod", binary_node},
        {"Equal", binary_node},
        {"Less", binary_node},
        {"Greater", binary_node},
        {"LessOrEqual", binary_node},
        {"GreaterOrEqual", binary_node},
        {"And", binary_node},
        {"Or", binary_node},
        {"Xor", binary_node},
        {"Max", extremum},
        {"Min", extremum},
        {"Sum", variadic},
        {"Mean", variadic},
        {"Not", unary_node},
        {"Where", where},
        {"ConstantOfShape", constant_of_shape},
        {"Range", range},
        {"Expand", expand},
        {"Transpose", transpose},
        {"Slice", slice},
        {"Concat", concat},
        {"Gather", gather},
        {"Unsqueeze", unsqueeze},
        {"Squeeze", squeeze},
        {"Reshape", reshape},
        {"ScatterND", scatter_nd},
        {"Trilu", trilu},
        {"MelWeightMatrix", mel_weight_matrix},
    };
    for (const auto& [op, function] : unary_functions()) {
      ops.emplace(op, unary_node);
    }
    return ops;
  }();
  return table;
}

}  // namespace

Triangle triangle_of(const Node& trilu, const Graph& graph) {
  Triangle triangle{.upper = trilu.get_int("upper", 1) != 0, .k = 0};
  if (trilu.inputs.size() > 1 && !trilu.inputs[1].empty()) {
    if (!graph.is_constant(trilu.inputs[1])) {
      throw std::runtime_error(fmt::format(
          "its diagonal k '{}' is computed at run time; only a constant k", trilu.inputs[1]));
    }
    const Constant& k = graph.constants.at(trilu.inputs[1]);
    if (k.size() != 1) {
      throw std::runtime_error(fmt::format("k has {} values, not one", k.size()));
    }
    triangle.k = k.integer(0);
  }
  return triangle;
}

std::set<std::string> host_evaluated_ops() {
  std::set<std::string> ops{"Shape", "Size", "EyeLike"};
  for (const auto& [op, folder] : folders()) {
    ops.emplace(op);
  }
  return ops;
}

std::optional<std::vector<Constant>> evaluate_on_host(const Node& node, const Graph& graph) {
  if (node.op == "Shape" || node.op == "Size" || node.op == "EyeLike") {
    std::optional<Constant> value =
        node.op == "EyeLike" ? eye_like(node, graph) : shape_of(node, graph);
    return value ? std::optional{std::vector{std::move(*value)}} : std::nullopt;
  }
  const auto folder = folders().find(node.op);
  if (folder == folders().end()) {
    return std::nullopt;
  }
  for (const std::string& input : node.inputs) {
    if (!input.empty() && !graph.is_constant(input)) {
      return std::nullopt;
    }
  }
  return std::vector{folder->second(node, graph)};
}

void FoldBudget::spend(const Node& node, std::int64_t elements) {
  left_ -= elements;
  if (left_ < 0) {
    throw std::runtime_error(
        fmt::format("{}: constant folding exceeds the model's budget of {} elements in all",
                    node.label(), total_));
  }
}

std::size_t fold_constants(Graph& graph, FoldBudget& budget) {
  std::size_t folded = 0;
  for (auto it = graph.nodes.begin(); it != graph.nodes.end();) {
    std::optional<std::vector<Constant>> values = evaluate_on_host(*it, graph);
    if (!values) {
      ++it;
      continue;
    }
    for (const Constant& value : *values) {
      budget.spend(*it, value.size());
    }
    for (std::size_t i = 0; i < it->outputs.size() && i < values->size(); ++i) {
      ValueInfo& info = graph.values[it->outputs[i]];
      info.type = computed_type((*values)[i].type);  // the constant keeps its own
      info.shape = (*values)[i].shape;
      graph.constants[it->outputs[i]] = std::move((*values)[i]);
    }
    it = graph.nodes.erase(it);
    ++folded;
  }
  return folded;
}

}  // namespace npu::onnx_runtime
