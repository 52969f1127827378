#include "lowering.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <limits>
#include <map>
#include <numeric>
#include <optional>
#include <stdexcept>

#include "constant_folding.hpp"
#include "element_codec.hpp"
#include "int8_rewrite.hpp"
#include "interpolation.hpp"
#include "lowerer.hpp"
#include "max_unpooling.hpp"
#include "quantization.hpp"
#include "recurrent_lowering.hpp"
#include "scatter_lowering.hpp"

namespace npu::onnx_runtime {
namespace {

// Defined with the integer and comparison lowerings below.
ElementType value_type(Lowerer& l, const std::string& value);
bool is_integer(ElementType type);
void lower_integer_binary(Lowerer& l, const Node& n, EltwiseOp op);
void cast_to_integers(Lowerer& l, const Node& n);
void lower_integer_where(Lowerer& l, const Node& n);
void lower_integer_cumsum(Lowerer& l, const Node& n, std::size_t axis);
void concat_integers(Lowerer& l, const Node& n, std::size_t axis);
void reduce_integers(Lowerer& l, const Node& n, ReduceOp op);
void clip_integers(Lowerer& l, const Node& n);
void integer_result(Lowerer& l, const std::string& origin, const std::string& out,
                    const std::function<void(TensorRef)>& compute);
TensorRef int32_scalar(Lowerer& l, std::int64_t value);
std::string index_ramp(Lowerer& l, std::int64_t length, std::int64_t inner);

using isa::DataType;

std::optional<float> constant_scalar(Lowerer& l, const Node& node, std::size_t index) {
  if (index >= node.inputs.size() || node.inputs[index].empty()) {
    return std::nullopt;
  }
  if (!l.graph().is_constant(node.inputs[index])) {
    throw Unsupported(fmt::format("input {} must be a constant", index));
  }
  return static_cast<float>(l.graph().constants.at(node.inputs[index]).value(0));
}

Activation activation_of(const Node& node) {
  // The names fusion.cpp gives the activations it joins to a node.
  static const std::map<std::string, Activation, std::less<>> kByName{
      {"", Activation::none},
      {"Relu", Activation::relu},
      {"Sigmoid", Activation::sigmoid},
      {"Tanh", Activation::tanh},
      {"Silu", Activation::silu},
      {"Gelu", Activation::gelu},
      {"HardSwish", Activation::hardswish},
      {"HardSigmoid", Activation::hardsigmoid},
      {"Relu6", Activation::relu6}};
  const std::string act = node.get_string("activation", "");
  const auto found = kByName.find(act);
  if (found == kByName.end()) {
    throw Unsupported(fmt::format("fused activation {}", act));
  }
  return found->second;
}

// Applies `steps` (element-wise op with a scalar) to `in`, leaving the
// result in `out`; intermediate results alternate between a scratch tensor
// and `out`, as an instruction's output may not overlap its input.
void scalar_chain(Lowerer& l, const Node& node, const std::string& in, const std::string& out,
                  const std::vector<std::pair<EltwiseOp, float>>& steps) {
  const std::int64_t count = element_count(l.shape(in));
  if (steps.empty()) {
    l.alias(out, in, node.label());
    return;
  }
  const std::string tmp = steps.size() > 1 ? l.scratch(count) : "";
  // Odd positions from the end write `out`, so the last step lands there.
  TensorRef source = l.ref(in);
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const bool to_out = (steps.size() - 1 - i) % 2 == 0;
    TensorRef target = to_out ? l.ref(out) : l.ref(tmp);
    l.eltwise(node.label(), steps[i].first, source, l.ref(l.scalar(steps[i].second)), target, count,
              1);
    source = target;
  }
}

// out = a OP b with NumPy broadcasting of b over a. The device broadcasts b
// along the innermost dimension only (b[i mod b_count]); a b that varies
// along a middle block of dimensions is expanded to a trailing block (a
// constant on the host; a computed one, e.g. a squeeze-and-excitation
// block's channel scales, by one COPY_STRIDED that reads each value
// `post` times), or without COPY_STRIDED applied with a transpose on each
// side.
std::vector<CopyAxis> broadcast_axes(Shape sx, const Shape& so);

// Whether `from` broadcasts to `to` (NumPy rules) without changing it.
bool broadcasts_to(const Shape& from, const Shape& to) {
  try {
    return broadcast_shapes(from, to) == to;
  } catch (const std::runtime_error&) {
    return false;
  }
}

// The values of constant `c` (of shape `from`) broadcast to `to`.
std::vector<float> broadcast_values(const Constant& c, const Shape& from, const Shape& to) {
  const std::vector<CopyAxis> axes = broadcast_axes(from, to);
  const std::int64_t size = element_count(to);
  std::vector<float> values;
  values.reserve(static_cast<std::size_t>(size));
  for (std::int64_t i = 0; i < size; ++i) {
    std::int64_t rest = i, at = 0;
    for (std::size_t d = axes.size(); d-- > 0;) {
      at += (rest % axes[d].size) * axes[d].src_stride;
      rest /= axes[d].size;
    }
    values.push_back(static_cast<float>(c.value(at)));
  }
  return values;
}

// `value` broadcast to `shape` (NumPy rules) as a tensor of its own: a
// constant expanded on the host (up to the device's operand: the host
// holds no more for it), otherwise by COPY_STRIDED on the device.
std::string expanded_to(Lowerer& l, const std::string& origin, const std::string& value,
                        const Shape& shape) {
  if (l.graph().is_constant(value) && element_count(shape) <= kMaxOperandBytes / l.esize()) {
    return l.view(l.new_constant(shape, broadcast_values(l.graph().constants.at(value),
                                                         l.shape(value), shape)),
                  shape);
  }
  l.require(isa::Opcode::copy_strided);
  const std::string expanded = l.scratch_shaped(shape);
  strided_copy(l, origin, l.ref(expanded), l.ref(value), broadcast_axes(l.shape(value), shape));
  return expanded;
}

// out = a OP b where b (of the output's rank) varies along several blocks
// of the output's axes from axis `first` on (Swin's window masks, [1, W, 1,
// T, T] over [1, W, H, T, T]): b expanded to the trailing block so[first:]
// (a constant on the host; a computed one by one COPY_STRIDED, at most
// four axes after merging), then one ELTWISE reading it i mod its count.
void expanded_binary(Lowerer& l, const std::string& origin, EltwiseOp op, const std::string& a,
                     const std::string& b, const std::string& out, std::size_t first) {
  const Shape& so = l.shape(out);
  Shape sb = l.shape(b);
  sb.insert(sb.begin(), so.size() - sb.size(), 1);
  const Shape block(so.begin() + static_cast<std::ptrdiff_t>(first), so.end());
  const Shape b_block(sb.begin() + static_cast<std::ptrdiff_t>(first), sb.end());
  const std::int64_t size = element_count(block);
  if (size > kMaxOperandBytes / l.esize()) {
    // A block beyond the operand cannot be ELTWISE's b: b made whole.
    l.eltwise(origin, op, l.ref(a), l.ref(expanded_to(l, origin, b, so)), l.ref(out),
              element_count(so), element_count(so));
    return;
  }
  std::string expanded;
  if (l.graph().is_constant(b)) {
    expanded = l.new_constant(block, broadcast_values(l.graph().constants.at(b), b_block, block));
  } else {
    l.require(isa::Opcode::copy_strided);
    expanded = l.scratch(size);
    strided_copy(l, origin, l.ref(expanded), l.ref(b), broadcast_axes(b_block, block));
  }
  l.eltwise(origin, op, l.ref(a), l.ref(expanded), l.ref(out), element_count(so), size);
}

void broadcast_binary(Lowerer& l, const std::string& origin, EltwiseOp op, const std::string& a,
                      const std::string& b, const std::string& out) {
  const Shape& so = l.shape(out);
  Shape sb = l.shape(b);
  if (l.shape(a) != so) {
    throw Unsupported("both operands broadcast");
  }
  if (sb.size() > so.size()) {
    throw Unsupported(fmt::format("operand of shape {} broadcast to the lower rank of {}",
                                  to_string(sb), to_string(so)));
  }
  sb.insert(sb.begin(), so.size() - sb.size(), 1);
  const std::int64_t count = element_count(so);
  std::size_t p = 0;
  while (p < sb.size() && sb[p] == 1) {
    ++p;
  }
  std::size_t q = sb.size();
  while (q > p && sb[q - 1] == 1) {
    --q;
  }
  for (std::size_t d = p; d < q; ++d) {
    if (sb[d] != so[d]) {
      expanded_binary(l, origin, op, a, b, out, p);
      return;
    }
  }
  const std::int64_t pre = product(so, 0, p);
  const std::int64_t mid = product(so, p, q);
  const std::int64_t post = product(so, q, so.size());
  // b repeated over the outer axes is ELTWISE's b while it fits the
  // operand; beyond it, b is made whole (expanded_binary), unless it
  // already is.
  const bool whole = post == 1 && mid == count;
  if (mid * post > kMaxOperandBytes / l.esize() && !whole) {
    expanded_binary(l, origin, op, a, b, out, p);
    return;
  }
  if (post == 1) {
    l.eltwise(origin, op, l.ref(a), l.ref(b), l.ref(out), count, mid);
    return;
  }
  if (l.graph().is_constant(b)) {
    // Repeat each value `post` times: b becomes a trailing block of mid*post.
    const Constant& c = l.graph().constants.at(b);
    std::vector<float> expanded;
    expanded.reserve(static_cast<std::size_t>(mid * post));
    for (std::int64_t i = 0; i < mid; ++i) {
      expanded.insert(expanded.end(), static_cast<std::size_t>(post),
                      static_cast<float>(c.value(i)));
    }
    const std::string e = l.new_constant({mid * post}, std::move(expanded));
    l.eltwise(origin, op, l.ref(a), l.ref(e), l.ref(out), count, mid * post);
    return;
  }
  if (l.has(isa::Opcode::copy_strided)) {
    const std::string e = l.scratch(mid * post);
    strided_copy(l, origin, l.ref(e), l.ref(b), {{mid, 1, post}, {post, 0, 1}});
    l.eltwise(origin, op, l.ref(a), l.ref(e), l.ref(out), count, mid * post);
    return;
  }
  const std::string t1 = l.scratch(count);
  const std::string t2 = l.scratch(count);
  l.transpose(origin, l.ref(a), l.ref(t1), pre, mid, post);
  l.eltwise(origin, op, l.ref(t1), l.ref(b), l.ref(t2), count, mid);
  l.transpose(origin, l.ref(t2), l.ref(out), pre, post, mid);
}

// out = a OP b of floats, NumPy broadcasting.
void float_binary(Lowerer& l, const std::string& origin, EltwiseOp op, const std::string& a,
                  const std::string& b, const std::string& out) {
  const bool a_full = l.shape(a) == l.shape(out);
  const bool b_full = l.shape(b) == l.shape(out);
  const bool commutative =
      op == EltwiseOp::add || op == EltwiseOp::mul || op == EltwiseOp::max || op == EltwiseOp::min;
  if (a_full || (commutative && b_full)) {
    broadcast_binary(l, origin, op, a_full ? a : b, a_full ? b : a, out);
    return;
  }
  if (b_full && op == EltwiseOp::sub) {
    // a - b = (b - a) * -1, with a broadcast (the scratch has out's shape,
    // which broadcast_binary reads).
    const std::string tmp = l.scratch_shaped(l.shape(out));
    broadcast_binary(l, origin, EltwiseOp::sub, b, a, tmp);
    l.eltwise(origin, EltwiseOp::mul, l.ref(tmp), l.ref(l.scalar(-1.0F)), l.ref(out),
              element_count(l.shape(out)), 1);
    return;
  }
  // Neither operand has the output's shape (an outer product's [T, 1] and
  // [1, F]), or the first broadcasts under a division or a power: a
  // expanded first.
  broadcast_binary(l, origin, op, expanded_to(l, origin, a, l.shape(out)), b, out);
}

void lower_binary(Lowerer& l, const Node& node, EltwiseOp op) {
  if (is_integer(value_type(l, node.outputs.at(0)))) {
    lower_integer_binary(l, node, op);
    return;
  }
  float_binary(l, node.label(), op, input(node, 0), input(node, 1), node.outputs.at(0));
}

// ---- one function per ONNX op -------------------------------------------

void lower_add(Lowerer& l, const Node& n) {
  lower_binary(l, n, EltwiseOp::add);
}
void lower_sub(Lowerer& l, const Node& n) {
  lower_binary(l, n, EltwiseOp::sub);
}
void lower_mul(Lowerer& l, const Node& n) {
  lower_binary(l, n, EltwiseOp::mul);
}
void lower_div(Lowerer& l, const Node& n) {
  lower_binary(l, n, EltwiseOp::div);
}
// Sum, Mean, Max and Min of any number of operands (NumPy broadcasting):
// one ELTWISE per operand after the first, starting from one that has the
// output's shape; Mean multiplies by 1/n last.
void lower_variadic(Lowerer& l, const Node& n, EltwiseOp op, bool mean) {
  const std::string& out = n.outputs.at(0);
  const Shape& so = l.shape(out);
  if (n.inputs.size() == 1) {
    l.alias(out, input(n, 0), n.label());
    return;
  }
  if (n.inputs.size() == 2 && !mean) {
    lower_binary(l, n, op);
    return;
  }
  std::vector<std::string> operands;
  for (std::size_t i = 0; i < n.inputs.size(); ++i) {
    operands.push_back(input(n, i));
  }
  const auto full =
      std::ranges::find_if(operands, [&](const std::string& v) { return l.shape(v) == so; });
  if (full == operands.end()) {
    operands[0] = expanded_to(l, n.label(), operands[0], so);
  } else {
    std::rotate(operands.begin(), full, full + 1);
  }
  const std::size_t steps = operands.size() - 1 + (mean ? 1 : 0);
  std::string acc = operands[0];
  for (std::size_t i = 1; i <= steps; ++i) {
    const std::string target = i == steps ? out : l.scratch_shaped(so);
    if (i < operands.size()) {
      broadcast_binary(l, n.label(), op, acc, operands[i], target);
    } else {
      l.eltwise(n.label(), EltwiseOp::mul, l.ref(acc),
                l.ref(l.scalar(1.0F / static_cast<float>(operands.size()))), l.ref(target),
                element_count(so), 1);
    }
    acc = target;
  }
}
void lower_max(Lowerer& l, const Node& n) {
  lower_variadic(l, n, EltwiseOp::max, false);
}
void lower_min(Lowerer& l, const Node& n) {
  lower_variadic(l, n, EltwiseOp::min, false);
}
void lower_sum(Lowerer& l, const Node& n) {
  lower_variadic(l, n, EltwiseOp::add, false);
}
void lower_mean(Lowerer& l, const Node& n) {
  lower_variadic(l, n, EltwiseOp::add, true);
}

// -x: one ELTWISE mul by -1.
void lower_neg(Lowerer& l, const Node& n) {
  scalar_chain(l, n, input(n, 0), n.outputs.at(0), {{EltwiseOp::mul, -1.0F}});
}

void lower_param_activation(Lowerer& l, const Node& n, ParamActivation function, float alpha,
                            float beta);

// One instruction of `elements` elements of `from` into `to` (`unary`
// emits it given its count), or one per range of them that fits the
// device's 64 MiB operand.
using UnaryInstruction =
    std::function<void(KernelBuilder&, std::span<const BufferArg>, std::uint32_t count)>;
void unary_in_ranges(Lowerer& l, const std::string& origin, const std::string& from,
                     const std::string& to, std::int64_t elements, const UnaryInstruction& unary) {
  for (const ElementRange& r : l.operand_ranges(elements, 1)) {
    const auto at = static_cast<std::uint64_t>(r.first * l.esize());
    l.emit(origin, {l.ref(from, at)}, {l.ref(to, at)},
           [unary, count = u32(r.count, "element count")](
               KernelBuilder& k, std::span<const BufferArg> s) { unary(k, s, count); });
  }
}

// An ACTIVATION_PARAM `function` of `from` into `to`, `elements` of them.
void param_function_into(Lowerer& l, const std::string& origin, ParamActivation function,
                         const std::string& from, const std::string& to, std::int64_t elements,
                         float alpha, float beta) {
  unary_in_ranges(
      l, origin, from, to, elements,
      [=, dt = l.dtype()](KernelBuilder& k, std::span<const BufferArg> s, std::uint32_t count) {
        k.activation_param(dt, function, s[0], s[1], count, alpha, beta);
      });
}

// |x| into `out`: ACTIVATION_PARAM ABS on v1.5 (exact, NaN kept); before,
// max(x, -x).
void absolute_into(Lowerer& l, const std::string& origin, const std::string& x,
                   const std::string& out) {
  const std::int64_t count = element_count(l.shape(x));
  if (l.has_v15()) {
    param_function_into(l, origin, ParamActivation::abs, x, out, count, 0.0F, 0.0F);
    return;
  }
  const std::string negated = l.scratch(count);
  l.eltwise(origin, EltwiseOp::mul, l.ref(x), l.ref(l.scalar(-1.0F)), l.ref(negated), count, 1);
  l.eltwise(origin, EltwiseOp::max, l.ref(x), l.ref(negated), l.ref(out), count, count);
}
void lower_abs(Lowerer& l, const Node& n) {
  absolute_into(l, n.label(), input(n, 0), n.outputs.at(0));
}

void lower_activation(Lowerer& l, const Node& n, Activation act) {
  const std::string& x = input(n, 0);
  unary_in_ranges(
      l, n.label(), x, n.outputs.at(0), element_count(l.shape(x)),
      [act, dt = l.dtype()](KernelBuilder& k, std::span<const BufferArg> s, std::uint32_t count) {
        k.activation(dt, act, s[0], s[1], count);
      });
}
void lower_relu(Lowerer& l, const Node& n) {
  lower_activation(l, n, Activation::relu);
}
void lower_sigmoid(Lowerer& l, const Node& n) {
  lower_activation(l, n, Activation::sigmoid);
}
void lower_tanh(Lowerer& l, const Node& n) {
  lower_activation(l, n, Activation::tanh);
}
// Not an ONNX op: made by fuse_silu.
void lower_silu(Lowerer& l, const Node& n) {
  lower_activation(l, n, Activation::silu);
}
// ONNX Gelu (opset 20), and the erf form fuse_gelu finds: the fused GELU
// is the erf form; approximate tanh is ACTIVATION_PARAM GELU_TANH (v1.5).
void lower_gelu(Lowerer& l, const Node& n) {
  const std::string approximate = n.get_string("approximate", "none");
  if (approximate == "tanh") {
    l.require_v15("ACTIVATION_PARAM GELU_TANH (approximate tanh; the v1.4 GELU is the erf form)");
    lower_param_activation(l, n, ParamActivation::gelu_tanh, 0.0F, 0.0F);
    return;
  }
  if (approximate != "none") {
    throw Unsupported(fmt::format("approximate {} (ONNX defines none and tanh)", approximate));
  }
  lower_activation(l, n, Activation::gelu);
}

// ACTIVATION_PARAM (v1.1): out = f(in) with two parameters.
void lower_param_activation(Lowerer& l, const Node& n, ParamActivation function, float alpha,
                            float beta) {
  const std::string& x = input(n, 0);
  param_function_into(l, n.label(), function, x, n.outputs.at(0), element_count(l.shape(x)), alpha,
                      beta);
}

// Clip whose min or max is computed at run time (a scalar tensor): ELTWISE
// max with min, then min with max, each bound read as a one-element b.
void lower_clip_computed(Lowerer& l, const Node& n) {
  std::vector<std::pair<EltwiseOp, std::string>> steps;
  for (const auto& [index, op] :
       {std::pair{std::size_t{1}, EltwiseOp::max}, std::pair{std::size_t{2}, EltwiseOp::min}}) {
    if (index < n.inputs.size() && !n.inputs[index].empty()) {
      if (element_count(l.shape(n.inputs[index])) != 1) {
        throw Unsupported(fmt::format("bound '{}' is not a scalar", n.inputs[index]));
      }
      steps.emplace_back(op, l.operand(n.inputs[index]));
    }
  }
  const std::string& x = input(n, 0);
  const std::int64_t count = element_count(l.shape(x));
  TensorRef source = l.ref(x);
  for (std::size_t i = 0; i < steps.size(); ++i) {
    TensorRef target = i + 1 == steps.size() ? l.ref(n.outputs.at(0)) : l.ref(l.scratch(count));
    l.eltwise(n.label(), steps[i].first, source, l.ref(steps[i].second), target, count, 1);
    source = target;
  }
}

void lower_clip(Lowerer& l, const Node& n) {
  if (is_integer(value_type(l, n.outputs.at(0)))) {
    clip_integers(l, n);
    return;
  }
  const auto computed = [&](std::size_t i) {
    return i < n.inputs.size() && !n.inputs[i].empty() && !l.graph().is_constant(n.inputs[i]);
  };
  if (computed(1) || computed(2)) {
    lower_clip_computed(l, n);
    return;
  }
  std::optional<float> low =
      n.has("min") ? std::optional(n.get_float("min", 0.0F)) : constant_scalar(l, n, 1);
  std::optional<float> high =
      n.has("max") ? std::optional(n.get_float("max", 0.0F)) : constant_scalar(l, n, 2);
  if (low && *low == 0.0F && !high) {
    lower_activation(l, n, Activation::relu);
    return;
  }
  if (low && high && *low > *high) {
    throw Unsupported(fmt::format("min {} above max {}", *low, *high));
  }
  if (l.has(isa::Opcode::activation_param)) {
    constexpr float kInfinity = std::numeric_limits<float>::infinity();
    lower_param_activation(l, n, ParamActivation::clip, low.value_or(-kInfinity),
                           high.value_or(kInfinity));
    return;
  }
  std::vector<std::pair<EltwiseOp, float>> steps;
  if (low && *low > std::numeric_limits<float>::lowest()) {
    steps.emplace_back(EltwiseOp::max, *low);
  }
  if (high && *high < std::numeric_limits<float>::max()) {
    steps.emplace_back(EltwiseOp::min, *high);
  }
  scalar_chain(l, n, input(n, 0), n.outputs.at(0), steps);
}

void lower_hard_sigmoid(Lowerer& l, const Node& n) {
  // max(0, min(1, alpha * x + beta)): one ACTIVATION_PARAM on v1.1, four
  // ELTWISEs on v1.
  const float alpha = n.get_float("alpha", 0.2F);
  const float beta = n.get_float("beta", 0.5F);
  if (l.has(isa::Opcode::activation_param)) {
    lower_param_activation(l, n, ParamActivation::hardsigmoid, alpha, beta);
    return;
  }
  scalar_chain(l, n, input(n, 0), n.outputs.at(0),
               {{EltwiseOp::mul, alpha},
                {EltwiseOp::add, beta},
                {EltwiseOp::max, 0.0F},
                {EltwiseOp::min, 1.0F}});
}

// ONNX HardSwish (opset 14), and x * Clip(x + 3, 0, 6) / 6 as fuse_hard_swish
// finds it: x * max(0, min(1, alpha * x + beta)).
void lower_hard_swish(Lowerer& l, const Node& n) {
  l.require(isa::Opcode::activation_param);
  lower_param_activation(l, n, ParamActivation::hardswish, n.get_float("alpha", 1.0F / 6),
                         n.get_float("beta", 0.5F));
}

// x^y per element: ELTWISE POW of a float base (lower_pow takes integer
// ones); integer exponents are taken as floats.
void lower_elementwise_pow(Lowerer& l, const Node& n) {
  const std::string& x = input(n, 0);
  const std::string& y = input(n, 1);
  l.require_v18("ELTWISE POW, for an exponent per element");
  const std::string exponent =
      is_integer(value_type(l, y)) ? integers_as_floats(l, n.label(), y) : y;
  float_binary(l, n.label(), EltwiseOp::pow, x, exponent, n.outputs.at(0));
}

void lower_pow(Lowerer& l, const Node& n);

// Pow of an integer base as onnxruntime computes it (in double, truncated
// to the base's type): the base as floats, the float Pow, ROUND (v1.5),
// CONVERT to INT32 (v1.7). Exact while |x^y| < 2^24 and the device's POW
// is within 1/2 of it; a result between integers (a negative exponent:
// |x^y| <= 1/2 unless |x| is 1) rounds to 0, as truncation does.
void lower_integer_pow(Lowerer& l, const Node& n) {
  l.require_v15("ACTIVATION_PARAM ROUND, for a Pow of integers");
  l.require_v17("CONVERT to INT32, for a Pow of integers");
  const std::string& out = n.outputs.at(0);
  const Shape& so = l.shape(out);
  const std::int64_t count = element_count(so);
  Node of_floats = n;
  of_floats.inputs[0] = integers_as_floats(l, n.label(), input(n, 0));
  of_floats.outputs[0] = l.scratch_shaped(so);
  lower_pow(l, of_floats);
  const std::string rounded = l.scratch_shaped(so);
  param_function_into(l, n.label(), ParamActivation::round, of_floats.outputs[0], rounded, count,
                      0.0F, 0.0F);
  integer_result(l, n.label(), out, [&](TensorRef result) {
    l.convert(n.label(), {.from = l.dtype(), .to = DataType::int32, .count = count}, l.ref(rounded),
              std::move(result));
  });
}

// Pow: a constant scalar exponent is a product, nothing, or one
// ACTIVATION_PARAM POW; any other exponent (per element, constant or
// computed, broadcasting as NumPy does) one ELTWISE POW (v1.8); an integer
// base as floats, the result rounded to its type.
void lower_pow(Lowerer& l, const Node& n) {
  const std::string& x = input(n, 0);
  const std::string& y = input(n, 1);
  if (is_integer(value_type(l, x))) {
    lower_integer_pow(l, n);
    return;
  }
  if (!l.graph().is_constant(y) || element_count(l.shape(y)) != 1) {
    lower_elementwise_pow(l, n);
    return;
  }
  const std::optional<float> exponent = constant_scalar(l, n, 1);
  if (*exponent == 2.0F) {
    const std::int64_t count = element_count(l.shape(x));
    l.eltwise(n.label(), EltwiseOp::mul, l.ref(x), l.ref(x), l.ref(n.outputs.at(0)), count, count);
    return;
  }
  if (*exponent == 1.0F) {
    l.alias(n.outputs.at(0), x, n.label());
    return;
  }
  l.require(isa::Opcode::activation_param);
  lower_param_activation(l, n, ParamActivation::pow, 1.0F, *exponent);
}

// 1/x: ACTIVATION_PARAM POW with alpha 1, beta -1 (v1.1).
void lower_reciprocal(Lowerer& l, const Node& n) {
  l.require(isa::Opcode::activation_param);
  lower_param_activation(l, n, ParamActivation::pow, 1.0F, -1.0F);
}

void lower_sqrt(Lowerer& l, const Node& n) {
  l.require(isa::Opcode::activation_param);
  lower_param_activation(l, n, ParamActivation::sqrt, 0.0F, 0.0F);
}
void lower_exp(Lowerer& l, const Node& n) {
  l.require(isa::Opcode::activation_param);
  lower_param_activation(l, n, ParamActivation::exp, 0.0F, 0.0F);
}
// The v1.5 functions without parameters (hw-spec 7.4.5).
void lower_v15_function(Lowerer& l, const Node& n, ParamActivation function,
                        std::string_view name) {
  l.require_v15(fmt::format("ACTIVATION_PARAM {}", name));
  lower_param_activation(l, n, function, 0.0F, 0.0F);
}
void lower_log(Lowerer& l, const Node& n) {
  lower_v15_function(l, n, ParamActivation::log, "LOG");
}
void lower_softplus(Lowerer& l, const Node& n) {
  lower_v15_function(l, n, ParamActivation::softplus, "SOFTPLUS");
}
// ONNX Mish (opset 18), and x * Tanh(Softplus(x)) as fuse_mish finds it.
void lower_mish(Lowerer& l, const Node& n) {
  lower_v15_function(l, n, ParamActivation::mish, "MISH");
}
// ONNX Round: to nearest, ties to even, as ROUND.
void lower_round(Lowerer& l, const Node& n) {
  lower_v15_function(l, n, ParamActivation::round, "ROUND");
}
// Sin and Cos computed per inference (rotary position embeddings of
// positions derived from the input): v1.6's functions (hw-spec 7.4.6).
void lower_sin(Lowerer& l, const Node& n) {
  l.require_v16("ACTIVATION_PARAM SIN");
  lower_param_activation(l, n, ParamActivation::sin, 0.0F, 0.0F);
}
void lower_cos(Lowerer& l, const Node& n) {
  l.require_v16("ACTIVATION_PARAM COS");
  lower_param_activation(l, n, ParamActivation::cos, 0.0F, 0.0F);
}
// ONNX's other elementwise math of computed values (Tan, the inverse and
// hyperbolic functions, and Erf outside GELU's form, which fusion.cpp
// takes first): v1.8's functions (hw-spec 7.4.8), one ACTIVATION_PARAM.
void lower_v18_function(Lowerer& l, const Node& n) {
  static const std::map<std::string, std::pair<ParamActivation, std::string_view>, std::less<>>
      kFunctions{{"Tan", {ParamActivation::tan, "TAN"}},
                 {"Asin", {ParamActivation::asin, "ASIN"}},
                 {"Acos", {ParamActivation::acos, "ACOS"}},
                 {"Atan", {ParamActivation::atan, "ATAN"}},
                 {"Sinh", {ParamActivation::sinh, "SINH"}},
                 {"Cosh", {ParamActivation::cosh, "COSH"}},
                 {"Asinh", {ParamActivation::asinh, "ASINH"}},
                 {"Acosh", {ParamActivation::acosh, "ACOSH"}},
                 {"Atanh", {ParamActivation::atanh, "ATANH"}},
                 {"Erf", {ParamActivation::erf, "ERF"}}};
  const auto& [function, name] = kFunctions.at(n.op);
  l.require_v18(fmt::format("ACTIVATION_PARAM {}", name));
  lower_param_activation(l, n, function, 0.0F, 0.0F);
}
// x / (1 + |x|): ACTIVATION_PARAM ABS, ELTWISE add 1, ELTWISE div.
void lower_softsign(Lowerer& l, const Node& n) {
  l.require_v15("ACTIVATION_PARAM ABS");
  const std::string& x = input(n, 0);
  const std::int64_t count = element_count(l.shape(x));
  const std::string magnitude = l.scratch(count);
  const std::string denominator = l.scratch(count);
  const std::uint32_t count32 = u32(count, "element count");
  l.emit(n.label(), {l.ref(x)}, {l.ref(magnitude)},
         [count32, dt = l.dtype()](KernelBuilder& k, std::span<const BufferArg> s) {
           k.activation_param(dt, ParamActivation::abs, s[0], s[1], count32, 0.0F, 0.0F);
         });
  l.eltwise(n.label(), EltwiseOp::add, l.ref(magnitude), l.ref(l.scalar(1.0F)), l.ref(denominator),
            count, 1);
  l.eltwise(n.label(), EltwiseOp::div, l.ref(x), l.ref(denominator), l.ref(n.outputs.at(0)), count,
            count);
}

void lower_leaky_relu(Lowerer& l, const Node& n) {
  l.require(isa::Opcode::activation_param);
  lower_param_activation(l, n, ParamActivation::leaky_relu, n.get_float("alpha", 0.01F), 0.0F);
}

// The exponential linear units: scale * (max(x, 0) + alpha * (e^(min(x, 0)
// / width) - 1)); Elu (width 1, scale 1), Celu (width alpha), Selu (width
// 1, scale gamma). ELTWISE min, (mul by 1 / width,) ACTIVATION_PARAM EXP
// (v1.1), ELTWISE add -1, mul by alpha * scale, max, (mul by scale,) add:
// 6 to 8 instructions.
void lower_exponential_linear(Lowerer& l, const Node& n, float alpha, float width, float scale) {
  l.require(isa::Opcode::activation_param);
  const std::string& x = input(n, 0);
  const std::int64_t count = element_count(l.shape(x));
  const auto with_scalar = [&](EltwiseOp op, const std::string& a, float b) {
    const std::string out = l.scratch(count);
    l.eltwise(n.label(), op, l.ref(a), l.ref(l.scalar(b)), l.ref(out), count, 1);
    return out;
  };
  std::string negative = with_scalar(EltwiseOp::min, x, 0.0F);
  if (width != 1.0F) {
    negative = with_scalar(EltwiseOp::mul, negative, 1.0F / width);
  }
  const std::string exponential = l.scratch(count);
  param_function_into(l, n.label(), ParamActivation::exp, negative, exponential, count, 0.0F, 0.0F);
  const std::string below =
      with_scalar(EltwiseOp::mul, with_scalar(EltwiseOp::add, exponential, -1.0F), alpha * scale);
  std::string above = with_scalar(EltwiseOp::max, x, 0.0F);
  if (scale != 1.0F) {
    above = with_scalar(EltwiseOp::mul, above, scale);
  }
  l.eltwise(n.label(), EltwiseOp::add, l.ref(above), l.ref(below), l.ref(n.outputs.at(0)), count,
            count);
}
void lower_elu(Lowerer& l, const Node& n) {
  lower_exponential_linear(l, n, n.get_float("alpha", 1.0F), 1.0F, 1.0F);
}
void lower_celu(Lowerer& l, const Node& n) {
  const float alpha = n.get_float("alpha", 1.0F);
  if (alpha == 0.0F) {
    throw Unsupported("alpha 0");
  }
  lower_exponential_linear(l, n, alpha, alpha, 1.0F);
}
void lower_selu(Lowerer& l, const Node& n) {
  lower_exponential_linear(l, n, n.get_float("alpha", 1.67326319217681884765625F), 1.0F,
                           n.get_float("gamma", 1.05070102214813232421875F));
}

// PRelu: x >= 0 ? x : slope * x, the slope broadcast to x (per channel as
// exporters write it). One slope: one ACTIVATION_PARAM LEAKY_RELU. Otherwise
// max(x, 0) + slope * min(x, 0), exact (one of the two terms is 0): four
// ELTWISEs, the product broadcast as Mul's.
void lower_prelu(Lowerer& l, const Node& n) {
  const std::string& x = input(n, 0);
  const std::string& slope = input(n, 1);
  const std::string& out = n.outputs.at(0);
  const Shape& shape = l.shape(out);
  if (l.shape(x) != shape) {
    throw Unsupported(fmt::format("the slope {} broadcasts x {}", to_string(l.shape(slope)),
                                  to_string(l.shape(x))));
  }
  if (l.graph().is_constant(slope) && element_count(l.shape(slope)) == 1 &&
      l.has(isa::Opcode::activation_param)) {
    lower_param_activation(l, n, ParamActivation::leaky_relu, *constant_scalar(l, n, 1), 0.0F);
    return;
  }
  const std::int64_t count = element_count(shape);
  const std::string positive = l.scratch(count);
  const std::string negative = l.scratch_shaped(shape);
  const std::string scaled = l.scratch_shaped(shape);
  const std::string zero = l.scalar(0.0F);
  l.eltwise(n.label(), EltwiseOp::max, l.ref(x), l.ref(zero), l.ref(positive), count, 1);
  l.eltwise(n.label(), EltwiseOp::min, l.ref(x), l.ref(zero), l.ref(negative), count, 1);
  broadcast_binary(l, n.label(), EltwiseOp::mul, negative, slope, scaled);
  l.eltwise(n.label(), EltwiseOp::add, l.ref(positive), l.ref(scaled), l.ref(out), count, count);
}

void lower_alias(Lowerer& l, const Node& n) {
  l.alias(n.outputs.at(0), input(n, 0), n.label());
}

// An If left after import (onnx_import.cpp splices in the branch of one
// whose condition folds to a constant): its condition is computed at run
// time, and a device program has no branches.
void lower_if(Lowerer& /*l*/, const Node& n) {
  throw Unsupported(
      fmt::format("its condition '{}' is known only at run time; an If whose "
                  "condition folds to a constant (a test of a static shape) runs "
                  "the branch it takes",
                  n.inputs.at(0)));
}

// One DMA_FILL writing `value` into the first `count` elements of `out`, a
// tensor in the program's dtype.
void fill_tensor(Lowerer& l, const std::string& origin, const std::string& out, std::int64_t count,
                 float value) {
  const std::vector<std::byte> bytes = encode_constant_elements(std::span(&value, 1), l.dtype());
  std::uint32_t pattern = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    pattern |= std::to_integer<std::uint32_t>(bytes[i % bytes.size()]) << (8 * i);
  }
  const std::uint32_t size = u32(count * l.esize(), "fill size");
  l.emit(origin, {}, {l.ref(out)}, [size, pattern](KernelBuilder& k, std::span<const BufferArg> s) {
    k.dma_fill(s[0], size, pattern);
  });
}

// Dropout at inference: y is x and the optional mask is all true (nothing is
// dropped). training_mode true drops at random unless the ratio is 0:
// refused.
void lower_dropout(Lowerer& l, const Node& n) {
  if (n.inputs.size() > 2 && !n.inputs[2].empty()) {
    const std::string& training = n.inputs[2];
    if (!l.graph().is_constant(training)) {
      throw Unsupported(fmt::format("training_mode '{}' computed at run time", training));
    }
    if (l.graph().constants.at(training).value(0) != 0.0) {
      const float ratio = constant_scalar(l, n, 1).value_or(0.5F);
      if (ratio != 0.0F) {
        throw Unsupported(fmt::format("training_mode true with ratio {} (a random mask)", ratio));
      }
    }
  }
  lower_alias(l, n);
  if (n.outputs.size() < 2 || n.outputs[1].empty()) {
    return;
  }
  const std::string& mask = n.outputs[1];
  if (value_type(l, mask) != ElementType::boolean) {  // opsets 7-9: the mask in x's type
    fill_tensor(l, n.label(), mask, element_count(l.shape(mask)), 1.0F);
    return;
  }
  const std::uint32_t bytes = u32(element_count(l.shape(mask)), "mask size");
  l.emit(n.label(), {}, {l.ref(mask)}, [bytes](KernelBuilder& k, std::span<const BufferArg> s) {
    k.dma_fill(s[0], bytes, 0x01010101U);
  });
}

// The same copy with axes of size 1 dropped and each axis merged into the
// one inside it where both strides continue it.
std::vector<CopyAxis> simplify(const std::vector<CopyAxis>& axes) {
  std::vector<CopyAxis> merged;
  for (const CopyAxis& axis : axes) {
    if (axis.size == 1) {
      continue;
    }
    if (!merged.empty() && merged.back().src_stride == axis.size * axis.src_stride &&
        merged.back().dst_stride == axis.size * axis.dst_stride) {
      merged.back() = {merged.back().size * axis.size, axis.src_stride, axis.dst_stride};
      continue;
    }
    merged.push_back(axis);
  }
  return merged;
}

// The axes of a copy that broadcasts a tensor of shape `sx` to `so`
// (NumPy rules): every broadcast axis read with stride 0.
std::vector<CopyAxis> broadcast_axes(Shape sx, const Shape& so) {
  if (sx.size() > so.size()) {
    throw Unsupported(
        fmt::format("shape {} broadcast to the lower rank of {}", to_string(sx), to_string(so)));
  }
  sx.insert(sx.begin(), so.size() - sx.size(), 1);
  const std::vector<std::int64_t> in_strides = strides_of(sx);
  const std::vector<std::int64_t> out_strides = strides_of(so);
  std::vector<CopyAxis> axes;
  for (std::size_t d = 0; d < so.size(); ++d) {
    axes.push_back({so[d], sx[d] == 1 ? 0 : in_strides[d], out_strides[d]});
  }
  return axes;
}

// What a copy along `axes` stages, in elements (hw-spec 7.4.1): the
// largest of its source span, its destination span and the elements it
// moves.
double staged_elements(const std::vector<CopyAxis>& axes) {
  double src = 1, dst = 1, moved = 1;
  for (const CopyAxis& a : axes) {
    const auto more = static_cast<double>(a.size - 1);
    src += more * std::abs(static_cast<double>(a.src_stride));
    dst += more * std::abs(static_cast<double>(a.dst_stride));
    moved *= static_cast<double>(a.size);
  }
  return std::max({src, dst, moved});
}

TensorRef shifted(TensorRef ref, std::int64_t bytes) {
  ref.offset = static_cast<std::uint64_t>(static_cast<std::int64_t>(ref.offset) + bytes);
  return ref;
}

// One COPY_STRIDED of at most four `axes`.
void emit_copy_strided(Lowerer& l, const std::string& origin, TensorRef dst, TensorRef src,
                       std::vector<CopyAxis> axes, DataType dtype) {
  if (axes.size() > 4) {
    throw Unsupported(
        fmt::format("a copy of {} strided dimensions (COPY_STRIDED has 4)", axes.size()));
  }
  axes.insert(axes.begin(), 4 - axes.size(), CopyAxis{1, 0, 0});
  CopyStridedOperands o{.dst = {}, .src = {}};
  for (std::size_t d = 0; d < 4; ++d) {
    o.sizes[d] = u32(axes[d].size, "copy size");
    o.src_strides[d] = stride32(axes[d].src_stride);
    o.dst_strides[d] = stride32(axes[d].dst_stride);
  }
  l.emit(origin, {std::move(src)}, {std::move(dst)},
         [o, dtype](KernelBuilder& k, std::span<const BufferArg> s) mutable {
           o.src = s[0];
           o.dst = s[1];
           k.copy_strided(dtype, o);
         });
}

// The copy as COPY_STRIDEDs of at most four axes that each stage at most
// the device's 64 MiB operand: a copy of more axes is one copy per index of
// its shortest axis (a Tile of a 4-D tensor moves eight); where a copy
// stages more, the axis that spans the most is halved and each half copied
// so (`budget`: the instructions left to it).
void copy_in_pieces(Lowerer& l, const std::string& origin, const TensorRef& dst,
                    const TensorRef& src, const std::vector<CopyAxis>& axes, DataType dtype,
                    std::int64_t& budget) {
  const auto esize = static_cast<std::int64_t>(isa::element_size(dtype));
  if (axes.size() > 4) {
    const auto shortest = std::ranges::min_element(axes, {}, &CopyAxis::size);
    if (shortest->size > budget) {
      throw Unsupported(fmt::format("a copy of {} strided dimensions needs more than {} pieces",
                                    axes.size(), kMaxSplits));
    }
    std::vector<CopyAxis> rest = axes;
    rest.erase(rest.begin() + (shortest - axes.begin()));
    rest = simplify(rest);
    for (std::int64_t i = 0; i < shortest->size; ++i) {
      copy_in_pieces(l, origin, shifted(dst, i * shortest->dst_stride * esize),
                     shifted(src, i * shortest->src_stride * esize), rest, dtype, budget);
    }
    return;
  }
  if (staged_elements(axes) <= static_cast<double>(kMaxOperandBytes / esize)) {
    if (--budget < 0) {
      throw Unsupported(
          fmt::format("a copy of more than {} pieces of the device's 64 MiB operand", kMaxSplits));
    }
    emit_copy_strided(l, origin, dst, src, axes, dtype);
    return;
  }
  const auto reach = [](const CopyAxis& a) {
    return static_cast<double>(a.size - 1) *
           std::max(std::abs(static_cast<double>(a.src_stride)),
                    std::max(std::abs(static_cast<double>(a.dst_stride)), 1.0));
  };
  const auto widest = std::ranges::max_element(
      axes, [&reach](const CopyAxis& a, const CopyAxis& b) { return reach(a) < reach(b); });
  const auto d = static_cast<std::size_t>(widest - axes.begin());
  std::vector<CopyAxis> half = axes;
  half[d].size = axes[d].size / 2;
  copy_in_pieces(l, origin, dst, src, half, dtype, budget);
  half[d].size = axes[d].size - half[d].size;
  copy_in_pieces(l, origin, shifted(dst, axes[d].size / 2 * axes[d].dst_stride * esize),
                 shifted(src, axes[d].size / 2 * axes[d].src_stride * esize), half, dtype, budget);
}

}  // namespace

// COPY_STRIDED (v1.1) moving `axes` (outermost first) from src to dst,
// elements of `dtype` (by default the program's): one instruction, or one
// per piece of the copy that the device's 64 MiB operand holds.
void strided_copy(Lowerer& l, const std::string& origin, TensorRef dst, TensorRef src,
                  const std::vector<CopyAxis>& axes, std::optional<DataType> dtype) {
  std::int64_t budget = kMaxSplits;
  copy_in_pieces(l, origin, dst, src, simplify(axes), dtype.value_or(l.dtype()), budget);
}

// Input `index` as integers: empty if omitted; Unsupported unless constant.
std::vector<std::int64_t> constant_ints(Lowerer& l, const Node& node, std::size_t index) {
  if (index >= node.inputs.size() || node.inputs[index].empty()) {
    return {};
  }
  if (!l.graph().is_constant(node.inputs[index])) {
    throw Unsupported(fmt::format("input {} must be a constant", index));
  }
  return l.graph().constants.at(node.inputs[index]).integers();
}

std::vector<std::int64_t> strides_of(const Shape& shape) {
  std::vector<std::int64_t> strides(shape.size(), 1);
  for (std::size_t d = shape.size(); d-- > 1;) {
    strides[d - 1] = strides[d] * shape[d];
  }
  return strides;
}

// Unsupported unless `count` rows (of `groups` groups of `per_group`)
// fit a constant INT32 index table of at most 64 MiB, which the host
// builds (the GATHERs read it in ranges): checked before it is built.
void check_gathered_rows(std::int64_t groups, std::int64_t per_group) {
  constexpr std::int64_t kMaxRows = kMaxOperandBytes / 4;
  if (per_group > 0 && groups > kMaxRows / per_group) {
    throw Unsupported(fmt::format("{} x {} rows selected; a GATHER's index table holds at most {}",
                                  groups, per_group, kMaxRows));
  }
}

// A GATHER's operands: `count` rows of `row_elems` elements chosen from
// `table` by `indices`; elements of the program's dtype unless `dtype`.
struct GatheredRows {
  TensorRef table;
  std::int64_t rows, row_elems;
  TensorRef indices;
  IndexType index_type;
  std::int64_t count;
  TensorRef out;
  std::optional<DataType> dtype = std::nullopt;
};
std::string integers_as_floats(Lowerer& l, const std::string& origin, const std::string& value) {
  const Shape& shape = l.shape(value);
  if (l.graph().is_constant(value)) {
    std::vector<float> floats;
    for (const std::int64_t v : l.graph().constants.at(value).integers()) {
      floats.push_back(static_cast<float>(v));
    }
    return l.view(l.new_constant(shape, std::move(floats)), shape);
  }
  const std::string floats = l.scratch_shaped(shape);
  l.convert(origin, {.from = DataType::int32, .to = l.dtype(), .count = element_count(shape)},
            l.int32_view(value, origin), l.ref(floats));
  return floats;
}

// One GATHER (v1.3) per range of the indices whose output rows and
// indices fit the device's operand (the table is not staged: hw-spec
// 7.4.3).
void gather_in_ranges(Lowerer& l, const std::string& origin, const GatheredRows& g) {
  l.require(isa::Opcode::gather);
  const std::int64_t index_bytes = g.index_type == IndexType::int64 ? 8 : 4;
  const DataType dtype = g.dtype.value_or(l.dtype());
  const std::int64_t row_bytes = g.row_elems * static_cast<std::int64_t>(isa::element_size(dtype));
  const std::uint32_t table = u32(g.rows, "table rows");
  const std::uint32_t elems = u32(g.row_elems, "row length");
  for (const ElementRange& r : l.operand_ranges(g.count, 1, std::max(row_bytes, index_bytes))) {
    const std::uint32_t count = u32(r.count, "index count");
    l.emit(origin, {g.table, shifted(g.indices, r.first * index_bytes)},
           {shifted(g.out, r.first * row_bytes)},
           [=, type = g.index_type](KernelBuilder& k, std::span<const BufferArg> s) {
             k.gather(dtype, {.table = s[0],
                              .indices = s[1],
                              .output = s[2],
                              .rows = table,
                              .row_elems = elems,
                              .count = count,
                              .index_type = type});
           });
  }
}

namespace {

// Unsupported unless a GATHER table of `rows` rows is addressable by INT32
// indices.
void check_table_rows(std::int64_t rows) {
  if (rows > std::numeric_limits<std::int32_t>::max()) {
    throw Unsupported(fmt::format("{} rows of a GATHER table (INT32 indices)", rows));
  }
}

}  // namespace

// out = rows `rows` of x viewed as rows of `row_elems` elements, in that
// order: one GATHER (v1.3) reading a constant int32 index table. Any
// selection of x's elements known when compiling (negative steps,
// irregular indices, GatherElements and GatherND of constant indices) is
// one instruction.
void gather_rows(Lowerer& l, const std::string& origin, const std::string& x,
                 const std::string& out, std::int64_t row_elems, std::vector<std::int64_t> rows) {
  l.require(isa::Opcode::gather);
  const std::int64_t table_rows = element_count(l.shape(x)) / row_elems;
  check_table_rows(table_rows);
  const auto count = static_cast<std::int64_t>(rows.size());
  const std::string indices = l.new_index_constant(std::move(rows));
  gather_in_ranges(l, origin,
                   {.table = l.ref(x),
                    .rows = table_rows,
                    .row_elems = row_elems,
                    .indices = l.ref(indices),
                    .index_type = IndexType::int32,
                    .count = count,
                    .out = l.ref(out)});
}

std::size_t elements_axis(const Node& n, const Shape& sx, const Shape& si) {
  const auto rank = static_cast<std::int64_t>(sx.size());
  std::int64_t axis = n.get_int("axis", 0);
  axis += axis < 0 ? rank : 0;
  if (axis < 0 || axis >= rank || si.size() != sx.size()) {
    throw Unsupported(fmt::format("axis {} of a rank-{} input, indices of rank {}",
                                  n.get_int("axis", 0), rank, si.size()));
  }
  return static_cast<std::size_t>(axis);
}

// Constant indices of `n` (input 1), each checked against `bound` and
// made non-negative; Unsupported for indices computed at run time.
std::vector<std::int64_t> constant_indices(Lowerer& l, const Node& n, std::int64_t bound) {
  if (!l.graph().is_constant(input(n, 1))) {
    throw Unsupported(
        fmt::format("indices '{}' are computed at run time; only constant indices", input(n, 1)));
  }
  std::vector<std::int64_t> indices = constant_ints(l, n, 1);
  for (std::int64_t& index : indices) {
    index += index < 0 ? bound : 0;
    if (index < 0 || index >= bound) {
      throw Unsupported(fmt::format("index {} out of range for {}", index, bound));
    }
  }
  return indices;
}

namespace {

// `out` (shape `so`) = `x` (shape `sx`) with `begin` and `end` elements
// added (negative: removed) on each axis, the added ones `value`: one
// DMA_FILL of `out` with the value's bit pattern in the program's dtype
// (when anything is added) and one COPY_STRIDED of the kept part (v1.1).
void pad_into(Lowerer& l, const std::string& origin, const std::string& x, const Shape& sx,
              const std::string& out, const Shape& so, const std::vector<std::int64_t>& begin,
              const std::vector<std::int64_t>& end, float value) {
  l.require(isa::Opcode::copy_strided);
  const std::size_t rank = sx.size();
  // The part of x that is kept, where it starts in x and in the output.
  const std::vector<std::int64_t> in_strides = strides_of(sx), out_strides = strides_of(so);
  std::vector<CopyAxis> kept;
  std::int64_t from = 0, to = 0;
  bool fill = false;
  for (std::size_t d = 0; d < rank; ++d) {
    fill = fill || begin[d] > 0 || end[d] > 0;
    const std::int64_t size =
        sx[d] - std::max<std::int64_t>(0, -begin[d]) - std::max<std::int64_t>(0, -end[d]);
    kept.push_back({std::max<std::int64_t>(size, 0), in_strides[d], out_strides[d]});
    from += std::max<std::int64_t>(0, -begin[d]) * in_strides[d];
    to += std::max<std::int64_t>(0, begin[d]) * out_strides[d];
  }
  if (fill) {
    fill_tensor(l, origin, out, element_count(so), value);
  }
  if (std::ranges::all_of(kept, [](const CopyAxis& axis) { return axis.size > 0; })) {
    strided_copy(l, origin, l.ref(out, static_cast<std::uint64_t>(to * l.esize())),
                 l.ref(x, static_cast<std::uint64_t>(from * l.esize())), kept);
  }
}

// What Conv and ConvTranspose share: a 2-D NCHW input, weights (constant,
// or computed in the graph: the instruction reads ONNX's layout), the
// instruction's symmetric padding (`pads`, H and W, as the caller derived
// it), strides, dilations and groups as ISA operands, an optional bias, the
// fused activation, and the tensors the instruction reads (input,
// weights[, bias]).
struct ConvWindow {
  std::uint32_t n, c, h, w, r, s;
  std::uint32_t stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w, groups;
  std::int64_t weight_dim0, weight_dim1;  // the weights' first two dimensions
  bool bias;
  Activation activation;
  std::vector<TensorRef> reads;
};

// A convolution's input and weights, checked: NCHW (1-D ones arrive here
// lifted to a height of 1: lift_1d_windows).
void check_conv_operands(Lowerer& l, const Node& n) {
  if (l.shape(input(n, 0)).size() != 4 || l.shape(input(n, 1)).size() != 4 ||
      l.shape(n.outputs.at(0)).size() != 4) {
    throw Unsupported("only 1-D and 2-D convolutions (NCL, NCHW)");
  }
}

// strides or dilations: two values, 1 each if absent.
std::vector<std::int64_t> two_values(const Node& n, const std::string& attribute) {
  const std::vector<std::int64_t> values = n.get_ints(attribute, {1, 1});
  if (values.size() != 2) {
    throw Unsupported(fmt::format("{} must have two values", attribute));
  }
  return values;
}

// `x` of shape `sx`: the node's input, or Conv's explicitly padded copy.
// The window of a convolution of `x` (NCHW `sx`) by node n's weights
// read as `sw` (K x C/groups x R x S) with these strides, pads and
// dilations; n's bias, groups and fused activation.
struct WindowGeometry {
  Shape sx, sw;
  std::array<std::int64_t, 2> strides, pads, dilations;
};
ConvWindow window_of(Lowerer& l, const Node& n, const std::string& x, const WindowGeometry& g) {
  const bool bias = n.inputs.size() > 2 && !n.inputs[2].empty();
  ConvWindow window{.n = u32(g.sx[0], "N"),
                    .c = u32(g.sx[1], "C"),
                    .h = u32(g.sx[2], "H"),
                    .w = u32(g.sx[3], "W"),
                    .r = u32(g.sw[2], "R"),
                    .s = u32(g.sw[3], "S"),
                    .stride_h = u32(g.strides[0], "stride"),
                    .stride_w = u32(g.strides[1], "stride"),
                    .pad_h = stride32(g.pads[0]),
                    .pad_w = stride32(g.pads[1]),
                    .dilation_h = u32(g.dilations[0], "dilation"),
                    .dilation_w = u32(g.dilations[1], "dilation"),
                    .groups = u32(n.get_int("group", 1), "groups"),
                    .weight_dim0 = g.sw[0],
                    .weight_dim1 = g.sw[1],
                    .bias = bias,
                    .activation = activation_of(n),
                    .reads = {l.ref(x), l.ref(l.operand(input(n, 1)))}};
  if (bias) {
    window.reads.push_back(l.ref(l.operand(n.inputs[2])));
  }
  return window;
}

ConvWindow conv_window(Lowerer& l, const Node& n, std::array<std::int64_t, 2> pads,
                       const std::string& x, const Shape& sx) {
  check_conv_operands(l, n);
  const auto strides = two_values(n, "strides");
  const auto dilations = two_values(n, "dilations");
  return window_of(l, n, x,
                   {.sx = sx,
                    .sw = l.shape(input(n, 1)),
                    .strides = {strides[0], strides[1]},
                    .pads = pads,
                    .dilations = {dilations[0], dilations[1]}});
}

// The operands CONV2D and CONV_TRANSPOSE share, of a convolution whose
// tensors are in `s`: input, weights[, bias][, per-channel scales], output.
template <typename Operands>
Operands conv_window_operands(const ConvWindow& cw, std::uint32_t k, std::span<const BufferArg> s) {
  // Both structs name these members alike and in the same order.
  return Operands{.input = s[0],
                  .weight = s[1],
                  .output = s.back(),
                  .bias = cw.bias ? std::optional(s[2]) : std::nullopt,
                  .n = cw.n,
                  .c = cw.c,
                  .h = cw.h,
                  .w = cw.w,
                  .k = k,
                  .r = cw.r,
                  .s = cw.s,
                  .stride_h = cw.stride_h,
                  .stride_w = cw.stride_w,
                  .pad_h = cw.pad_h,
                  .pad_w = cw.pad_w,
                  .dilation_h = cw.dilation_h,
                  .dilation_w = cw.dilation_w,
                  .groups = cw.groups,
                  .activation = cw.activation};
}

Conv2dOperands conv2d_operands(const ConvWindow& cw, std::uint32_t k,
                               std::span<const BufferArg> s) {
  return conv_window_operands<Conv2dOperands>(cw, k, s);
}

// The FP32 value of INT32 accumulators biased by kRoundingBiasBits (the
// INT8 path's float_output nodes): an FP32 subtraction of 1.5 * 2^23 leaves
// each accumulator exactly; returns the scratch tensor that holds them.
std::string unbias_accumulators(Lowerer& l, const Node& n, const std::string& accumulators,
                                std::int64_t count) {
  const std::string exact = l.scratch(count);
  l.eltwise(n.label(), EltwiseOp::sub, l.ref(accumulators), l.ref(l.scalar(kRoundingBias)),
            l.ref(exact), count, 1);
  return exact;
}

FloatOutput float_output_of(const Node& n) {
  return static_cast<FloatOutput>(n.get_int("float_output", 0));
}

// The FP32 output of a float_output INT8 product from its INT32
// accumulators (count elements, `channels` blocks of `inner` elements, one
// scale each): with CONVERT, one instruction; returns false when the
// accumulators carry the rounding bias instead (the v1.1 sequence's).
bool convert_accumulators(Lowerer& l, const Node& n, const std::string& accumulators,
                          const std::string& scales, std::int64_t channels, std::int64_t inner) {
  if (float_output_of(n) != FloatOutput::convert) {
    return false;
  }
  const std::string& out = n.outputs.at(0);
  l.convert(n.label(),
            {.from = DataType::int32,
             .to = DataType::fp32,
             .count = element_count(l.shape(out)),
             .channel_scales = l.ref(scales),
             .channels = channels,
             .inner = inner},
            l.ref(accumulators), l.ref(out));
  return true;
}

// A float_output INT8 CONV2D: its accumulators (OUT_INT32), scaled per
// output channel in FP32 by CONVERT (the activation, RELU, applied exactly
// to the accumulators) or, with the rounding bias, converted exactly and
// scaled by a depthwise 1x1 FP32 CONV2D with the activation.
void lower_conv2d_float_output(Lowerer& l, const Node& n, ConvWindow cw, std::uint32_t K,
                               const std::string& scales) {
  const std::string& out = n.outputs.at(0);
  const Shape& so = l.shape(out);
  const std::int64_t count = element_count(so);
  const std::string accumulators = l.scratch_bytes(count * 4);
  const Activation fused =
      float_output_of(n) == FloatOutput::convert ? cw.activation : Activation::none;
  l.emit(n.label(), std::move(cw.reads), {l.ref(accumulators)},
         [cw, K, fused](KernelBuilder& k, std::span<const BufferArg> s) {
           Conv2dOperands o = conv2d_operands(cw, K, s);
           o.activation = fused;
           o.int32_output = true;
           k.conv2d(DataType::int8, o);
         });
  if (convert_accumulators(l, n, accumulators, scales, K, so[2] * so[3])) {
    return;
  }
  const std::string exact = unbias_accumulators(l, n, accumulators, count);
  ConvWindow scale{.n = cw.n,
                   .c = K,
                   .h = u32(so[2], "P"),
                   .w = u32(so[3], "Q"),
                   .r = 1,
                   .s = 1,
                   .stride_h = 1,
                   .stride_w = 1,
                   .pad_h = 0,
                   .pad_w = 0,
                   .dilation_h = 1,
                   .dilation_w = 1,
                   .groups = K,
                   .weight_dim0 = K,
                   .weight_dim1 = 1,
                   .bias = false,
                   .activation = cw.activation,
                   .reads = {}};
  l.emit(n.label(), {l.ref(exact), l.ref(scales)}, {l.ref(out)},
         [scale, K](KernelBuilder& k, std::span<const BufferArg> s) {
           k.conv2d(DataType::fp32, conv2d_operands(scale, K, s));
         });
}

// The padding of each side of each spatial axis of a window over x (Conv,
// pooling): `pads`, none (VALID), or SAME_UPPER/SAME_LOWER (output
// ceil(in / stride), an odd total's extra at the end or at the start).
// `extent`: the window's extent on each axis, (kernel - 1) * dilation + 1.
struct WindowPads {
  std::vector<std::int64_t> begin, end;
};
WindowPads window_pads(const Node& n, const Shape& sx, const std::vector<std::int64_t>& extent,
                       const std::vector<std::int64_t>& strides) {
  const std::size_t rank = extent.size();
  const std::string auto_pad = n.get_string("auto_pad", "NOTSET");
  if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
    WindowPads p{std::vector<std::int64_t>(rank), std::vector<std::int64_t>(rank)};
    for (std::size_t d = 0; d < rank; ++d) {
      const std::int64_t out = (sx[2 + d] + strides[d] - 1) / strides[d];
      const std::int64_t total =
          std::max<std::int64_t>(0, (out - 1) * strides[d] + extent[d] - sx[2 + d]);
      p.begin[d] = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      p.end[d] = total - p.begin[d];
    }
    return p;
  }
  if (auto_pad != "NOTSET" && auto_pad != "VALID") {
    throw Unsupported(fmt::format("auto_pad {}", auto_pad));
  }
  const auto pads = auto_pad == "VALID"
                        ? std::vector<std::int64_t>(2 * rank, 0)
                        : n.get_ints("pads", std::vector<std::int64_t>(2 * rank, 0));
  if (pads.size() != 2 * rank || std::ranges::any_of(pads, [](std::int64_t v) { return v < 0; })) {
    throw Unsupported(fmt::format("pads must be {} values, none negative", 2 * rank));
  }
  const auto half = static_cast<std::ptrdiff_t>(rank);
  return {{pads.begin(), pads.begin() + half}, {pads.begin() + half, pads.end()}};
}

// window_pads() of H and W.
struct SidePads {
  std::array<std::int64_t, 2> begin, end;
};
SidePads side_pads(const Node& n, const Shape& sx, std::array<std::int64_t, 2> extent) {
  const WindowPads p = window_pads(n, sx, {extent[0], extent[1]}, two_values(n, "strides"));
  return {{p.begin[0], p.begin[1]}, {p.end[0], p.end[1]}};
}

SidePads conv_pads(Lowerer& l, const Node& n) {
  const Shape& sw = l.shape(input(n, 1));
  const auto dilations = two_values(n, "dilations");
  return side_pads(n, l.shape(input(n, 0)),
                   {(sw[2] - 1) * dilations[0] + 1, (sw[3] - 1) * dilations[1] + 1});
}

// The CONV2D window over Conv's input: CONV2D pads symmetrically, so where
// the two sides of an axis differ the input is first copied into a
// zero-filled tensor that carries the difference (pad_into: one DMA_FILL,
// one COPY_STRIDED) and the instruction pads the smaller side.
ConvWindow conv2d_window(Lowerer& l, const Node& n) {
  const std::string& x = input(n, 0);
  check_conv_operands(l, n);
  const SidePads p = conv_pads(l, n);
  const std::array<std::int64_t, 2> pad{std::min(p.begin[0], p.end[0]),
                                        std::min(p.begin[1], p.end[1])};
  if (p.begin == p.end) {
    return conv_window(l, n, pad, x, l.shape(x));
  }
  const Shape& sx = l.shape(x);
  const std::vector<std::int64_t> begin{0, 0, p.begin[0] - pad[0], p.begin[1] - pad[1]};
  const std::vector<std::int64_t> end{0, 0, p.end[0] - pad[0], p.end[1] - pad[1]};
  const Shape padded{sx[0], sx[1], sx[2] + begin[2] + end[2], sx[3] + begin[3] + end[3]};
  const std::string copy = l.scratch(element_count(padded));
  pad_into(l, n.label(), x, sx, copy, padded, begin, end, 0.0F);
  return conv_window(l, n, pad, copy, padded);
}

// A 2-D convolution's geometry as ONNX gives it: x (NCHW), the output,
// the weights (K x C/groups x R x S), strides, the windows' extents and
// each side's padding.
struct PlaneWindow {
  Shape sx, so, sw;
  std::array<std::int64_t, 2> strides, dilations, extent;
  SidePads pads;
  // What CONV2D pads W by; a band's copy carries the rest of W's padding
  // and all of H's.
  std::int64_t pad_w() const { return std::min(pads.begin[1], pads.end[1]); }
  std::int64_t band_width() const { return sx[3] + pads.begin[1] + pads.end[1] - 2 * pad_w(); }
  // Padded rows of x that `rows` output rows read.
  std::int64_t band_height(std::int64_t rows) const { return (rows - 1) * strides[0] + extent[0]; }
  double macs_per_row() const {
    return static_cast<double>(so[1]) * static_cast<double>(so[3]) * static_cast<double>(sw[1]) *
           static_cast<double>(sw[2]) * static_cast<double>(sw[3]);
  }
};

PlaneWindow plane_window(Lowerer& l, const Node& n) {
  check_conv_operands(l, n);
  const auto strides = two_values(n, "strides");
  const auto dilations = two_values(n, "dilations");
  const Shape& sw = l.shape(input(n, 1));
  PlaneWindow v{.sx = l.shape(input(n, 0)),
                .so = l.shape(n.outputs.at(0)),
                .sw = sw,
                .strides = {strides[0], strides[1]},
                .dilations = {dilations[0], dilations[1]},
                .extent = {(sw[2] - 1) * dilations[0] + 1, (sw[3] - 1) * dilations[1] + 1},
                .pads = {}};
  v.pads = side_pads(n, v.sx, v.extent);
  return v;
}

// Whether one CONV2D of the whole convolution stays within the device's
// limits (hw-spec 7.4): x, its padded copy and the output each within the
// 64 MiB operand, each image's multiply-adds within 2^32.
bool fits_one_conv(const PlaneWindow& v, std::int64_t esize) {
  const auto extra = [&v](std::size_t axis) {
    return static_cast<double>(std::abs(v.pads.begin[axis] - v.pads.end[axis]));
  };
  const double padded = static_cast<double>(v.sx[0]) * static_cast<double>(v.sx[1]) *
                        (static_cast<double>(v.sx[2]) + extra(0)) *
                        (static_cast<double>(v.sx[3]) + extra(1));
  const double largest = std::max(
      {static_cast<double>(element_count(v.sx)), padded, static_cast<double>(element_count(v.so))});
  return largest * static_cast<double>(esize) <= static_cast<double>(kMaxOperandBytes) &&
         v.macs_per_row() * static_cast<double>(v.so[2]) <= kMaxImageMacs;
}

// A band of a 2-D convolution: output rows [row, row + rows) of image
// `image`.
struct ConvBand {
  std::int64_t image, row, rows;
};

// The bands a convolution too large for one CONV2D runs in: per image,
// runs of output rows of equal height, as many rows as keep the band's
// copy of x, its output and its multiply-adds within the device's limits.
std::vector<ConvBand> conv_bands(const PlaneWindow& v, std::int64_t esize) {
  const double elements = static_cast<double>(kMaxOperandBytes / esize);
  const double K = static_cast<double>(v.so[1]), Q = static_cast<double>(v.so[3]);
  const double input_rows =
      elements / (static_cast<double>(v.sx[1]) * static_cast<double>(v.band_width()));
  const double fitting = std::min(
      {elements / (K * Q), kMaxImageMacs / v.macs_per_row(),
       (input_rows - static_cast<double>(v.extent[0])) / static_cast<double>(v.strides[0]) + 1,
       static_cast<double>(v.so[2])});
  if (fitting < 1) {
    throw Unsupported(
        "one output row's input, output or multiply-adds exceed the device's 64 MiB operand or "
        "2^32 multiply-adds per image");
  }
  const std::int64_t P = v.so[2];
  const std::int64_t per_image =
      (P + static_cast<std::int64_t>(fitting) - 1) / static_cast<std::int64_t>(fitting);
  if (static_cast<double>(per_image) * static_cast<double>(v.sx[0]) > kMaxSplits) {
    throw Unsupported(fmt::format("{} bands of {} rows per image, {} images: more than {}",
                                  per_image, P, v.sx[0], kMaxSplits));
  }
  const std::int64_t rows = (P + per_image - 1) / per_image;
  std::vector<ConvBand> bands;
  for (std::int64_t image = 0; image < v.sx[0]; ++image) {
    for (std::int64_t row = 0; row < P; row += rows) {
      bands.push_back({image, row, std::min(rows, P - row)});
    }
  }
  return bands;
}

// Band `b` of a convolution: the padded rows of x it reads copied into a
// zero-filled [1, C, rows, W'] (H's padding and the difference between W's
// sides made explicit), one CONV2D into [1, K, rows, Q], and that copied
// into the output's rows (strided_copy splits copies whose span, nearly
// all of a tensor beyond the operand, does not fit).
void lower_conv_band(Lowerer& l, const Node& n, const PlaneWindow& v, const ConvBand& b) {
  const std::string origin = n.label();
  const std::int64_t C = v.sx[1], H = v.sx[2], W = v.sx[3];
  const std::int64_t height = v.band_height(b.rows), width = v.band_width();
  const std::int64_t first = b.row * v.strides[0] - v.pads.begin[0];  // x's row at the band's top
  const std::int64_t left = v.pads.begin[1] - v.pad_w();
  const Shape shape{1, C, height, width};
  const std::string band = l.scratch_shaped(shape);
  // x's image and rows cropped, H's and W's padding added (negative: cropped).
  pad_into(l, origin, input(n, 0), v.sx, band, shape, {-b.image, 0, -first, left},
           {b.image + 1 - v.sx[0], 0, first + height - H, width - W - left}, 0.0F);
  ConvWindow cw = window_of(l, n, band,
                            {.sx = shape,
                             .sw = v.sw,
                             .strides = v.strides,
                             .pads = {0, v.pad_w()},
                             .dilations = v.dilations});
  if (cw.pad_w >= cw.dilation_w * (cw.s - 1) + 1) {
    throw Unsupported("padding as wide as the window");
  }
  const std::int64_t K = v.so[1], P = v.so[2], Q = v.so[3];
  const std::string out = l.scratch_shaped({1, K, b.rows, Q});
  l.emit(origin, std::move(cw.reads), {l.ref(out)},
         [cw, K32 = u32(K, "K"), dt = l.dtype()](KernelBuilder& k, std::span<const BufferArg> s) {
           k.conv2d(dt, conv2d_operands(cw, K32, s));
         });
  const auto at = static_cast<std::uint64_t>((b.image * K * P + b.row) * Q * l.esize());
  strided_copy(l, origin, l.ref(n.outputs.at(0), at), l.ref(out),
               {{K, b.rows * Q, P * Q}, {b.rows * Q, 1, 1}});
}

// One CONV2D: in the program's dtype, or (`int8`) INT8 with the node's
// fourth input as the per-channel scales: requantization scales, or for a
// float_output node the accumulators' scales. The INT8 rewrite quantizes
// only convolutions padded symmetrically (their input is not copied).
// A floating-point convolution beyond one CONV2D's limits (a feature map
// of more than 64 MiB at high resolution, more than 2^32 multiply-adds per
// image) runs in bands of output rows.
void lower_conv2d(Lowerer& l, const Node& n, bool int8) {
  if (!int8) {
    const PlaneWindow v = plane_window(l, n);
    if (!fits_one_conv(v, l.esize())) {
      for (const ConvBand& b : conv_bands(v, l.esize())) {
        lower_conv_band(l, n, v, b);
      }
      return;
    }
  }
  ConvWindow cw = conv2d_window(l, n);
  if (cw.pad_h >= cw.dilation_h * (cw.r - 1) + 1 || cw.pad_w >= cw.dilation_w * (cw.s - 1) + 1) {
    throw Unsupported("padding as wide as the window");
  }
  const std::uint32_t K = u32(cw.weight_dim0, "K");
  if (!int8) {
    l.emit(n.label(), std::move(cw.reads), {l.ref(n.outputs.at(0))},
           [cw, K, dt = l.dtype()](KernelBuilder& k, std::span<const BufferArg> s) {
             k.conv2d(dt, conv2d_operands(cw, K, s));
           });
    return;
  }
  const std::string& scales = l.use_constant(input(n, 3));
  if (float_output_of(n) != FloatOutput::none) {
    lower_conv2d_float_output(l, n, std::move(cw), K, scales);
    return;
  }
  cw.reads.push_back(l.ref(scales));
  l.emit(n.label(), std::move(cw.reads), {l.ref(n.outputs.at(0))},
         [cw, K](KernelBuilder& k, std::span<const BufferArg> s) {
           Conv2dOperands o = conv2d_operands(cw, K, s);
           o.channel_scales = s[3];
           k.conv2d(DataType::int8, o);
         });
}

// A 3-D convolution's geometry: x (NCDHW), the output's depth and planes,
// the weights' kernel, strides, dilations; what a copy of x must add to
// each axis (`begin`, `end`: the depth's pads, and in H and W what their
// two sides differ) and what the CONV2D pads H and W by.
struct VolumeWindow {
  Shape sx, so, sw;
  std::vector<std::int64_t> strides, dilations, extent, begin, end;
  std::array<std::int64_t, 2> plane_pads;
  // x's depth, H and W with the copy's additions.
  std::int64_t padded_depth() const { return sx[2] + begin[2] + end[2]; }
  std::int64_t height() const { return sx[3] + begin[3] + end[3]; }
  std::int64_t width() const { return sx[4] + begin[4] + end[4]; }
  bool copied() const {
    return std::ranges::any_of(begin, [](std::int64_t v) { return v != 0; }) ||
           std::ranges::any_of(end, [](std::int64_t v) { return v != 0; });
  }
};

VolumeWindow volume_window(Lowerer& l, const Node& n) {
  VolumeWindow v{.sx = l.shape(input(n, 0)),
                 .so = l.shape(n.outputs.at(0)),
                 .sw = l.shape(input(n, 1)),
                 .strides = n.get_ints("strides", {1, 1, 1}),
                 .dilations = n.get_ints("dilations", {1, 1, 1}),
                 .extent = {},
                 .begin = std::vector<std::int64_t>(5, 0),
                 .end = std::vector<std::int64_t>(5, 0),
                 .plane_pads = {}};
  if (v.sw.size() != 5 || v.so.size() != 5 || v.strides.size() != 3 || v.dilations.size() != 3) {
    throw Unsupported("a 3-D convolution's weights, output, strides and dilations are 3-D");
  }
  for (std::size_t d = 0; d < 3; ++d) {
    // In double: a hostile dilation would overflow the extent.
    if (v.strides[d] < 1 || v.dilations[d] < 1 ||
        static_cast<double>(v.sw[2 + d]) * static_cast<double>(v.dilations[d]) > 0x1p31) {
      throw Unsupported("strides and dilations must be positive, windows below 2^31");
    }
    v.extent.push_back((v.sw[2 + d] - 1) * v.dilations[d] + 1);
  }
  const WindowPads p = window_pads(n, v.sx, v.extent, v.strides);
  const auto huge = [](std::int64_t x) { return x > std::numeric_limits<std::int32_t>::max(); };
  if (std::ranges::any_of(p.begin, huge) || std::ranges::any_of(p.end, huge)) {
    throw Unsupported("pads beyond 2^31");
  }
  v.plane_pads = {std::min(p.begin[1], p.end[1]), std::min(p.begin[2], p.end[2])};
  for (std::size_t d = 0; d < 3; ++d) {
    const std::int64_t by_conv = d == 0 ? 0 : v.plane_pads[d - 1];
    v.begin[2 + d] = p.begin[d] - by_conv;
    v.end[2 + d] = p.end[d] - by_conv;
  }
  const std::int64_t out_depth = v.so[2];
  if (out_depth < 1 || static_cast<double>(out_depth - 1) * static_cast<double>(v.strides[0]) +
                               static_cast<double>(v.extent[0]) >
                           static_cast<double>(v.padded_depth())) {
    throw Unsupported(fmt::format("an output depth of {} from a padded depth of {}", out_depth,
                                  v.padded_depth()));
  }
  return v;
}

// A block of a 3-D convolution's work: images [image, image + images) and
// output depths [depth, depth + depths).
struct VolumeBlock {
  std::int64_t image, images, depth, depths;
};

// The largest bytes any tensor of block `b` takes on the device: its copy
// of x, its stacked taps, its CONV2D's output (each must fit the device's
// 64 MiB operand, hw-spec 7.4).
double block_bytes(const VolumeWindow& v, const VolumeBlock& b, std::int64_t esize) {
  const double planes = static_cast<double>(v.height()) * static_cast<double>(v.width());
  const double span = static_cast<double>((b.depths - 1) * v.strides[0] + v.extent[0]);
  const double images = static_cast<double>(b.images) * static_cast<double>(v.sx[1]);
  const double copy = v.copied() ? images * span * planes : 0.0;
  const double stacked =
      images * static_cast<double>(b.depths) * static_cast<double>(v.sw[2]) * planes;
  const double out = static_cast<double>(b.images) * static_cast<double>(b.depths) *
                     static_cast<double>(v.so[1] * v.so[3] * v.so[4]);
  return std::max({copy, stacked, out}) * static_cast<double>(esize);
}

// The blocks a 3-D convolution runs in: one for the whole when every
// tensor fits the device's operand, else one per image and run of output
// depths (the copy of x then covers only the depths that run reads).
std::vector<VolumeBlock> volume_blocks(const VolumeWindow& v, std::int64_t esize) {
  const auto limit = static_cast<double>(kMaxOperandBytes);
  const std::int64_t N = v.sx[0], out_depth = v.so[2];
  if (block_bytes(v, {0, N, 0, out_depth}, esize) <= limit) {
    return {{0, N, 0, out_depth}};
  }
  std::int64_t depths = out_depth;
  while (depths > 1 && block_bytes(v, {0, 1, 0, depths}, esize) > limit) {
    depths = (depths + 1) / 2;
  }
  if (block_bytes(v, {0, 1, 0, depths}, esize) > limit) {
    throw Unsupported("one output depth's taps exceed the device's 64 MiB operand");
  }
  std::vector<VolumeBlock> blocks;
  for (std::int64_t i = 0; i < N; ++i) {
    for (std::int64_t o = 0; o < out_depth; o += depths) {
      blocks.push_back({i, 1, o, std::min(depths, out_depth - o)});
    }
  }
  return blocks;
}

// Block `b` of a 3-D convolution: x's part it reads (a copy padded as the
// window asks, where it asks: one DMA_FILL, one COPY_STRIDED), one GATHER
// stacking the depth taps into channels, one CONV2D, one COPY_STRIDED of
// its [images·depths, K, Ho, Wo] into the output's NCDHW.
void lower_volume_block(Lowerer& l, const Node& n, const VolumeWindow& v, const VolumeBlock& b) {
  const std::string origin = n.label();
  const std::string& x = input(n, 0);
  const std::int64_t C = v.sx[1], H = v.height(), W = v.width(), kd = v.sw[2];
  const std::int64_t stride = v.strides[0], dilation = v.dilations[0];
  // The padded depths the block reads, [first, first + span).
  const std::int64_t first = b.depth * stride;
  std::int64_t span = (b.depths - 1) * stride + v.extent[0], source_depth = v.sx[2], base = first;
  std::string source = x;
  std::int64_t image_base = b.image;
  if (v.copied()) {
    std::vector<std::int64_t> begin = v.begin, end = v.end;
    begin[0] = -b.image;
    end[0] = -(v.sx[0] - b.image - b.images);
    begin[2] = v.begin[2] - first;
    end[2] = first + span - v.begin[2] - v.sx[2];
    const Shape shape{b.images, C, span, H, W};
    source = l.scratch_shaped(shape);
    pad_into(l, origin, x, v.sx, source, shape, begin, end, 0.0F);
    source_depth = span;
    base = 0;
    image_base = 0;
  }
  check_gathered_rows(b.images * b.depths * C, kd);
  std::vector<std::int64_t> rows;
  for (std::int64_t i = 0; i < b.images; ++i) {
    for (std::int64_t o = 0; o < b.depths; ++o) {
      for (std::int64_t c = 0; c < C; ++c) {
        for (std::int64_t t = 0; t < kd; ++t) {
          rows.push_back(((image_base + i) * C + c) * source_depth + base + o * stride +
                         t * dilation);
        }
      }
    }
  }
  const std::string stacked = l.scratch_shaped({b.images * b.depths, C * kd, H, W});
  gather_rows(l, origin, source, stacked, H * W, std::move(rows));
  ConvWindow cw = window_of(l, n, stacked,
                            {.sx = l.shape(stacked),
                             .sw = {v.sw[0], v.sw[1] * kd, v.sw[3], v.sw[4]},
                             .strides = {v.strides[1], v.strides[2]},
                             .pads = v.plane_pads,
                             .dilations = {v.dilations[1], v.dilations[2]}});
  if (cw.pad_h >= cw.dilation_h * (cw.r - 1) + 1 || cw.pad_w >= cw.dilation_w * (cw.s - 1) + 1) {
    throw Unsupported("padding as wide as the window");
  }
  const std::int64_t K = v.so[1], Do = v.so[2], plane = v.so[3] * v.so[4];
  const std::string flat = l.scratch(b.images * b.depths * K * plane);
  l.emit(origin, std::move(cw.reads), {l.ref(flat)},
         [cw, K32 = u32(K, "K"), dt = l.dtype()](KernelBuilder& k, std::span<const BufferArg> s) {
           k.conv2d(dt, conv2d_operands(cw, K32, s));
         });
  const auto at = static_cast<std::uint64_t>((b.image * K * Do + b.depth) * plane * l.esize());
  strided_copy(l, origin, l.ref(n.outputs.at(0), at), l.ref(flat),
               {{b.images, b.depths * K * plane, K * Do * plane},
                {K, plane, Do * plane},
                {b.depths, K * plane, plane},
                {plane, 1, 1}});
}

// A 3-D convolution (NCDHW: video and volumetric models) as CONV2Ds over
// its depth taps stacked into channels: one GATHER copies, for every
// output depth o and tap t, the input's depth slice o·stride + t·dilation
// (of a padded copy where pads or auto_pad SAME pad depth, or pad the two
// sides of H or W unevenly) into channel c·kd + t of image n·Do + o, so
// the weights [K, C/g, kd, kh, kw] are the CONV2D's [K, C/g·kd, kh, kw] as
// they are; one COPY_STRIDED moves the result [N·Do, K, Ho, Wo] to
// NCDHW. Bias and a fused activation as a 2-D convolution's. Where a
// tensor of that would exceed the device's 64 MiB operand (a video model
// at full resolution), it runs per image and run of output depths.
void lower_conv_3d(Lowerer& l, const Node& n) {
  const VolumeWindow v = volume_window(l, n);
  for (const VolumeBlock& b : volume_blocks(v, l.esize())) {
    lower_volume_block(l, n, v, b);
  }
}

void lower_conv(Lowerer& l, const Node& n) {
  if (l.shape(input(n, 0)).size() == 5) {
    lower_conv_3d(l, n);
    return;
  }
  lower_conv2d(l, n, false);
}

// dst = W x src along `axis` of src (of `shape`), W a constant `rows` x
// shape[axis] matrix applied at every index of the other axes: one GEMM
// where the axis is the last (src's rows times W transposed) or the
// first, otherwise one GEMM_BATCHED (v1.1) sharing W (stride 0).
void multiply_along_axis(Lowerer& l, const std::string& origin, const std::string& matrix,
                         std::int64_t rows, TensorRef src, const Shape& shape, std::size_t axis,
                         TensorRef dst) {
  const std::uint32_t m = u32(rows, "rows");
  const std::uint32_t k = u32(shape[axis], "axis length");
  const std::uint32_t outer = u32(product(shape, 0, axis), "outer size");
  const std::uint32_t inner = u32(product(shape, axis + 1, shape.size()), "inner size");
  if (inner == 1 || outer == 1) {
    const bool last = inner == 1;
    l.emit(origin, {l.ref(matrix), std::move(src)}, {std::move(dst)},
           [=, dt = l.dtype()](KernelBuilder& kb, std::span<const BufferArg> s) {
             kb.gemm(dt, {.a = last ? s[1] : s[0],
                          .b = last ? s[0] : s[1],
                          .c = s[2],
                          .m = last ? outer : m,
                          .n = last ? m : inner,
                          .k = k,
                          .lda = k,
                          .ldb = last ? k : inner,
                          .ldc = last ? m : inner,
                          .transpose_b = last});
           });
    return;
  }
  l.require(isa::Opcode::gemm_batched);
  const std::uint32_t stride_b = stride32(std::int64_t{k} * inner);
  const std::uint32_t stride_c = stride32(std::int64_t{m} * inner);
  l.emit(origin, {l.ref(matrix), std::move(src)}, {std::move(dst)},
         [=, dt = l.dtype()](KernelBuilder& kb, std::span<const BufferArg> s) {
           kb.gemm_batched(dt, {.a = s[0],
                                .b = s[1],
                                .c = s[2],
                                .m = m,
                                .n = inner,
                                .k = k,
                                .lda = k,
                                .ldb = inner,
                                .ldc = inner,
                                .batch = outer,
                                .stride_a = 0U,
                                .stride_b = stride_b,
                                .stride_c = stride_c});
         });
}

// n's output = act(x + addend), the addend (if any) broadcast to x (NumPy
// rules).
void add_then_activate(Lowerer& l, const Node& n, const std::string& x,
                       const std::optional<std::string>& addend, Activation act) {
  const std::string& out = n.outputs.at(0);
  std::string sum = x;
  if (addend) {
    sum = act == Activation::none ? out : l.scratch_shaped(l.shape(out));
    broadcast_binary(l, n.label(), EltwiseOp::add, x, *addend, sum);
  }
  if (act != Activation::none) {
    const std::uint32_t count = u32(element_count(l.shape(out)), "element count");
    l.emit(n.label(), {l.ref(sum)}, {l.ref(out)},
           [act, count, dt = l.dtype()](KernelBuilder& k, std::span<const BufferArg> s) {
             k.activation(dt, act, s[0], s[1], count);
           });
  }
}

// ConvTranspose's attributes over its `rank` spatial axes, checked.
struct TransposeAttributes {
  std::vector<std::int64_t> strides, dilations, output_padding, pads, output_shape;
  std::string auto_pad;
};
TransposeAttributes transpose_attributes(const Node& n, std::size_t rank) {
  TransposeAttributes a{
      .strides = n.get_ints("strides", std::vector<std::int64_t>(rank, 1)),
      .dilations = n.get_ints("dilations", std::vector<std::int64_t>(rank, 1)),
      .output_padding = n.get_ints("output_padding", std::vector<std::int64_t>(rank, 0)),
      .pads = n.get_ints("pads", std::vector<std::int64_t>(2 * rank, 0)),
      .output_shape = n.get_ints("output_shape", {}),
      .auto_pad = n.get_string("auto_pad", "NOTSET")};
  if (a.strides.size() != rank || a.dilations.size() != rank || a.output_padding.size() != rank) {
    throw Unsupported(
        fmt::format("strides, dilations and output_padding must have {} values each", rank));
  }
  if (a.auto_pad != "SAME_UPPER" && a.auto_pad != "SAME_LOWER" && a.auto_pad != "NOTSET" &&
      a.auto_pad != "VALID") {
    throw Unsupported(fmt::format("auto_pad {}", a.auto_pad));
  }
  if (a.pads.size() != 2 * rank ||
      std::ranges::any_of(a.pads, [](std::int64_t p) { return p < 0; })) {
    throw Unsupported(fmt::format("pads must be {} values, none negative", 2 * rank));
  }
  if (n.has("output_shape") && a.output_shape.size() < rank) {
    throw Unsupported(fmt::format("output_shape must have the {} spatial sizes", rank));
  }
  const auto bounded = [](std::int64_t v) {
    return v >= 1 && v <= std::numeric_limits<std::int32_t>::max();
  };
  if (!std::ranges::all_of(a.strides, bounded) || !std::ranges::all_of(a.dilations, bounded)) {
    throw Unsupported("strides and dilations must be in [1, 2^31)");
  }
  return a;
}

// Spatial axis d of a transposed convolution of `in` elements by a kernel
// of `kernel`: where ONNX's output starts (`begin`) and ends (`end`
// before the end) in the extent the taps reach, `unpadded` elements, and
// its `size`, which must be shape inference's `inferred`.
struct TransposedAxis {
  std::int64_t begin, end, size, unpadded;
};
TransposedAxis transposed_axis(const TransposeAttributes& a, std::size_t d, std::int64_t in,
                               std::int64_t kernel, std::int64_t inferred) {
  const std::size_t rank = a.strides.size();
  const std::int64_t stride = a.strides[d], dilation = a.dilations[d];
  // In double: hostile sizes and steps would overflow the products.
  if (static_cast<double>(stride) * static_cast<double>(in) +
          static_cast<double>(kernel) * static_cast<double>(dilation) >
      0x1p40) {
    throw Unsupported(
        fmt::format("a transposed axis of {} elements, stride {}, kernel {}", in, stride, kernel));
  }
  if (a.output_padding[d] < 0 || a.output_padding[d] >= std::max(stride, dilation)) {
    throw Unsupported(
        fmt::format("output_padding {} not below max(stride, dilation)", a.output_padding[d]));
  }
  const std::int64_t unpadded = stride * (in - 1) + (kernel - 1) * dilation + 1;
  // The transposed convolution's extent with output_padding.
  const std::int64_t extent = unpadded + a.output_padding[d];
  std::int64_t begin = a.pads[d], end = a.pads[rank + d], wanted = extent - begin - end;
  if (a.auto_pad == "VALID") {
    begin = end = 0;
    wanted = extent;
  }
  if (a.auto_pad == "SAME_UPPER" || a.auto_pad == "SAME_LOWER" || !a.output_shape.empty()) {
    wanted =
        a.output_shape.empty() ? in * stride : a.output_shape[a.output_shape.size() - rank + d];
    const std::int64_t total = std::max<std::int64_t>(extent - wanted, 0);
    begin = a.auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
    end = total - begin;
  }
  if (wanted != inferred) {
    throw Unsupported(fmt::format("output size {} where shape inference has {}", wanted, inferred));
  }
  return {.begin = begin, .end = end, .size = wanted, .unpadded = unpadded};
}

// How one CONV_TRANSPOSE computes a spatial axis: the instruction pads
// symmetrically, so it runs with the smaller pad of the two sides (at
// most what the ISA takes) and an output padding that reaches the last
// element wanted; `full` elements result, ONNX's output `crop` in.
struct DeviceTransposedAxis {
  std::int64_t pad, output_pad, full, crop;
};
DeviceTransposedAxis device_transposed_axis(const TransposedAxis& t, std::int64_t stride,
                                            std::int64_t dilation, std::int64_t kernel) {
  const std::int64_t pad =
      std::min({t.begin, t.end, dilation * (kernel - 1), (t.unpadded - 1) / 2});
  const std::int64_t output_pad = std::max<std::int64_t>(0, t.begin + t.size - (t.unpadded - pad));
  if (output_pad >= std::max(stride, dilation)) {
    throw Unsupported(
        fmt::format("{} output rows or columns beyond the transposed convolution", output_pad));
  }
  return {.pad = pad,
          .output_pad = output_pad,
          .full = t.unpadded - 2 * pad + output_pad,
          .crop = t.begin - pad};
}

// The H and W axes of a ConvTranspose of `sx`'s last two axes by `sw`'s
// (the node's `rank` spatial axes, H and W its last two) into `so`'s.
std::array<DeviceTransposedAxis, 2> device_transposed_planes(const TransposeAttributes& a,
                                                             const Shape& sx, const Shape& sw,
                                                             const Shape& so) {
  std::array<DeviceTransposedAxis, 2> planes{};
  const std::size_t rank = a.strides.size();
  for (std::size_t i = 0; i < 2; ++i) {
    const std::size_t d = rank - 2 + i, axis = 2 + d;
    planes[i] = device_transposed_axis(transposed_axis(a, d, sx[axis], sw[axis], so[axis]),
                                       a.strides[d], a.dilations[d], sw[axis]);
  }
  return planes;
}

// One CONV_TRANSPOSE of window `cw` (K output channels) into `target`, its
// output padded as `planes` ask.
void emit_conv_transpose(Lowerer& l, const std::string& origin, ConvWindow cw, std::uint32_t K,
                         const std::array<DeviceTransposedAxis, 2>& planes, TensorRef target) {
  const auto oph = static_cast<std::uint32_t>(planes[0].output_pad);
  const auto opw = static_cast<std::uint32_t>(planes[1].output_pad);
  l.emit(origin, std::move(cw.reads), {std::move(target)},
         [cw, K, oph, opw, dt = l.dtype()](KernelBuilder& k, std::span<const BufferArg> s) {
           ConvTransposeOperands o = conv_window_operands<ConvTransposeOperands>(cw, K, s);
           o.output_pad_h = oph;
           o.output_pad_w = opw;
           k.conv_transpose(dt, o);
         });
}

// Whether a ConvTranspose's output (`planes` planes of `plane` elements)
// exceeds the device's operand and can run in blocks of output channels:
// constant weights and bias (each block's slice is a constant of its own).
bool channel_groups_fit(Lowerer& l, const Node& n, std::int64_t planes, std::int64_t plane) {
  const auto constant = [&](std::size_t i) {
    return i >= n.inputs.size() || n.inputs[i].empty() || l.graph().is_constant(n.inputs[i]);
  };
  return static_cast<double>(planes) * static_cast<double>(plane) >
             static_cast<double>(kMaxOperandBytes / l.esize()) &&
         constant(1) && constant(2);
}

// One image's output channels [first, first + count) of a ConvTranspose,
// all of one group.
struct ConvTransposePart {
  std::int64_t image, first, count;
};

// The parts a ConvTranspose too large for one CONV_TRANSPOSE runs in: per
// image and group (K / groups output channels each), as many output
// channels at a time as fit the operand.
std::vector<ConvTransposePart> conv_transpose_parts(const Lowerer& l, const Node& n,
                                                    std::int64_t images, std::int64_t K,
                                                    std::int64_t groups, std::int64_t plane) {
  const std::int64_t per_group = K / groups;
  const std::int64_t block = std::min(
      per_group,
      std::max<std::int64_t>(1, kMaxOperandBytes / l.esize() / std::max<std::int64_t>(plane, 1)));
  if (static_cast<double>(images) * static_cast<double>(groups) *
          static_cast<double>((per_group + block - 1) / block) >
      kMaxSplits) {
    throw Unsupported(fmt::format("{}: {} images of {} channels of {} elements, more than {} parts",
                                  n.op, images, K, plane, kMaxSplits));
  }
  std::vector<ConvTransposePart> parts;
  for (std::int64_t image = 0; image < images; ++image) {
    for (std::int64_t group = 0; group < groups; ++group) {
      const std::int64_t end = (group + 1) * per_group;
      for (std::int64_t first = group * per_group; first < end; first += block) {
        parts.push_back({image, first, std::min(block, end - first)});
      }
    }
  }
  return parts;
}

// CONV_TRANSPOSE of one part, one group's: its image's channels of that
// group of x, its output channels' slice of the constant weights
// (C x K/groups x R x S) and bias, into its channels of `target`.
void emit_conv_transpose_part(Lowerer& l, const Node& n, ConvWindow cw,
                              const std::array<DeviceTransposedAxis, 2>& planes,
                              const ConvTransposePart& part, const std::string& target) {
  const Constant& w = l.graph().constants.at(input(n, 1));
  const std::int64_t per_group = w.shape[1], taps = w.shape[2] * w.shape[3];
  const std::int64_t C = w.shape[0], in = C / cw.groups, K = per_group * cw.groups;
  const std::int64_t group = part.first / per_group, first = part.first % per_group;
  std::vector<float> slice;
  slice.reserve(static_cast<std::size_t>(in * part.count * taps));
  for (std::int64_t c = group * in; c < (group + 1) * in; ++c) {
    for (std::int64_t i = 0; i < part.count * taps; ++i) {
      slice.push_back(static_cast<float>(w.value((c * per_group + first) * taps + i)));
    }
  }
  const std::int64_t plane_bytes = static_cast<std::int64_t>(cw.h) * cw.w * l.esize();
  cw.reads = {
      l.ref(input(n, 0), static_cast<std::uint64_t>((part.image * C + group * in) * plane_bytes)),
      l.ref(l.new_constant({in, part.count, w.shape[2], w.shape[3]}, std::move(slice)))};
  if (cw.bias) {
    const Constant& b = l.graph().constants.at(n.inputs[2]);
    std::vector<float> bias;
    for (std::int64_t k = 0; k < part.count; ++k) {
      bias.push_back(static_cast<float>(b.value(part.first + k)));
    }
    cw.reads.push_back(l.ref(l.new_constant({part.count}, std::move(bias))));
  }
  cw.n = 1;
  cw.c = u32(in, "C");
  cw.groups = 1;
  const std::int64_t full = planes[0].full * planes[1].full;
  emit_conv_transpose(
      l, n.label(), std::move(cw), u32(part.count, "K"), planes,
      l.ref(target, static_cast<std::uint64_t>((part.image * K + part.first) * full * l.esize())));
}

// ConvTranspose (2-D): one CONV_TRANSPOSE (v1.1), ONNX's weight layout
// C x (K/groups) x R x S; bias and activation as fused into the node.
// ONNX pads the two sides of an axis apart (`pads`, or derived from
// `output_shape` or auto_pad SAME_UPPER/SAME_LOWER as the operator's spec
// splits the total), the instruction symmetrically
// (device_transposed_axis), and one COPY_STRIDED crops what the larger
// pad removes. Rows beyond the transposed convolution's extent (an
// output_shape larger than it) receive only the bias, as output_padding's.
void lower_conv_transpose_2d(Lowerer& l, const Node& n) {
  check_conv_operands(l, n);
  const std::string& out = n.outputs.at(0);
  const Shape& sx = l.shape(input(n, 0));
  const Shape& so = l.shape(out);
  const std::array<DeviceTransposedAxis, 2> planes =
      device_transposed_planes(transpose_attributes(n, 2), sx, l.shape(input(n, 1)), so);
  ConvWindow cw = conv_window(l, n, {planes[0].pad, planes[1].pad}, input(n, 0), sx);
  const std::uint32_t K = u32(cw.weight_dim1 * cw.groups, "K");
  const std::int64_t full_h = planes[0].full, full_w = planes[1].full;
  const bool cropped =
      planes[0].crop != 0 || planes[1].crop != 0 || full_h != so[2] || full_w != so[3];
  const std::string target = cropped ? l.scratch(so[0] * so[1] * full_h * full_w) : out;
  if (cropped) {
    l.require(isa::Opcode::copy_strided);
  }
  if (!channel_groups_fit(l, n, so[0] * K, full_h * full_w)) {
    emit_conv_transpose(l, n.label(), std::move(cw), K, planes, l.ref(target));
  } else {
    for (const ConvTransposePart& part :
         conv_transpose_parts(l, n, sx[0], K, cw.groups, full_h * full_w)) {
      emit_conv_transpose_part(l, n, cw, planes, part, target);
    }
  }
  if (cropped) {
    const std::int64_t skip = planes[0].crop * full_w + planes[1].crop;
    strided_copy(
        l, n.label(), l.ref(out), l.ref(target, static_cast<std::uint64_t>(skip * l.esize())),
        {{so[0] * so[1], full_h * full_w, so[2] * so[3]}, {so[2], full_w, so[3]}, {so[3], 1, 1}});
  }
}

// The constant [size, in · kernel] matrix of 0s and 1s that adds tap t of
// input element i into output element i·stride + t·dilation − begin of a
// transposed convolution's axis `t` (elements outside the output dropped).
std::vector<float> transposed_taps_matrix(const TransposedAxis& t, std::int64_t in,
                                          std::int64_t kernel, std::int64_t stride,
                                          std::int64_t dilation) {
  std::vector<float> m(static_cast<std::size_t>(t.size * in * kernel), 0.0F);
  for (std::int64_t i = 0; i < in; ++i) {
    for (std::int64_t tap = 0; tap < kernel; ++tap) {
      const std::int64_t o = i * stride + tap * dilation - t.begin;
      if (o >= 0 && o < t.size) {
        m[static_cast<std::size_t>(o * in * kernel + i * kernel + tap)] = 1.0F;
      }
    }
  }
  return m;
}

// ConvTranspose of NCDHW volumes (3-D U-Nets' up-sampling), one group:
// one CONV_TRANSPOSE of every depth slice (x moved to [N·D, C, H, W]) by
// the weights with their depth taps moved into the output channels
// ([C, K, kd, kh, kw] to [C, kd·K, kh, kw]; two COPY_STRIDEDs), then one
// product along depth (multiply_along_axis) by the constant matrix that
// adds tap t of slice d into output depth d·stride + t·dilation − pad,
// which pads and crops depth as the attributes ask; one COPY_STRIDED per
// image moves [Do, K, H', W'] to [K, Do, Ho, Wo], cropping H and W as a
// 2-D one does; the bias and a fused activation after it.
void lower_conv_transpose_3d(Lowerer& l, const Node& n) {
  const std::string origin = n.label();
  const std::string& x = input(n, 0);
  const std::string& out = n.outputs.at(0);
  const Shape& sx = l.shape(x);
  const Shape& sw = l.shape(input(n, 1));
  const Shape& so = l.shape(out);
  if (sw.size() != 5 || so.size() != 5 || sw[0] != sx[1]) {
    throw Unsupported("a 3-D ConvTranspose's weights and output are 5-D, C first");
  }
  if (n.get_int("group", 1) != 1) {
    throw Unsupported("a grouped 3-D ConvTranspose");
  }
  l.require(isa::Opcode::copy_strided);
  const TransposeAttributes a = transpose_attributes(n, 3);
  const std::int64_t N = sx[0], C = sx[1], D = sx[2], H = sx[3], W = sx[4];
  const std::int64_t K = sw[1], kd = sw[2], taps = sw[3] * sw[4];
  const TransposedAxis depth = transposed_axis(a, 0, D, kd, so[2]);
  const std::array<DeviceTransposedAxis, 2> planes = device_transposed_planes(a, sx, sw, so);
  const std::int64_t full = planes[0].full * planes[1].full, Do = so[2];
  if (static_cast<double>(N * D) * static_cast<double>(kd * K) * static_cast<double>(full) >
          0x1p40 ||
      static_cast<double>(Do) * static_cast<double>(D * kd) >
          static_cast<double>(kMaxOperandBytes / l.esize())) {
    throw Unsupported(
        fmt::format("a 3-D ConvTranspose of {} depth taps into {}: too large", D * kd, Do));
  }
  const std::string slices = l.scratch_shaped({N * D, C, H, W});
  strided_copy(l, origin, l.ref(slices), l.ref(x),
               {{N, C * D * H * W, D * C * H * W},
                {D, H * W, C * H * W},
                {C, D * H * W, H * W},
                {H * W, 1, 1}});
  const std::string weights = l.scratch_shaped({C, kd * K, sw[3], sw[4]});
  strided_copy(l, origin, l.ref(weights), l.ref(l.operand(input(n, 1))),
               {{C, K * kd * taps, kd * K * taps},
                {kd, taps, K * taps},
                {K, kd * taps, taps},
                {taps, 1, 1}});
  ConvWindow cw = window_of(l, n, slices,
                            {.sx = l.shape(slices),
                             .sw = l.shape(weights),
                             .strides = {a.strides[1], a.strides[2]},
                             .pads = {planes[0].pad, planes[1].pad},
                             .dilations = {a.dilations[1], a.dilations[2]}});
  const bool bias = cw.bias;
  const Activation act = cw.activation;
  cw.bias = false;
  cw.activation = Activation::none;
  cw.reads = {l.ref(slices), l.ref(weights)};
  const std::string stacked = l.scratch(N * D * kd * K * full);
  emit_conv_transpose(l, origin, std::move(cw), u32(kd * K, "K"), planes, l.ref(stacked));
  const std::string summed = l.scratch(N * Do * K * full);
  const std::string matrix = l.new_constant(
      {Do, D * kd}, transposed_taps_matrix(depth, D, kd, a.strides[0], a.dilations[0]));
  multiply_along_axis(l, origin, matrix, Do, l.ref(stacked), {N, D * kd, K * full}, 1,
                      l.ref(summed));
  const bool after = bias || act != Activation::none;
  const std::string moved = after ? l.scratch_shaped(so) : out;
  const std::int64_t Ho = so[3], Wo = so[4], full_w = planes[1].full;
  const std::int64_t skip = planes[0].crop * full_w + planes[1].crop;
  for (std::int64_t i = 0; i < N; ++i) {
    strided_copy(l, origin,
                 l.ref(moved, static_cast<std::uint64_t>(i * K * Do * Ho * Wo * l.esize())),
                 l.ref(summed, static_cast<std::uint64_t>((i * Do * K * full + skip) * l.esize())),
                 {{K, full, Do * Ho * Wo}, {Do, K * full, Ho * Wo}, {Ho, full_w, Wo}, {Wo, 1, 1}});
  }
  if (after) {
    add_then_activate(
        l, n, moved,
        bias ? std::optional(l.view(l.operand(n.inputs[2]), {K, 1, 1, 1})) : std::nullopt, act);
  }
}

void lower_conv_transpose(Lowerer& l, const Node& n) {
  l.require(isa::Opcode::conv_transpose);
  if (l.shape(input(n, 0)).size() == 5) {
    lower_conv_transpose_3d(l, n);
    return;
  }
  lower_conv_transpose_2d(l, n);
}

template <typename Enum>
Enum enum_attribute(const Node& n, const std::string& attribute, const std::string& fallback,
                    const std::vector<std::pair<std::string, Enum>>& values) {
  const std::string value = n.get_string(attribute, fallback);
  for (const auto& [name, e] : values) {
    if (name == value) {
      return e;
    }
  }
  throw Unsupported(fmt::format("{} {}", attribute, value));
}

// Resize as one product per resized axis by its interpolation matrix
// (interpolation.hpp), the last axis first; an axis whose matrix is the
// identity costs nothing. Under tf_crop_and_resize the extrapolation value
// is added where any axis's coordinate falls outside the input (those
// rows of the matrices are zeros): one ELTWISE of a constant over the
// trailing block of axes from the first resized one.
void resize_by_matrices(Lowerer& l, const Node& n, const std::vector<ResizedAxis>& axes,
                        const std::vector<Interpolation>& how, float extrapolation) {
  const std::string& x = input(n, 0);
  const std::string& out = n.outputs.at(0);
  std::vector<std::pair<std::size_t, InterpolationMatrix>> products;
  for (std::size_t d = 0; d < axes.size(); ++d) {
    const ResizedAxis& a = axes[d];
    if (a.in > 0 && a.out > kMaxOperandBytes / l.esize() / a.in) {
      throw Unsupported(
          fmt::format("axis {}: its {} x {} interpolation matrix exceeds the "
                      "device's operand",
                      d, a.out, a.in));
    }
    InterpolationMatrix m = interpolation_matrix(a, how[d]);
    if (!m.is_identity(a.in, a.out)) {
      products.emplace_back(d, std::move(m));
    }
  }
  if (products.empty()) {
    l.alias(out, x, n.label());
    return;
  }
  const Shape& so = l.shape(out);
  const std::size_t first = products.front().first;
  const bool extrapolated =
      extrapolation != 0.0F && std::ranges::any_of(products, [](const auto& p) {
        return std::ranges::find(p.second.outside, true) != p.second.outside.end();
      });
  Shape current = l.shape(x);
  TensorRef src = l.ref(x);
  for (auto it = products.rbegin(); it != products.rend(); ++it) {
    const std::size_t d = it->first;
    Shape next = current;
    next[d] = so[d];
    const bool into_output = it->first == first && !extrapolated;
    TensorRef dst = into_output ? l.ref(out) : TensorRef{l.scratch(element_count(next)), 0};
    const std::string matrix = l.new_constant({so[d], current[d]}, std::move(it->second.weights));
    multiply_along_axis(l, n.label(), matrix, so[d], std::move(src), current, d, dst);
    src = std::move(dst);
    current = std::move(next);
  }
  if (extrapolated) {
    const std::int64_t block = product(so, first, so.size());
    if (block > kMaxOperandBytes / l.esize()) {
      throw Unsupported(fmt::format("an extrapolated block of {} elements", block));
    }
    std::vector<const std::vector<bool>*> outside(so.size(), nullptr);  // by axis
    for (const auto& [axis, m] : products) {
      outside[axis] = &m.outside;
    }
    std::vector<float> fill(static_cast<std::size_t>(block), 0.0F);
    for (std::int64_t i = 0; i < block; ++i) {
      std::int64_t rest = i;
      for (std::size_t d = so.size(); d-- > first;) {
        const auto coordinate = static_cast<std::size_t>(rest % so[d]);
        rest /= so[d];
        if (outside[d] != nullptr && (*outside[d])[coordinate]) {
          fill[static_cast<std::size_t>(i)] = extrapolation;
        }
      }
    }
    const std::string added = l.new_constant({block}, std::move(fill));
    l.eltwise(n.label(), EltwiseOp::add, std::move(src), l.ref(added), l.ref(out),
              element_count(so), block);
  }
}

// A run of an NCHW tensor's planes an instruction treating each plane on
// its own (POOL2D, RESIZE) takes at once: all of them (`images` x
// `channels`), or `channels` planes from plane `first` as one image (a run
// of planes is contiguous).
struct PlaneRun {
  std::int64_t first, images, channels;
  std::uint64_t offset(const Lowerer& l, std::int64_t plane) const {
    return static_cast<std::uint64_t>(first * plane * l.esize());
  }
};

// The runs of x's (NCHW `sx`) planes, `plane_in` elements each in and
// `plane_out` out: one of them all when they fit the device's 64 MiB
// operand, otherwise as many planes at a time as fit.
std::vector<PlaneRun> plane_runs(const Lowerer& l, const Shape& sx, std::int64_t plane_in,
                                 std::int64_t plane_out) {
  const std::int64_t largest = std::max<std::int64_t>({plane_in, plane_out, 1});
  const std::int64_t run = std::max<std::int64_t>(1, kMaxOperandBytes / l.esize() / largest);
  const std::int64_t planes = sx[0] * sx[1];
  if (run >= planes) {
    return {{0, sx[0], sx[1]}};
  }
  if ((planes + run - 1) / run > kMaxSplits) {
    throw Unsupported(
        fmt::format("{} planes of {} elements: more than {} runs of the device's "
                    "64 MiB operand",
                    planes, largest, kMaxSplits));
  }
  std::vector<PlaneRun> runs;
  for (std::int64_t first = 0; first < planes; first += run) {
    runs.push_back({first, 1, std::min(run, planes - first)});
  }
  return runs;
}

// RESIZE (v1.1) of node n's NCHW input to its output's H and W, nearest
// or bilinear, with the coordinate transforms the ISA has: one, or one per
// run of planes (plane_runs).
void emit_resize(Lowerer& l, const Node& n, std::array<float, 2> scales, ResizeMode mode,
                 ResizeCoordinates coordinates, NearestRounding rounding) {
  l.require(isa::Opcode::resize);
  const std::string& x = input(n, 0);
  const Shape& sx = l.shape(x);
  const Shape& so = l.shape(n.outputs.at(0));
  const auto H = u32(sx[2], "H"), W = u32(sx[3], "W");
  const auto P = u32(so[2], "output height"), Q = u32(so[3], "output width");
  for (const PlaneRun& r : plane_runs(l, sx, sx[2] * sx[3], so[2] * so[3])) {
    l.emit(n.label(), {l.ref(x, r.offset(l, sx[2] * sx[3]))},
           {l.ref(n.outputs.at(0), r.offset(l, so[2] * so[3]))},
           [=, N = u32(r.images, "N"), C = u32(r.channels, "C"), dt = l.dtype()](
               KernelBuilder& k, std::span<const BufferArg> s) {
             ResizeOperands o{.input = s[0],
                              .output = s[1],
                              .n = N,
                              .c = C,
                              .h = H,
                              .w = W,
                              .out_h = P,
                              .out_w = Q,
                              .scale_h = scales[0],
                              .scale_w = scales[1],
                              .mode = mode,
                              .coordinates = coordinates,
                              .rounding = rounding};
             k.resize(dt, o);
           });
  }
}

// Whether RESIZE computes it: an NCHW tensor resized in H and W only,
// nearest or linear, a transform other than tf_crop_and_resize.
bool resize_instruction_computes(const Shape& sx, const Shape& so,
                                 const std::vector<ResizedAxis>& axes, const Interpolation& how) {
  return sx.size() == 4 && so[0] == sx[0] && so[1] == sx[1] && axes[0].scale == 1.0 &&
         axes[1].scale == 1.0 && how.mode != InterpolationMode::cubic &&
         how.transform != CoordinateTransform::tf_crop_and_resize;
}

// The ISA's names for what resize_instruction_computes() accepted.
ResizeCoordinates isa_coordinates(CoordinateTransform t) {
  switch (t) {
    case CoordinateTransform::asymmetric:
      return ResizeCoordinates::asymmetric;
    case CoordinateTransform::align_corners:
      return ResizeCoordinates::align_corners;
    case CoordinateTransform::pytorch_half_pixel:
      return ResizeCoordinates::pytorch_half_pixel;
    default:
      return ResizeCoordinates::half_pixel;
  }
}

NearestRounding isa_rounding(const Interpolation& how) {
  if (how.mode == InterpolationMode::linear) {
    return NearestRounding::round_prefer_floor;
  }
  switch (how.nearest) {
    case NearestMode::round_prefer_ceil:
      return NearestRounding::round_prefer_ceil;
    case NearestMode::floor:
      return NearestRounding::floor;
    case NearestMode::ceil:
      return NearestRounding::ceil;
    default:
      return NearestRounding::round_prefer_floor;
  }
}

// Each axis's length in and out and its scale: `scales` as given, or
// out/in where the output's size was given.
std::vector<ResizedAxis> resized_axes(const Shape& sx, const Shape& so,
                                      const std::vector<double>& scales) {
  std::vector<ResizedAxis> axes;
  for (std::size_t d = 0; d < sx.size(); ++d) {
    if (sx[d] <= 0 || so[d] <= 0) {
      throw Unsupported(fmt::format("axis {} of {} elements resized to {}", d, sx[d], so[d]));
    }
    const double scale =
        scales.empty() ? static_cast<double>(so[d]) / static_cast<double>(sx[d]) : scales[d];
    if (!(scale > 0.0) || !std::isfinite(scale)) {
      throw Unsupported(fmt::format("scale {} of axis {}", scale, d));
    }
    axes.push_back({.in = sx[d], .out = so[d], .scale = scale});
  }
  return axes;
}

// A constant input's values as doubles, which must number `count`.
std::vector<double> constant_values(Lowerer& l, const Node& n, std::size_t index, std::size_t count,
                                    const char* what) {
  const std::string& name = input(n, index);
  if (!l.graph().is_constant(name) ||
      l.graph().constants.at(name).size() != static_cast<std::int64_t>(count)) {
    throw Unsupported(fmt::format("{} must be a constant of {} values", what, count));
  }
  const Constant& c = l.graph().constants.at(name);
  std::vector<double> values;
  for (std::int64_t i = 0; i < c.size(); ++i) {
    values.push_back(c.value(i));
  }
  return values;
}

// Upsample (opsets 7-9) and Resize of opset 10: `scales` (an attribute in
// opset 7, an input after), mode nearest or linear, the coordinate
// transform `asymmetric`; nearest takes the floor of the coordinate where
// an axis grows and its ceiling where it shrinks, as onnxruntime does.
void lower_resize_v10(Lowerer& l, const Node& n) {
  const std::string mode = n.get_string("mode", "nearest");
  if (mode != "nearest" && mode != "linear" && mode != "bilinear") {
    throw Unsupported(fmt::format("mode {}", mode));
  }
  const Shape& sx = l.shape(input(n, 0));
  const Shape& so = l.shape(n.outputs.at(0));
  std::vector<double> scales;
  if (n.has("scales")) {
    for (const float v : std::get<std::vector<float>>(n.attributes.at("scales"))) {
      scales.push_back(v);
    }
    if (scales.size() != sx.size()) {
      throw Unsupported(fmt::format("scales must hold {} values", sx.size()));
    }
  } else {
    scales = constant_values(l, n, 1, sx.size(), "scales");
  }
  const std::vector<ResizedAxis> axes = resized_axes(sx, so, scales);
  std::vector<Interpolation> how;
  for (const ResizedAxis& a : axes) {
    how.push_back(
        {.mode = mode == "nearest" ? InterpolationMode::nearest : InterpolationMode::linear,
         .transform = CoordinateTransform::asymmetric,
         .nearest = a.scale < 1.0 ? NearestMode::ceil : NearestMode::floor});
  }
  if (resize_instruction_computes(sx, so, axes, how[0]) &&
      (how[0].mode == InterpolationMode::linear || how[2].nearest == how[3].nearest)) {
    emit_resize(l, n, {static_cast<float>(scales[2]), static_cast<float>(scales[3])},
                mode == "nearest" ? ResizeMode::nearest : ResizeMode::linear,
                ResizeCoordinates::asymmetric, isa_rounding(how[2]));
    return;
  }
  resize_by_matrices(l, n, axes, how, 0.0F);
}

// Resize of opset 11 on: RESIZE where the instruction computes it, one
// product per resized axis otherwise (cubic, tf_crop_and_resize, other
// ranks, the N or C axis).
void lower_resize(Lowerer& l, const Node& n) {
  if (n.op == "Upsample" || l.graph().opset < 11) {
    lower_resize_v10(l, n);
    return;
  }
  Interpolation how{
      .mode = enum_attribute<InterpolationMode>(n, "mode", "nearest",
                                                {{"nearest", InterpolationMode::nearest},
                                                 {"linear", InterpolationMode::linear},
                                                 {"cubic", InterpolationMode::cubic}}),
      .transform = enum_attribute<CoordinateTransform>(
          n, "coordinate_transformation_mode", "half_pixel",
          {{"half_pixel", CoordinateTransform::half_pixel},
           {"asymmetric", CoordinateTransform::asymmetric},
           {"align_corners", CoordinateTransform::align_corners},
           {"pytorch_half_pixel", CoordinateTransform::pytorch_half_pixel},
           {"tf_crop_and_resize", CoordinateTransform::tf_crop_and_resize}}),
      .nearest =
          enum_attribute<NearestMode>(n, "nearest_mode", "round_prefer_floor",
                                      {{"round_prefer_floor", NearestMode::round_prefer_floor},
                                       {"round_prefer_ceil", NearestMode::round_prefer_ceil},
                                       {"floor", NearestMode::floor},
                                       {"ceil", NearestMode::ceil}}),
      .cubic_coeff_a = n.get_float("cubic_coeff_a", -0.75F),
      .exclude_outside = n.get_int("exclude_outside", 0) != 0};
  if (n.get_int("antialias", 0) != 0) {
    throw Unsupported("antialias 1");
  }
  if (n.has("axes")) {
    throw Unsupported("the axes attribute");
  }
  if (n.get_string("keep_aspect_ratio_policy", "stretch") != "stretch") {
    throw Unsupported(
        fmt::format("keep_aspect_ratio_policy {}", n.get_string("keep_aspect_ratio_policy", "")));
  }
  const Shape& sx = l.shape(input(n, 0));
  const Shape& so = l.shape(n.outputs.at(0));
  const bool has_sizes = n.inputs.size() > 3 && !n.inputs[3].empty();
  const std::vector<double> scales =
      has_sizes ? std::vector<double>{} : constant_values(l, n, 2, sx.size(), "scales");
  std::vector<ResizedAxis> axes = resized_axes(sx, so, scales);
  if (how.transform == CoordinateTransform::tf_crop_and_resize) {
    const std::vector<double> roi = constant_values(l, n, 1, 2 * sx.size(), "roi");
    for (std::size_t d = 0; d < axes.size(); ++d) {
      axes[d].roi_start = roi[d];
      axes[d].roi_end = roi[sx.size() + d];
    }
  }
  if (resize_instruction_computes(sx, so, axes, how)) {
    // A `scales` input is the transform's factor as given; `sizes` (scale 0
    // on the device) means out/in.
    const auto scale = [&](std::size_t d) {
      return has_sizes ? 0.0F : static_cast<float>(scales[d]);
    };
    emit_resize(l, n, {scale(2), scale(3)},
                how.mode == InterpolationMode::linear ? ResizeMode::linear : ResizeMode::nearest,
                isa_coordinates(how.transform), isa_rounding(how));
    return;
  }
  resize_by_matrices(l, n, axes, std::vector<Interpolation>(axes.size(), how),
                     n.get_float("extrapolation_value", 0.0F));
}

// Ranges of a product's M rows whose rows of A (K elements each) and of C
// (N each) fit the device's operand, for each of `repeats` products: one
// range when they fit, or when a single row does not.
std::vector<ElementRange> product_row_ranges(const Lowerer& l, std::int64_t repeats, std::int64_t M,
                                             std::int64_t K, std::int64_t N) {
  const std::int64_t row_bytes = std::max<std::int64_t>({K, N, 1}) * l.esize();
  if (row_bytes > kMaxOperandBytes || M * row_bytes <= kMaxOperandBytes) {
    return {{0, M}};
  }
  const std::int64_t rows = std::max<std::int64_t>(1, kMaxOperandBytes / row_bytes);
  if (static_cast<double>(repeats) * static_cast<double>((M + rows - 1) / rows) > kMaxSplits) {
    throw Unsupported(
        fmt::format("{} products of {} rows: more than {} ranges of rows that fit "
                    "the device's 64 MiB operand",
                    repeats, M, kMaxSplits));
  }
  return l.operand_ranges(M, 1, row_bytes);
}

// One batch axis of a product: its size and how far A, B and C move (in
// elements) from one index to the next; A's or B's stride is 0 where that
// operand is broadcast along the axis.
struct BatchAxis {
  std::int64_t size, a, b, c;
};

// A product's matrices: M x K by K x N.
struct ProductSize {
  std::int64_t M, K, N;
};
// One GEMM (batch 1) or GEMM_BATCHED of a MatMul: where it starts in A, B
// and C (elements), its rows and its batch.
struct ProductPart {
  std::int64_t a, b, c, rows, batch;
};

// The most matrices of `inner` one GEMM_BATCHED takes with each of A, B
// and C within the device's operand; 1 when one matrix alone exceeds it.
std::int64_t batch_run(const Lowerer& l, const BatchAxis& inner, ProductSize p) {
  const std::int64_t limit = kMaxOperandBytes / l.esize();
  std::int64_t run = inner.size;
  for (const auto& [stride, matrix] : {std::pair{inner.a, p.M * p.K}, std::pair{inner.b, p.K * p.N},
                                       std::pair{inner.c, p.M * p.N}}) {
    if (stride > 0) {
      run = std::min(run, matrix > limit ? 1 : (limit - matrix) / stride + 1);
    }
  }
  return std::max<std::int64_t>(run, 1);
}

// The instructions of a MatMul: every index of the `outer` batch axes
// (outermost first), the `inner` one in runs of matrices that fit the
// device's operand, a single matrix beyond it in ranges of its rows.
std::vector<ProductPart> product_parts(const Lowerer& l, const std::vector<BatchAxis>& outer,
                                       const BatchAxis& inner, ProductSize p) {
  std::int64_t repeats = 1;
  for (const BatchAxis& axis : outer) {
    repeats *= axis.size;
  }
  const std::int64_t run = batch_run(l, inner, p);
  const std::vector<ElementRange> row_ranges =
      product_row_ranges(l, repeats * inner.size, p.M, p.K, p.N);
  if (static_cast<double>(repeats) * static_cast<double>((inner.size + run - 1) / run) >
      kMaxSplits) {
    throw Unsupported(
        fmt::format("{} products of {} matrices in runs of {}: more than {} "
                    "instructions",
                    repeats, inner.size, run, kMaxSplits));
  }
  std::vector<ProductPart> parts;
  for (std::int64_t r = 0; r < repeats; ++r) {
    // The offsets of repeat r, its index taken apart over the outer axes.
    std::int64_t a = 0, b = 0, c = 0, rest = r;
    for (std::size_t d = outer.size(); d-- > 0;) {
      const std::int64_t i = rest % outer[d].size;
      rest /= outer[d].size;
      a += i * outer[d].a;
      b += i * outer[d].b;
      c += i * outer[d].c;
    }
    for (std::int64_t first = 0; first < inner.size; first += run) {
      const std::int64_t count = std::min(run, inner.size - first);
      const std::vector<ElementRange> whole{{0, p.M}};
      for (const ElementRange& rows : count == 1 ? row_ranges : whole) {
        parts.push_back({a + first * inner.a + rows.first * p.K, b + first * inner.b,
                         c + first * inner.c + rows.first * p.N, rows.count, count});
      }
    }
  }
  return parts;
}

// A 2-D product C = act(alpha·A·B + bias) as GEMMs: A stored M x K (lda)
// or, transposed, K x M; B stored K x N (ldb) or, transposed, N x K; the
// bias N values.
struct MatrixProduct {
  std::string a, b, c;
  std::optional<std::string> bias;
  std::int64_t M, K, N, lda, ldb;
  bool ta, tb;
  float alpha = 1.0F;
  Activation act = Activation::none;
};

// `value`, a rows x cols matrix, as a new cols x rows one: a constant's
// transposed on the host once (nodes sharing the weights share the copy),
// a computed one by COPY_STRIDEDs (in pieces that fit the device's
// operand).
std::string transposed_matrix(Lowerer& l, const std::string& origin, const std::string& value,
                              std::int64_t rows, std::int64_t cols) {
  if (l.graph().is_constant(value)) {
    const std::string name = fmt::format("%transposed {}", value);
    if (l.has_weight(name)) {
      return name;
    }
    const Constant& c = l.graph().constants.at(value);
    if (!c.is_float()) {
      throw Unsupported(fmt::format("constant '{}' is {}, not float", value, to_string(c.type)));
    }
    std::vector<float> values(c.floats.size());
    for (std::int64_t i = 0; i < rows; ++i) {
      for (std::int64_t j = 0; j < cols; ++j) {
        values[static_cast<std::size_t>(j * rows + i)] =
            c.floats[static_cast<std::size_t>(i * cols + j)];
      }
    }
    return l.named_constant(name, {cols, rows}, std::move(values));
  }
  if (!l.has(isa::Opcode::copy_strided)) {
    throw Unsupported(
        fmt::format("'{}' beyond the device's 64 MiB operand needs a transposed "
                    "copy, and this device lacks COPY_STRIDED (v1.1)",
                    value));
  }
  const std::string copy = l.scratch_shaped({cols, rows});
  strided_copy(l, origin, l.ref(copy), l.ref(value), {{cols, 1, rows}, {rows, cols, 1}});
  return copy;
}

// The product with a transposed A, or a B stored K x N, that exceeds the
// device's operand reading a transposed copy instead: the rows of an A
// stored M x K, and of a B stored N x K, are contiguous, so
// emit_matrix_product() can take them in ranges that fit.
MatrixProduct fit_matrix_operands(Lowerer& l, const std::string& origin, MatrixProduct p) {
  const std::int64_t limit = kMaxOperandBytes / l.esize();
  if (p.ta && p.K * p.M > limit) {
    p.a = transposed_matrix(l, origin, p.a, p.K, p.M);
    p.ta = false;
    p.lda = p.K;
  }
  if (!p.tb && p.K * p.N > limit) {
    p.b = transposed_matrix(l, origin, p.b, p.K, p.N);
    p.tb = true;
    p.ldb = p.K;
  }
  return p;
}

// One GEMM per block of C's columns and range of its rows: a B beyond the
// device's operand (AlexNet's and VGG's first classifier layers, a language
// model's vocabulary projection), stored N x K (fit_matrix_operands), in
// blocks of its rows, each writing its columns of C (ldc N); an A stored
// M x K beyond it, or a C, in ranges of rows (a transposed A that fits is
// read whole by each range).
void emit_matrix_product(Lowerer& l, const std::string& origin, const MatrixProduct& p) {
  const auto esize = static_cast<std::uint64_t>(l.esize());
  std::int64_t columns = p.N;
  if (p.K * p.N * l.esize() > kMaxOperandBytes) {
    columns = std::max<std::int64_t>(1, kMaxOperandBytes / (p.K * l.esize()));
  }
  const std::uint32_t k = u32(p.K, "K"), ldc = u32(p.N, "N");
  const std::uint32_t lda = u32(p.lda, "lda"), ldb = u32(p.ldb, "ldb");
  const std::vector<ElementRange> row_ranges = product_row_ranges(l, 1, p.M, p.ta ? 1 : p.K, p.N);
  const bool has_bias = p.bias.has_value();
  for (std::int64_t first = 0; first < p.N; first += columns) {
    const std::uint32_t nn = u32(std::min(columns, p.N - first), "N");
    const auto column = static_cast<std::uint64_t>(first) * esize;
    for (const ElementRange& rows : row_ranges) {
      const auto row = static_cast<std::uint64_t>(rows.first) * esize;
      std::vector<TensorRef> reads{l.ref(p.a, p.ta ? row : row * lda),
                                   l.ref(p.b, p.tb ? column * ldb : column)};
      if (p.bias) {
        reads.push_back(l.ref(*p.bias, column));
      }
      const std::uint32_t m = u32(rows.count, "M");
      l.emit(origin, std::move(reads), {l.ref(p.c, row * ldc + column)},
             [=, ta = p.ta, tb = p.tb, act = p.act, alpha = p.alpha, dt = l.dtype()](
                 KernelBuilder& kb, std::span<const BufferArg> s) {
               kb.gemm(dt, {.a = s[0],
                            .b = s[1],
                            .c = s.back(),
                            .bias = has_bias ? std::optional(s[2]) : std::nullopt,
                            .m = m,
                            .n = nn,
                            .k = k,
                            .lda = lda,
                            .ldb = ldb,
                            .ldc = ldc,
                            .transpose_a = ta,
                            .transpose_b = tb,
                            .activation = act,
                            .scale = alpha});
             });
    }
  }
}

// C = A x B with NumPy's matmul semantics: a 1-D A is a row [1, K] and a 1-D
// B a column [K, 1] (the dimension is dropped from C, which leaves its
// bytes as they are); the batch dimensions (all but the last two)
// broadcast. A B without batch dimensions of its own (all 1) makes one GEMM
// over the rows of every matrix of A. Otherwise the batch axes are merged
// where the strides of A, B and C all continue; the innermost becomes one
// GEMM_BATCHED (v1.1; a broadcast operand has stride 0) and the outer ones
// repeat it, at most kMaxCopies instructions. On a v1 device, one GEMM per
// matrix. Beyond the device's 64 MiB operand: product_parts(), or for a B
// without batches emit_matrix_product() of its transposed copy.
void lower_matmul(Lowerer& l, const Node& n) {
  const std::string& a = input(n, 0);
  const std::string& b = input(n, 1);
  Shape sa = l.shape(a);
  Shape sb = l.shape(b);
  if (sa.empty() || sb.empty()) {
    throw Unsupported("scalar operands");
  }
  if (sa.size() == 1) {
    sa.insert(sa.begin(), 1);
  }
  if (sb.size() == 1) {
    sb.push_back(1);
  }
  const std::int64_t M = sa[sa.size() - 2];
  const std::int64_t K = sa.back();
  const std::int64_t N = sb.back();
  if (sb[sb.size() - 2] != K) {
    throw Unsupported(fmt::format("inner dimensions of {} and {} differ", to_string(l.shape(a)),
                                  to_string(l.shape(b))));
  }
  const bool bias = n.inputs.size() > 2 && !n.inputs[2].empty();
  const Activation act = activation_of(n);
  // The batch dimensions, aligned from the right, and their broadcast.
  const std::size_t rank = std::max(sa.size(), sb.size()) - 2;
  Shape ba(sa.begin(), sa.end() - 2);
  Shape bb(sb.begin(), sb.end() - 2);
  ba.insert(ba.begin(), rank - ba.size(), 1);
  bb.insert(bb.begin(), rank - bb.size(), 1);
  std::vector<BatchAxis> axes;
  std::int64_t a_stride = M * K, b_stride = K * N, c_stride = M * N;
  for (std::size_t d = rank; d-- > 0;) {
    if (ba[d] != bb[d] && ba[d] != 1 && bb[d] != 1) {
      throw Unsupported(fmt::format("batch dimensions of {} and {} do not broadcast",
                                    to_string(l.shape(a)), to_string(l.shape(b))));
    }
    const std::int64_t size = std::max(ba[d], bb[d]);
    axes.insert(axes.begin(),
                {size, ba[d] == 1 ? 0 : a_stride, bb[d] == 1 ? 0 : b_stride, c_stride});
    a_stride *= ba[d];
    b_stride *= bb[d];
    c_stride *= size;
  }
  std::int64_t rows = M;
  std::vector<BatchAxis> merged;  // outermost first
  if (std::ranges::all_of(bb, [](std::int64_t d) { return d == 1; })) {
    rows = M * product(ba, 0, ba.size());
  } else {
    for (const BatchAxis& axis : axes) {
      if (axis.size == 1) {
        continue;
      }
      BatchAxis* last = merged.empty() ? nullptr : &merged.back();
      if (last != nullptr && last->a == axis.size * axis.a && last->b == axis.size * axis.b &&
          last->c == axis.size * axis.c) {
        *last = {last->size * axis.size, axis.a, axis.b, axis.c};
      } else {
        merged.push_back(axis);
      }
    }
  }
  if (merged.empty() && K * N * l.esize() > kMaxOperandBytes) {
    emit_matrix_product(
        l, n.label(),
        fit_matrix_operands(
            l, n.label(),
            {.a = a,
             .b = b,
             .c = n.outputs.at(0),
             .bias = bias ? std::optional(l.use_constant(n.inputs[2])) : std::nullopt,
             .M = rows,
             .K = K,
             .N = N,
             .lda = K,
             .ldb = N,
             .ta = false,
             .tb = false,
             .act = act}));
    return;
  }
  // On v1, every batch axis repeats a GEMM.
  const bool batched = l.has(isa::Opcode::gemm_batched) && !merged.empty();
  const BatchAxis inner = batched ? merged.back() : BatchAxis{1, 0, 0, 0};
  if (batched) {
    merged.pop_back();
  }
  std::int64_t repeats = 1;
  for (const BatchAxis& axis : merged) {
    repeats *= axis.size;
  }
  if (repeats > static_cast<std::int64_t>(kMaxCopies)) {
    throw Unsupported(fmt::format("{} products of {} x {} (at most {} instructions)", repeats,
                                  to_string(l.shape(a)), to_string(l.shape(b)), kMaxCopies));
  }
  const std::uint32_t nn = u32(N, "N"), k = u32(K, "K");
  const std::uint32_t stride_a = stride32(inner.a), stride_b = stride32(inner.b),
                      stride_c = stride32(inner.c);
  const std::string bw = l.operand(b);
  const auto f = static_cast<std::uint64_t>(l.esize());
  for (const ProductPart& part : product_parts(l, merged, inner, {rows, K, N})) {
    std::vector<TensorRef> reads{l.ref(a, f * static_cast<std::uint64_t>(part.a)),
                                 l.ref(bw, f * static_cast<std::uint64_t>(part.b))};
    if (bias) {
      reads.push_back(l.ref(l.use_constant(n.inputs[2])));
    }
    const std::uint32_t m = u32(part.rows, "M"), batch = u32(part.batch, "batch");
    l.emit(n.label(), std::move(reads),
           {l.ref(n.outputs.at(0), f * static_cast<std::uint64_t>(part.c))},
           [=, dt = l.dtype()](KernelBuilder& kb, std::span<const BufferArg> s) {
             const std::optional<BufferArg> bias_arg = bias ? std::optional(s[2]) : std::nullopt;
             if (batch == 1) {
               kb.gemm(dt, {.a = s[0],
                            .b = s[1],
                            .c = s.back(),
                            .bias = bias_arg,
                            .m = m,
                            .n = nn,
                            .k = k,
                            .lda = k,
                            .ldb = nn,
                            .ldc = nn,
                            .activation = act});
               return;
             }
             kb.gemm_batched(dt, {.a = s[0],
                                  .b = s[1],
                                  .c = s.back(),
                                  .bias = bias_arg,
                                  .m = m,
                                  .n = nn,
                                  .k = k,
                                  .lda = k,
                                  .ldb = nn,
                                  .ldc = nn,
                                  .batch = batch,
                                  .stride_a = stride_a,
                                  .stride_b = stride_b,
                                  .stride_c = stride_c,
                                  .activation = act});
           });
  }
}

// out = act(product + beta·C), C broadcast to the product (NumPy rules):
// the C the GEMM's bias cannot carry.
void add_gemm_addend(Lowerer& l, const Node& n, const std::string& product, const std::string& c,
                     float beta) {
  std::string addend = l.operand(c);
  if (beta != 1.0F) {
    const Shape& sc = l.shape(c);
    addend = l.scratch_shaped(sc);
    l.eltwise(n.label(), EltwiseOp::mul, l.ref(l.operand(c)), l.ref(l.scalar(beta)), l.ref(addend),
              element_count(sc), 1);
  }
  add_then_activate(l, n, product, addend, activation_of(n));
}

void lower_gemm(Lowerer& l, const Node& n) {
  const std::string& a = input(n, 0);
  const std::string& b = input(n, 1);
  const Shape& sa = l.shape(a);
  const Shape& sb = l.shape(b);
  const bool ta = n.get_int("transA", 0) != 0;
  const bool tb = n.get_int("transB", 0) != 0;
  if (sa.size() != 2 || sb.size() != 2) {
    throw Unsupported("operands must be matrices");
  }
  const std::int64_t M = ta ? sa[1] : sa[0];
  const std::int64_t K = ta ? sa[0] : sa[1];
  const std::int64_t N = tb ? sb[0] : sb[1];
  const float alpha = n.get_float("alpha", 1.0F);
  const float beta = n.get_float("beta", 1.0F);
  // C: a constant that broadcasts over the rows is the instruction's bias;
  // any other (computed, or varying along M) is added after the product.
  std::optional<std::string> bias, addend;
  if (n.inputs.size() > 2 && !n.inputs[2].empty()) {
    const std::string& c = n.inputs[2];
    const Shape row{1, N};
    if (l.graph().is_constant(c) && broadcasts_to(l.shape(c), row)) {
      std::vector<float> values = broadcast_values(l.graph().constants.at(c), l.shape(c), row);
      for (float& v : values) {
        v *= beta;
      }
      bias = l.new_constant({N}, std::move(values));
    } else if (broadcasts_to(l.shape(c), Shape{M, N})) {
      addend = c;
    } else {
      throw Unsupported(fmt::format("C of shape {} does not broadcast to the product's [{}x{}]",
                                    to_string(l.shape(c)), M, N));
    }
  }
  const std::string product = addend ? l.scratch_shaped({M, N}) : n.outputs.at(0);
  MatrixProduct p{.a = a,
                  .b = b,
                  .c = product,
                  .bias = bias,
                  .M = M,
                  .K = K,
                  .N = N,
                  .lda = sa[1],
                  .ldb = sb[1],
                  .ta = ta,
                  .tb = tb,
                  .alpha = alpha,
                  .act = addend ? Activation::none : activation_of(n)};
  emit_matrix_product(l, n.label(), fit_matrix_operands(l, n.label(), std::move(p)));
  if (addend) {
    add_gemm_addend(l, n, product, *addend, beta);
  }
}

// CumSum along a constant axis as one product (multiply_along_axis): x
// viewed as outer x length x inner, out[o] = T·x[o] with T the constant
// length x length matrix of 0s and 1s that sums element l into j where
// l <= j (exclusive: l < j; reverse: l >= j, or l > j). The products and
// sums are exact but for rounding: the device adds in its own order.
void lower_cumsum(Lowerer& l, const Node& n) {
  const std::string& x = input(n, 0);
  const Shape& sx = l.shape(x);
  const std::vector<std::int64_t> axis_input = constant_ints(l, n, 1);
  const auto rank = static_cast<std::int64_t>(sx.size());
  if (axis_input.size() != 1 || axis_input[0] < -rank || axis_input[0] >= rank) {
    throw Unsupported(fmt::format("axis must be one value in [-{}, {})", rank, rank));
  }
  const auto axis = static_cast<std::size_t>(axis_input[0] + (axis_input[0] < 0 ? rank : 0));
  if (is_integer(value_type(l, n.outputs.at(0)))) {
    lower_integer_cumsum(l, n, axis);
    return;
  }
  const std::int64_t length = sx[axis];
  if (length > 0 && length > kMaxOperandBytes / l.esize() / length) {
    throw Unsupported(fmt::format(
        "an axis of {0} elements: its {0} x {0} summation matrix exceeds the device's operand",
        length));
  }
  const bool exclusive = n.get_int("exclusive", 0) != 0;
  const bool reverse = n.get_int("reverse", 0) != 0;
  std::vector<float> sums;
  for (std::int64_t j = 0; j < length; ++j) {
    for (std::int64_t k = 0; k < length; ++k) {
      const bool summed = reverse ? (exclusive ? k > j : k >= j) : (exclusive ? k < j : k <= j);
      sums.push_back(summed ? 1.0F : 0.0F);
    }
  }
  const std::string matrix = l.new_constant({length, length}, std::move(sums));
  multiply_along_axis(l, n.label(), matrix, length, l.ref(x), sx, axis, l.ref(n.outputs.at(0)));
}

// One POOL2D of `images` x `channels` planes of `in` (`plane`: H, W) into
// `out`.
struct PoolGeometry {
  std::array<std::int64_t, 2> plane, kernel, stride, pad;
  PoolMode mode;
};
void emit_one_pool2d(Lowerer& l, const std::string& origin, TensorRef in, TensorRef out,
                     std::int64_t images, std::int64_t channels, const PoolGeometry& g) {
  Pool2dOperands p{.input = {},
                   .output = {},
                   .n = u32(images, "N"),
                   .c = u32(channels, "C"),
                   .h = u32(g.plane[0], "H"),
                   .w = u32(g.plane[1], "W"),
                   .kernel_h = u32(g.kernel[0], "kernel"),
                   .kernel_w = u32(g.kernel[1], "kernel"),
                   .stride_h = u32(g.stride[0], "stride"),
                   .stride_w = u32(g.stride[1], "stride"),
                   .pad_h = static_cast<std::uint32_t>(g.pad[0]),
                   .pad_w = static_cast<std::uint32_t>(g.pad[1]),
                   .mode = g.mode};
  l.emit(origin, {std::move(in)}, {std::move(out)},
         [p, dt = l.dtype()](KernelBuilder& k, std::span<const BufferArg> s) mutable {
           p.input = s[0];
           p.output = s[1];
           k.pool2d(dt, p);
         });
}

// One POOL2D of `x` (NCHW `sx`) into `out`, or one per run of its planes
// (plane_runs).
void emit_pool2d(Lowerer& l, const std::string& origin, const std::string& x, const Shape& sx,
                 const std::string& out, std::array<std::int64_t, 2> kernel,
                 std::array<std::int64_t, 2> stride, std::array<std::int64_t, 2> pad,
                 PoolMode mode) {
  const PoolGeometry g{{sx[2], sx[3]}, kernel, stride, pad, mode};
  const auto extent = [&](std::size_t d) {
    return (sx[2 + d] + 2 * pad[d] - kernel[d]) / std::max<std::int64_t>(stride[d], 1) + 1;
  };
  const std::int64_t plane_in = sx[2] * sx[3], plane_out = extent(0) * extent(1);
  const std::vector<PlaneRun> runs = plane_runs(l, sx, plane_in, plane_out);
  for (const PlaneRun& r : runs) {
    emit_one_pool2d(l, origin, l.ref(x, r.offset(l, plane_in)), l.ref(out, r.offset(l, plane_out)),
                    r.images, r.channels, g);
  }
}

// One spatial axis of a pooling window: the input's and output's sizes,
// the window's kernel, stride and dilation, the pads before and after.
struct PoolAxis {
  std::int64_t in, out, kernel, stride, dilation, begin, end;
};

// How many elements AveragePool divides by at each output position of one
// axis: the window's taps inside the input, or with count_include_pad
// inside the padded input (ceil_mode's windows past it count only what
// they cover, as onnxruntime counts).
std::vector<std::int64_t> average_divisors(const PoolAxis& a, bool include_pad) {
  std::vector<std::int64_t> divisors;
  const std::int64_t low = include_pad ? -a.begin : 0;
  const std::int64_t high = include_pad ? a.in + a.end : a.in;
  for (std::int64_t o = 0; o < a.out; ++o) {
    std::int64_t inside = 0;
    for (std::int64_t t = 0; t < a.kernel; ++t) {
      const std::int64_t at = o * a.stride - a.begin + t * a.dilation;
      inside += at >= low && at < high ? 1 : 0;
    }
    if (inside == 0) {
      throw Unsupported(fmt::format("output {} of an axis averages a window over padding only", o));
    }
    divisors.push_back(inside);
  }
  return divisors;
}

// MaxPool and AveragePool over H and W (1-D pooling arrives here lifted to
// a height of 1: lift_1d_windows). POOL2D pads both sides of an axis alike
// with at most the smaller pad; one side's excess and the windows ceil_mode
// adds past the padded input come from a copy of x extended by -infinity
// (max) or zeros (one DMA_FILL, one COPY_STRIDED). Averaging over that copy
// counts every window element, so where ONNX divides by fewer (the input's
// elements, or the padded input's) one ELTWISE mul rescales each output
// position by kernel size / ONNX's divisor.
void lower_pool(Lowerer& l, const Node& n, PoolMode mode) {
  const std::string& x = input(n, 0);
  const std::string& out = n.outputs.at(0);
  const Shape& sx = l.shape(x);
  const Shape& so = l.shape(out);
  if (sx.size() != 4) {
    throw Unsupported("only 1-D and 2-D pooling (NCL, NCHW)");
  }
  const auto kernel_shape = n.get_ints("kernel_shape", {});
  if (kernel_shape.size() != 2) {
    throw Unsupported("kernel_shape must have two values");
  }
  const std::array<std::int64_t, 2> kernel{kernel_shape[0], kernel_shape[1]};
  const auto strides = two_values(n, "strides");
  const SidePads p = side_pads(n, sx, kernel);
  std::array<std::int64_t, 2> pad{}, before{}, after{};
  for (std::size_t d = 0; d < 2; ++d) {
    if (p.begin[d] >= kernel[d] || p.end[d] >= kernel[d]) {
      throw Unsupported("padding as wide as the window");
    }
    pad[d] = std::min(p.begin[d], p.end[d]);
    const std::int64_t past_padding =
        (so[2 + d] - 1) * strides[d] + kernel[d] - (sx[2 + d] + p.begin[d] + p.end[d]);
    before[d] = p.begin[d] - pad[d];
    after[d] = p.end[d] - pad[d] + std::max<std::int64_t>(past_padding, 0);
  }
  const bool include_pad = n.get_int("count_include_pad", 0) != 0;
  constexpr std::array<std::int64_t, 2> none{};
  const bool extended = before != none || after != none;
  std::string source = x;
  Shape shape = sx;
  if (extended) {
    shape = {sx[0], sx[1], sx[2] + before[0] + after[0], sx[3] + before[1] + after[1]};
    source = l.scratch_shaped(shape);
    const float fill = mode == PoolMode::max ? -std::numeric_limits<float>::infinity() : 0.0F;
    pad_into(l, n.label(), x, sx, source, shape, {0, 0, before[0], before[1]},
             {0, 0, after[0], after[1]}, fill);
  }
  if (mode == PoolMode::max || !extended) {
    const PoolMode device_mode = mode == PoolMode::max ? mode
                                 : include_pad         ? PoolMode::average_with_padding
                                                       : PoolMode::average;
    emit_pool2d(l, n.label(), source, shape, out, kernel, {strides[0], strides[1]}, pad,
                device_mode);
    return;
  }
  std::vector<float> factors;
  const auto rows =
      average_divisors({sx[2], so[2], kernel[0], strides[0], 1, p.begin[0], p.end[0]}, include_pad);
  const auto columns =
      average_divisors({sx[3], so[3], kernel[1], strides[1], 1, p.begin[1], p.end[1]}, include_pad);
  for (const std::int64_t r : rows) {
    for (const std::int64_t c : columns) {
      factors.push_back(static_cast<float>(kernel[0] * kernel[1]) / static_cast<float>(r * c));
    }
  }
  const bool rescaled = std::ranges::any_of(factors, [](float f) { return f != 1.0F; });
  const std::string sums = rescaled ? l.scratch(element_count(so)) : out;
  emit_pool2d(l, n.label(), source, shape, sums, kernel, {strides[0], strides[1]}, pad,
              PoolMode::average_with_padding);
  if (rescaled) {
    const std::int64_t positions = so[2] * so[3];
    const std::string scale = l.new_constant({positions}, std::move(factors));
    l.eltwise(n.label(), EltwiseOp::mul, l.ref(sums), l.ref(scale), l.ref(out), element_count(so),
              positions);
  }
}
// A 3-D pooling's explicit pads per axis [d, h, w begin, d, h, w end]:
// `pads`, or auto_pad's split of what the output's size needs.
std::vector<std::int64_t> pool3d_pads(const Node& n, const Shape& sx, const Shape& so,
                                      const std::vector<std::int64_t>& kernel,
                                      const std::vector<std::int64_t>& strides) {
  const std::string auto_pad = n.get_string("auto_pad", "NOTSET");
  if (auto_pad == "NOTSET") {
    return n.get_ints("pads", std::vector<std::int64_t>(6, 0));
  }
  std::vector<std::int64_t> pads(6, 0);
  if (auto_pad == "VALID") {
    return pads;
  }
  if (auto_pad != "SAME_UPPER" && auto_pad != "SAME_LOWER") {
    throw Unsupported(fmt::format("auto_pad {}", auto_pad));
  }
  for (std::size_t d = 0; d < 3; ++d) {
    // Each within 32 bits first: the product cannot overflow then.
    const std::int64_t total = std::max<std::int64_t>(
        (std::int64_t{u32(so[2 + d], "output size")} - 1) * u32(strides[d], "stride") +
            u32(kernel[d], "kernel") - sx[2 + d],
        0);
    pads[d] = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
    pads[3 + d] = total - pads[d];
  }
  return pads;
}

// 3-D MaxPool and AveragePool (NCDHW) as two 2-D poolings, a window being
// a box: H and W over x viewed as [N, C·D, H, W], then D over that result
// viewed as [N, C, D, Ho·Wo] with a kd × 1 window. A max of maxima is the
// box's maximum; an average of averages, each dividing by the elements of
// its own axes it counts, divides by the box's count.
void lower_pool_3d(Lowerer& l, const Node& n, PoolMode mode) {
  const std::string& x = input(n, 0);
  const Shape& sx = l.shape(x);
  const Shape& so = l.shape(n.outputs.at(0));
  const std::vector<std::int64_t> kernel = n.get_ints("kernel_shape", {});
  const std::vector<std::int64_t> strides = n.get_ints("strides", {1, 1, 1});
  if (so.size() != 5 || kernel.size() != 3 || strides.size() != 3) {
    throw Unsupported("a 3-D pooling needs three kernel sizes and strides");
  }
  const std::vector<std::int64_t> pads = pool3d_pads(n, sx, so, kernel, strides);
  if (pads.size() != 6) {
    throw Unsupported("pads must be six values");
  }
  Node planes = n;  // H and W of every depth slice
  planes.attributes.erase("auto_pad");
  planes.attributes["kernel_shape"] = std::vector<std::int64_t>{kernel[1], kernel[2]};
  planes.attributes["strides"] = std::vector<std::int64_t>{strides[1], strides[2]};
  planes.attributes["pads"] = std::vector<std::int64_t>{pads[1], pads[2], pads[4], pads[5]};
  planes.attributes.erase("dilations");
  const Shape pooled{sx[0], sx[1] * sx[2], so[3], so[4]};
  planes.inputs = {l.view(x, {sx[0], sx[1] * sx[2], sx[3], sx[4]})};
  planes.outputs = {l.scratch_shaped(pooled)};
  Node depth = planes;  // then along D
  depth.attributes["kernel_shape"] = std::vector<std::int64_t>{kernel[0], 1};
  depth.attributes["strides"] = std::vector<std::int64_t>{strides[0], 1};
  depth.attributes["pads"] = std::vector<std::int64_t>{pads[0], 0, pads[3], 0};
  depth.inputs = {l.view(planes.outputs[0], {sx[0], sx[1], sx[2], so[3] * so[4]})};
  depth.outputs = {l.view(n.outputs.at(0), {so[0], so[1], so[2], so[3] * so[4]})};
  lower_pool(l, planes, mode);
  lower_pool(l, depth, mode);
}

// The spatial axes of a dilated pooling of x (NCHW or NCDHW) into `so`,
// checked: kernel, strides, dilations, pads per side (or auto_pad's).
std::vector<PoolAxis> dilated_pool_axes(const Node& n, const Shape& sx, const Shape& so) {
  const std::size_t rank = sx.size() - 2;
  const std::vector<std::int64_t> kernel = n.get_ints("kernel_shape", {});
  const std::vector<std::int64_t> strides =
      n.get_ints("strides", std::vector<std::int64_t>(rank, 1));
  const std::vector<std::int64_t> dilations =
      n.get_ints("dilations", std::vector<std::int64_t>(rank, 1));
  const auto bounded = [](std::int64_t v) {
    return v >= 1 && v <= std::numeric_limits<std::int32_t>::max();
  };
  if (so.size() != sx.size() || kernel.size() != rank || strides.size() != rank ||
      dilations.size() != rank || !std::ranges::all_of(kernel, bounded) ||
      !std::ranges::all_of(strides, bounded) || !std::ranges::all_of(dilations, bounded)) {
    throw Unsupported(fmt::format(
        "kernel_shape, strides and dilations must be {} values each, in [1, 2^31)", rank));
  }
  std::vector<std::int64_t> extent;
  for (std::size_t d = 0; d < rank; ++d) {
    extent.push_back((kernel[d] - 1) * dilations[d] + 1);
  }
  const WindowPads p = window_pads(n, sx, extent, strides);
  std::vector<PoolAxis> axes;
  for (std::size_t d = 0; d < rank; ++d) {
    if (p.begin[d] >= extent[d] || p.end[d] >= extent[d]) {
      throw Unsupported("padding as wide as the window");
    }
    // In double: hostile kernels and dilations would overflow the reach.
    if (static_cast<double>(so[2 + d]) * static_cast<double>(strides[d]) +
            static_cast<double>(extent[d]) >
        0x1p40) {
      throw Unsupported("a window reaching beyond 2^40 elements");
    }
    axes.push_back({.in = sx[2 + d],
                    .out = so[2 + d],
                    .kernel = kernel[d],
                    .stride = strides[d],
                    .dilation = dilations[d],
                    .begin = p.begin[d],
                    .end = p.end[d]});
  }
  return axes;
}

// x's shape extended as far as the last window of `axes` reaches (pads,
// SAME, ceil_mode), and what each side of each axis adds.
struct WindowPadding {
  Shape padded;
  std::vector<std::int64_t> begin, end;
};
WindowPadding window_padding(const Shape& sx, const std::vector<PoolAxis>& axes) {
  WindowPadding p{sx, std::vector<std::int64_t>(sx.size(), 0),
                  std::vector<std::int64_t>(sx.size(), 0)};
  for (std::size_t d = 0; d < axes.size(); ++d) {
    const PoolAxis& a = axes[d];
    const std::int64_t reach = (a.out - 1) * a.stride + (a.kernel - 1) * a.dilation + 1;
    p.begin[2 + d] = a.begin;
    p.end[2 + d] = std::max(a.end, reach - a.in - a.begin);
    p.padded[2 + d] += p.begin[2 + d] + p.end[2 + d];
  }
  return p;
}

// x copied into a tensor of p.padded filled with `fill` around it; x itself
// where nothing is padded.
std::string padded_for_windows(Lowerer& l, const std::string& origin, const std::string& x,
                               const WindowPadding& p, float fill) {
  const Shape& sx = l.shape(x);
  if (p.padded == sx) {
    return x;
  }
  const std::string padded = l.scratch_shaped(p.padded);
  pad_into(l, origin, x, sx, padded, p.padded, p.begin, p.end, fill);
  return padded;
}

// A REDUCE of `in` seen as outer x length x inner into `out`.
void emit_reduce(Lowerer& l, const std::string& origin, DataType dtype, ReduceOp op,
                 const std::string& in, const std::string& out, std::int64_t outer,
                 std::int64_t length, std::int64_t inner) {
  const std::uint32_t o = u32(outer, "outer"), len = u32(length, "kernel"), i = u32(inner, "inner");
  l.emit(origin, {l.ref(in)}, {l.ref(out)}, [=](KernelBuilder& k, std::span<const BufferArg> s) {
    k.reduce(dtype, op, s[0], s[1], o, len, i);
  });
}

// MaxPool and AveragePool with dilations (2-D and 3-D; POOL2D has none):
// x copied into a tensor padded by -infinity (max) or zeros (average) as
// far as the last window reaches (pads, SAME, ceil_mode); then, a window
// being a box, one axis at a time: one COPY_STRIDED gathers every output
// position's taps along the axis next to each other (source strides
// stride and dilation) and one REDUCE max or sum takes them. An average
// divides by the taps inside the input (or the padded input) after the
// last axis: one ELTWISE mul by a constant per output position.
void lower_pool_dilated(Lowerer& l, const Node& n, PoolMode mode) {
  const std::string origin = n.label();
  const std::string& x = input(n, 0);
  const std::string& out = n.outputs.at(0);
  const Shape& sx = l.shape(x);
  const Shape& so = l.shape(out);
  l.require(isa::Opcode::copy_strided);
  const std::vector<PoolAxis> axes = dilated_pool_axes(n, sx, so);
  const WindowPadding padding = window_padding(sx, axes);
  if (static_cast<double>(element_count(padding.padded)) *
          static_cast<double>(std::ranges::max(axes, {}, &PoolAxis::kernel).kernel) >
      static_cast<double>(kMaxOperandBytes / l.esize())) {
    throw Unsupported("a dilated pooling whose taps exceed the device's operand");
  }
  const float fill = mode == PoolMode::max ? -std::numeric_limits<float>::infinity() : 0.0F;
  std::string current = padded_for_windows(l, origin, x, padding, fill);
  Shape shape = padding.padded;
  const bool average = mode != PoolMode::max;
  for (std::size_t d = axes.size(); d-- > 0;) {
    const PoolAxis& a = axes[d];
    const std::size_t axis = 2 + d;
    const std::int64_t outer = product(shape, 0, axis),
                       inner = product(shape, axis + 1, shape.size());
    const std::string taps = l.scratch(outer * a.out * a.kernel * inner);
    strided_copy(l, origin, l.ref(taps), l.ref(current),
                 {{outer, shape[axis] * inner, a.out * a.kernel * inner},
                  {a.out, a.stride * inner, a.kernel * inner},
                  {a.kernel, a.dilation * inner, inner},
                  {inner, 1, 1}});
    shape[axis] = a.out;
    const bool last = d == 0;
    const std::string reduced = last && !average ? out : l.scratch_shaped(shape);
    emit_reduce(l, origin, l.dtype(), average ? ReduceOp::sum : ReduceOp::max, taps, reduced,
                outer * a.out, a.kernel, inner);
    current = reduced;
  }
  if (!average) {
    return;
  }
  const bool include_pad = n.get_int("count_include_pad", 0) != 0;
  std::vector<float> factors{1.0F};
  for (const PoolAxis& a : axes) {
    std::vector<float> next;
    for (const float f : factors) {
      for (const std::int64_t divisor : average_divisors(a, include_pad)) {
        next.push_back(f / static_cast<float>(divisor));
      }
    }
    factors = std::move(next);
  }
  const auto positions = static_cast<std::int64_t>(factors.size());
  const std::string scale = l.new_constant({positions}, std::move(factors));
  l.eltwise(origin, EltwiseOp::mul, l.ref(current), l.ref(scale), l.ref(out), element_count(so),
            positions);
}

void lower_max_pool(Lowerer& l, const Node& n);
void compare_elements(Lowerer& l, const std::string& origin, CompareOp op, TensorRef a, TensorRef b,
                      const std::string& mask, std::int64_t count, std::int64_t b_count);

// The flat positions (p·H·W + h·W + w, p = n·C + c) of the taps of 2-D
// windows `ah` x `aw` over `planes` planes of H x W, in the order
// [planes, out_h, kernel_h, out_w, kernel_w]; a tap in the padding 2^24.
std::vector<float> window_tap_positions(std::int64_t planes, const PoolAxis& ah,
                                        const PoolAxis& aw) {
  constexpr float kOutside = 0x1p24F;
  std::vector<float> positions;
  positions.reserve(static_cast<std::size_t>(planes * ah.out * ah.kernel * aw.out * aw.kernel));
  for (std::int64_t p = 0; p < planes; ++p) {
    for (std::int64_t oh = 0; oh < ah.out; ++oh) {
      for (std::int64_t th = 0; th < ah.kernel; ++th) {
        const std::int64_t h = oh * ah.stride + th * ah.dilation - ah.begin;
        for (std::int64_t ow = 0; ow < aw.out; ++ow) {
          for (std::int64_t tw = 0; tw < aw.kernel; ++tw) {
            const std::int64_t w = ow * aw.stride + tw * aw.dilation - aw.begin;
            const bool inside = h >= 0 && h < ah.in && w >= 0 && w < aw.in;
            positions.push_back(inside ? static_cast<float>((p * ah.in + h) * aw.in + w)
                                       : kOutside);
          }
        }
      }
    }
  }
  return positions;
}

// The first maximum's flat row-major position of every window of a 2-D
// MaxPool of any kernel, stride, dilation, padding and ceil_mode, exact
// floats of the pooled shape: x padded by -infinity as far as the
// last window reaches; each window's taps side by side (two COPY_STRIDEDs:
// [planes, out_h, kernel_h, padded W], then [.., out_w, kernel_w]); a tap
// equal to its window's maximum (`pooled` spread over the taps, one
// COPY_STRIDED) keeps its position, the others and the padding 2^24 (one
// COMPARE, one SELECT); two REDUCE min (along the kernel's W, then H) keep
// the smallest: the first maximum in row-major order, as onnxruntime scans.
TensorRef max_pool_window_positions(Lowerer& l, const Node& n, const std::string& pooled) {
  const std::string origin = n.label();
  const std::string& x = input(n, 0);
  const Shape& sx = l.shape(x);
  if (l.dtype() != DataType::fp32) {
    throw Unsupported("positions are computed in FP32: compile it in fp32");
  }
  if (element_count(sx) >= std::int64_t{1} << 24) {
    throw Unsupported(fmt::format(
        "a tensor of {} elements: positions beyond 2^24 are not exact in FP32", element_count(sx)));
  }
  l.require(isa::Opcode::copy_strided);
  l.require(isa::Opcode::compare);
  l.require(isa::Opcode::select);
  const std::vector<PoolAxis> axes = dilated_pool_axes(n, sx, l.shape(pooled));
  const PoolAxis& ah = axes[0];
  const PoolAxis& aw = axes[1];
  const std::int64_t planes = sx[0] * sx[1];
  const std::int64_t rows = planes * ah.out * ah.kernel;
  const std::int64_t taps = rows * aw.out * aw.kernel;
  const WindowPadding padding = window_padding(sx, axes);
  const Shape& padded = padding.padded;
  // Every tensor of the computation in one operand (the taps, the rows of
  // taps, the padded copy): windows that large are refused, not split.
  const std::int64_t largest = std::max({taps, rows * padded[3], element_count(padded)});
  if (largest > kMaxOperandBytes / 4) {
    throw Unsupported(
        fmt::format("{} elements of window taps, beyond the device's operand", largest));
  }
  const std::string current =
      padded_for_windows(l, origin, x, padding, -std::numeric_limits<float>::infinity());
  const std::int64_t hp = padded[2], wp = padded[3];
  const std::string row_taps = l.scratch(rows * wp);
  strided_copy(l, origin, l.ref(row_taps), l.ref(current),
               {{planes, hp * wp, ah.out * ah.kernel * wp},
                {ah.out, ah.stride * wp, ah.kernel * wp},
                {ah.kernel, ah.dilation * wp, wp},
                {wp, 1, 1}});
  const std::string window_taps = l.scratch(taps);
  strided_copy(l, origin, l.ref(window_taps), l.ref(row_taps),
               {{rows, wp, aw.out * aw.kernel},
                {aw.out, aw.stride, aw.kernel},
                {aw.kernel, aw.dilation, 1}});
  const std::string maxima = l.scratch(taps);
  strided_copy(l, origin, l.ref(maxima), l.ref(pooled),
               {{planes * ah.out, aw.out, ah.kernel * aw.out * aw.kernel},
                {ah.kernel, 0, aw.out * aw.kernel},
                {aw.out, 1, aw.kernel},
                {aw.kernel, 0, 1}});
  const std::string mask = l.scratch_bytes(taps);
  compare_elements(l, origin, CompareOp::eq, l.ref(window_taps), l.ref(maxima), mask, taps, taps);
  const std::string candidates = l.scratch(taps);
  select_elements(l, origin, {l.ref(mask), taps},
                  {l.ref(l.new_constant({taps}, window_tap_positions(planes, ah, aw))), taps},
                  {l.ref(l.scalar(0x1p24F)), 1}, l.ref(candidates), taps);
  const std::string per_row = l.scratch(rows * aw.out);
  emit_reduce(l, origin, DataType::fp32, ReduceOp::min, candidates, per_row, rows * aw.out,
              aw.kernel, 1);
  const std::string firsts = l.scratch(planes * ah.out * aw.out);
  emit_reduce(l, origin, DataType::fp32, ReduceOp::min, per_row, firsts, planes * ah.out, ah.kernel,
              aw.out);
  return l.ref(firsts);
}

// Row-major flat positions (INT32 words) made column-major ones, as
// storage_order 1 numbers them (p·H·W + w·H + h): one GATHER of a constant
// table by them.
void column_major_positions(Lowerer& l, const std::string& origin, const Shape& sx,
                            TensorRef row_major, std::int64_t count, TensorRef out) {
  const std::int64_t planes = sx[0] * sx[1], h = sx[2], w = sx[3];
  std::vector<std::int64_t> table;
  table.reserve(static_cast<std::size_t>(planes * h * w));
  for (std::int64_t p = 0; p < planes; ++p) {
    for (std::int64_t r = 0; r < h; ++r) {
      for (std::int64_t c = 0; c < w; ++c) {
        table.push_back((p * w + c) * h + r);
      }
    }
  }
  gather_in_ranges(l, origin,
                   {.table = l.ref(l.new_index_constant(std::move(table))),
                    .rows = planes * h * w,
                    .row_elems = 1,
                    .indices = std::move(row_major),
                    .index_type = IndexType::int32,
                    .count = count,
                    .out = std::move(out),
                    .dtype = DataType::int32});
}

// MaxPool with its Indices output: the values as without, then each
// window's first maximum's flat position (max_unpooling.hpp where the
// windows tile the input, else max_pool_window_positions) made an integer
// by CONVERT to INT32 (v1.7): int64 indices, a MaxUnpool's or a graph
// output's; storage_order 1's column-major ones by one GATHER more.
void lower_max_pool_with_indices(Lowerer& l, const Node& n) {
  if (l.shape(input(n, 0)).size() != 4) {
    throw Unsupported("the Indices output of a pooling that is not 2-D");
  }
  Node values = n;
  values.outputs.resize(1);
  const std::string origin = n.label();
  lower_max_pool(l, values);
  TensorRef positions;
  try {
    positions = max_pool_windows_tile(n, l.shape(input(n, 0)), l.shape(n.outputs[0]))
                    ? max_pool_flat_indices(l, n, n.outputs[0])
                    : max_pool_window_positions(l, n, n.outputs[0]);
    l.require_v17("CONVERT to INT32 for MaxPool's Indices");
  } catch (const Unsupported& e) {
    throw Unsupported(fmt::format("the Indices output: {}", e.what()));
  }
  const std::int64_t count = element_count(l.shape(n.outputs[0]));
  const bool column_major = n.get_int("storage_order", 0) != 0;
  integer_result(l, origin, n.outputs[1], [&](TensorRef result) {
    const std::string row_major = column_major ? l.scratch_bytes(count * 4) : "";
    l.convert(origin, {.from = DataType::fp32, .to = DataType::int32, .count = count}, positions,
              column_major ? l.ref(row_major) : result);
    if (column_major) {
      column_major_positions(l, origin, l.shape(input(n, 0)), l.ref(row_major), count,
                             std::move(result));
    }
  });
}

bool dilated(const Node& n) {
  const std::vector<std::int64_t> dilations = n.get_ints("dilations", {});
  return std::ranges::any_of(dilations, [](std::int64_t d) { return d != 1; });
}

void lower_max_pool(Lowerer& l, const Node& n) {
  if (n.outputs.size() > 1 && !n.outputs[1].empty()) {
    lower_max_pool_with_indices(l, n);
    return;
  }
  if (dilated(n)) {
    lower_pool_dilated(l, n, PoolMode::max);
    return;
  }
  if (l.shape(input(n, 0)).size() == 5) {
    lower_pool_3d(l, n, PoolMode::max);
    return;
  }
  lower_pool(l, n, PoolMode::max);
}
void lower_average_pool(Lowerer& l, const Node& n) {
  if (dilated(n)) {
    lower_pool_dilated(l, n, PoolMode::average);
    return;
  }
  if (l.shape(input(n, 0)).size() == 5) {
    lower_pool_3d(l, n, PoolMode::average);
    return;
  }
  lower_pool(l, n, PoolMode::average);
}

// LRN (AlexNet, GoogLeNet, CaffeNet): y = x / (bias + alpha / size *
// sum of x^2 over the `size` channels around c)^beta, the window from
// c - (size - 1) / 2 to c + (size - 1) / 2, clipped to the channels; an
// odd size (an even one is refused, as onnxruntime refuses it). Six
// instructions (POW is ISA v1.1):
//   ELTWISE x * x; POOL2D average counting the padding over the squares
//   seen as N x 1 x C x (H*W) with a size x 1 window padded by size / 2
//   (the sum / size);
//   ELTWISE * alpha, + bias; ACTIVATION_PARAM POW -beta; ELTWISE * x.
void lower_lrn(Lowerer& l, const Node& n) {
  l.require(isa::Opcode::activation_param);
  const std::string& x = input(n, 0);
  const Shape& sx = l.shape(x);
  const std::int64_t size = n.get_int("size", 0);
  if (sx.size() < 3 || size < 1 || element_count(sx) < 1) {
    throw Unsupported(fmt::format("input of rank {} with size {}", sx.size(), size));
  }
  if (size % 2 == 0) {
    throw Unsupported(
        fmt::format("size {} is even (an asymmetric window, which onnxruntime refuses too)", size));
  }
  const std::string origin = n.label();
  const std::int64_t count = element_count(sx);
  const std::int64_t channels = sx[1];
  const std::int64_t spatial = product(sx, 2, sx.size());
  const std::string squares = l.scratch(count);
  l.eltwise(origin, EltwiseOp::mul, l.ref(x), l.ref(x), l.ref(squares), count, count);

  const std::string mean = l.scratch(count);
  const auto N = u32(sx[0], "N"), H = u32(channels, "channels"), W = u32(spatial, "H*W");
  const auto window = u32(size, "size"), p = static_cast<std::uint32_t>(size / 2);
  l.emit(origin, {l.ref(squares)}, {l.ref(mean)},
         [=, dt = l.dtype()](KernelBuilder& k, std::span<const BufferArg> s) {
           k.pool2d(dt, Pool2dOperands{.input = s[0],
                                       .output = s[1],
                                       .n = N,
                                       .c = 1,
                                       .h = H,
                                       .w = W,
                                       .kernel_h = window,
                                       .kernel_w = 1,
                                       .stride_h = 1,
                                       .stride_w = 1,
                                       .pad_h = p,
                                       .pad_w = 0,
                                       .mode = PoolMode::average_with_padding});
         });
  const std::string base = l.scratch(count);
  const std::string scaled = l.scratch(count);
  l.eltwise(origin, EltwiseOp::mul, l.ref(mean), l.ref(l.scalar(n.get_float("alpha", 1e-4F))),
            l.ref(scaled), count, 1);
  l.eltwise(origin, EltwiseOp::add, l.ref(scaled), l.ref(l.scalar(n.get_float("bias", 1.0F))),
            l.ref(base), count, 1);
  const std::string factor = l.scratch(count);
  const std::uint32_t count32 = u32(count, "element count");
  const float exponent = -n.get_float("beta", 0.75F);
  l.emit(origin, {l.ref(base)}, {l.ref(factor)},
         [=, dt = l.dtype()](KernelBuilder& k, std::span<const BufferArg> s) {
           k.activation_param(dt, ParamActivation::pow, s[0], s[1], count32, 1.0F, exponent);
         });
  l.eltwise(origin, EltwiseOp::mul, l.ref(x), l.ref(factor), l.ref(n.outputs.at(0)), count, count);
}

// A reduction over a contiguous block of axes, x seen as outer x length x
// inner.
struct ReducedBlock {
  std::uint32_t outer, length, inner;
};
// The block `axes` of `sx` (none: every axis), refused unless adjacent.
ReducedBlock reduced_block(const Shape& sx, std::vector<std::int64_t> axes) {
  const auto rank = static_cast<std::int64_t>(sx.size());
  if (axes.empty()) {
    for (std::int64_t i = 0; i < rank; ++i) {
      axes.push_back(i);
    }
  }
  for (std::int64_t& a : axes) {
    a = a < 0 ? a + rank : a;
    if (a < 0 || a >= rank) {
      throw Unsupported("axis out of range");
    }
  }
  std::ranges::sort(axes);
  if (axes.back() - axes.front() + 1 != static_cast<std::int64_t>(axes.size())) {
    throw Unsupported("reduced axes must be adjacent");
  }
  const auto first = static_cast<std::size_t>(axes.front());
  const auto last = static_cast<std::size_t>(axes.back()) + 1;
  return {u32(product(sx, 0, first), "outer"), u32(product(sx, first, last), "length"),
          u32(product(sx, last, sx.size()), "inner")};
}
void emit_reduce(Lowerer& l, const std::string& origin, ReduceOp op, TensorRef in, TensorRef out,
                 ReducedBlock b) {
  l.emit(origin, {std::move(in)}, {std::move(out)},
         [=, dt = l.dtype()](KernelBuilder& k, std::span<const BufferArg> s) {
           k.reduce(dt, op, s[0], s[1], b.outer, b.length, b.inner);
         });
}
// `rows` rows of `inner` elements in runs of `run` rows.
struct RowRuns {
  std::int64_t rows, run, inner;
};
// Row i of `target` = REDUCE `op` of run i of `in`'s rows.
void reduce_runs(Lowerer& l, const std::string& origin, ReduceOp op, const TensorRef& in,
                 const std::string& target, RowRuns r) {
  const auto row_bytes = static_cast<std::int64_t>(r.inner * l.esize());
  for (std::int64_t i = 0; i * r.run < r.rows; ++i) {
    emit_reduce(l, origin, op, shifted(in, i * r.run * row_bytes),
                l.ref(target, static_cast<std::uint64_t>(i * row_bytes)),
                {1, u32(std::min(r.run, r.rows - i * r.run), "rows"), u32(r.inner, "inner")});
  }
}
// `partial` row r = the mean of run r of `in` scaled by the run's share of
// the rows, so that the partial rows sum to the mean: their values stay
// within the input's range, where partial sums of millions of FP16 values
// would overflow.
void mean_of_runs(Lowerer& l, const std::string& origin, const TensorRef& in,
                  const std::string& partial, RowRuns r) {
  const std::string means = l.scratch((r.rows + r.run - 1) / r.run * r.inner);
  reduce_runs(l, origin, ReduceOp::mean, in, means, r);
  const std::int64_t full = r.rows / r.run, rest = r.rows % r.run;
  const auto share = [&](std::int64_t taken) {
    return l.ref(
        l.scalar(static_cast<float>(static_cast<double>(taken) / static_cast<double>(r.rows))));
  };
  if (full > 0) {
    l.eltwise(origin, EltwiseOp::mul, l.ref(means), share(r.run), l.ref(partial), full * r.inner,
              1);
  }
  if (rest > 0) {
    const auto at = static_cast<std::uint64_t>(full * r.inner * l.esize());
    l.eltwise(origin, EltwiseOp::mul, l.ref(means, at), share(rest), l.ref(partial, at), r.inner,
              1);
  }
}
// One reduction of `length` rows of `inner` elements beyond the device's
// operand: runs of rows that fit are reduced to one row each, the partial
// rows again (max, min and sum as themselves, partial means as their sum),
// until they fit one REDUCE. A row must leave room for two in the operand.
void reduce_long_rows(Lowerer& l, const std::string& origin, ReduceOp op, TensorRef in,
                      TensorRef out, std::int64_t length, std::int64_t inner) {
  const std::int64_t limit = kMaxOperandBytes / l.esize();
  if (inner * 2 > limit) {
    throw Unsupported(
        fmt::format("a reduction of {} rows of {} elements: each row exceeds half "
                    "the device's 64 MiB operand",
                    length, inner));
  }
  const ReduceOp combine = op == ReduceOp::mean ? ReduceOp::sum : op;
  const std::int64_t run = limit / inner;
  std::int64_t rows = length;
  while (rows > run) {
    const std::int64_t runs = (rows + run - 1) / run;
    const std::string partial = l.scratch(runs * inner);
    if (op == ReduceOp::mean && rows == length) {
      mean_of_runs(l, origin, in, partial, {length, run, inner});
    } else {
      reduce_runs(l, origin, combine, in, partial, {rows, run, inner});
    }
    in = l.ref(partial);
    rows = runs;
  }
  emit_reduce(l, origin, combine, std::move(in), std::move(out),
              {1, u32(rows, "rows"), u32(inner, "inner")});
}
// REDUCE of `x` over a contiguous block of axes into `out`: in ranges of
// whole reductions where x exceeds the device's operand, each reduction
// beyond it in runs of rows (reduce_long_rows).
void reduce_into(Lowerer& l, const Node& n, ReduceOp op, const std::string& x,
                 std::vector<std::int64_t> axes, const std::string& out) {
  const ReducedBlock b = reduced_block(l.shape(x), std::move(axes));
  const std::string origin = n.label();
  const std::int64_t reduction = std::int64_t{b.length} * b.inner;
  if (std::int64_t{b.outer} * reduction * l.esize() <= kMaxOperandBytes) {
    emit_reduce(l, origin, op, l.ref(x), l.ref(out), b);
    return;
  }
  if (reduction * l.esize() > kMaxOperandBytes) {
    const std::int64_t row_bytes = reduction * l.esize();
    const auto out_bytes = static_cast<std::int64_t>(b.inner * l.esize());
    if (static_cast<double>(b.outer) * static_cast<double>(row_bytes) /
            static_cast<double>(kMaxOperandBytes) >
        static_cast<double>(kMaxSplits)) {
      throw Unsupported(
          fmt::format("a reduction of {} elements: more than {} pieces of the "
                      "device's 64 MiB operand",
                      std::int64_t{b.outer} * reduction, kMaxSplits));
    }
    for (std::int64_t o = 0; o < b.outer; ++o) {
      reduce_long_rows(l, origin, op, l.ref(x, static_cast<std::uint64_t>(o * row_bytes)),
                       l.ref(out, static_cast<std::uint64_t>(o * out_bytes)), b.length, b.inner);
    }
    return;
  }
  for (const ElementRange& r : l.operand_ranges(std::int64_t{b.outer} * reduction, reduction)) {
    emit_reduce(l, origin, op, l.ref(x, static_cast<std::uint64_t>(r.first * l.esize())),
                l.ref(out, static_cast<std::uint64_t>(r.first / b.length * l.esize())),
                {u32(r.count / reduction, "outer"), b.length, b.inner});
  }
}
void reduce_axes(Lowerer& l, const Node& n, ReduceOp op, std::vector<std::int64_t> axes) {
  reduce_into(l, n, op, input(n, 0), std::move(axes), n.outputs.at(0));
}
// GlobalAveragePool and GlobalMaxPool: every axis after N and C (1-D, 2-D
// or 3-D).
std::vector<std::int64_t> spatial_axes(Lowerer& l, const Node& n) {
  const auto rank = static_cast<std::int64_t>(l.shape(input(n, 0)).size());
  if (rank < 3) {
    throw Unsupported(fmt::format("an input of rank {} (N, C and at least one more axis)", rank));
  }
  std::vector<std::int64_t> axes(static_cast<std::size_t>(rank - 2));
  std::iota(axes.begin(), axes.end(), 2);
  return axes;
}
void lower_global_average_pool(Lowerer& l, const Node& n) {
  reduce_axes(l, n, ReduceOp::mean, spatial_axes(l, n));
}
void lower_global_max_pool(Lowerer& l, const Node& n) {
  reduce_axes(l, n, ReduceOp::max, spatial_axes(l, n));
}
// Why a Reduce* node is refused whose axes input (opset 18; ReduceSum 13)
// is computed at run time; std::nullopt for any other node.
bool shape_known(const Graph& graph, const std::string& value) {
  const auto it = graph.values.find(value);
  return graph.is_constant(value) || (it != graph.values.end() && it->second.shape.has_value());
}

// Every value a node or the graph's outputs read.
std::set<std::string> values_read(const Graph& graph) {
  std::set<std::string> read(graph.outputs.begin(), graph.outputs.end());
  for (const Node& node : graph.nodes) {
    read.insert(node.inputs.begin(), node.inputs.end());
  }
  return read;
}

bool reads_unknown_shape(const Graph& graph, const Node& node) {
  return std::ranges::any_of(node.inputs, [&](const std::string& input) {
    return !input.empty() && !shape_known(graph, input);
  });
}

// A node whose inputs' shapes are known but one of whose outputs, read
// further on, has none: its shape depends on values known only at run
// time (a Range over a computed length, a Reshape to a computed shape).
std::optional<std::string> unknown_output_shape(const Graph& graph, const Node& node,
                                                const std::set<std::string>& read) {
  if (reads_unknown_shape(graph, node)) {
    return std::nullopt;  // a node before it is the cause
  }
  for (const std::string& output : node.outputs) {
    if (!output.empty() && read.contains(output) && !shape_known(graph, output)) {
      return fmt::format("the shape of '{}' depends on values known only at run time", output);
    }
  }
  return std::nullopt;
}

std::optional<std::string> computed_reduce_axes(const Graph& graph, const Node& n) {
  if (!n.op.starts_with("Reduce") || n.inputs.size() < 2 || n.inputs[1].empty() ||
      graph.is_constant(n.inputs[1])) {
    return std::nullopt;
  }
  return fmt::format("axes '{}' computed at run time; only constant axes", n.inputs[1]);
}
// The axes a Reduce* node reduces: its `axes` attribute, or its input 1
// (ReduceSum from opset 13, the others from 18), a constant
// (lower_instructions() refuses a computed one first). None given reduces
// every axis, unless noop_with_empty_axes: then the node is the identity
// (std::nullopt).
std::optional<std::vector<std::int64_t>> reduced_axes(Lowerer& l, const Node& n) {
  std::vector<std::int64_t> axes = n.get_ints("axes", {});
  if (n.inputs.size() > 1 && !n.inputs[1].empty()) {
    axes = constant_ints(l, n, 1);
  }
  if (axes.empty() && n.get_int("noop_with_empty_axes", 0) != 0) {
    return std::nullopt;
  }
  return axes;
}
void lower_reduce(Lowerer& l, const Node& n, ReduceOp op) {
  if (is_integer(value_type(l, n.outputs.at(0)))) {
    reduce_integers(l, n, op);
    return;
  }
  if (auto axes = reduced_axes(l, n)) {
    reduce_axes(l, n, op, std::move(*axes));
  } else {
    lower_alias(l, n);
  }
}
// ln(sum): REDUCE sum, then ACTIVATION_PARAM LOG (v1.5). No axes with
// noop_with_empty_axes: ln x, no sum, as onnxruntime.
void lower_reduce_log_sum(Lowerer& l, const Node& n) {
  l.require_v15("ACTIVATION_PARAM LOG");
  std::optional<std::vector<std::int64_t>> axes = reduced_axes(l, n);
  const std::string& out = n.outputs.at(0);
  const std::int64_t count = element_count(l.shape(out));
  std::string sum = input(n, 0);
  if (axes) {
    sum = l.scratch(count);
    reduce_into(l, n, ReduceOp::sum, input(n, 0), std::move(*axes), sum);
  }
  param_function_into(l, n.label(), ParamActivation::log, sum, out, count, 0.0F, 0.0F);
}
// The largest finite value of the float type `dt` (an FP32 program's for
// the others): a bound that converting to `dt` keeps finite.
float largest_finite(DataType dt) {
  switch (dt) {
    case DataType::fp16:
      return 65504.0F;
    case DataType::bf16:
      return std::bit_cast<float>(0x7F7F0000U);
    default:
      return std::numeric_limits<float>::max();
  }
}
// ln(sum(e^x)) shifted by the maximum m so that no e^x overflows:
// m + ln(sum(e^(x - m))). REDUCE max; ACTIVATION_PARAM CLIP of m to the
// finite range; ELTWISE sub of m broadcast (a COPY_STRIDED expansion where m
// varies along middle axes); ACTIVATION_PARAM EXP; REDUCE sum;
// ACTIVATION_PARAM LOG (v1.5); ELTWISE add m. The clip leaves a finite m as
// it is; an infinite one would make x - m NaN (-inf - -inf): clipped, a
// slice of only -inf gives ln(0) + m = -inf and one holding +inf gives +inf,
// as onnxruntime.
void lower_reduce_log_sum_exp(Lowerer& l, const Node& n) {
  std::optional<std::vector<std::int64_t>> reduced = reduced_axes(l, n);
  if (!reduced) {
    lower_alias(l, n);
    return;
  }
  l.require_v15("ACTIVATION_PARAM LOG");
  const std::string& x = input(n, 0);
  const std::string& out = n.outputs.at(0);
  const Shape& sx = l.shape(x);
  const std::vector<std::int64_t>& axes = *reduced;
  const auto rank = static_cast<std::int64_t>(sx.size());
  Shape kept = sx;  // the reduced axes kept as 1: m broadcasts over x
  if (axes.empty()) {
    std::ranges::fill(kept, 1);
  }
  for (std::int64_t axis : axes) {
    axis = axis < 0 ? axis + rank : axis;
    if (axis >= 0 && axis < rank) {  // reduce_into refuses the others
      kept[static_cast<std::size_t>(axis)] = 1;
    }
  }
  const std::int64_t count = element_count(sx);
  const std::int64_t kept_count = element_count(kept);
  const std::string max = l.scratch_shaped(kept);
  const std::string finite_max = l.scratch_shaped(kept);
  const std::string shifted = l.scratch_shaped(sx);
  const std::string exponentials = l.scratch_shaped(sx);
  const std::string sums = l.scratch(kept_count);
  const std::string logs = l.scratch(kept_count);
  const auto function = [&](ParamActivation f, const std::string& from, const std::string& to,
                            std::int64_t elements, float alpha, float beta) {
    const std::uint32_t c = u32(elements, "element count");
    l.emit(n.label(), {l.ref(from)}, {l.ref(to)},
           [=, dt = l.dtype()](KernelBuilder& k, std::span<const BufferArg> s) {
             k.activation_param(dt, f, s[0], s[1], c, alpha, beta);
           });
  };
  reduce_into(l, n, ReduceOp::max, x, axes, max);
  const float bound = largest_finite(l.dtype());
  function(ParamActivation::clip, max, finite_max, kept_count, -bound, bound);
  broadcast_binary(l, n.label(), EltwiseOp::sub, x, finite_max, shifted);
  function(ParamActivation::exp, shifted, exponentials, count, 0.0F, 0.0F);
  reduce_into(l, n, ReduceOp::sum, exponentials, axes, sums);
  function(ParamActivation::log, sums, logs, kept_count, 0.0F, 0.0F);
  l.eltwise(n.label(), EltwiseOp::add, l.ref(logs), l.ref(finite_max), l.ref(out), kept_count,
            kept_count);
}
// What an L1 or L2 norm sums, |x| (p = 1) or x * x (p = 2), into `out`.
void norm_terms_into(Lowerer& l, const std::string& origin, const std::string& x, std::int64_t p,
                     const std::string& out) {
  if (p == 1) {
    absolute_into(l, origin, x, out);
    return;
  }
  const std::int64_t count = element_count(l.shape(x));
  l.eltwise(origin, EltwiseOp::mul, l.ref(x), l.ref(x), l.ref(out), count, count);
}
// ReduceL1 (p 1, the sum of |x|), ReduceSumSquare (p 2, the sum of x * x)
// and ReduceL2 (p 2 and `root`: then ACTIVATION_PARAM SQRT): the terms, one
// REDUCE sum, the root. With noop_with_empty_axes and no axes there is no
// REDUCE, as onnxruntime: |x|, x * x and sqrt(x * x).
void lower_reduce_norm(Lowerer& l, const Node& n, std::int64_t p, bool root) {
  if (root) {
    l.require(isa::Opcode::activation_param);
  }
  const std::optional<std::vector<std::int64_t>> axes = reduced_axes(l, n);
  const std::string& x = input(n, 0);
  const std::string& out = n.outputs.at(0);
  if (!axes && !root) {
    norm_terms_into(l, n.label(), x, p, out);
    return;
  }
  const std::string terms = l.scratch_shaped(l.shape(x));
  norm_terms_into(l, n.label(), x, p, terms);
  const std::int64_t count = element_count(l.shape(out));
  std::string sums = terms;
  if (axes) {
    sums = root ? l.scratch(count) : out;
    reduce_into(l, n, ReduceOp::sum, terms, *axes, sums);
  }
  if (root) {
    param_function_into(l, n.label(), ParamActivation::sqrt, sums, out, count, 0.0F, 0.0F);
  }
}
void lower_reduce_l1(Lowerer& l, const Node& n) {
  lower_reduce_norm(l, n, 1, false);
}
void lower_reduce_l2(Lowerer& l, const Node& n) {
  lower_reduce_norm(l, n, 2, true);
}
void lower_reduce_sum_square(Lowerer& l, const Node& n) {
  lower_reduce_norm(l, n, 2, false);
}
// ReduceProd. REDUCE has no product, and e^(sum of ln |x|) would not be
// exact (LOG and EXP are approximations, hw-spec 7.4.5), so the slices'
// rows are multiplied by halves: x seen as length rows of outer x inner
// (one COPY_STRIDED moves the reduced axes first when outer > 1), then while
// more than one row is left, one ELTWISE mul of the first floor(rows / 2)
// rows by the last floor(rows / 2), the middle row of an odd count carried
// by one COPY_STRIDED: about log2(length) steps. Each product is rounded
// once, as a sequential product's, in another order: the results differ by
// rounding (a few units in the last place), and an intermediate overflow
// or underflow can differ where the order matters. No axes with
// noop_with_empty_axes: the identity, as onnxruntime.
void lower_reduce_prod(Lowerer& l, const Node& n) {
  const std::optional<std::vector<std::int64_t>> axes = reduced_axes(l, n);
  const std::string& x = input(n, 0);
  const ReducedBlock block = axes ? reduced_block(l.shape(x), *axes) : ReducedBlock{1, 1, 1};
  if (block.length == 1) {  // the noop, or axes of extent 1
    lower_alias(l, n);
    return;
  }
  const std::string& out = n.outputs.at(0);
  const std::int64_t width = std::int64_t{block.outer} * block.inner;
  std::int64_t rows = block.length;
  std::string current = x;
  if (block.outer > 1) {
    l.require(isa::Opcode::copy_strided);
    current = l.scratch(width * rows);
    strided_copy(l, n.label(), l.ref(current), l.ref(x),
                 {{rows, block.inner, width},
                  {block.outer, std::int64_t{block.length} * block.inner, block.inner},
                  {block.inner, 1, 1}});
  }
  const auto row = [&](std::int64_t index) {
    return static_cast<std::uint64_t>(index * width * l.esize());
  };
  while (rows > 1) {
    const std::int64_t half = rows / 2;
    const std::int64_t left = rows - half;  // the rows of the next step
    const std::string next = left == 1 ? out : l.scratch(width * left);
    l.eltwise(n.label(), EltwiseOp::mul, l.ref(current), l.ref(current, row(left)), l.ref(next),
              half * width, half * width);
    if (left > half) {
      l.require(isa::Opcode::copy_strided);
      strided_copy(l, n.label(), l.ref(next, row(half)), l.ref(current, row(half)),
                   {{width, 1, 1}});
    }
    current = next;
    rows = left;
  }
}

// The smallest positive value of the float type `dt` that is normal once
// widened to FP32 (FP16's smallest subnormal, 2^-24; FP32's and BF16's
// smallest normal, 2^-126): a divisor that keeps 0 / it at 0.
float smallest_positive(DataType dt) {
  return dt == DataType::fp16 ? 0x1p-24F : std::numeric_limits<float>::min();
}
// LpNormalization: x / ||x||_p along `axis`, p 1 or 2. The norm as
// ReduceL1 or ReduceL2 keeps it (norm_terms_into, REDUCE sum, [SQRT]), then
// ACTIVATION_PARAM CLIP of it to [smallest_positive, +inf] (a NaN stays
// NaN), then ELTWISE div broadcast along the axis (a COPY_STRIDED expansion
// where the axis is not the first). The clip changes only a norm of 0 (or
// below the type's smallest normal): an all-zero slice gives 0 / it = 0,
// as onnxruntime, which writes 0 where the norm is 0.
void lower_lp_normalization(Lowerer& l, const Node& n) {
  const std::int64_t p = n.get_int("p", 2);
  if (p != 1 && p != 2) {
    throw Unsupported(fmt::format("p {}: ONNX defines 1 and 2", p));
  }
  l.require(isa::Opcode::activation_param);
  const std::string& x = input(n, 0);
  const Shape& sx = l.shape(x);
  const auto rank = static_cast<std::int64_t>(sx.size());
  const std::int64_t given = n.get_int("axis", -1);
  const std::int64_t axis = given < 0 ? given + rank : given;
  if (axis < 0 || axis >= rank) {
    throw Unsupported(fmt::format("axis {} outside the input's rank {}", given, rank));
  }
  Shape kept = sx;
  kept[static_cast<std::size_t>(axis)] = 1;
  const std::int64_t count = element_count(kept);
  const std::string terms = l.scratch_shaped(sx);
  norm_terms_into(l, n.label(), x, p, terms);
  const std::string sums = l.scratch_shaped(kept);
  reduce_into(l, n, ReduceOp::sum, terms, {axis}, sums);
  std::string norm = sums;
  if (p == 2) {
    norm = l.scratch_shaped(kept);
    param_function_into(l, n.label(), ParamActivation::sqrt, sums, norm, count, 0.0F, 0.0F);
  }
  const std::string divisor = l.scratch_shaped(kept);
  param_function_into(l, n.label(), ParamActivation::clip, norm, divisor, count,
                      smallest_positive(l.dtype()), std::numeric_limits<float>::infinity());
  broadcast_binary(l, n.label(), EltwiseOp::div, x, divisor, n.outputs.at(0));
}
void lower_reduce_mean(Lowerer& l, const Node& n) {
  lower_reduce(l, n, ReduceOp::mean);
}
void lower_reduce_sum(Lowerer& l, const Node& n) {
  lower_reduce(l, n, ReduceOp::sum);
}
void lower_reduce_max(Lowerer& l, const Node& n) {
  lower_reduce(l, n, ReduceOp::max);
}
void lower_reduce_min(Lowerer& l, const Node& n) {
  lower_reduce(l, n, ReduceOp::min);
}

// Before opset 13 Softmax works on the input flattened to 2-D at `axis`
// (one SOFTMAX over rows of everything from `axis` on); from 13 on along
// `axis` alone: one SOFTMAX for the last axis, otherwise between two
// TRANSPOSEs that move the axis last and back (outer x axis x inner).
// LogSoftmax the same way with SOFTMAX's LOG flag (v1.5).
void lower_softmax_rows(Lowerer& l, const Node& n, bool log) {
  const std::string& x = input(n, 0);
  const std::string& out = n.outputs.at(0);
  const Shape& sx = l.shape(x);
  const auto rank = static_cast<std::int64_t>(sx.size());
  std::int64_t axis = n.get_int("axis", l.graph().opset < 13 ? 1 : -1);
  axis = axis < 0 ? axis + rank : axis;
  if (axis < 0 || axis >= rank) {
    throw Unsupported("axis out of range");
  }
  const auto a = static_cast<std::size_t>(axis);
  const std::int64_t outer = product(sx, 0, a);
  const std::int64_t inner = l.graph().opset < 13 ? 1 : product(sx, a + 1, sx.size());
  const std::int64_t length = product(sx, a, sx.size()) / inner;
  const auto cols = u32(length, "cols");
  // Over 64 MiB, one SOFTMAX per range of whole rows that fits.
  const auto softmax = [&](const std::string& from, const std::string& to) {
    for (const ElementRange& r : l.operand_ranges(outer * inner * length, length)) {
      const auto at = static_cast<std::uint64_t>(r.first * l.esize());
      l.emit(n.label(), {l.ref(from, at)}, {l.ref(to, at)},
             [=, rows = u32(r.count / length, "rows"), dt = l.dtype()](
                 KernelBuilder& k, std::span<const BufferArg> s) {
               if (log) {
                 k.log_softmax(dt, s[0], s[1], rows, cols);
               } else {
                 k.softmax(dt, s[0], s[1], rows, cols);
               }
             });
    }
  };
  if (inner == 1) {
    softmax(x, out);
    return;
  }
  const std::int64_t count = element_count(sx);
  const std::string last = l.scratch(count);
  const std::string normalized = l.scratch(count);
  l.transpose(n.label(), l.ref(x), l.ref(last), outer, sx[a], inner);
  softmax(last, normalized);
  l.transpose(n.label(), l.ref(normalized), l.ref(out), outer, inner, sx[a]);
}
void lower_softmax(Lowerer& l, const Node& n) {
  lower_softmax_rows(l, n, false);
}
void lower_log_softmax(Lowerer& l, const Node& n) {
  l.require_v15("SOFTMAX LOG");
  lower_softmax_rows(l, n, true);
}

// One run of output positions along an axis of a Pad and where it reads
// the input: `size` positions from `to`, reading from `from` with `step`
// (0: the edge element repeated).
struct PadRun {
  std::int64_t to, size, from, step;
};

// The runs of one axis of input length `length` padded by `begin` and
// `end`: the copy of the input, and for the padding per mode: edge one
// run per side repeating the edge element; wrap one run per side (the
// input's other end); reflect one run per position (the mirrored element;
// the ISA's strides are not negative).
std::vector<PadRun> pad_runs(const std::string& mode, std::int64_t length, std::int64_t begin,
                             std::int64_t end) {
  if (begin < 0 || end < 0) {
    throw Unsupported(fmt::format("negative pads with mode {}", mode));
  }
  if ((mode == "reflect" && (begin >= length || end >= length)) ||
      (mode == "wrap" && (begin > length || end > length))) {
    throw Unsupported(
        fmt::format("mode {} padding {} and {} of {} elements", mode, begin, end, length));
  }
  std::vector<PadRun> runs{{begin, length, 0, 1}};
  if (mode == "edge") {
    runs.push_back({0, begin, 0, 0});
    runs.push_back({begin + length, end, length - 1, 0});
  } else if (mode == "wrap") {
    runs.push_back({0, begin, length - begin, 1});
    runs.push_back({begin + length, end, 0, 1});
  } else {
    for (std::int64_t j = 0; j < begin; ++j) {
      runs.push_back({j, 1, begin - j, 1});
    }
    for (std::int64_t j = 0; j < end; ++j) {
      runs.push_back({begin + length + j, 1, length - 2 - j, 1});
    }
  }
  std::erase_if(runs, [](const PadRun& r) { return r.size == 0; });
  return runs;
}

// Pad modes edge, reflect and wrap: every output element is an input
// element, so the output is the product of each axis's runs, one
// COPY_STRIDED (v1.1) from the input per combination (at most kMaxCopies).
void pad_from_input(Lowerer& l, const std::string& origin, const std::string& mode,
                    const std::string& x, const Shape& sx, const std::string& out, const Shape& so,
                    const std::vector<std::int64_t>& begin, const std::vector<std::int64_t>& end) {
  l.require(isa::Opcode::copy_strided);
  const std::size_t rank = sx.size();
  std::vector<std::vector<PadRun>> runs;
  std::size_t copies = 1;
  for (std::size_t d = 0; d < rank; ++d) {
    runs.push_back(pad_runs(mode, sx[d], begin[d], end[d]));
    copies *= runs.back().size();
  }
  if (copies > kMaxCopies) {
    throw Unsupported(fmt::format("{} copies (at most {})", copies, kMaxCopies));
  }
  const std::vector<std::int64_t> in_strides = strides_of(sx), out_strides = strides_of(so);
  for (std::size_t c = 0; c < copies; ++c) {
    std::size_t rest = c;
    std::vector<CopyAxis> axes(rank);
    std::int64_t from = 0, to = 0;
    for (std::size_t d = rank; d-- > 0;) {
      const PadRun& r = runs[d][rest % runs[d].size()];
      rest /= runs[d].size();
      axes[d] = {r.size, r.step * in_strides[d], out_strides[d]};
      from += r.from * in_strides[d];
      to += r.to * out_strides[d];
    }
    strided_copy(l, origin, l.ref(out, static_cast<std::uint64_t>(to * l.esize())),
                 l.ref(x, static_cast<std::uint64_t>(from * l.esize())), axes);
  }
}

// Pad, mode constant (the value an attribute before opset 11, an optional
// input from 11 on; pads per axis begin and end, negative ones crop; from
// opset 18 an `axes` input): one DMA_FILL of the output with the value's
// bit pattern and one COPY_STRIDED (v1.1) of the kept part of the input.
// Modes edge, reflect and wrap: pad_from_input.
void lower_pad(Lowerer& l, const Node& n) {
  const std::string mode = n.get_string("mode", "constant");
  if (mode != "constant" && mode != "edge" && mode != "reflect" && mode != "wrap") {
    throw Unsupported(fmt::format("mode {}", mode));
  }
  const std::string& x = input(n, 0);
  const std::string& out = n.outputs.at(0);
  const Shape& sx = l.shape(x);
  const Shape& so = l.shape(out);
  const std::size_t rank = sx.size();
  const bool inputs = l.graph().opset >= 11;
  const std::vector<std::int64_t> pads = inputs ? constant_ints(l, n, 1) : n.get_ints("pads", {});
  std::vector<std::int64_t> axes = inputs ? constant_ints(l, n, 3) : std::vector<std::int64_t>{};
  if (axes.empty()) {
    for (std::size_t d = 0; d < rank; ++d) {
      axes.push_back(static_cast<std::int64_t>(d));
    }
  }
  if (pads.size() != 2 * axes.size()) {
    throw Unsupported(fmt::format("{} pads for {} axes", pads.size(), axes.size()));
  }
  std::vector<std::int64_t> begin(rank, 0), end(rank, 0);
  for (std::size_t i = 0; i < axes.size(); ++i) {
    const std::int64_t axis = axes[i] < 0 ? axes[i] + static_cast<std::int64_t>(rank) : axes[i];
    begin.at(static_cast<std::size_t>(axis)) = pads[i];
    end.at(static_cast<std::size_t>(axis)) = pads[axes.size() + i];
  }
  if (mode != "constant") {
    pad_from_input(l, n.label(), mode, x, sx, out, so, begin, end);
    return;
  }
  const float value = inputs ? constant_scalar(l, n, 2).value_or(0.0F) : n.get_float("value", 0);
  pad_into(l, n.label(), x, sx, out, so, begin, end, value);
}

// `x` viewed as `dims` (row-major), its axes permuted by `perm`, into `out`:
// COPY_STRIDEDs (v1.1), one where the axes merge into at most four,
// otherwise one per element of the outermost axes that do not fit (at most
// kMaxCopies).
void permuted_copy(Lowerer& l, const std::string& origin, const std::string& x,
                   const std::string& out, const Shape& dims,
                   const std::vector<std::size_t>& perm) {
  l.require(isa::Opcode::copy_strided);
  const std::vector<std::int64_t> in_strides = strides_of(dims);
  Shape permuted;
  for (const std::size_t axis : perm) {
    permuted.push_back(dims.at(axis));
  }
  const std::vector<std::int64_t> out_strides = strides_of(permuted);
  std::vector<CopyAxis> axes;
  for (std::size_t i = 0; i < perm.size(); ++i) {
    axes.push_back({permuted[i], in_strides[perm[i]], out_strides[i]});
  }
  const std::vector<CopyAxis> simple = simplify(axes);
  const std::size_t peeled = simple.size() > 4 ? simple.size() - 4 : 0;
  std::int64_t copies = 1;
  for (std::size_t d = 0; d < peeled; ++d) {
    copies *= simple[d].size;
  }
  if (copies > static_cast<std::int64_t>(kMaxCopies)) {
    throw Unsupported(fmt::format("{} copies of a {}-axis permutation (at most {})", copies,
                                  simple.size(), kMaxCopies));
  }
  const std::vector<CopyAxis> inner(simple.begin() + static_cast<std::ptrdiff_t>(peeled),
                                    simple.end());
  for (std::int64_t i = 0; i < copies; ++i) {
    std::int64_t rest = i, from = 0, to = 0;
    for (std::size_t d = peeled; d-- > 0;) {
      from += (rest % simple[d].size) * simple[d].src_stride;
      to += (rest % simple[d].size) * simple[d].dst_stride;
      rest /= simple[d].size;
    }
    strided_copy(l, origin, l.ref(out, static_cast<std::uint64_t>(to * l.esize())),
                 l.ref(x, static_cast<std::uint64_t>(from * l.esize())), inner);
  }
}

// DepthToSpace (PyTorch's PixelShuffle exports mode CRD): [N, C, H, W] to
// [N, C / b^2, H b, W b], as ONNX defines it: x viewed as [N, b, b, C', H, W]
// (DCR) or [N, C', b, b, H, W] (CRD), permuted to [N, C', H, b, W, b].
void lower_depth_to_space(Lowerer& l, const Node& n) {
  const std::string& x = input(n, 0);
  const Shape& sx = l.shape(x);
  const std::int64_t b = n.get_int("blocksize", 0);
  if (sx.size() != 4 || b < 1 || sx[1] % (b * b) != 0) {
    throw Unsupported(fmt::format("blocksize {} of an input {}", b, to_string(sx)));
  }
  const std::int64_t c = sx[1] / (b * b);
  if (n.get_string("mode", "DCR") == "CRD") {
    permuted_copy(l, n.label(), x, n.outputs.at(0), {sx[0], c, b, b, sx[2], sx[3]},
                  {0, 1, 4, 2, 5, 3});
  } else {
    permuted_copy(l, n.label(), x, n.outputs.at(0), {sx[0], b, b, c, sx[2], sx[3]},
                  {0, 3, 4, 1, 5, 2});
  }
}

// SpaceToDepth: [N, C, H, W] to [N, C b^2, H / b, W / b]: x viewed as
// [N, C, H / b, b, W / b, b], permuted to [N, b, b, C, H / b, W / b].
void lower_space_to_depth(Lowerer& l, const Node& n) {
  const std::string& x = input(n, 0);
  const Shape& sx = l.shape(x);
  const std::int64_t b = n.get_int("blocksize", 0);
  if (sx.size() != 4 || b < 1 || sx[2] % b != 0 || sx[3] % b != 0) {
    throw Unsupported(fmt::format("blocksize {} of an input {}", b, to_string(sx)));
  }
  permuted_copy(l, n.label(), x, n.outputs.at(0), {sx[0], sx[1], sx[2] / b, b, sx[3] / b, b},
                {0, 3, 5, 1, 2, 4});
}

// Any permutation: one strided copy (v1.1) where the permuted axes merge
// into at most four; otherwise (and on v1) a sequence of device transposes
// (batch x rows x cols -> batch x cols x rows): each step moves the axis
// wanted next, with everything after it, in front of the axes not yet
// placed.
void lower_transpose(Lowerer& l, const Node& n) {
  const std::string& x = input(n, 0);
  const Shape& sx = l.shape(x);
  std::vector<std::int64_t> perm = n.get_ints("perm", {});
  if (perm.empty()) {
    for (auto i = static_cast<std::int64_t>(sx.size()); i-- > 0;) {
      perm.push_back(i);
    }
  }
  if (l.has(isa::Opcode::copy_strided)) {
    const std::vector<std::int64_t> in_strides = strides_of(sx);
    const std::vector<std::int64_t> out_strides = strides_of(l.shape(n.outputs.at(0)));
    std::vector<CopyAxis> axes;
    for (std::size_t i = 0; i < perm.size(); ++i) {
      const auto axis = static_cast<std::size_t>(perm[i]);
      axes.push_back({sx.at(axis), in_strides.at(axis), out_strides[i]});
    }
    if (const std::vector<CopyAxis> simple = simplify(axes);
        simple.size() > 1 && simple.size() <= 4) {
      strided_copy(l, n.label(), l.ref(n.outputs[0]), l.ref(x), axes);
      return;
    }
  }
  // Axes of extent 1 do not move any data.
  std::vector<std::int64_t> order;  // the wanted order of the non-trivial axes
  for (const std::int64_t p : perm) {
    if (sx.at(static_cast<std::size_t>(p)) != 1) {
      order.push_back(p);
    }
  }
  std::vector<std::int64_t> current = order;
  std::ranges::sort(current);
  struct Step {
    std::int64_t batch, rows, cols;
  };
  std::vector<Step> steps;
  auto dims = [&](std::size_t from, std::size_t to) {
    std::int64_t p = 1;
    for (std::size_t i = from; i < to; ++i) {
      p *= sx[static_cast<std::size_t>(current[i])];
    }
    return p;
  };
  for (std::size_t i = 0; i < order.size(); ++i) {
    const auto j = static_cast<std::size_t>(std::ranges::find(current, order[i]) - current.begin());
    if (j == i) {
      continue;
    }
    steps.push_back({dims(0, i), dims(i, j), dims(j, current.size())});
    std::rotate(current.begin() + static_cast<std::ptrdiff_t>(i),
                current.begin() + static_cast<std::ptrdiff_t>(j), current.end());
  }
  const std::string& out = n.outputs.at(0);
  if (steps.empty()) {
    l.alias(out, x, n.label());
    return;
  }
  const std::int64_t count = element_count(sx);
  std::string source = x;
  for (std::size_t s = 0; s < steps.size(); ++s) {
    const std::string target = s + 1 == steps.size() ? out : l.scratch(count);
    l.transpose(n.label(), l.ref(source), l.ref(target), steps[s].batch, steps[s].rows,
                steps[s].cols);
    source = target;
  }
}

// Concatenation: one strided copy per input (v1.1); on v1 one DMA_COPY per
// input and per block of the axes before `axis`.
void lower_concat(Lowerer& l, const Node& n) {
  const std::string& out = n.outputs.at(0);
  const Shape& so = l.shape(out);
  auto axis = n.get_int("axis", 0);
  axis = axis < 0 ? axis + static_cast<std::int64_t>(so.size()) : axis;
  const auto a = static_cast<std::size_t>(axis);
  if (is_integer(value_type(l, out))) {
    concat_integers(l, n, a);
    return;
  }
  const std::int64_t outer = product(so, 0, a);
  const std::int64_t row = product(so, a, so.size());  // elements
  if (l.has(isa::Opcode::copy_strided)) {
    std::int64_t offset = 0;
    for (const std::string& in : n.inputs) {
      const std::int64_t block = product(l.shape(in), a, so.size());
      const std::string src = l.operand(in);
      strided_copy(l, n.label(), l.ref(out, static_cast<std::uint64_t>(offset * l.esize())),
                   l.ref(src), {{outer, block, row}, {block, 1, 1}});
      offset += block;
    }
    return;
  }
  if (static_cast<std::size_t>(outer) * n.inputs.size() > kMaxCopies) {
    throw Unsupported(fmt::format("{} copies (at most {} in v1)",
                                  outer * static_cast<std::int64_t>(n.inputs.size()), kMaxCopies));
  }
  for (std::int64_t o = 0; o < outer; ++o) {
    std::int64_t offset = 0;
    for (const std::string& in : n.inputs) {
      const std::int64_t block = product(l.shape(in), a, so.size()) * l.esize();
      const std::string src = l.operand(in);
      l.copy(l.ref(out, static_cast<std::uint64_t>(o * row * l.esize() + offset)),
             l.ref(src, static_cast<std::uint64_t>(o * block)), block, n.label());
      offset += block;
    }
  }
}

// Split (any opset: `split` as attribute or input, or num_outputs; the
// outputs' inferred shapes say where each part ends): one COPY_STRIDED per
// output (v1.1).
void lower_split(Lowerer& l, const Node& n) {
  l.require(isa::Opcode::copy_strided);
  const std::string& x = input(n, 0);
  const Shape& sx = l.shape(x);
  auto axis = n.get_int("axis", 0);
  axis = axis < 0 ? axis + static_cast<std::int64_t>(sx.size()) : axis;
  const auto a = static_cast<std::size_t>(axis);
  const std::int64_t outer = product(sx, 0, a);
  const std::int64_t row = product(sx, a, sx.size());  // elements
  std::int64_t offset = 0;
  for (const std::string& out : n.outputs) {
    const std::int64_t block = product(l.shape(out), a, sx.size());
    if (element_count(l.shape(out)) == 0) {
      continue;  // a piece of size 0: no bytes to write
    }
    strided_copy(l, n.label(), l.ref(out), l.ref(x, static_cast<std::uint64_t>(offset * l.esize())),
                 {{outer, row, block}, {block, 1, 1}});
    offset += block;
  }
}

// n's output, integers of its input's kind (an integer input's, or made
// on the device) moved along `axes` (in elements) from element `first` on:
// their INT32 words, two per int64, by one COPY_STRIDED; read on like the
// input (indices, comparisons, Casts). A graph output of integers computed
// as INT32 words is widened to its int64.
void copy_integers(Lowerer& l, const Node& n, std::int64_t first, std::vector<CopyAxis> axes) {
  const std::string& x = input(n, 0);
  const std::string& out = n.outputs.at(0);
  l.require(isa::Opcode::copy_strided);
  TensorRef src = l.index_ref(x).first;
  const ElementType type = l.integer_type(src.tensor);
  const std::int64_t words = type == ElementType::int64 ? 2 : 1;
  for (CopyAxis& axis : axes) {
    axis.src_stride *= words;
    axis.dst_stride *= words;
  }
  axes.push_back({words, 1, 1});
  src.offset += static_cast<std::uint64_t>(first * words * 4);
  if (!l.is_io(out)) {
    l.add_integer_tensor(out, type, l.integer_source(x));
    strided_copy(l, n.label(), {out, 0}, std::move(src), axes, DataType::int32);
  } else if (type == ElementType::int64) {
    strided_copy(l, n.label(), l.computed_indices(out), std::move(src), axes, DataType::int32);
  } else {
    integer_result(l, n.label(), out, [&](TensorRef result) {
      strided_copy(l, n.label(), std::move(result), src, axes, DataType::int32);
    });
  }
}

// Expand of an integer input (an attention mask before its Cast).
void expand_integers(Lowerer& l, const Node& n) {
  copy_integers(l, n, 0, broadcast_axes(l.shape(input(n, 0)), l.shape(n.outputs.at(0))));
}

// Expand (NumPy broadcasting to the output's shape): one COPY_STRIDED
// (v1.1) reading every broadcast axis with stride 0; a bool mask's bytes
// as INT8.
void lower_expand(Lowerer& l, const Node& n) {
  l.require(isa::Opcode::copy_strided);
  const std::string& x = input(n, 0);
  const std::string& out = n.outputs.at(0);
  if (l.holds_indices(x)) {
    expand_integers(l, n);
    return;
  }
  const bool mask = l.element_bytes(out) == 1;
  const std::vector<CopyAxis> axes = broadcast_axes(l.shape(x), l.shape(out));
  const std::string src = l.operand(x);
  strided_copy(l, n.label(), l.ref(out), l.ref(src), axes,
               mask ? std::optional(DataType::int8) : std::nullopt);
}

// Tile by constant repeats r: the output viewed as [r0, d0, r1, d1, ...] is
// x viewed as [1, d0, 1, d1, ...] broadcast (both views keep the row-major
// order): one COPY_STRIDED with source stride 0 along each repeat, as Expand.
void lower_tile(Lowerer& l, const Node& n) {
  l.require(isa::Opcode::copy_strided);
  const std::string& x = input(n, 0);
  const std::string& out = n.outputs.at(0);
  if (l.holds_indices(x) || l.element_bytes(out) == 1) {
    throw Unsupported("a Tile of integers or masks");
  }
  const std::vector<std::int64_t> repeats = constant_ints(l, n, 1);
  const Shape& shape = l.shape(x);
  if (repeats.size() != shape.size()) {
    throw Unsupported(fmt::format("{} repeats for rank {}", repeats.size(), shape.size()));
  }
  Shape from, to;
  double elements = 1;  // in double: hostile repeats would overflow the product
  for (std::size_t d = 0; d < shape.size(); ++d) {
    if (repeats[d] < 1) {
      throw Unsupported(fmt::format("repeat {} along axis {}", repeats[d], d));
    }
    elements *= static_cast<double>(repeats[d]) * static_cast<double>(shape[d]);
    from.insert(from.end(), {1, shape[d]});
    to.insert(to.end(), {repeats[d], shape[d]});
  }
  if (elements > 0x1p40) {
    throw Unsupported("a Tile of more than 2^40 elements");
  }
  const std::string src = l.operand(x);
  strided_copy(l, n.label(), l.ref(out), l.ref(src), broadcast_axes(from, to));
}

// ---- masks: COMPARE and SELECT (ISA v1.4) --------------------------------
// A bool tensor is a byte mask on the device, one byte 0 or 1 per element,
// as ONNX and NumPy store bool: COMPARE writes it, SELECT reads it.

// What a comparison compares: float tensors in the program's dtype, integer
// inputs (and tensors made from them) as INT32, or masks as bytes.
enum class CompareDomain : std::uint8_t { floats, integers, masks };

ElementType value_type(Lowerer& l, const std::string& value) {
  if (l.graph().is_constant(value)) {
    const Constant& c = l.graph().constants.at(value);
    return c.is_float() ? ElementType::float32 : c.type;
  }
  const auto it = l.graph().values.find(value);
  if (it == l.graph().values.end() || it->second.type == ElementType::undefined) {
    return ElementType::float32;
  }
  return it->second.type;
}

bool is_integer(ElementType type) {
  return type == ElementType::int64 || type == ElementType::int32 || type == ElementType::uint8 ||
         type == ElementType::int8;
}

CompareDomain compare_domain(Lowerer& l, const std::string& a, const std::string& b) {
  const ElementType ta = value_type(l, a);
  const ElementType tb = value_type(l, b);
  if (ta == ElementType::float32 && tb == ElementType::float32) {
    return CompareDomain::floats;
  }
  if (is_integer(ta) && is_integer(tb)) {
    return CompareDomain::integers;
  }
  if (ta == ElementType::boolean && tb == ElementType::boolean) {
    return CompareDomain::masks;
  }
  throw Unsupported(fmt::format("compares {} with {}", to_string(ta), to_string(tb)));
}

DataType domain_dtype(const Lowerer& l, CompareDomain d) {
  return d == CompareDomain::floats     ? l.dtype()
         : d == CompareDomain::integers ? DataType::int32
                                        : DataType::int8;
}

std::int64_t domain_bytes(const Lowerer& l, CompareDomain d) {
  return d == CompareDomain::floats ? l.esize() : d == CompareDomain::integers ? 4 : 1;
}

// An operand of COMPARE or SELECT: where its elements are, and its shape.
struct MaskOperand {
  TensorRef ref;
  Shape shape;
};

// `value` as elements of domain `d`: an integer value's INT32 words, a
// constant converted on the host (an integer beyond 32 bits refused).
MaskOperand domain_operand(Lowerer& l, const std::string& value, CompareDomain d,
                           const std::string& origin) {
  if (!l.graph().is_constant(value)) {
    return {d == CompareDomain::integers ? l.int32_view(value, origin) : l.ref(value),
            l.shape(value)};
  }
  const Constant& c = l.graph().constants.at(value);
  if (d == CompareDomain::floats) {
    if (c.is_float()) {
      return {l.ref(value), c.shape};
    }
    std::vector<float> values;
    for (std::int64_t i = 0; i < c.size(); ++i) {
      values.push_back(static_cast<float>(c.value(i)));
    }
    return {l.ref(l.new_constant(c.shape, std::move(values))), c.shape};
  }
  std::vector<std::int64_t> values;
  for (std::int64_t i = 0; i < c.size(); ++i) {
    const std::int64_t v = c.integer(i);
    if (v < std::numeric_limits<std::int32_t>::min() ||
        v > std::numeric_limits<std::int32_t>::max()) {
      throw Unsupported(
          fmt::format("constant '{}': {} does not fit the INT32 comparison", value, v));
    }
    values.push_back(v);
  }
  const bool ints = d == CompareDomain::integers;
  const std::string name = fmt::format("%{}:{}", value, ints ? "int32" : "int8");
  return {l.ref(l.integer_constant(name, ints ? ElementType::int32 : ElementType::int8,
                                   std::move(values))),
          c.shape};
}

// A zero of domain `d`, one element.
MaskOperand domain_zero(Lowerer& l, CompareDomain d) {
  if (d == CompareDomain::floats) {
    return {l.ref(l.scalar(0.0F)), {}};
  }
  const bool ints = d == CompareDomain::integers;
  return {l.ref(l.integer_constant(ints ? "%int32_zero" : "%int8_zero",
                                   ints ? ElementType::int32 : ElementType::int8, {0})),
          {}};
}

// `o` broadcast to the whole of `so` by one COPY_STRIDED (v1.1) into a
// scratch tensor, unless it already has every element.
void expand_operand(Lowerer& l, const std::string& origin, MaskOperand& o, const Shape& so,
                    DataType dtype, std::int64_t element_bytes) {
  if (element_count(o.shape) == element_count(so)) {
    return;
  }
  l.require(isa::Opcode::copy_strided);
  const std::string full = l.scratch_bytes(element_count(so) * element_bytes);
  strided_copy(l, origin, l.ref(full), o.ref, broadcast_axes(o.shape, so), dtype);
  o = {l.ref(full), so};
}

// Concat of integers (index tuples stacked at run time: torch.stack of a
// batch index and a position): each input's INT32 words (an int64 input's
// low words, checked by run(); a constant's converted) copied into its
// block by one COPY_STRIDED.
void concat_integers(Lowerer& l, const Node& n, std::size_t axis) {
  const std::string origin = n.label();
  const std::string& out = n.outputs.at(0);
  const Shape& so = l.shape(out);
  const std::int64_t outer = product(so, 0, axis);
  const std::int64_t row = product(so, axis, so.size());
  l.require(isa::Opcode::copy_strided);
  integer_result(l, origin, out, [&](const TensorRef& result) {
    std::int64_t offset = 0;
    for (const std::string& in : n.inputs) {
      const std::int64_t block = product(l.shape(in), axis, so.size());
      const MaskOperand words = domain_operand(l, in, CompareDomain::integers, origin);
      strided_copy(l, origin, shifted(result, offset * 4), words.ref,
                   {{outer, block, row}, {block, 1, 1}}, DataType::int32);
      offset += block;
    }
  });
}

// The count of `o`'s elements that COMPARE or SELECT reads as i mod count
// over `so` (the innermost-dimension broadcast of hw-spec 7.4.4): its own
// when its shape is a trailing block of `so` (a scalar, a row of keys);
// otherwise it is first expanded to `so`.
std::int64_t broadcast_count(Lowerer& l, const std::string& origin, MaskOperand& o, const Shape& so,
                             DataType dtype, std::int64_t element_bytes) {
  Shape s = o.shape;
  if (s.size() > so.size()) {
    throw Unsupported(
        fmt::format("shape {} broadcast to the lower rank of {}", to_string(s), to_string(so)));
  }
  s.insert(s.begin(), so.size() - s.size(), 1);
  std::size_t p = 0;
  while (p < s.size() && s[p] == 1) {
    ++p;
  }
  if (!std::equal(s.begin() + static_cast<std::ptrdiff_t>(p), s.end(),
                  so.begin() + static_cast<std::ptrdiff_t>(p))) {
    expand_operand(l, origin, o, so, dtype, element_bytes);
  }
  return element_count(o.shape);
}

// An operand read as `x[i mod count]` by ELTWISE, COMPARE or SELECT, of
// elements of `bytes`: the whole tensor (count the instruction's) or a
// block repeated along it.
struct RepeatedOperand {
  TensorRef ref;
  std::int64_t count, bytes;
};

// Ranges of `total` elements that fit the device's operand in each of
// `operands` and in the output (`out_bytes` per element), each range
// whole copies of every repeated block.
std::vector<ElementRange> repeated_ranges(const Lowerer& l, std::int64_t total,
                                          std::span<const RepeatedOperand> operands,
                                          std::int64_t out_bytes) {
  std::int64_t unit = 1, bytes = out_bytes;
  for (const RepeatedOperand& o : operands) {
    if (o.count != total && o.count > 0) {
      unit = std::lcm(unit, o.count);
    } else {
      bytes = std::max(bytes, o.bytes);
    }
  }
  return l.operand_ranges(total, unit, bytes);
}

// `o`'s part in range `r` of the instruction's elements: the range's own
// elements, or the whole repeated block.
RepeatedOperand part_of(const RepeatedOperand& o, std::int64_t total, const ElementRange& r) {
  if (o.count != total) {
    return o;
  }
  return {shifted(o.ref, r.first * o.bytes), r.count, o.bytes};
}

struct Comparison {
  CompareOp op;
  DataType dtype;
};
// mask `out` (`count` bytes) = a[i] OP b[i mod b.count]: one COMPARE (v1.4)
// per range that fits the device's operand.
void compare_in_ranges(Lowerer& l, const std::string& origin, Comparison c,
                       const RepeatedOperand& a, const RepeatedOperand& b, const TensorRef& out,
                       std::int64_t count) {
  l.require(isa::Opcode::compare);
  const std::array operands{a, b};
  for (const ElementRange& r : repeated_ranges(l, count, operands, 1)) {
    const RepeatedOperand pa = part_of(a, count, r), pb = part_of(b, count, r);
    const std::uint32_t n = u32(r.count, "element count"), nb = u32(pb.count, "broadcast count");
    l.emit(origin, {pa.ref, pb.ref}, {shifted(out, r.first)},
           [=](KernelBuilder& k, std::span<const BufferArg> s) {
             k.compare(c.dtype, c.op, s[0], s[1], s[2], n, nb);
           });
  }
}

// The comparison with its operands swapped: a < b is b > a.
CompareOp mirrored(CompareOp op) {
  switch (op) {
    case CompareOp::lt:
      return CompareOp::gt;
    case CompareOp::le:
      return CompareOp::ge;
    case CompareOp::gt:
      return CompareOp::lt;
    case CompareOp::ge:
      return CompareOp::le;
    default:
      return op;
  }
}

// mask `out` = a OP b, NumPy broadcasting: one COMPARE (v1.4), b read as a
// trailing block (a broadcast a swaps in as b with the mirrored op); other
// broadcasts expanded first.
void compare_into(Lowerer& l, const std::string& origin, CompareOp op, CompareDomain d,
                  MaskOperand a, MaskOperand b, const std::string& out) {
  l.require(isa::Opcode::compare);
  const Shape& so = l.shape(out);
  const DataType dt = domain_dtype(l, d);
  if (element_count(a.shape) != element_count(so) && element_count(b.shape) == element_count(so)) {
    std::swap(a, b);
    op = mirrored(op);
  }
  const std::int64_t bytes = domain_bytes(l, d);
  expand_operand(l, origin, a, so, dt, bytes);
  const std::int64_t b_count = broadcast_count(l, origin, b, so, dt, bytes);
  compare_in_ranges(l, origin, {op, dt}, {a.ref, element_count(so), bytes}, {b.ref, b_count, bytes},
                    l.ref(out), element_count(so));
}

// Equal, Less, Greater, LessOrEqual, GreaterOrEqual: float tensors, integer
// inputs (an attention mask == 0) or masks.
void lower_comparison(Lowerer& l, const Node& n, CompareOp op) {
  const std::string& a = input(n, 0);
  const std::string& b = input(n, 1);
  const CompareDomain d = compare_domain(l, a, b);
  compare_into(l, n.label(), op, d, domain_operand(l, a, d, n.label()),
               domain_operand(l, b, d, n.label()), n.outputs.at(0));
}

void lower_equal(Lowerer& l, const Node& n) {
  lower_comparison(l, n, CompareOp::eq);
}
void lower_less(Lowerer& l, const Node& n) {
  lower_comparison(l, n, CompareOp::lt);
}
void lower_less_or_equal(Lowerer& l, const Node& n) {
  lower_comparison(l, n, CompareOp::le);
}
void lower_greater(Lowerer& l, const Node& n) {
  lower_comparison(l, n, CompareOp::gt);
}
void lower_greater_or_equal(Lowerer& l, const Node& n) {
  lower_comparison(l, n, CompareOp::ge);
}

// Not: mask == 0.
void lower_not(Lowerer& l, const Node& n) {
  const std::string& x = input(n, 0);
  if (value_type(l, x) != ElementType::boolean) {
    throw Unsupported(fmt::format("Not of {}", to_string(value_type(l, x))));
  }
  compare_into(l, n.label(), CompareOp::eq, CompareDomain::masks,
               domain_operand(l, x, CompareDomain::masks, n.label()),
               domain_zero(l, CompareDomain::masks), n.outputs.at(0));
}

// And, Or, Xor of two masks (NumPy broadcasting): masks hold 0 or 1, so
// And is the minimum and Or the maximum of the bytes (one ELTWISE INT8),
// Xor their inequality (one COMPARE NE).
void lower_logical(Lowerer& l, const Node& n) {
  const std::string& a = input(n, 0);
  const std::string& b = input(n, 1);
  if (compare_domain(l, a, b) != CompareDomain::masks) {
    throw Unsupported(fmt::format("{} of {} values", n.op, to_string(value_type(l, a))));
  }
  MaskOperand x = domain_operand(l, a, CompareDomain::masks, n.label());
  MaskOperand y = domain_operand(l, b, CompareDomain::masks, n.label());
  const std::string& out = n.outputs.at(0);
  if (n.op == "Xor") {
    compare_into(l, n.label(), CompareOp::ne, CompareDomain::masks, x, y, out);
    return;
  }
  const Shape& so = l.shape(out);
  if (element_count(x.shape) != element_count(so)) {
    std::swap(x, y);
  }
  expand_operand(l, n.label(), x, so, DataType::int8, 1);
  const std::uint32_t count = u32(element_count(so), "element count");
  const std::uint32_t y_count =
      u32(broadcast_count(l, n.label(), y, so, DataType::int8, 1), "broadcast count");
  const EltwiseOp op = n.op == "And" ? EltwiseOp::min : EltwiseOp::max;
  l.emit(n.label(), {x.ref, y.ref}, {l.ref(out)},
         [=](KernelBuilder& k, std::span<const BufferArg> s) {
           k.eltwise(DataType::int8, op, s[0], s[1], s[2], count, y_count);
         });
}

}  // namespace

void select_elements(Lowerer& l, const std::string& origin, SelectOperand mask, SelectOperand x,
                     SelectOperand y, TensorRef out, std::int64_t count,
                     std::optional<DataType> dtype) {
  l.require(isa::Opcode::select);
  const DataType dt = dtype.value_or(l.dtype());
  const auto bytes = static_cast<std::int64_t>(isa::element_size(dt));
  const std::array operands{RepeatedOperand{std::move(mask.ref), mask.count, 1},
                            RepeatedOperand{std::move(x.ref), x.count, bytes},
                            RepeatedOperand{std::move(y.ref), y.count, bytes}};
  for (const ElementRange& r : repeated_ranges(l, count, operands, bytes)) {
    const RepeatedOperand c = part_of(operands[0], count, r), a = part_of(operands[1], count, r),
                          b = part_of(operands[2], count, r);
    const std::uint32_t n = u32(r.count, "element count");
    const std::uint32_t nm = u32(c.count, "condition count");
    const std::uint32_t nx = u32(a.count, "x count"), ny = u32(b.count, "y count");
    l.emit(origin, {c.ref, a.ref, b.ref}, {shifted(out, r.first * bytes)},
           [=](KernelBuilder& k, std::span<const BufferArg> s) {
             k.select(dt, {.condition = s[0],
                           .x = s[1],
                           .y = s[2],
                           .output = s[3],
                           .count = n,
                           .condition_count = nm,
                           .x_count = nx,
                           .y_count = ny});
           });
  }
}

namespace {

// Where(cond, x, y) on float tensors: one SELECT (v1.4), each operand read
// as a trailing block of the output (a scalar such as finfo.min, a row of
// keys) or expanded to it first. Exact: the unselected operand never
// enters the result, as it would in y + cond * (x - y).
void lower_where(Lowerer& l, const Node& n) {
  l.require(isa::Opcode::select);
  const std::string& out = n.outputs.at(0);
  if (value_type(l, input(n, 0)) != ElementType::boolean) {
    throw Unsupported("the condition is not bool");
  }
  if (is_integer(value_type(l, out))) {
    lower_integer_where(l, n);
    return;
  }
  if (value_type(l, out) != ElementType::float32) {
    throw Unsupported(fmt::format("selects {} values; SELECT runs on float tensors",
                                  to_string(value_type(l, out))));
  }
  const std::string origin = n.label();
  const Shape& so = l.shape(out);
  MaskOperand c = domain_operand(l, input(n, 0), CompareDomain::masks, origin);
  MaskOperand x = domain_operand(l, input(n, 1), CompareDomain::floats, origin);
  MaskOperand y = domain_operand(l, input(n, 2), CompareDomain::floats, origin);
  const std::int64_t c_count = broadcast_count(l, origin, c, so, DataType::int8, 1);
  const std::int64_t x_count = broadcast_count(l, origin, x, so, l.dtype(), l.esize());
  const std::int64_t y_count = broadcast_count(l, origin, y, so, l.dtype(), l.esize());
  select_elements(l, origin, {c.ref, c_count}, {x.ref, x_count}, {y.ref, y_count}, l.ref(out),
                  element_count(so));
}

// mask (count bytes) = a[i] OP b[i mod b_count]: one COMPARE (v1.4) in the
// program's dtype.
void compare_elements(Lowerer& l, const std::string& origin, CompareOp op, TensorRef a, TensorRef b,
                      const std::string& mask, std::int64_t count, std::int64_t b_count) {
  compare_in_ranges(l, origin, {op, l.dtype()}, {std::move(a), count, l.esize()},
                    {std::move(b), b_count, l.esize()}, l.ref(mask), count);
}

// OneHot: `on` where an index equals the position along the new axis of
// `depth` (a constant), `off` elsewhere (an index beyond the depth, and a
// float index that is no integer, as onnxruntime has it):
// the indices, read again along the new axis (one COPY_STRIDED), COMPAREd
// with the constant ramp 0 .. depth-1 and with -depth .. -1 (a negative
// index counts from the end), the masks joined by ELTWISE max, one SELECT.
void lower_one_hot(Lowerer& l, const Node& n) {
  const std::string& indices = input(n, 0);
  const std::string origin = n.label();
  if (!l.graph().is_constant(input(n, 1)) || !l.graph().is_constant(input(n, 2)) ||
      l.graph().constants.at(input(n, 2)).size() != 2) {
    throw Unsupported("depth and values must be constants (values: off, on)");
  }
  const Constant& values = l.graph().constants.at(input(n, 2));
  if (!values.is_float()) {
    throw Unsupported(fmt::format("values of {}; only float outputs", to_string(values.type)));
  }
  const Shape& si = l.shape(indices);
  const Shape& so = l.shape(n.outputs.at(0));
  const auto rank = static_cast<std::int64_t>(so.size());
  std::int64_t axis = n.get_int("axis", -1);
  axis += axis < 0 ? rank : 0;
  const double depth_value = l.graph().constants.at(input(n, 1)).value(0);
  if (axis < 0 || axis >= rank || so.size() != si.size() + 1 ||
      static_cast<double>(so[static_cast<std::size_t>(axis)]) != std::floor(depth_value)) {
    throw Unsupported(fmt::format("depth {} along axis {} of indices of shape {}", depth_value,
                                  n.get_int("axis", -1), to_string(si)));
  }
  const auto a = static_cast<std::size_t>(axis);
  const std::int64_t depth = so[a];
  const std::int64_t inner = product(si, a, si.size());
  const Shape grid{product(si, 0, a), depth, inner};
  const ElementType type = value_type(l, indices);
  if (type != ElementType::float32 && !is_integer(type)) {
    throw Unsupported(fmt::format("indices of {}", to_string(type)));
  }
  const CompareDomain d = is_integer(type) ? CompareDomain::integers : CompareDomain::floats;
  if (depth > kMaxOperandBytes / 4 / std::max<std::int64_t>(inner, 1)) {
    throw Unsupported(
        fmt::format("depth {} x {}: the ramp exceeds the device's operand", depth, inner));
  }
  MaskOperand positions = domain_operand(l, indices, d, origin);
  positions.shape = {grid[0], 1, inner};
  expand_operand(l, origin, positions, grid, domain_dtype(l, d), domain_bytes(l, d));
  // first + j at element (j, i) of a depth x inner block: index_ramp's,
  // offset, in the indices' domain.
  const auto ramp = [&](std::int64_t first) {
    const Shape block{depth, inner};
    if (d == CompareDomain::integers && first == 0) {
      return MaskOperand{l.ref(index_ramp(l, depth, inner)), block};
    }
    std::vector<std::int64_t> ints;
    for (std::int64_t e = 0; e < depth * inner; ++e) {
      ints.push_back(first + e / inner);
    }
    if (d == CompareDomain::integers) {
      return MaskOperand{
          l.ref(l.integer_constant(fmt::format("%one_hot{}x{}from{}", depth, inner, first),
                                   ElementType::int32, std::move(ints))),
          block};
    }
    std::vector<float> floats(ints.begin(), ints.end());
    return MaskOperand{l.ref(l.new_constant(block, std::move(floats))), block};
  };
  const std::string forward = l.scratch_shaped(grid, 1);
  const std::string backward = l.scratch_shaped(grid, 1);
  compare_into(l, origin, CompareOp::eq, d, positions, ramp(0), forward);
  compare_into(l, origin, CompareOp::eq, d, positions, ramp(-depth), backward);
  const std::uint32_t count = u32(element_count(grid), "element count");
  const std::string either = l.scratch_shaped(grid, 1);
  l.emit(origin, {l.ref(forward), l.ref(backward)}, {l.ref(either)},
         [count](KernelBuilder& k, std::span<const BufferArg> s) {
           k.eltwise(DataType::int8, EltwiseOp::max, s[0], s[1], s[2], count, count);
         });
  select_elements(
      l, origin, {l.ref(either), count}, {l.ref(l.scalar(static_cast<float>(values.value(1)))), 1},
      {l.ref(l.scalar(static_cast<float>(values.value(0)))), 1}, l.ref(n.outputs.at(0)), count);
}

// The float input of an elementwise node, and its element count.
std::int64_t float_elements(Lowerer& l, const Node& n) {
  const std::string& x = input(n, 0);
  if (value_type(l, x) != ElementType::float32) {
    throw Unsupported(
        fmt::format("'{}' is {}; only float tensors", x, to_string(value_type(l, x))));
  }
  return element_count(l.shape(x));
}

// Floor and Ceil from ROUND (v1.5), exactly: r = round(x) is within 1/2 of
// x, so floor(x) is r - 1 where r > x and r elsewhere (ceil: r + 1 where
// r < x); NaN and the infinities round to themselves and compare false.
// ACTIVATION_PARAM ROUND, COMPARE, ELTWISE add, SELECT.
void lower_round_toward(Lowerer& l, const Node& n, bool up) {
  l.require_v15("ACTIVATION_PARAM ROUND");
  const std::string& x = input(n, 0);
  const std::string origin = n.label();
  const std::int64_t count = float_elements(l, n);
  const std::string rounded = l.scratch(count);
  const std::uint32_t count32 = u32(count, "element count");
  l.emit(origin, {l.ref(x)}, {l.ref(rounded)},
         [count32, dt = l.dtype()](KernelBuilder& k, std::span<const BufferArg> s) {
           k.activation_param(dt, ParamActivation::round, s[0], s[1], count32, 0.0F, 0.0F);
         });
  const std::string past = l.scratch_bytes(count);
  compare_elements(l, origin, up ? CompareOp::lt : CompareOp::gt, l.ref(rounded), l.ref(x), past,
                   count, count);
  const std::string stepped = l.scratch(count);
  l.eltwise(origin, EltwiseOp::add, l.ref(rounded), l.ref(l.scalar(up ? 1.0F : -1.0F)),
            l.ref(stepped), count, 1);
  select_elements(l, origin, {l.ref(past), count}, {l.ref(stepped), count}, {l.ref(rounded), count},
                  l.ref(n.outputs.at(0)), count);
}
void lower_floor(Lowerer& l, const Node& n) {
  lower_round_toward(l, n, false);
}
void lower_ceil(Lowerer& l, const Node& n) {
  lower_round_toward(l, n, true);
}

// Sign: 1 where x > 0, -1 where x < 0, x itself elsewhere (±0, NaN), exact:
// two COMPAREs with 0 and two SELECTs (v1.4).
void lower_sign(Lowerer& l, const Node& n) {
  const std::string& x = input(n, 0);
  const std::string origin = n.label();
  const std::int64_t count = float_elements(l, n);
  const std::string positive = l.scratch_bytes(count);
  const std::string negative = l.scratch_bytes(count);
  compare_elements(l, origin, CompareOp::gt, l.ref(x), l.ref(l.scalar(0.0F)), positive, count, 1);
  compare_elements(l, origin, CompareOp::lt, l.ref(x), l.ref(l.scalar(0.0F)), negative, count, 1);
  const std::string not_positive = l.scratch(count);
  select_elements(l, origin, {l.ref(negative), count}, {l.ref(l.scalar(-1.0F)), 1},
                  {l.ref(x), count}, l.ref(not_positive), count);
  select_elements(l, origin, {l.ref(positive), count}, {l.ref(l.scalar(1.0F)), 1},
                  {l.ref(not_positive), count}, l.ref(n.outputs.at(0)), count);
}

// ThresholdedRelu: x where x > alpha, 0 elsewhere (NaN too): one COMPARE,
// one SELECT (v1.4).
void lower_thresholded_relu(Lowerer& l, const Node& n) {
  const std::string& x = input(n, 0);
  const std::int64_t count = float_elements(l, n);
  const std::string above = l.scratch_bytes(count);
  compare_elements(l, n.label(), CompareOp::gt, l.ref(x),
                   l.ref(l.scalar(n.get_float("alpha", 1.0F))), above, count, 1);
  select_elements(l, n.label(), {l.ref(above), count}, {l.ref(x), count},
                  {l.ref(l.scalar(0.0F)), 1}, l.ref(n.outputs.at(0)), count);
}

// Shrink: x + bias below -lambd, x - bias above lambd, 0 between (and for
// NaN): two COMPAREs, two ELTWISEs and two SELECTs (v1.4).
void lower_shrink(Lowerer& l, const Node& n) {
  const std::string& x = input(n, 0);
  const std::string origin = n.label();
  const std::int64_t count = float_elements(l, n);
  const float lambd = n.get_float("lambd", 0.5F);
  const float bias = n.get_float("bias", 0.0F);
  const std::string below = l.scratch_bytes(count);
  const std::string above = l.scratch_bytes(count);
  compare_elements(l, origin, CompareOp::lt, l.ref(x), l.ref(l.scalar(-lambd)), below, count, 1);
  compare_elements(l, origin, CompareOp::gt, l.ref(x), l.ref(l.scalar(lambd)), above, count, 1);
  const std::string raised = l.scratch(count);
  const std::string lowered = l.scratch(count);
  l.eltwise(origin, EltwiseOp::add, l.ref(x), l.ref(l.scalar(bias)), l.ref(raised), count, 1);
  l.eltwise(origin, EltwiseOp::sub, l.ref(x), l.ref(l.scalar(bias)), l.ref(lowered), count, 1);
  const std::string upper = l.scratch(count);
  select_elements(l, origin, {l.ref(above), count}, {l.ref(lowered), count},
                  {l.ref(l.scalar(0.0F)), 1}, l.ref(upper), count);
  select_elements(l, origin, {l.ref(below), count}, {l.ref(raised), count}, {l.ref(upper), count},
                  l.ref(n.outputs.at(0)), count);
}

// IsNaN: x != x, true only for NaN (hw-spec 7.4.4): one COMPARE (v1.4).
void lower_is_nan(Lowerer& l, const Node& n) {
  const std::string& x = input(n, 0);
  const std::int64_t count = float_elements(l, n);
  compare_elements(l, n.label(), CompareOp::ne, l.ref(x), l.ref(x), n.outputs.at(0), count, count);
}

// IsInf: x == +inf, x == -inf, or |x| == +inf with both detected: one
// COMPARE (v1.4), after an ABS for both; neither detected is all false.
void lower_is_inf(Lowerer& l, const Node& n) {
  const std::string& x = input(n, 0);
  const std::string& out = n.outputs.at(0);
  const std::int64_t count = float_elements(l, n);
  const bool positive = n.get_int("detect_positive", 1) != 0;
  const bool negative = n.get_int("detect_negative", 1) != 0;
  constexpr float kInfinity = std::numeric_limits<float>::infinity();
  if (!positive && !negative) {
    const std::uint32_t bytes = u32(count, "element count");
    l.emit(n.label(), {}, {l.ref(out)},
           [bytes](KernelBuilder& k, std::span<const BufferArg> s) { k.dma_fill(s[0], bytes, 0); });
    return;
  }
  std::string compared = x;
  if (positive && negative) {
    compared = l.scratch_shaped(l.shape(x));
    absolute_into(l, n.label(), x, compared);
  }
  compare_elements(l, n.label(), CompareOp::eq, l.ref(compared),
                   l.ref(l.scalar(positive ? kInfinity : -kInfinity)), out, count, 1);
}

// Trilu's byte mask of one rows x columns matrix for a constant k.
TensorRef constant_triangle(Lowerer& l, const Node& n, std::int64_t rows, std::int64_t columns) {
  Triangle triangle;
  try {
    triangle = triangle_of(n, l.graph());
  } catch (const std::runtime_error& e) {
    throw Unsupported(e.what());
  }
  std::vector<std::int64_t> kept;
  for (std::int64_t e = 0; e < rows * columns; ++e) {
    kept.push_back(triangle.keeps(e / columns, e % columns) ? 1 : 0);
  }
  return l.ref(l.integer_constant(
      fmt::format("%triangle{}x{}{}{}", rows, columns, triangle.upper ? "u" : "l", triangle.k),
      ElementType::int8, std::move(kept)));
}

// Trilu's byte mask of one rows x columns matrix for a diagonal k known
// only at run time (an integer input or computed): one COMPARE of the
// constant column − row of each element with k (≥ k upper, ≤ k lower).
TensorRef runtime_triangle(Lowerer& l, const Node& n, std::int64_t rows, std::int64_t columns) {
  const std::string& k = input(n, 1);
  if (element_count(l.shape(k)) != 1) {
    throw Unsupported(fmt::format("k '{}' of {} values, not one", k, element_count(l.shape(k))));
  }
  const MaskOperand diagonal = domain_operand(l, k, CompareDomain::integers, n.label());
  std::vector<std::int64_t> offsets;
  for (std::int64_t e = 0; e < rows * columns; ++e) {
    offsets.push_back(e % columns - e / columns);
  }
  const TensorRef from_diagonal =
      l.ref(l.integer_constant(fmt::format("%diagonal_offsets{}x{}", rows, columns),
                               ElementType::int32, std::move(offsets)));
  const std::string mask = l.scratch_bytes(rows * columns);
  const CompareOp op = n.get_int("upper", 1) != 0 ? CompareOp::ge : CompareOp::le;
  compare_in_ranges(l, n.label(), {op, DataType::int32}, {from_diagonal, rows * columns, 4},
                    {diagonal.ref, 1, 4}, l.ref(mask), rows * columns);
  return l.ref(mask);
}

// Trilu of a computed float tensor (or of integers, in INT32 words): one
// SELECT (v1.4) of x where a byte mask of one matrix (the last two axes)
// holds 1 and 0 elsewhere, the mask read again for every matrix: a
// constant (triangle_of), or computed for a k known only at run time.
// Exact (an infinity or NaN outside the triangle becomes 0, as ONNX's
// zeroing does).
void lower_trilu(Lowerer& l, const Node& n) {
  const std::string& x = input(n, 0);
  const Shape& sx = l.shape(x);
  const bool integers = l.holds_indices(x);
  const std::int64_t count = integers ? element_count(sx) : float_elements(l, n);
  if (sx.size() < 2) {
    throw Unsupported(fmt::format("an input of rank {}; Trilu takes matrices", sx.size()));
  }
  if (sx[sx.size() - 2] > kMaxOperandBytes / std::max<std::int64_t>(sx.back(), 1)) {
    throw Unsupported(fmt::format("matrices of {} x {}: the mask exceeds the device's operand",
                                  sx[sx.size() - 2], sx.back()));
  }
  const std::int64_t rows = sx[sx.size() - 2], columns = sx.back();
  const bool runtime_k =
      n.inputs.size() > 1 && !n.inputs[1].empty() && !l.graph().is_constant(n.inputs[1]);
  const TensorRef mask =
      runtime_k ? runtime_triangle(l, n, rows, columns) : constant_triangle(l, n, rows, columns);
  if (integers) {  // INT32 words, as integers computed on the device are
    const TensorRef words = l.int32_view(x, n.label());
    integer_result(l, n.label(), n.outputs.at(0), [&](TensorRef result) {
      select_elements(l, n.label(), {mask, rows * columns}, {words, count}, {int32_scalar(l, 0), 1},
                      std::move(result), count, DataType::int32);
    });
    return;
  }
  select_elements(l, n.label(), {mask, rows * columns}, {l.ref(x), count},
                  {l.ref(l.scalar(0.0F)), 1}, l.ref(n.outputs.at(0)), count);
}

// Cast between float32, bool and the integer inputs:
// - an integer to float: one CONVERT (v1.2) of its INT32 words (an int64's
//   low words: run() refuses a value beyond 32 bits rather than wrap it);
// - bool to float: one CONVERT of the mask's bytes as INT8;
// - float or integer to bool: x != 0, one COMPARE (v1.4);
// - float to an integer type: one CONVERT to INT32 (v1.7), truncating as
//   ONNX's Cast does, into integers computed on the device (to uint8 or
//   int8 then wrapped as C converts, integer_result);
// - to its own type: no instruction. float16 and bfloat16 are float32 here:
//   the program computes them in its dtype (import_graph).
void lower_cast(Lowerer& l, const Node& n) {
  const auto to = computed_type(static_cast<ElementType>(n.get_int("to", 0)));
  const std::string& x = input(n, 0);
  const std::string& out = n.outputs.at(0);
  const ElementType from = value_type(l, x);
  const std::int64_t count = element_count(l.shape(x));
  if (to == from) {
    lower_alias(l, n);
    return;
  }
  if (to == ElementType::float32 && l.holds_indices(x)) {
    l.convert(n.label(), {.from = DataType::int32, .to = l.dtype(), .count = count},
              l.int32_view(x, n.label()), l.ref(out));
    return;
  }
  if (to == ElementType::float32 && from == ElementType::boolean) {
    l.convert(n.label(), {.from = DataType::int8, .to = l.dtype(), .count = count}, l.ref(x),
              l.ref(out));
    return;
  }
  if (to == ElementType::boolean && (from == ElementType::float32 || l.holds_indices(x))) {
    const CompareDomain d =
        from == ElementType::float32 ? CompareDomain::floats : CompareDomain::integers;
    compare_into(l, n.label(), CompareOp::ne, d, domain_operand(l, x, d, n.label()),
                 domain_zero(l, d), out);
    return;
  }
  if (is_integer(to) && (from == ElementType::boolean || l.holds_indices(x))) {
    cast_to_integers(l, n);
    return;
  }
  if (is_integer(to) && from == ElementType::float32) {
    l.require_v17(fmt::format("CONVERT to INT32 for a Cast from float to {}", to_string(to)));
    integer_result(l, n.label(), out, [&](TensorRef result) {
      l.convert(n.label(), {.from = l.dtype(), .to = DataType::int32, .count = count}, l.ref(x),
                std::move(result));
    });
    return;
  }
  throw Unsupported(fmt::format("a Cast from {} to {}", to_string(from), to_string(to)));
}

// `axis` (negative from the end) of a rank-`rank` tensor.
std::size_t checked_axis(std::int64_t axis, std::size_t rank) {
  const auto r = static_cast<std::int64_t>(rank);
  const std::int64_t a = axis < 0 ? axis + r : axis;
  if (a < 0 || a >= r) {
    throw Unsupported(fmt::format("axis {} outside rank {}", axis, rank));
  }
  return static_cast<std::size_t>(a);
}

// INT32 j for element (j, i) of a length x inner block, shared by name.
std::string index_ramp(Lowerer& l, std::int64_t length, std::int64_t inner) {
  const std::string name = fmt::format("%index_ramp{}x{}", length, inner);
  if (l.has_weight(name)) {
    return name;  // built once: TopK asks for it every round
  }
  std::vector<std::int64_t> ramp;
  for (std::int64_t i = 0; i < length * inner; ++i) {
    ramp.push_back(i / inner);
  }
  return l.integer_constant(name, ElementType::int32, std::move(ramp));
}

// The extreme of x (shape sx) along axis `a` and the index of its first
// occurrence (select_last: its last), exact in any dtype (ISA v1.4):
//   best    = REDUCE max (min) along the axis;
//   hits    = COMPARE x EQ best (best expanded along the axis, COPY_STRIDED);
//   indices = SELECT INT32 of hits: the element's index along the axis (a
//             constant ramp, read as a trailing block) or, for the others,
//             the last index (select_last: 0), which never wins;
//   index   = REDUCE INT32 min of them (select_last: max).
// A row that holds NaN gets an index in range, not necessarily
// onnxruntime's.
struct Extreme {
  std::string best;   // sx with the axis 1
  std::string index;  // INT32, outer x inner
};
Extreme extreme_along(Lowerer& l, const std::string& origin, const std::string& x, const Shape& sx,
                      std::size_t a, ReduceOp extreme, bool select_last) {
  const std::int64_t outer = product(sx, 0, a), length = sx[a];
  const std::int64_t inner = product(sx, a + 1, sx.size());
  if (element_count(sx) > kMaxOperandBytes / 4) {  // the INT32 indices, an operand
    throw Unsupported(fmt::format("{} elements: their INT32 indices exceed the device's operand",
                                  element_count(sx)));
  }
  Shape kept = sx;
  kept[a] = 1;
  const std::string best = l.scratch_shaped(kept, l.esize());
  const std::uint32_t o32 = u32(outer, "outer"), len32 = u32(length, "length");
  const std::uint32_t i32 = u32(inner, "inner");
  l.emit(origin, {l.ref(x)}, {l.ref(best)},
         [=, dt = l.dtype()](KernelBuilder& k, std::span<const BufferArg> s) {
           k.reduce(dt, extreme, s[0], s[1], o32, len32, i32);
         });
  const std::string hits = l.scratch_shaped(sx, 1);
  compare_into(l, origin, CompareOp::eq, CompareDomain::floats, {l.ref(x), sx}, {l.ref(best), kept},
               hits);
  const TensorRef miss = int32_scalar(l, select_last ? 0 : length - 1);
  const std::int64_t count = element_count(sx);
  const std::string indices = l.scratch_bytes(count * 4);
  const std::uint32_t count32 = u32(count, "element count");
  const std::uint32_t ramp_count = u32(length * inner, "ramp count");
  l.emit(origin, {l.ref(hits), l.ref(index_ramp(l, length, inner)), miss}, {l.ref(indices)},
         [=](KernelBuilder& k, std::span<const BufferArg> s) {
           k.select(DataType::int32, {.condition = s[0],
                                      .x = s[1],
                                      .y = s[2],
                                      .output = s[3],
                                      .count = count32,
                                      .condition_count = count32,
                                      .x_count = ramp_count,
                                      .y_count = 1});
         });
  const std::string chosen = l.scratch_bytes(outer * inner * 4);
  const ReduceOp pick = select_last ? ReduceOp::max : ReduceOp::min;
  l.emit(origin, {l.ref(indices)}, {l.ref(chosen)},
         [=](KernelBuilder& k, std::span<const BufferArg> s) {
           k.reduce(DataType::int32, pick, s[0], s[1], o32, len32, i32);
         });
  return {best, chosen};
}

// INT32 indices `from` (outer x inner words) as ONNX's int64 `out`: a
// DMA_FILL of zeros and a COPY_STRIDED of the words into the low words
// (indices are below 2^31), read on as indices computed on the device.
void widen_indices(Lowerer& l, const std::string& origin, const TensorRef& from, std::int64_t count,
                   const std::string& out) {
  const TensorRef result = l.computed_indices(out);
  const std::uint32_t bytes = u32(count * 8, "output size");
  l.emit(origin, {}, {result},
         [bytes](KernelBuilder& k, std::span<const BufferArg> s) { k.dma_fill(s[0], bytes, 0); });
  strided_copy(l, origin, result, from, {{count, 1, 2}}, DataType::int32);
}

// ---- integers computed on the device --------------------------------------
// Integer values computed from integer inputs (position ids from an
// attention mask, token arithmetic) are INT32 words, whatever their ONNX
// width: ELTWISE, SELECT and COMPARE take INT32, and an int64 input is
// narrowed on the way in (run() refuses one beyond 32 bits). A value
// beyond 32 bits computed on the device saturates; an int64 graph output
// is widened at the end. A uint8 or int8 value wraps modulo 256 as C's
// conversion (onnxruntime's 8-bit arithmetic): on the device where it is
// read on, by run() where it is a graph output.

// out = a OP b[i mod b_count] over `count` elements, one ELTWISE INT32
// (exact, saturating; division truncates toward zero, by zero gives 0:
// hw-spec 7.4).
void integer_eltwise(Lowerer& l, const std::string& origin, EltwiseOp op, std::uint32_t count,
                     TensorRef a, std::pair<TensorRef, std::uint32_t> b, TensorRef out) {
  l.emit(origin, {std::move(a), std::move(b.first)}, {std::move(out)},
         [op, count, b_count = b.second](KernelBuilder& k, std::span<const BufferArg> s) {
           k.eltwise(DataType::int32, op, s[0], s[1], s[2], count, b_count);
         });
}

// INT32 integers `from` as ONNX's int64 `out`, sign-extended: the high
// words max(min(x, 0), −1) by two ELTWISE INT32, then a COPY_STRIDED of
// the low and one of the high words.
void widen_integers(Lowerer& l, const std::string& origin, const TensorRef& from,
                    std::int64_t count, const std::string& out) {
  const TensorRef result = l.computed_indices(out);
  const std::uint32_t n = u32(count, "element count");
  const std::string clamped = l.scratch_bytes(count * 4);
  const std::string high = l.scratch_bytes(count * 4);
  integer_eltwise(l, origin, EltwiseOp::min, n, from, {int32_scalar(l, 0), 1}, l.ref(clamped));
  integer_eltwise(l, origin, EltwiseOp::max, n, l.ref(clamped), {int32_scalar(l, -1), 1},
                  l.ref(high));
  strided_copy(l, origin, result, from, {{count, 1, 2}}, DataType::int32);
  strided_copy(l, origin, shifted(result, 4), l.ref(high), {{count, 1, 2}}, DataType::int32);
}

// INT32 words `from` brought into [0, 256), C's uint8 conversion, into
// `out`: r = x − trunc(x / 256)·256 lies in (−256, 256), and the same
// steps on r + 256 give its residue; seven ELTWISE INT32, exact for every
// 32-bit x (r + 256 cannot saturate).
void wrap_to_uint8(Lowerer& l, const std::string& origin, const TensorRef& from, std::int64_t count,
                   const TensorRef& out) {
  const std::uint32_t n = u32(count, "element count");
  const TensorRef modulus = int32_scalar(l, 256);
  const auto remainder = [&](const TensorRef& x, const TensorRef& into) {
    const TensorRef quotient = l.ref(l.scratch_bytes(count * 4));
    const TensorRef multiple = l.ref(l.scratch_bytes(count * 4));
    integer_eltwise(l, origin, EltwiseOp::div, n, x, {modulus, 1}, quotient);
    integer_eltwise(l, origin, EltwiseOp::mul, n, quotient, {modulus, 1}, multiple);
    integer_eltwise(l, origin, EltwiseOp::sub, n, x, {multiple, n}, into);
  };
  const TensorRef truncated = l.ref(l.scratch_bytes(count * 4));
  const TensorRef raised = l.ref(l.scratch_bytes(count * 4));
  remainder(from, truncated);
  integer_eltwise(l, origin, EltwiseOp::add, n, truncated, {modulus, 1}, raised);
  remainder(raised, out);
}

// INT32 words `from` wrapped to the range of `type` (uint8 or int8) into
// `out`: int8's is uint8's of x + 128, less 128 (x + 128 saturates only
// beyond 2^31 − 129, which no 8-bit arithmetic reaches).
void wrap_to_bytes(Lowerer& l, const std::string& origin, const TensorRef& from, std::int64_t count,
                   ElementType type, const TensorRef& out) {
  if (type == ElementType::uint8) {
    wrap_to_uint8(l, origin, from, count, out);
    return;
  }
  const std::uint32_t n = u32(count, "element count");
  const TensorRef shifted_up = l.ref(l.scratch_bytes(count * 4));
  const TensorRef wrapped = l.ref(l.scratch_bytes(count * 4));
  integer_eltwise(l, origin, EltwiseOp::add, n, from, {int32_scalar(l, 128), 1}, shifted_up);
  wrap_to_uint8(l, origin, shifted_up, count, wrapped);
  integer_eltwise(l, origin, EltwiseOp::sub, n, wrapped, {int32_scalar(l, 128), 1}, out);
}

bool is_byte_integer(ElementType type) {
  return type == ElementType::uint8 || type == ElementType::int8;
}

// Whether a node reads `value`.
bool read_on(Lowerer& l, const std::string& value) {
  return std::ranges::any_of(l.graph().nodes, [&](const Node& node) {
    return std::ranges::find(node.inputs, value) != node.inputs.end();
  });
}

// `compute` writes integer value `out` as INT32 words: into `out` itself;
// for an int64 graph output into words widened after; for a uint8 or int8
// value read on the device into words wrapped after (run() wraps a graph
// output no node reads).
void integer_result(Lowerer& l, const std::string& origin, const std::string& out,
                    const std::function<void(TensorRef)>& compute) {
  const ElementType type = value_type(l, out);
  const bool wrapped = is_byte_integer(type) && (!l.is_io(out) || read_on(l, out));
  if (!wrapped && (!l.is_io(out) || type != ElementType::int64)) {
    compute(l.computed_integers(out));
    return;
  }
  const std::int64_t count = element_count(l.shape(out));
  const std::string words = l.scratch_bytes(count * 4);
  compute({words, 0});
  if (wrapped) {
    wrap_to_bytes(l, origin, {words, 0}, count, type, l.computed_integers(out));
  } else {
    widen_integers(l, origin, {words, 0}, count, out);
  }
}

// An integer binary node's operands as ELTWISE INT32 reads them: a with
// every element of the output, b a trailing block of it (any other
// broadcast expanded first; a broadcast a of a commutative op swapped in
// as b).
struct IntegerOperands {
  TensorRef a, b;
  std::uint32_t count, b_count;
};

IntegerOperands integer_operands(Lowerer& l, const Node& n, bool commutative) {
  const std::string origin = n.label();
  const Shape& so = l.shape(n.outputs.at(0));
  MaskOperand a = domain_operand(l, input(n, 0), CompareDomain::integers, origin);
  MaskOperand b = domain_operand(l, input(n, 1), CompareDomain::integers, origin);
  if (commutative && element_count(a.shape) != element_count(so) &&
      element_count(b.shape) == element_count(so)) {
    std::swap(a, b);
  }
  expand_operand(l, origin, a, so, DataType::int32, 4);
  const std::uint32_t b_count =
      u32(broadcast_count(l, origin, b, so, DataType::int32, 4), "broadcast count");
  return {a.ref, b.ref, u32(element_count(so), "element count"), b_count};
}

// Add, Sub, Mul, Div, Max and Min of integers: one ELTWISE INT32. Div
// truncates toward zero as ONNX's does (a division by zero, which ONNX
// leaves undefined, gives 0).
void lower_integer_binary(Lowerer& l, const Node& n, EltwiseOp op) {
  const std::string origin = n.label();
  const bool commutative = op != EltwiseOp::sub && op != EltwiseOp::div;
  const IntegerOperands o = integer_operands(l, n, commutative);
  integer_result(l, origin, n.outputs.at(0), [&](TensorRef result) {
    integer_eltwise(l, origin, op, o.count, o.a, {o.b, o.b_count}, result);
  });
}

// Mod of integers, exact: r = a − trunc(a / b)·b (three ELTWISE INT32) is
// fmod's, the dividend's sign. Without fmod ONNX takes the divisor's sign
// (Python's %): where r·b < 0 (r non-zero, signs differ; the product
// saturates, keeping its sign) the result is r + b, one COMPARE and one
// SELECT. A divisor of 0 gives a (ONNX leaves it undefined).
void lower_integer_mod(Lowerer& l, const Node& n) {
  const std::string origin = n.label();
  const IntegerOperands o = integer_operands(l, n, false);
  const std::int64_t bytes = std::int64_t{o.count} * 4;
  const std::string quotient = l.scratch_bytes(bytes);
  const std::string product = l.scratch_bytes(bytes);
  const std::pair divisor{o.b, o.b_count};
  integer_eltwise(l, origin, EltwiseOp::div, o.count, o.a, divisor, l.ref(quotient));
  integer_eltwise(l, origin, EltwiseOp::mul, o.count, l.ref(quotient), divisor, l.ref(product));
  if (n.get_int("fmod", 0) != 0) {
    integer_result(l, origin, n.outputs.at(0), [&](TensorRef result) {
      integer_eltwise(l, origin, EltwiseOp::sub, o.count, o.a, {l.ref(product), o.count}, result);
    });
    return;
  }
  const std::string remainder = l.scratch_bytes(bytes);
  const std::string other_sign = l.scratch_bytes(o.count);
  integer_eltwise(l, origin, EltwiseOp::sub, o.count, o.a, {l.ref(product), o.count},
                  l.ref(remainder));
  integer_eltwise(l, origin, EltwiseOp::mul, o.count, l.ref(remainder), divisor, l.ref(product));
  compare_in_ranges(l, origin, {CompareOp::lt, DataType::int32}, {l.ref(product), o.count, 4},
                    {int32_scalar(l, 0), 1, 4}, l.ref(other_sign), o.count);
  integer_eltwise(l, origin, EltwiseOp::add, o.count, l.ref(remainder), divisor, l.ref(quotient));
  integer_result(l, origin, n.outputs.at(0), [&](TensorRef result) {
    select_elements(l, origin, {l.ref(other_sign), o.count}, {l.ref(quotient), o.count},
                    {l.ref(remainder), o.count}, std::move(result), o.count, DataType::int32);
  });
}

// Mod of floats is C's fmod (ONNX asks fmod 1 of them, as onnxruntime
// does): one ELTWISE FMOD (v1.8), exact, NumPy broadcasting as Div's.
void lower_mod(Lowerer& l, const Node& n) {
  if (is_integer(value_type(l, n.outputs.at(0)))) {
    lower_integer_mod(l, n);
    return;
  }
  if (n.get_int("fmod", 0) != 1) {
    throw Unsupported("fmod 0 on floats, which ONNX defines only for integers");
  }
  l.require_v18("ELTWISE FMOD, for Mod of floats");
  float_binary(l, n.label(), EltwiseOp::fmod, input(n, 0), input(n, 1), n.outputs.at(0));
}

// An INT32 constant of one value, shared by name.
TensorRef int32_scalar(Lowerer& l, std::int64_t value) {
  return l.ref(l.integer_constant(fmt::format("%int32_{}", value), ElementType::int32, {value}));
}

// Cast of a bool mask to integers (1 and 0: one SELECT), or of integers to
// another width (the same INT32 words; copied for a graph output, wrapped
// into a narrower uint8 or int8 read on the device).
void cast_to_integers(Lowerer& l, const Node& n) {
  const std::string& x = input(n, 0);
  const std::string& out = n.outputs.at(0);
  const std::string origin = n.label();
  const std::int64_t count = element_count(l.shape(x));
  if (value_type(l, x) == ElementType::boolean) {
    integer_result(l, origin, out, [&](TensorRef result) {
      select_elements(l, origin, {l.ref(x), count}, {int32_scalar(l, 1), 1},
                      {int32_scalar(l, 0), 1}, std::move(result), count, DataType::int32);
    });
    return;
  }
  const ElementType to = value_type(l, out);
  const bool narrowed = is_byte_integer(to) && value_type(l, x) != to;
  if (!l.is_io(out) && !narrowed) {
    l.alias(out, x, origin);
    return;
  }
  const TensorRef words = l.int32_view(x, origin);
  integer_result(l, origin, out,
                 [&](TensorRef result) { l.copy(std::move(result), words, count * 4, origin); });
}

// Clip of integers: ELTWISE INT32 max with the low bound, then min with
// the high one, each bound a constant or a one-element integer value
// (a constant beyond 32 bits clamped to INT32, which every value fits).
void clip_integers(Lowerer& l, const Node& n) {
  const std::string origin = n.label();
  const std::string& x = input(n, 0);
  const std::int64_t count = element_count(l.shape(x));
  const std::uint32_t c = u32(count, "element count");
  std::vector<std::pair<EltwiseOp, TensorRef>> steps;
  for (const auto& [index, op] :
       {std::pair{std::size_t{1}, EltwiseOp::max}, std::pair{std::size_t{2}, EltwiseOp::min}}) {
    if (index >= n.inputs.size() || n.inputs[index].empty()) {
      continue;
    }
    const std::string& bound = n.inputs[index];
    if (element_count(l.shape(bound)) != 1) {
      throw Unsupported(fmt::format("bound '{}' is not a scalar", bound));
    }
    if (l.graph().is_constant(bound)) {
      const std::int64_t value = std::clamp<std::int64_t>(l.graph().constants.at(bound).integer(0),
                                                          std::numeric_limits<std::int32_t>::min(),
                                                          std::numeric_limits<std::int32_t>::max());
      steps.emplace_back(op, int32_scalar(l, value));
    } else {
      steps.emplace_back(op, l.int32_view(bound, origin));
    }
  }
  if (steps.empty()) {
    cast_to_integers(l, n);  // no bound: the same integers
    return;
  }
  const TensorRef words = l.int32_view(x, origin);
  integer_result(l, origin, n.outputs.at(0), [&](TensorRef result) {
    TensorRef source = words;
    for (std::size_t i = 0; i < steps.size(); ++i) {
      TensorRef target = i + 1 == steps.size() ? result : l.ref(l.scratch_bytes(count * 4));
      integer_eltwise(l, origin, steps[i].first, c, source, {steps[i].second, 1}, target);
      source = std::move(target);
    }
  });
}

// ReduceSum, ReduceMax and ReduceMin of integers (a sequence's length as the
// sum of its attention mask): one REDUCE INT32 of their words, exact (a sum
// beyond 32 bits saturates). ReduceMean of integers is refused by name:
// REDUCE's INT32 mean rounds half to even.
void reduce_integers(Lowerer& l, const Node& n, ReduceOp op) {
  if (op == ReduceOp::mean) {
    throw Unsupported("ReduceMean of integers");
  }
  std::optional<std::vector<std::int64_t>> axes = reduced_axes(l, n);
  if (!axes) {
    cast_to_integers(l, n);  // noop_with_empty_axes: the same words
    return;
  }
  const std::string origin = n.label();
  const std::string& x = input(n, 0);
  const ReducedBlock b = reduced_block(l.shape(x), std::move(*axes));
  if (element_count(l.shape(x)) * 4 > kMaxOperandBytes) {
    throw Unsupported("a reduction of integers beyond the device's 64 MiB operand");
  }
  const MaskOperand words = domain_operand(l, x, CompareDomain::integers, origin);
  integer_result(l, origin, n.outputs.at(0), [&](TensorRef result) {
    l.emit(origin, {words.ref}, {std::move(result)},
           [op, b](KernelBuilder& k, std::span<const BufferArg> s) {
             k.reduce(DataType::int32, op, s[0], s[1], b.outer, b.length, b.inner);
           });
  });
}

// Where(cond, x, y) of integers: one SELECT of INT32 words, each operand a
// trailing block of the output or expanded to it first.
void lower_integer_where(Lowerer& l, const Node& n) {
  const std::string origin = n.label();
  const std::string& out = n.outputs.at(0);
  const Shape& so = l.shape(out);
  MaskOperand c = domain_operand(l, input(n, 0), CompareDomain::masks, origin);
  MaskOperand x = domain_operand(l, input(n, 1), CompareDomain::integers, origin);
  MaskOperand y = domain_operand(l, input(n, 2), CompareDomain::integers, origin);
  const std::int64_t c_count = broadcast_count(l, origin, c, so, DataType::int8, 1);
  const std::int64_t x_count = broadcast_count(l, origin, x, so, DataType::int32, 4);
  const std::int64_t y_count = broadcast_count(l, origin, y, so, DataType::int32, 4);
  integer_result(l, origin, out, [&](TensorRef result) {
    select_elements(l, origin, {c.ref, c_count}, {x.ref, x_count}, {y.ref, y_count},
                    std::move(result), element_count(so), DataType::int32);
  });
}

// CumSum of integers, exact in INT32: Hillis and Steele's scan, each step
// adding the partial sums `shift` elements back along the axis (one
// DMA_FILL of zeros, one COPY_STRIDED of the shifted rows, one ELTWISE
// add), shift 1, 2, 4, ... below the axis length; exclusive shifts by one
// first, reverse looks ahead instead of back.
void lower_integer_cumsum(Lowerer& l, const Node& n, std::size_t axis) {
  const std::string origin = n.label();
  const Shape& sx = l.shape(input(n, 0));
  const std::int64_t outer = product(sx, 0, axis), length = sx[axis];
  const std::int64_t inner = product(sx, axis + 1, sx.size());
  const std::int64_t count = outer * length * inner;
  const bool reverse = n.get_int("reverse", 0) != 0;
  const auto shifted = [&](const TensorRef& from, std::int64_t shift) {
    const std::string words = l.scratch_bytes(count * 4);
    const std::uint32_t bytes = u32(count * 4, "scan size");
    l.emit(origin, {}, {{words, 0}},
           [bytes](KernelBuilder& k, std::span<const BufferArg> s) { k.dma_fill(s[0], bytes, 0); });
    const auto offset = static_cast<std::uint64_t>(shift * inner * 4);
    TensorRef src{from.tensor, from.offset + (reverse ? offset : 0)};
    TensorRef dst{words, reverse ? 0 : offset};
    strided_copy(l, origin, dst, src,
                 {{outer, length * inner, length * inner}, {(length - shift) * inner, 1, 1}},
                 DataType::int32);
    return TensorRef{words, 0};
  };
  TensorRef partial = l.int32_view(input(n, 0), origin);
  const bool exclusive = n.get_int("exclusive", 0) != 0;
  if (exclusive && length == 1) {  // every sum is of nothing
    const std::uint32_t bytes = u32(count * 4, "output size");
    integer_result(l, origin, n.outputs.at(0), [&](TensorRef result) {
      l.emit(
          origin, {}, {std::move(result)},
          [bytes](KernelBuilder& k, std::span<const BufferArg> s) { k.dma_fill(s[0], bytes, 0); });
    });
    return;
  }
  if (exclusive) {
    partial = shifted(partial, 1);
  }
  std::vector<std::int64_t> shifts;
  for (std::int64_t s = 1; s < length; s *= 2) {
    shifts.push_back(s);
  }
  const std::uint32_t n32 = u32(count, "element count");
  integer_result(l, origin, n.outputs.at(0), [&](TensorRef result) {
    if (shifts.empty()) {
      l.copy(std::move(result), partial, count * 4, origin);
      return;
    }
    for (std::size_t i = 0; i < shifts.size(); ++i) {
      const TensorRef back = shifted(partial, shifts[i]);
      const TensorRef sum =
          i + 1 == shifts.size() ? result : TensorRef{l.scratch_bytes(count * 4), 0};
      l.emit(origin, {partial, back}, {sum}, [n32](KernelBuilder& k, std::span<const BufferArg> s) {
        k.eltwise(DataType::int32, EltwiseOp::add, s[0], s[1], s[2], n32, n32);
      });
      partial = sum;
    }
  });
}

// ArgMax, ArgMin of a float tensor along `axis` (ISA v1.4), exact in any
// dtype and with ties resolved as ONNX resolves them (extreme_along), the
// indices widened to int64 (7 instructions, 6 along axis 0). The indices
// are written as the graph's int64 output, or read on as a Gather's
// indices or by a Cast or comparison like an integer input's.
void lower_arg_extreme(Lowerer& l, const Node& n, ReduceOp extreme) {
  l.require(isa::Opcode::compare);
  l.require(isa::Opcode::select);
  l.require(isa::Opcode::copy_strided);
  const std::string& x = input(n, 0);
  if (value_type(l, x) != ElementType::float32) {
    throw Unsupported(fmt::format("{} of {} values; the device compares float tensors here", n.op,
                                  to_string(value_type(l, x))));
  }
  const Shape& sx = l.shape(x);
  const std::size_t a = checked_axis(n.get_int("axis", 0), sx.size());
  const Extreme found =
      extreme_along(l, n.label(), x, sx, a, extreme, n.get_int("select_last_index", 0) != 0);
  widen_indices(l, n.label(), l.ref(found.index), element_count(sx) / sx[a], n.outputs.at(0));
}

// Hardmax: 1 at the first maximum along the axis, 0 elsewhere (opset 13:
// one axis, default the last; before: x coerced to 2-D at `axis`, default
// 1): the maximum's index (extreme_along), COMPARE EQ of it, expanded along
// the axis, with the index ramp, and one CONVERT of the mask's bytes to
// floats (v1.2). 8 instructions.
void lower_hardmax(Lowerer& l, const Node& n) {
  l.require(isa::Opcode::compare);
  l.require(isa::Opcode::select);
  l.require(isa::Opcode::copy_strided);
  const std::string& x = input(n, 0);
  const Shape& shape = l.shape(x);
  const bool coerced = l.graph().opset < 13;
  const std::size_t axis = checked_axis(n.get_int("axis", coerced ? 1 : -1), shape.size());
  const Shape sx =
      coerced ? Shape{product(shape, 0, axis), product(shape, axis, shape.size())} : shape;
  const std::size_t a = coerced ? 1 : axis;
  const Extreme found = extreme_along(l, n.label(), x, sx, a, ReduceOp::max, false);
  Shape kept = sx;
  kept[a] = 1;
  const std::string first = l.scratch_shaped(sx, 1);
  compare_into(l, n.label(), CompareOp::eq, CompareDomain::integers, {l.ref(found.index), kept},
               {l.ref(index_ramp(l, sx[a], product(sx, a + 1, sx.size()))),
                Shape(sx.begin() + static_cast<std::ptrdiff_t>(a), sx.end())},
               first);
  l.convert(n.label(), {.from = DataType::int8, .to = l.dtype(), .count = element_count(sx)},
            l.ref(first), l.ref(n.outputs.at(0)));
}

// TopK of a float tensor along `axis`, k a constant: k rounds of the
// extreme and its first index (extreme_along), each written into its place
// along the axis of both outputs by a COPY_STRIDED, then knocked out of the
// next round's copy (SELECT of -inf, or +inf for the smallest, where the
// index ramp equals it). Sorted, ties to the lower index, as onnxruntime.
// 10 instructions a round, k at most 64. A slice whose top k reach an
// element equal to the knock-out value (-inf for the largest) may repeat
// an index.
void lower_top_k(Lowerer& l, const Node& n) {
  constexpr std::int64_t kMaxK = 64;
  l.require(isa::Opcode::compare);
  l.require(isa::Opcode::select);
  l.require(isa::Opcode::copy_strided);
  const std::string& x = input(n, 0);
  if (value_type(l, x) != ElementType::float32) {
    throw Unsupported(fmt::format("TopK of {} values; the device compares float tensors here",
                                  to_string(value_type(l, x))));
  }
  const Shape& sx = l.shape(x);
  const std::size_t a = checked_axis(n.get_int("axis", -1), sx.size());
  // k: an input from opset 10, an attribute before.
  const std::vector<std::int64_t> ks =
      n.inputs.size() > 1 ? constant_ints(l, n, 1) : std::vector{n.get_int("k", 0)};
  if (ks.size() != 1 || ks[0] < 1 || ks[0] > std::min(sx[a], kMaxK)) {
    throw Unsupported(fmt::format("k must be one constant in [1, {}]", std::min(sx[a], kMaxK)));
  }
  const std::int64_t k = ks[0], length = sx[a];
  const std::int64_t outer = product(sx, 0, a), inner = product(sx, a + 1, sx.size());
  const bool largest = n.get_int("largest", 1) != 0;
  const float knocked_out =
      largest ? -std::numeric_limits<float>::infinity() : std::numeric_limits<float>::infinity();
  const std::string origin = n.label();
  const std::string staged = l.scratch_bytes(outer * k * inner * 4);  // INT32 indices
  const Shape ramp_shape(sx.begin() + static_cast<std::ptrdiff_t>(a), sx.end());
  std::string current = x;
  for (std::int64_t r = 0; r < k; ++r) {
    const Extreme found =
        extreme_along(l, origin, current, sx, a, largest ? ReduceOp::max : ReduceOp::min, false);
    const std::vector<CopyAxis> into_place{{outer, inner, k * inner}, {inner, 1, 1}};
    strided_copy(l, origin,
                 l.ref(n.outputs.at(0), static_cast<std::uint64_t>(r * inner * l.esize())),
                 l.ref(found.best), into_place);
    strided_copy(l, origin, l.ref(staged, static_cast<std::uint64_t>(r * inner * 4)),
                 l.ref(found.index), into_place, DataType::int32);
    if (r + 1 == k) {
      break;
    }
    Shape kept = sx;
    kept[a] = 1;
    const std::string taken = l.scratch_shaped(sx, 1);
    compare_into(l, origin, CompareOp::eq, CompareDomain::integers, {l.ref(found.index), kept},
                 {l.ref(index_ramp(l, length, inner)), ramp_shape}, taken);
    const std::string next = l.scratch_shaped(sx);
    const std::uint32_t count = u32(element_count(sx), "element count");
    l.emit(origin, {l.ref(taken), l.ref(l.scalar(knocked_out)), l.ref(current)}, {l.ref(next)},
           [=, dt = l.dtype()](KernelBuilder& kb, std::span<const BufferArg> s) {
             kb.select(dt, {.condition = s[0],
                            .x = s[1],
                            .y = s[2],
                            .output = s[3],
                            .count = count,
                            .condition_count = count,
                            .x_count = 1,
                            .y_count = count});
           });
    current = next;
  }
  if (n.outputs.size() > 1 && !n.outputs[1].empty()) {
    widen_indices(l, origin, l.ref(staged), outer * k * inner, n.outputs[1]);
  }
}
void lower_arg_max(Lowerer& l, const Node& n) {
  lower_arg_extreme(l, n, ReduceOp::max);
}
void lower_arg_min(Lowerer& l, const Node& n) {
  lower_arg_extreme(l, n, ReduceOp::min);
}

// Where a Slice starts and how it steps along every axis of its input.
struct SliceSpec {
  std::vector<std::int64_t> begin, step;
};

SliceSpec slice_spec(Lowerer& l, const Node& n, const Shape& sx) {
  std::vector<std::int64_t> starts, axes, steps;
  if (l.graph().opset < 10) {
    starts = n.get_ints("starts", {});
    axes = n.get_ints("axes", {});
  } else {
    starts = constant_ints(l, n, 1);
    axes = constant_ints(l, n, 3);
    steps = constant_ints(l, n, 4);
  }
  if (axes.empty()) {
    for (std::size_t i = 0; i < starts.size(); ++i) {
      axes.push_back(static_cast<std::int64_t>(i));
    }
  }
  const std::size_t rank = sx.size();
  SliceSpec spec{std::vector<std::int64_t>(rank, 0), std::vector<std::int64_t>(rank, 1)};
  for (std::size_t i = 0; i < starts.size() && i < axes.size(); ++i) {
    const auto axis =
        static_cast<std::size_t>(axes[i] < 0 ? axes[i] + static_cast<std::int64_t>(rank) : axes[i]);
    const std::int64_t step = i < steps.size() ? steps[i] : 1;
    if (step == 0) {
      throw Unsupported("step 0");
    }
    const std::int64_t dim = sx.at(axis);
    const std::int64_t start = starts[i] < 0 ? starts[i] + dim : starts[i];
    // ONNX clamps a negative step's start to the last element.
    spec.begin[axis] = std::clamp<std::int64_t>(start, 0, step > 0 ? dim : dim - 1);
    spec.step[axis] = step;
  }
  return spec;
}

// A Slice with a negative step (torch.flip, x[..., ::-1], an RGB <-> BGR
// swap): the strides of COPY_STRIDED are unsigned, so one GATHER of rows
// (the axes after the last one the Slice moves along, whole) by constant
// indices.
void slice_backwards(Lowerer& l, const Node& n, const Shape& sx, const Shape& so,
                     const SliceSpec& spec) {
  std::size_t cut = 0;  // the last axis the slice does not copy whole
  for (std::size_t d = 0; d < sx.size(); ++d) {
    if (spec.step[d] != 1 || so[d] != sx[d]) {
      cut = d;
    }
  }
  const std::int64_t row = product(sx, cut + 1, sx.size());
  if (row < 1 || element_count(so) < 1) {
    throw Unsupported("an empty tensor, which the device does not compute");
  }
  const std::vector<std::int64_t> in_strides = strides_of(sx);
  const std::int64_t count = product(so, 0, cut + 1);
  check_gathered_rows(count, 1);
  std::vector<std::int64_t> rows;
  rows.reserve(static_cast<std::size_t>(count));
  for (std::int64_t r = 0; r < count; ++r) {
    std::int64_t rest = r, source = 0;
    for (std::size_t d = cut + 1; d-- > 0;) {
      source += (spec.begin[d] + (rest % so[d]) * spec.step[d]) * (in_strides[d] / row);
      rest /= so[d];
    }
    rows.push_back(source);
  }
  gather_rows(l, n.label(), input(n, 0), n.outputs.at(0), row, std::move(rows));
}

// Slice: one strided copy (v1.1); on v1 unit steps only, one DMA_COPY per
// contiguous run.
// A Slice as one strided copy, in elements: the first element it reads
// and, per axis, the output's size, the step in x and the output's stride.
struct SliceCopy {
  std::int64_t first;
  std::vector<CopyAxis> axes;
};
SliceCopy slice_copy(const SliceSpec& spec, const Shape& sx, const Shape& so) {
  const std::vector<std::int64_t> in_strides = strides_of(sx);
  const std::vector<std::int64_t> out_strides = strides_of(so);
  SliceCopy copy{0, {}};
  for (std::size_t d = 0; d < sx.size(); ++d) {
    copy.first += spec.begin[d] * in_strides[d];
    // One element along d reads no step (ONNX allows any step then; a
    // step of 2^62 times the stride would overflow).
    const std::int64_t step = so[d] > 1 ? spec.step[d] : 1;
    copy.axes.push_back({so[d], step * in_strides[d], out_strides[d]});
  }
  return copy;
}

// A Slice of integers (token ids, position ids: `position_ids[:, -T:]`,
// `input_ids[:, :-1]`), positive steps.
void slice_integers(Lowerer& l, const Node& n, const SliceSpec& spec) {
  if (std::ranges::any_of(spec.step, [](std::int64_t s) { return s < 0; })) {
    throw Unsupported("a Slice of integers with a negative step");
  }
  SliceCopy copy = slice_copy(spec, l.shape(input(n, 0)), l.shape(n.outputs.at(0)));
  copy_integers(l, n, copy.first, std::move(copy.axes));
}

void lower_slice(Lowerer& l, const Node& n) {
  const std::string& x = input(n, 0);
  const Shape& sx = l.shape(x);
  const Shape& so = l.shape(n.outputs.at(0));
  const SliceSpec spec = slice_spec(l, n, sx);
  if (l.holds_indices(x)) {
    slice_integers(l, n, spec);
    return;
  }
  if (std::ranges::any_of(spec.step, [](std::int64_t s) { return s < 0; })) {
    slice_backwards(l, n, sx, so, spec);
    return;
  }
  const std::size_t rank = sx.size();
  const std::vector<std::int64_t> in_strides = strides_of(sx);
  const SliceCopy copy = slice_copy(spec, sx, so);
  const std::int64_t first = copy.first;  // the first element read
  if (l.has(isa::Opcode::copy_strided)) {
    strided_copy(l, n.label(), l.ref(n.outputs[0]),
                 l.ref(x, static_cast<std::uint64_t>(first * l.esize())), copy.axes);
    return;
  }
  if (std::ranges::any_of(spec.step, [](std::int64_t s) { return s != 1; })) {
    throw Unsupported("steps other than 1 (COPY_STRIDED, ISA v1.1)");
  }
  // The innermost axis that is cut; everything after it is copied whole.
  std::size_t cut = 0;
  for (std::size_t d = 0; d < rank; ++d) {
    if (so[d] != sx[d]) {
      cut = d;
    }
  }
  const std::int64_t runs = product(so, 0, cut);
  if (static_cast<std::size_t>(runs) > kMaxCopies) {
    throw Unsupported(fmt::format("{} copies (at most {} in v1)", runs, kMaxCopies));
  }
  const std::int64_t run_bytes = product(so, cut, rank) * l.esize();
  for (std::int64_t r = 0; r < runs; ++r) {
    std::int64_t rest = r;
    std::int64_t src = spec.begin[cut] * in_strides[cut];
    for (std::size_t d = cut; d-- > 0;) {
      src += (spec.begin[d] + rest % so[d]) * in_strides[d];
      rest /= so[d];
    }
    l.copy(l.ref(n.outputs[0], static_cast<std::uint64_t>(r * run_bytes)),
           l.ref(x, static_cast<std::uint64_t>(src * l.esize())), run_bytes, n.label());
  }
}

// The indices `indices` (INT32 or INT64, known at run time) as rows in
// [0, dim), INT32: one GATHER of the ramp 0 .. dim − 1 by them, which
// counts a negative index from the end and fails the job on one outside
// [−dim, dim) with its address (hw-spec 7.4.3), as onnxruntime refuses it.
TensorRef rows_in_range(Lowerer& l, const std::string& origin, const TensorRef& indices,
                        IndexType type, std::int64_t count, std::int64_t dim) {
  if (dim < 1) {
    throw Unsupported("indices into an axis of length 0");
  }
  const std::string rows = l.scratch_bytes(count * 4);
  gather_in_ranges(l, origin,
                   {.table = l.ref(index_ramp(l, dim, 1)),
                    .rows = dim,
                    .row_elems = 1,
                    .indices = indices,
                    .index_type = type,
                    .count = count,
                    .out = l.ref(rows),
                    .dtype = DataType::int32});
  return l.ref(rows);
}

// Likewise for every index of the integer value `indices`.
TensorRef rows_in_range(Lowerer& l, const std::string& origin, const std::string& indices,
                        std::int64_t dim) {
  const auto [ref, type] = l.index_ref(indices);
  return rows_in_range(l, origin, ref, type, element_count(l.shape(indices)), dim);
}

// Gather along axis a > 0 by indices known at run time: x as a table of
// outer · dim rows of `inner` elements, row o · dim + index[i] for output
// row (o, i): the indices in range (rows_in_range), one ELTWISE INT32 adding
// the constant o · dim, one GATHER.
void lower_runtime_gather_inner(Lowerer& l, const Node& n, const Shape& sx, std::size_t axis) {
  const std::string origin = n.label();
  const std::int64_t outer = product(sx, 0, axis);
  const std::int64_t dim = sx[axis];
  const std::int64_t count = element_count(l.shape(input(n, 1)));
  check_gathered_rows(outer, count);
  check_table_rows(outer * dim);
  const TensorRef in_range = rows_in_range(l, origin, input(n, 1), dim);
  std::vector<std::int64_t> bases;
  for (std::int64_t o = 0; o < outer; ++o) {
    bases.insert(bases.end(), static_cast<std::size_t>(count), o * dim);
  }
  const std::string base = l.integer_constant(fmt::format("%row_bases{}x{}x{}", outer, dim, count),
                                              ElementType::int32, std::move(bases));
  const std::string rows = l.scratch_bytes(outer * count * 4);
  const std::uint32_t n_rows = u32(outer * count, "row count");
  integer_eltwise(l, origin, EltwiseOp::add, n_rows, l.ref(base),
                  {in_range, u32(count, "index count")}, l.ref(rows));
  gather_in_ranges(l, origin,
                   {.table = l.ref(input(n, 0)),
                    .rows = outer * dim,
                    .row_elems = product(sx, axis + 1, sx.size()),
                    .indices = l.ref(rows),
                    .index_type = IndexType::int32,
                    .count = outer * count,
                    .out = l.ref(n.outputs.at(0))});
}

// Gather by indices only known at run time, an int64 or int32 graph input
// (the token ids of an embedding lookup) or integers computed on the
// device: along axis 0 one GATHER (v1.3) of rows, the table a constant or
// any tensor on the device; an index out of range fails the job (hw-spec
// 7.4.3), as onnxruntime refuses it. Other axes: lower_runtime_gather_inner.
void lower_runtime_gather(Lowerer& l, const Node& n, const Shape& sx, std::size_t axis) {
  if (axis != 0) {
    lower_runtime_gather_inner(l, n, sx, axis);
    return;
  }
  const auto [indices, index_type] = l.index_ref(input(n, 1));
  gather_in_ranges(l, n.label(),
                   {.table = l.ref(input(n, 0)),
                    .rows = sx[0],
                    .row_elems = product(sx, 1, sx.size()),
                    .indices = indices,
                    .index_type = index_type,
                    .count = element_count(l.shape(input(n, 1))),
                    .out = l.ref(n.outputs.at(0))});
}

// Gather of a computed tensor by constant indices (x[:, 0] of a class
// token, a channel selection): indices in arithmetic progression are one
// COPY_STRIDED (v1.1; outer x indices x inner, the index axis stepping by
// the progression's step); other indices one COPY_STRIDED each, at most
// kMaxCopies. Indices known only at run time: lower_runtime_gather().
void lower_gather(Lowerer& l, const Node& n) {
  const std::string& x = input(n, 0);
  const Shape& sx = l.shape(x);
  const auto rank = static_cast<std::int64_t>(sx.size());
  std::int64_t axis = n.get_int("axis", 0);
  axis = axis < 0 ? axis + rank : axis;
  if (axis < 0 || axis >= rank) {
    throw Unsupported("axis out of range");
  }
  const auto a = static_cast<std::size_t>(axis);
  if (!l.graph().is_constant(input(n, 1))) {
    lower_runtime_gather(l, n, sx, a);
    return;
  }
  l.require(isa::Opcode::copy_strided);
  const std::vector<std::int64_t> indices = constant_indices(l, n, sx[a]);
  const std::int64_t outer = product(sx, 0, a);
  const std::int64_t inner = product(sx, a + 1, sx.size());
  const auto count = static_cast<std::int64_t>(indices.size());
  const std::string& out = n.outputs.at(0);
  const std::int64_t step = count > 1 ? indices[1] - indices[0] : 0;
  bool progression = step >= 0;
  for (std::int64_t i = 1; i < count && progression; ++i) {
    progression =
        indices[static_cast<std::size_t>(i)] - indices[static_cast<std::size_t>(i - 1)] == step;
  }
  auto source = [&](std::int64_t index) {
    return l.ref(x, static_cast<std::uint64_t>(index * inner * l.esize()));
  };
  if (progression) {
    strided_copy(
        l, n.label(), l.ref(out), source(indices.at(0)),
        {{outer, sx[a] * inner, count * inner}, {count, step * inner, inner}, {inner, 1, 1}});
    return;
  }
  if (l.has(isa::Opcode::gather)) {
    check_gathered_rows(outer, count);
    std::vector<std::int64_t> rows;
    for (std::int64_t o = 0; o < outer; ++o) {
      for (const std::int64_t index : indices) {
        rows.push_back(o * sx[a] + index);
      }
    }
    gather_rows(l, n.label(), x, out, inner, std::move(rows));
    return;
  }
  if (static_cast<std::size_t>(count) > kMaxCopies) {
    throw Unsupported(fmt::format("{} indices not in arithmetic progression (at most {} copies)",
                                  count, kMaxCopies));
  }
  for (std::int64_t i = 0; i < count; ++i) {
    strided_copy(l, n.label(), l.ref(out, static_cast<std::uint64_t>(i * inner * l.esize())),
                 source(indices[static_cast<std::size_t>(i)]),
                 {{outer, sx[a] * inner, count * inner}, {inner, 1, 1}});
  }
}

}  // namespace

// GatherElements (and ScatterElements) by indices known at run time
// (torch.gather of a TopK's or an ArgMax's indices): element p of the
// output is x's element base[p] + index[p] · stride(axis), base[p] the
// offset of p's other coordinates (a constant): the indices in range
// (rows_in_range), an ELTWISE INT32 mul by the stride and an add of the
// bases give those element numbers (INT32); one GATHER of one-element rows
// selects them.
TensorRef runtime_element_rows(Lowerer& l, const Node& n, std::size_t axis) {
  const std::string origin = n.label();
  const Shape& sx = l.shape(input(n, 0));
  const Shape& si = l.shape(input(n, 1));
  check_table_rows(element_count(sx));
  for (std::size_t d = 0; d < si.size(); ++d) {
    if (d != axis && si[d] > sx[d]) {
      throw Unsupported(
          fmt::format("indices of shape {} beyond data of shape {}", to_string(si), to_string(sx)));
    }
  }
  const std::vector<std::int64_t> strides = strides_of(sx);
  const std::int64_t count = element_count(si);
  std::vector<std::int64_t> bases;
  for (std::int64_t i = 0; i < count; ++i) {
    std::int64_t rest = i, base = 0;
    for (std::size_t d = si.size(); d-- > 0;) {
      base += d == axis ? 0 : rest % si[d] * strides[d];
      rest /= si[d];
    }
    bases.push_back(base);
  }
  const std::uint32_t n_rows = u32(count, "index count");
  TensorRef offsets = rows_in_range(l, origin, input(n, 1), sx[axis]);
  if (strides[axis] != 1) {
    const std::string scaled = l.scratch_bytes(count * 4);
    integer_eltwise(l, origin, EltwiseOp::mul, n_rows, offsets, {int32_scalar(l, strides[axis]), 1},
                    l.ref(scaled));
    offsets = l.ref(scaled);
  }
  const std::string base = l.integer_constant(fmt::format("%element_bases:{}", origin),
                                              ElementType::int32, std::move(bases));
  const std::string sources = l.scratch_bytes(count * 4);
  integer_eltwise(l, origin, EltwiseOp::add, n_rows, l.ref(base), {offsets, n_rows},
                  l.ref(sources));
  return l.ref(sources);
}

namespace {

void lower_runtime_gather_elements(Lowerer& l, const Node& n, std::size_t axis) {
  const std::int64_t elements = element_count(l.shape(input(n, 0)));
  gather_in_ranges(l, n.label(),
                   {.table = l.ref(input(n, 0)),
                    .rows = elements,
                    .row_elems = 1,
                    .indices = runtime_element_rows(l, n, axis),
                    .index_type = IndexType::int32,
                    .count = element_count(l.shape(input(n, 1))),
                    .out = l.ref(n.outputs.at(0))});
}

// GatherElements of constant indices: out[..., i, ...] = x[..., idx[..., i,
// ...], ...] along `axis`, each output element's source known when
// compiling: one GATHER of one-element rows.
void lower_gather_elements(Lowerer& l, const Node& n) {
  const std::string& x = input(n, 0);
  const Shape& sx = l.shape(x);
  const Shape& si = l.shape(input(n, 1));
  const std::size_t a = elements_axis(n, sx, si);
  check_gathered_rows(element_count(si), 1);
  if (!l.graph().is_constant(input(n, 1))) {
    lower_runtime_gather_elements(l, n, a);
    return;
  }
  const std::vector<std::int64_t> indices = constant_indices(l, n, sx[a]);
  const std::vector<std::int64_t> strides = strides_of(sx);
  std::vector<std::int64_t> sources;
  for (std::size_t i = 0; i < indices.size(); ++i) {
    auto rest = static_cast<std::int64_t>(i);
    std::int64_t source = 0;
    for (std::size_t d = si.size(); d-- > 0;) {
      source += (d == a ? indices[i] : rest % si[d]) * strides[d];
      rest /= si[d];
    }
    sources.push_back(source);
  }
  gather_rows(l, n.label(), x, n.outputs.at(0), 1, std::move(sources));
}

}  // namespace

// GatherND (and ScatterND) by indices known at run time: tuple t's row of
// slices is its batch's base (a constant) plus each index in range
// (rows_in_range, one COPY_STRIDED first taking column j out of the
// tuples) times the slices per step of its axis, by ELTWISE INT32 (INT32
// row numbers); one GATHER of the slices selects them.
TensorRef runtime_tuple_rows(Lowerer& l, const Node& n, std::size_t batch_dims, std::size_t k) {
  const std::string origin = n.label();
  const Shape& sx = l.shape(input(n, 0));
  const auto [indices, type] = l.index_ref(input(n, 1));
  const std::int64_t words = type == IndexType::int64 ? 2 : 1;
  const auto tuple_size = static_cast<std::int64_t>(k);
  const std::int64_t tuples = element_count(l.shape(input(n, 1))) / tuple_size;
  const std::int64_t per_batch = tuples / product(sx, 0, batch_dims);
  const std::int64_t selected = product(sx, batch_dims, batch_dims + k);
  const std::int64_t slice = product(sx, batch_dims + k, sx.size());
  check_table_rows(element_count(sx) / slice);
  std::vector<std::int64_t> bases;
  for (std::int64_t t = 0; t < tuples; ++t) {
    bases.push_back(t / per_batch * selected);
  }
  TensorRef rows = l.ref(l.integer_constant(fmt::format("%tuple_bases:{}", origin),
                                            ElementType::int32, std::move(bases)));
  const std::uint32_t count = u32(tuples, "tuple count");
  for (std::size_t j = 0; j < k; ++j) {
    TensorRef column = indices;
    if (k > 1) {
      const std::string taken = l.scratch_bytes(tuples * words * 4);
      strided_copy(l, origin, l.ref(taken),
                   shifted(indices, static_cast<std::int64_t>(j) * words * 4),
                   {{tuples, tuple_size * words, words}, {words, 1, 1}}, DataType::int32);
      column = l.ref(taken);
    }
    TensorRef index = rows_in_range(l, origin, column, type, tuples, sx[batch_dims + j]);
    if (const std::int64_t step = product(sx, batch_dims + j + 1, batch_dims + k); step != 1) {
      const std::string scaled = l.scratch_bytes(tuples * 4);
      integer_eltwise(l, origin, EltwiseOp::mul, count, index, {int32_scalar(l, step), 1},
                      l.ref(scaled));
      index = l.ref(scaled);
    }
    const std::string sum = l.scratch_bytes(tuples * 4);
    integer_eltwise(l, origin, EltwiseOp::add, count, rows, {index, count}, l.ref(sum));
    rows = l.ref(sum);
  }
  return rows;
}

namespace {

void lower_runtime_gather_nd(Lowerer& l, const Node& n, std::size_t batch_dims, std::size_t k) {
  const Shape& sx = l.shape(input(n, 0));
  const std::int64_t slice = product(sx, batch_dims + k, sx.size());
  gather_in_ranges(l, n.label(),
                   {.table = l.ref(input(n, 0)),
                    .rows = element_count(sx) / slice,
                    .row_elems = slice,
                    .indices = runtime_tuple_rows(l, n, batch_dims, k),
                    .index_type = IndexType::int32,
                    .count = element_count(l.shape(input(n, 1))) / static_cast<std::int64_t>(k),
                    .out = l.ref(n.outputs.at(0))});
}

}  // namespace

// Scatter (reduction none) by `targets`, the data row each of `updates`
// update rows lands on (INT32, in range), known at run time: output row r
// reads row R + j of [data; updates] for the last update j landing on r,
// else data row r. One COMPARE eq of every (r, j) pair (a constant ramp of
// r against the targets), one SELECT INT32 of R + j or r, one REDUCE max
// over j (the last update wins, as onnxruntime applies them in order), two
// copies side by side and one GATHER.
void scatter_by_runtime_targets(Lowerer& l, const Node& n, const TensorRef& targets,
                                std::int64_t updates, std::int64_t data_rows,
                                std::int64_t row_elems) {
  const std::string origin = n.label();
  for (const std::size_t operand : {0U, 2U}) {
    if (const ElementType type = value_type(l, input(n, operand)); type != ElementType::float32) {
      throw Unsupported(fmt::format("a scatter of {} values at positions known only at run time",
                                    to_string(type)));
    }
  }
  if (data_rows * updates > kMaxRuntimeScatterPairs) {
    throw Unsupported(fmt::format(
        "{} updates into {} rows at positions known at run time: {} pairs compared, at most {}",
        updates, data_rows, data_rows * updates, kMaxRuntimeScatterPairs));
  }
  check_table_rows(data_rows + updates);
  const std::int64_t pairs = data_rows * updates;
  const std::string hits = l.scratch_bytes(pairs);
  const TensorRef rows = l.ref(index_ramp(l, data_rows, updates));
  compare_in_ranges(l, origin, {CompareOp::eq, DataType::int32}, {rows, pairs, 4},
                    {targets, updates, 4}, l.ref(hits), pairs);
  std::vector<std::int64_t> update_rows;
  for (std::int64_t j = 0; j < updates; ++j) {
    update_rows.push_back(data_rows + j);
  }
  const std::string candidates =
      l.integer_constant(fmt::format("%update_rows{}+{}", data_rows, updates), ElementType::int32,
                         std::move(update_rows));
  const std::string chosen = l.scratch_bytes(pairs * 4);
  select_elements(l, origin, {l.ref(hits), pairs}, {l.ref(candidates), updates}, {rows, pairs},
                  l.ref(chosen), pairs, DataType::int32);
  const std::string sources = l.scratch_bytes(data_rows * 4);
  const std::uint32_t r32 = u32(data_rows, "rows"), u32_updates = u32(updates, "updates");
  l.emit(origin, {l.ref(chosen)}, {l.ref(sources)},
         [=](KernelBuilder& k, std::span<const BufferArg> s) {
           k.reduce(DataType::int32, ReduceOp::max, s[0], s[1], r32, u32_updates, 1);
         });
  const std::string both = side_by_side(l, origin, l.ref(input(n, 0)), data_rows,
                                        l.ref(input(n, 2)), updates, row_elems);
  gather_in_ranges(l, origin,
                   {.table = l.ref(both),
                    .rows = data_rows + updates,
                    .row_elems = row_elems,
                    .indices = l.ref(sources),
                    .index_type = IndexType::int32,
                    .count = data_rows,
                    .out = l.ref(n.outputs.at(0))});
}

namespace {

// GatherND of constant indices ([batch..., N..., k] tuples, each selecting
// the slice x[b..., i1, ..., ik, ...]): one GATHER of those slices as rows.
void lower_gather_nd(Lowerer& l, const Node& n) {
  const std::string& x = input(n, 0);
  const Shape& sx = l.shape(x);
  const Shape& si = l.shape(input(n, 1));
  const auto batch_dims = static_cast<std::size_t>(n.get_int("batch_dims", 0));
  if (si.empty() || si.size() <= batch_dims) {
    throw Unsupported("indices of too low a rank for batch_dims");
  }
  const auto k = static_cast<std::size_t>(si.back());
  if (batch_dims + k > sx.size() || k == 0) {
    throw Unsupported(fmt::format("index tuples of {} for a rank-{} input", k, sx.size()));
  }
  check_gathered_rows(element_count(si), 1);
  if (!std::equal(si.begin(), si.begin() + static_cast<std::ptrdiff_t>(batch_dims), sx.begin()) ||
      element_count(si) < 1 || element_count(sx) < 1) {
    throw Unsupported(fmt::format("indices of shape {} for data of shape {} and batch_dims {}",
                                  to_string(si), to_string(sx), batch_dims));
  }
  if (!l.graph().is_constant(input(n, 1))) {
    lower_runtime_gather_nd(l, n, batch_dims, k);
    return;
  }
  const std::vector<std::int64_t> indices = constant_ints(l, n, 1);
  const std::int64_t batches = product(sx, 0, batch_dims);
  const auto tuples = static_cast<std::int64_t>(indices.size() / k);
  const std::int64_t per_batch = tuples / batches;
  std::vector<std::int64_t> rows;
  for (std::int64_t t = 0; t < tuples; ++t) {
    std::int64_t row = t / per_batch;  // the batch, then each tuple's axes
    for (std::size_t j = 0; j < k; ++j) {
      const std::int64_t dim = sx[batch_dims + j];
      std::int64_t index = indices[static_cast<std::size_t>(t) * k + j];
      index += index < 0 ? dim : 0;
      if (index < 0 || index >= dim) {
        throw Unsupported(fmt::format("index {} out of range for {}", index, dim));
      }
      row = row * dim + index;
    }
    rows.push_back(row);
  }
  gather_rows(l, n.label(), x, n.outputs.at(0), product(sx, batch_dims + k, sx.size()),
              std::move(rows));
}

// Input `index` of `n` (`what`, for messages) over `shape`: the tensor
// itself when it has shape's elements, otherwise broadcast to it (NumPy
// rules): a constant on the host, a computed one by one COPY_STRIDED.
std::string operand_over(Lowerer& l, const Node& n, std::size_t index, const Shape& shape,
                         std::string_view what) {
  const std::string& name = input(n, index);
  const Shape& from = l.shape(name);
  if (!broadcasts_to(from, shape)) {
    throw Unsupported(fmt::format("{} of shape {} does not broadcast to the normalized shape {}",
                                  what, to_string(from), to_string(shape)));
  }
  if (element_count(from) == element_count(shape)) {
    return l.operand(name);
  }
  if (l.graph().is_constant(name)) {
    return l.new_constant(shape, broadcast_values(l.graph().constants.at(name), from, shape));
  }
  l.require(isa::Opcode::copy_strided);
  const std::string expanded = l.scratch_shaped(shape);
  strided_copy(l, n.label(), l.ref(expanded), l.ref(name), broadcast_axes(from, shape));
  return expanded;
}

// LayerNormalization's optional Mean and InvStdDev outputs, one value per
// row: REDUCE mean; then x - mean (the means spread along each row by one
// COPY_STRIDED), squared, REDUCE mean (the population variance), + epsilon,
// ACTIVATION_PARAM POW -1/2.
void layer_norm_statistics(Lowerer& l, const Node& n, std::int64_t rows, std::int64_t cols,
                           float epsilon) {
  const std::string& x = input(n, 0);
  const std::string mean_out = n.outputs.size() > 1 ? n.outputs[1] : "";
  const std::string inv_std_dev = n.outputs.size() > 2 ? n.outputs[2] : "";
  if (mean_out.empty() && inv_std_dev.empty()) {
    return;
  }
  const std::string mean = mean_out.empty() ? l.scratch(rows) : mean_out;
  const auto row_reduce = [&](const std::string& from, const std::string& to) {
    const std::uint32_t r = u32(rows, "rows"), c = u32(cols, "cols");
    l.emit(n.label(), {l.ref(from)}, {l.ref(to)},
           [=, dt = l.dtype()](KernelBuilder& k, std::span<const BufferArg> s) {
             k.reduce(dt, ReduceOp::mean, s[0], s[1], r, c, 1);
           });
  };
  row_reduce(x, mean);
  if (inv_std_dev.empty()) {
    return;
  }
  l.require(isa::Opcode::activation_param);
  const std::int64_t count = rows * cols;
  const std::string spread = l.scratch(count);
  strided_copy(l, n.label(), l.ref(spread), l.ref(mean), {{rows, 1, cols}, {cols, 0, 1}});
  const std::string centred = l.scratch(count);
  l.eltwise(n.label(), EltwiseOp::sub, l.ref(x), l.ref(spread), l.ref(centred), count, count);
  l.eltwise(n.label(), EltwiseOp::mul, l.ref(centred), l.ref(centred), l.ref(spread), count, count);
  const std::string variance = l.scratch(rows);
  row_reduce(spread, variance);
  const std::string shifted = l.scratch(rows);
  l.eltwise(n.label(), EltwiseOp::add, l.ref(variance), l.ref(l.scalar(epsilon)), l.ref(shifted),
            rows, 1);
  param_function_into(l, n.label(), ParamActivation::pow, shifted, inv_std_dev, rows, 1.0F, -0.5F);
}

// The tensors of a LAYERNORM: x, gamma and beta of a row each, the output.
struct LayerNormTensors {
  std::string x, gamma, beta, out;
};

// LAYERNORM of x's rows of `cols` elements (`count` in all): one, or one
// per range of whole rows that fits the device's 64 MiB operand.
void layernorm_rows(Lowerer& l, const std::string& origin, const LayerNormTensors& t,
                    std::int64_t count, std::int64_t cols, float epsilon) {
  const auto c = u32(cols, "cols");
  for (const ElementRange& range : l.operand_ranges(count, cols)) {
    const auto at = static_cast<std::uint64_t>(range.first * l.esize());
    l.emit(origin, {l.ref(t.x, at), l.ref(t.gamma), l.ref(t.beta)}, {l.ref(t.out, at)},
           [=, r = u32(range.count / cols, "rows"), dt = l.dtype()](KernelBuilder& k,
                                                                    std::span<const BufferArg> s) {
             k.layernorm(dt, s[0], s[3], s[1], s[2], r, c, epsilon);
           });
  }
}

// LayerNormalization over the axes from `axis` on (opset 17, or made by
// fuse_layer_norm from its spelled-out form): one LAYERNORM over rows of
// the normalized shape's elements, and the statistics outputs when asked.
void lower_layer_norm(Lowerer& l, const Node& n) {
  const std::string& x = input(n, 0);
  const Shape& sx = l.shape(x);
  const auto rank = static_cast<std::int64_t>(sx.size());
  std::int64_t axis = n.get_int("axis", -1);
  axis += axis < 0 ? rank : 0;
  if (axis < 0 || axis >= rank) {
    throw Unsupported(fmt::format("axis {} of a rank-{} input", n.get_int("axis", -1), rank));
  }
  const Shape normalized(sx.begin() + axis, sx.end());
  const std::int64_t cols = element_count(normalized);
  const std::string gamma = operand_over(l, n, 1, normalized, "scale");
  const std::string beta =
      n.inputs.size() > 2 && !n.inputs[2].empty()
          ? operand_over(l, n, 2, normalized, "bias")
          : l.new_constant(normalized, std::vector<float>(static_cast<std::size_t>(cols), 0.0F));
  const auto r = u32(element_count(sx) / cols, "rows");
  const float epsilon = n.get_float("epsilon", 1e-5F);
  layernorm_rows(l, n.label(), {x, gamma, beta, n.outputs.at(0)}, element_count(sx), cols, epsilon);
  layer_norm_statistics(l, n, r, u32(cols, "cols"), epsilon);
}

// NormalizeGroups (normalization.hpp: InstanceNormalization and
// GroupNormalization without their affine): every one of the N x groups
// rows of the input, (x - mean) / sqrt(var + epsilon) with the population
// variance, as one LAYERNORM with unit gamma and zero beta.
void lower_normalize_groups(Lowerer& l, const Node& n) {
  const std::string& x = input(n, 0);
  const Shape& sx = l.shape(x);
  const std::int64_t rows = sx.at(0) * n.get_int("groups", 1);
  const std::int64_t cols = element_count(sx) / rows;
  layernorm_rows(l, n.label(), {x, l.filled(cols, 1.0F), l.filled(cols, 0.0F), n.outputs.at(0)},
                 element_count(sx), cols, n.get_float("epsilon", 1e-5F));
}

// ---- the INT8 path's own nodes (int8_rewrite.hpp) ------------------------

// QuantizeInt8: q = round_half_even(x / scale) saturated to INT8. On a v1.2
// device one CONVERT by 1 / scale. A v1.1 device has no conversion
// instruction: x / scale + 1.5 * 2^23 rounds to an integer held in the low
// bits of the FP32 pattern (quantization.hpp), CLIP saturates it, and an
// INT8 strided copy takes each word's low byte.
void lower_quantize_int8(Lowerer& l, const Node& n) {
  if (l.has(isa::Opcode::convert)) {
    const std::string& x = input(n, 0);
    l.convert(n.label(),
              {.from = DataType::fp32,
               .to = DataType::int8,
               .count = element_count(l.shape(x)),
               .scale = 1.0F / n.get_float("scale", 0.0F)},
              l.ref(x), l.ref(n.outputs.at(0)));
    return;
  }
  l.require(isa::Opcode::activation_param);
  l.require(isa::Opcode::copy_strided);
  const std::string& x = input(n, 0);
  const std::int64_t count = element_count(l.shape(x));
  const std::uint32_t elements = u32(count, "element count");
  const float scale = n.get_float("scale", 0.0F);
  const std::string scaled = l.scratch(count);
  const std::string biased = l.scratch(count);
  l.eltwise(n.label(), EltwiseOp::div, l.ref(x), l.ref(l.scalar(scale)), l.ref(scaled), count, 1);
  l.eltwise(n.label(), EltwiseOp::add, l.ref(scaled), l.ref(l.scalar(kRoundingBias)), l.ref(biased),
            count, 1);
  l.emit(n.label(), {l.ref(biased)}, {l.ref(scaled)},
         [elements](KernelBuilder& k, std::span<const BufferArg> s) {
           k.activation_param(DataType::fp32, ParamActivation::clip, s[0], s[1], elements,
                              kRoundingBias - 128.0F, kRoundingBias + 127.0F);
         });
  l.emit(n.label(), {l.ref(scaled)}, {l.ref(n.outputs.at(0))},
         [elements](KernelBuilder& k, std::span<const BufferArg> s) {
           CopyStridedOperands o{.dst = s[1], .src = s[0]};
           o.sizes[3] = elements;
           o.src_strides[3] = 4U;  // the low byte of each FP32 word
           o.dst_strides[3] = 1U;
           k.copy_strided(DataType::int8, o);
         });
}

// DequantizeInt8: x = q * scale; on a v1.2 device one CONVERT. On v1.1 an
// INT8 GEMM of q (count x 1) by [1] with the INT32 bias 0x4B400000 writes
// 1.5 * 2^23 + q as FP32 patterns; an FP32 subtraction leaves q exactly, a
// multiplication scales it.
void lower_dequantize_int8(Lowerer& l, const Node& n) {
  const std::string& q = input(n, 0);
  const std::int64_t count = element_count(l.shape(q));
  if (l.has(isa::Opcode::convert)) {
    l.convert(n.label(),
              {.from = DataType::int8,
               .to = DataType::fp32,
               .count = count,
               .scale = n.get_float("scale", 0.0F)},
              l.ref(q), l.ref(n.outputs.at(0)));
    return;
  }
  const std::uint32_t m = u32(count, "element count");
  const std::string patterns = l.scratch_bytes(count * 4);
  const std::string exact = l.scratch(count);
  const std::string one = l.integer_constant("%int8_one", ElementType::int8, {1});
  const std::string bias =
      l.integer_constant("%int32_rounding_bias", ElementType::int32, {kRoundingBiasBits});
  l.emit(n.label(), {l.ref(q), l.ref(one), l.ref(bias)}, {l.ref(patterns)},
         [m](KernelBuilder& k, std::span<const BufferArg> s) {
           k.gemm(DataType::int8, GemmOperands{.a = s[0],
                                               .b = s[1],
                                               .c = s[3],
                                               .bias = s[2],
                                               .m = m,
                                               .n = 1U,
                                               .k = 1U,
                                               .lda = 1U,
                                               .ldb = 1U,
                                               .ldc = 1U,
                                               .int32_output = true});
         });
  l.eltwise(n.label(), EltwiseOp::sub, l.ref(patterns), l.ref(l.scalar(kRoundingBias)),
            l.ref(exact), count, 1);
  l.eltwise(n.label(), EltwiseOp::mul, l.ref(exact), l.ref(l.scalar(n.get_float("scale", 0.0F))),
            l.ref(n.outputs.at(0)), count, 1);
}

void lower_int8_conv(Lowerer& l, const Node& n) {
  lower_conv2d(l, n, true);
}

// Int8MatMul: A [..., K] (INT8) x B [K, N] (INT8 constant) + INT32 bias,
// requantized per output column: one INT8 GEMM; for a float_output node
// the accumulators, scaled per column in FP32: by CONVERT (RELU applied
// exactly to the accumulators), or converted exactly through the rounding
// bias, multiplied and given the activation.
void lower_int8_matmul(Lowerer& l, const Node& n) {
  const std::string& a = input(n, 0);
  const Shape& sa = l.shape(a);
  const Shape& sb = l.shape(input(n, 1));
  const std::int64_t rows = product(sa, 0, sa.size() - 1);
  const std::uint32_t m = u32(rows, "M");
  const std::uint32_t k = u32(sb[0], "K");
  const std::uint32_t nn = u32(sb[1], "N");
  const Activation act = activation_of(n);
  const FloatOutput float_output = float_output_of(n);
  const std::string& out = n.outputs.at(0);
  const std::string& scales = l.use_constant(input(n, 3));
  const std::int64_t count = rows * sb[1];
  const std::string accumulators =
      float_output != FloatOutput::none ? l.scratch_bytes(count * 4) : out;
  std::vector<TensorRef> reads{l.ref(a), l.ref(l.use_constant(input(n, 1))),
                               l.ref(l.use_constant(input(n, 2)))};
  if (float_output == FloatOutput::none) {
    reads.push_back(l.ref(scales));
  }
  l.emit(n.label(), std::move(reads), {l.ref(accumulators)},
         [=](KernelBuilder& kb, std::span<const BufferArg> s) {
           GemmOperands o{
               .a = s[0],
               .b = s[1],
               .c = s.back(),
               .bias = s[2],
               .m = m,
               .n = nn,
               .k = k,
               .lda = k,
               .ldb = nn,
               .ldc = nn,
               .activation = float_output == FloatOutput::rounding_bias ? Activation::none : act};
           if (float_output != FloatOutput::none) {
             o.int32_output = true;
           } else {
             o.channel_scales = s[3];
           }
           kb.gemm(DataType::int8, o);
         });
  if (float_output == FloatOutput::none ||
      convert_accumulators(l, n, accumulators, scales, sb[1], 1)) {
    return;
  }
  const std::string exact = unbias_accumulators(l, n, accumulators, count);
  const std::string scaled = act == Activation::none ? out : l.scratch(count);
  l.eltwise(n.label(), EltwiseOp::mul, l.ref(exact), l.ref(scales), l.ref(scaled), count, sb[1]);
  if (act != Activation::none) {
    const std::uint32_t elements = u32(count, "element count");
    l.emit(n.label(), {l.ref(scaled)}, {l.ref(out)},
           [act, elements](KernelBuilder& kb, std::span<const BufferArg> s) {
             kb.activation(DataType::fp32, act, s[0], s[1], elements);
           });
  }
}

using LowerFn = void (*)(Lowerer&, const Node&);

// The lowering table: one entry per ONNX op the device runs.
const std::map<std::string, LowerFn>& lowerings() {
  static const std::map<std::string, LowerFn> table{
      {"Abs", lower_abs},
      {"Add", lower_add},
      {"And", lower_logical},
      {"ArgMax", lower_arg_max},
      {"ArgMin", lower_arg_min},
      {"AveragePool", lower_average_pool},
      {"Cast", lower_cast},
      {"Ceil", lower_ceil},
      {"Celu", lower_celu},
      {"Clip", lower_clip},
      {"Concat", lower_concat},
      {"Conv", lower_conv},
      {"CumSum", lower_cumsum},
      {"ConvTranspose", lower_conv_transpose},
      {"DepthToSpace", lower_depth_to_space},
      {"DequantizeInt8", lower_dequantize_int8},
      {"Div", lower_div},
      {"Dropout", lower_dropout},
      {"Elu", lower_elu},
      {"Equal", lower_equal},
      {"Exp", lower_exp},
      {"Expand", lower_expand},
      {"Flatten", lower_alias},
      {"Floor", lower_floor},
      {"Gather", lower_gather},
      {"GatherElements", lower_gather_elements},
      {"GatherND", lower_gather_nd},
      {"Gelu", lower_gelu},
      {"Gemm", lower_gemm},
      {"GRU", lower_gru},
      {"Greater", lower_greater},
      {"GreaterOrEqual", lower_greater_or_equal},
      {"GlobalAveragePool", lower_global_average_pool},
      {"GlobalMaxPool", lower_global_max_pool},
      {"HardSigmoid", lower_hard_sigmoid},
      {"Hardmax", lower_hardmax},
      {"HardSwish", lower_hard_swish},
      {"Identity", lower_alias},
      {"If", lower_if},
      {"IsInf", lower_is_inf},
      {"IsNaN", lower_is_nan},
      {"Int8Conv", lower_int8_conv},
      {"Int8MatMul", lower_int8_matmul},
      {"LayerNormalization", lower_layer_norm},
      {"LRN", lower_lrn},
      {"LSTM", lower_lstm},
      {"LpNormalization", lower_lp_normalization},
      {"LeakyRelu", lower_leaky_relu},
      {"Less", lower_less},
      {"Log", lower_log},
      {"Sin", lower_sin},
      {"Cos", lower_cos},
      {"Tan", lower_v18_function},
      {"Asin", lower_v18_function},
      {"Acos", lower_v18_function},
      {"Atan", lower_v18_function},
      {"Sinh", lower_v18_function},
      {"Cosh", lower_v18_function},
      {"Asinh", lower_v18_function},
      {"Acosh", lower_v18_function},
      {"Atanh", lower_v18_function},
      {"Erf", lower_v18_function},
      {"LogSoftmax", lower_log_softmax},
      {"LessOrEqual", lower_less_or_equal},
      {"MatMul", lower_matmul},
      {"Max", lower_max},
      {"MaxPool", lower_max_pool},
      {"MaxUnpool", lower_max_unpool},
      {"Mish", lower_mish},
      {"Mean", lower_mean},
      {"Min", lower_min},
      {"Mod", lower_mod},
      {"Mul", lower_mul},
      {"Neg", lower_neg},
      {"NormalizeGroups", lower_normalize_groups},
      {"Not", lower_not},
      {"OneHot", lower_one_hot},
      {"Or", lower_logical},
      {"PRelu", lower_prelu},
      {"Pad", lower_pad},
      {"Pow", lower_pow},
      {"QuantizeInt8", lower_quantize_int8},
      {"Reciprocal", lower_reciprocal},
      {"ReduceL1", lower_reduce_l1},
      {"ReduceL2", lower_reduce_l2},
      {"ReduceLogSum", lower_reduce_log_sum},
      {"ReduceLogSumExp", lower_reduce_log_sum_exp},
      {"ReduceMax", lower_reduce_max},
      {"ReduceMean", lower_reduce_mean},
      {"ReduceMin", lower_reduce_min},
      {"ReduceProd", lower_reduce_prod},
      {"ReduceSum", lower_reduce_sum},
      {"ReduceSumSquare", lower_reduce_sum_square},
      {"Relu", lower_relu},
      {"RNN", lower_rnn},
      {"Reshape", lower_alias},
      {"Resize", lower_resize},
      {"Round", lower_round},
      {"Scatter", lower_scatter_elements},
      {"ScatterElements", lower_scatter_elements},
      {"ScatterND", lower_scatter_nd},
      {"Selu", lower_selu},
      {"Shrink", lower_shrink},
      {"Sigmoid", lower_sigmoid},
      {"Sign", lower_sign},
      {"Silu", lower_silu},
      {"Slice", lower_slice},
      {"Softmax", lower_softmax},
      {"Softplus", lower_softplus},
      {"Softsign", lower_softsign},
      {"SpaceToDepth", lower_space_to_depth},
      {"Sqrt", lower_sqrt},
      {"Split", lower_split},
      {"Squeeze", lower_alias},
      {"Sub", lower_sub},
      {"Sum", lower_sum},
      {"Tanh", lower_tanh},
      {"ThresholdedRelu", lower_thresholded_relu},
      {"Tile", lower_tile},
      {"TopK", lower_top_k},
      {"Transpose", lower_transpose},
      {"Trilu", lower_trilu},
      {"Unsqueeze", lower_alias},
      {"Upsample", lower_resize},
      {"Where", lower_where},
      {"Xor", lower_logical},
  };
  return table;
}

// Ops that never reach the device: evaluated on the host when their inputs
// are constant, or merged into another node by a pass. Where that fails,
// the reason says why.
const std::map<std::string, std::string>& compile_time_only() {
  static const std::map<std::string, std::string> ops{
      {"BatchNormalization",
       "scale, B, input_mean and input_var must be constants of one value per channel, with "
       "training_mode 0 and one output (inference: a per-channel scale and shift)"},
      {"CastLike", "to the type of a value whose type is not declared"},
      {"Compress",
       "a condition known only at run time (the output's shape depends on its values; a "
       "constant condition is one Gather)"},
      {"Constant", ""},
      {"Det",
       "of matrices larger than 4 x 4, or of a shape that is not static (a sum over the n! "
       "permutations of n x n)"},
      {"DFT",
       "dft_length and axis must be constants and the input's shape static (a MatMul by the "
       "DFT matrix)"},
      {"ConstantOfShape", "of a shape only known at run time"},
      {"Range", "on values only known at run time"},
      {"Size", "of a value whose shape is not static"},
      {"Einsum",
       "an equation of more than two operands, an index repeated within an operand (a "
       "diagonal, a trace), or indices of both operands whose sizes disagree"},
      {"GroupNormalization",
       "scale and bias must be constants (one per group before opset 21, one per channel "
       "from 21), channels a multiple of num_groups"},
      {"InstanceNormalization", "scale and bias must be constants of one value per channel"},
      {"Loop",
       "a trip count or condition known only at run time, or a body whose condition may end it "
       "early (a Loop of a constant trip count whose condition stays true is unrolled)"},
      {"Scan",
       "scan inputs whose shapes are not static, or (opset 8) sequence_lens (a Scan over static "
       "shapes is unrolled)"},
      {"ReverseSequence", "an input whose shape is not static"},
      {"Shape", "of a value whose shape is not static"},
      {"STFT",
       "frame_step and frame_length must be constants and the signal's shape static (a MatMul "
       "of its frames by the DFT matrix)"},
  };
  return ops;
}

}  // namespace

std::string side_by_side(Lowerer& l, const std::string& origin, TensorRef first,
                         std::int64_t first_rows, TensorRef second, std::int64_t second_rows,
                         std::int64_t row_elems) {
  const std::string both = l.scratch_shaped({first_rows + second_rows, row_elems});
  const std::int64_t first_bytes = first_rows * row_elems * l.esize();
  l.copy(l.ref(both), std::move(first), first_bytes, origin);
  l.copy(l.ref(both, static_cast<std::uint64_t>(first_bytes)), std::move(second),
         second_rows * row_elems * l.esize(), origin);
  return both;
}

std::set<std::string> lowerable_ops() {
  std::set<std::string> ops;
  for (const auto& [op, fn] : lowerings()) {
    ops.insert(op);
  }
  for (const auto& [op, reason] : compile_time_only()) {
    ops.insert(op);
  }
  ops.merge(host_evaluated_ops());
  return ops;
}

std::bitset<64> every_opcode() {
  std::bitset<64> ops;
  for (const isa::OpcodeInfo& op : isa::opcode_table()) {
    ops.set(static_cast<std::size_t>(op.opcode));
  }
  return ops;
}

namespace {

// The program, with the weights it takes from the graph still empty (their
// names in `graph_weights`).
// Why an operator without a lowering is refused.
std::string no_lowering_reason(const std::string& op) {
  const auto fold = compile_time_only().find(op);
  return fold != compile_time_only().end() ? fold->second
         : host_evaluated_ops().contains(op)
             ? "no lowering to the ISA; folded only when its inputs are constants"
             : "no lowering to the ISA";
}

Program lower_instructions(const Graph& graph, DataType dtype, std::bitset<64> device_ops,
                           std::uint32_t hw_version, std::set<std::string>& graph_weights) {
  std::map<std::string, npu::onnx::UnsupportedOperators::Entry> unsupported;
  auto report = [&](const Node& node, const std::string& reason) {
    auto& entry = unsupported[node.op];
    entry.op = node.op;
    entry.nodes.push_back(node.name.empty() ? node.outputs.at(0) : node.name);
    if (entry.reason.empty()) {
      entry.reason = reason;
    }
  };
  auto refuse_reported = [&] {
    if (!unsupported.empty()) {
      std::vector<npu::onnx::UnsupportedOperators::Entry> entries;
      for (auto& [op, entry] : unsupported) {
        entries.push_back(std::move(entry));
      }
      throw npu::onnx::UnsupportedOperators(std::move(entries));
    }
  };
  // Axes computed at run time leave the shapes after them unknown, which
  // the Lowerer needs (the graph outputs'): refused first, and so is a
  // lowered node whose output's shape depends on values known only at run
  // time.
  const std::set<std::string> read = values_read(graph);
  for (const Node& node : graph.nodes) {
    if (const std::optional<std::string> reason = computed_reduce_axes(graph, node)) {
      report(node, *reason);
    } else if (const std::optional<std::string> unknown = unknown_output_shape(graph, node, read)) {
      report(node, lowerings().contains(node.op) ? *unknown : no_lowering_reason(node.op));
    }
  }
  refuse_reported();
  std::optional<Lowerer> made;
  try {
    made.emplace(graph, dtype, device_ops, hw_version);
  } catch (const Unsupported& e) {
    throw npu::onnx::ModelError(e.what());
  }
  Lowerer& lowerer = *made;
  for (const Node& node : graph.nodes) {
    const auto it = lowerings().find(node.op);
    if (it == lowerings().end()) {
      report(node, no_lowering_reason(node.op));
      continue;
    }
    try {
      it->second(lowerer, node);
    } catch (const Unsupported& e) {
      report(node, e.what());
    } catch (const std::out_of_range& e) {
      report(node, fmt::format("malformed node ({})", e.what()));
    }
  }
  refuse_reported();
  graph_weights = lowerer.graph_weights();
  return std::move(lowerer).take();
}

}  // namespace

Program lower(const Graph& graph, DataType dtype, std::bitset<64> device_ops,
              std::uint32_t hw_version) {
  std::set<std::string> graph_weights;
  Program program = lower_instructions(graph, dtype, device_ops, hw_version, graph_weights);
  for (const std::string& name : graph_weights) {
    program.weights[name] = graph.constants.at(name);
  }
  return program;
}

Program lower(Graph&& graph, DataType dtype, std::bitset<64> device_ops, std::uint32_t hw_version) {
  std::set<std::string> graph_weights;
  Program program = lower_instructions(graph, dtype, device_ops, hw_version, graph_weights);
  for (const std::string& name : graph_weights) {
    program.weights[name] = std::move(graph.constants.at(name));
  }
  return program;
}

}  // namespace npu::onnx_runtime
