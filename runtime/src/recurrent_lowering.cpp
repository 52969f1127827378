// A recurrent layer over a static sequence is unrolled: one GEMM_BATCHED
// projects every step's input at once (W·x_t for all t, the biases added
// by one ELTWISE), then each step is one GEMM of the recurrent weights with
// the previous hidden state and the cell's element-wise arithmetic
// (ELTWISE, ACTIVATION), as ONNX defines LSTM, GRU and RNN. The gates and
// states are kept gate-major, [gate][hidden][batch]: each gate is then one
// contiguous block that an ACTIVATION or ELTWISE covers whole for any
// batch, and R·h is one GEMM of R with the state as it is stored. One
// COPY_STRIDED per direction puts the states into Y's layout at the end.
#include "recurrent_lowering.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <optional>
#include <string>
#include <vector>

#include "lowerer.hpp"

namespace npu::onnx_runtime {
namespace {

enum class Cell : std::uint8_t { rnn, gru, lstm };

struct CellTraits {
  std::int64_t gates;
  std::vector<std::string> functions;  // ONNX's default activations, per direction
};

const CellTraits& traits(Cell cell) {
  static const std::array<CellTraits, 3> kTraits{
      {{1, {"Tanh"}}, {3, {"Sigmoid", "Tanh"}}, {4, {"Sigmoid", "Tanh", "Tanh"}}}};
  return kTraits.at(static_cast<std::size_t>(cell));
}

// One of the cell's activation functions as one instruction.
struct CellFunction {
  std::optional<Activation> plain;                // ACTIVATION
  ParamActivation param = ParamActivation::clip;  // otherwise ACTIVATION_PARAM
  float alpha = 0.0F, beta = 0.0F;
};

// `activations` (f, g[, h] per direction) with `activation_alpha` and
// `activation_beta` consumed in order by the functions that take them, as
// onnxruntime reads them.
std::vector<CellFunction> cell_functions(const Node& node, const CellTraits& cell,
                                         std::int64_t directions) {
  std::vector<std::string> names = node.get_strings("activations", {});
  if (names.empty()) {
    for (std::int64_t d = 0; d < directions; ++d) {
      names.insert(names.end(), cell.functions.begin(), cell.functions.end());
    }
  }
  const auto per_layer = static_cast<std::size_t>(directions) * cell.functions.size();
  if (names.size() != per_layer) {
    throw Unsupported(fmt::format("{} activations for {} direction(s); the cell takes {}",
                                  names.size(), directions, per_layer));
  }
  const std::vector<float> alphas = node.get_floats("activation_alpha", {});
  const std::vector<float> betas = node.get_floats("activation_beta", {});
  std::size_t next_alpha = 0, next_beta = 0;
  const auto take = [](const std::vector<float>& values, std::size_t& next, float fallback) {
    return next < values.size() ? values[next++] : fallback;
  };
  std::vector<CellFunction> functions;
  for (const std::string& name : names) {
    std::string lower = name;
    std::ranges::transform(lower, lower.begin(), [](unsigned char c) { return std::tolower(c); });
    if (lower == "sigmoid") {
      functions.push_back({.plain = Activation::sigmoid, .param = ParamActivation::clip});
    } else if (lower == "tanh") {
      functions.push_back({.plain = Activation::tanh, .param = ParamActivation::clip});
    } else if (lower == "relu") {
      functions.push_back({.plain = Activation::relu, .param = ParamActivation::clip});
    } else if (lower == "leakyrelu") {
      functions.push_back({.plain = std::nullopt,
                           .param = ParamActivation::leaky_relu,
                           .alpha = take(alphas, next_alpha, 0.01F)});
    } else if (lower == "hardsigmoid") {
      const float alpha = take(alphas, next_alpha, 0.2F);
      functions.push_back({.plain = std::nullopt,
                           .param = ParamActivation::hardsigmoid,
                           .alpha = alpha,
                           .beta = take(betas, next_beta, 0.5F)});
    } else {
      throw Unsupported(fmt::format(
          "activation {} (a recurrent cell runs Sigmoid, Tanh, Relu, LeakyRelu, HardSigmoid)",
          name));
    }
  }
  return functions;
}

// Input `index` if the node has it.
std::optional<std::string> optional_input(const Node& node, std::size_t index) {
  if (index >= node.inputs.size() || node.inputs[index].empty()) {
    return std::nullopt;
  }
  return node.inputs[index];
}

// The tensors of one direction.
struct Direction {
  std::string projected;  // W·x_t and biases, [steps][gate rows][batch]
  // Every step's hidden state and (LSTM) cell state, [steps][hidden][batch].
  std::string states, cells;
  // A GRU's Rb of the h gate (linear_before_reset), an LSTM's peepholes
  // Pi, Po, Pf: each repeated for the batch.
  std::string reset_bias;
  std::vector<std::string> peepholes;
};

class RecurrentLayer {
 public:
  RecurrentLayer(Lowerer& l, const Node& node, Cell cell)
      : l_(l), node_(node), cell_(cell), origin_(node.label()) {
    l.require(isa::Opcode::gemm_batched);
    l.require(isa::Opcode::copy_strided);
    read_dimensions();
    check_size();
    functions_ = cell_functions(node, traits(cell), directions_);
    for (const CellFunction& f : functions_) {
      if (!f.plain) {
        l.require(isa::Opcode::activation_param);
      }
    }
    if (node.has("clip")) {
      const float clip = node.get_float("clip", 0.0F);
      if (!(clip >= 0.0F)) {
        throw Unsupported(fmt::format("clip {}: a threshold must be at least 0", clip));
      }
      clip_ = clip;
      l.require(isa::Opcode::activation_param);
    }
    check_sequence_lengths();
    if (cell == Cell::lstm && node.get_int("input_forget", 0) != 0) {
      throw Unsupported("input_forget 1 (the coupled input and forget gates)");
    }
    linear_before_reset_ = cell == Cell::gru && node.get_int("linear_before_reset", 0) != 0;
  }

  void lower() {
    const TensorRef x = inputs_by_step();
    const std::int64_t state = hidden_ * batch_;
    pre_ = l_.scratch(gate_rows() * batch_);
    product_ = l_.scratch(gate_rows() * batch_);
    activated_ = l_.scratch(gate_rows() * batch_);
    clipped_ = clip_ ? l_.scratch(gate_rows() * batch_) : "";
    peeped_ = peepholes_ ? l_.scratch(gate_rows() * batch_) : "";
    temporary_ = {l_.scratch(state), l_.scratch(state), l_.scratch(state)};
    for (std::int64_t d = 0; d < directions_; ++d) {
      Direction& dir = directions_data_.emplace_back();
      if (linear_before_reset_ && bias_) {
        dir.reset_bias = per_row(*bias_, d * 2 * gate_rows() + gate_rows() + 2 * hidden_, hidden_);
      }
      for (std::int64_t g = 0; g < 3 && peepholes_; ++g) {
        dir.peepholes.push_back(per_row(*peepholes_, (d * 3 + g) * hidden_, hidden_));
      }
      dir.projected = project_inputs(x, d);
      dir.states = l_.scratch(steps_ * state);
      dir.cells = cell_ == Cell::lstm ? l_.scratch(steps_ * state) : "";
      TensorRef h = initial_state(5, d);
      TensorRef c = cell_ == Cell::lstm ? initial_state(6, d) : TensorRef{};
      for (std::int64_t i = 0; i < steps_; ++i) {
        const std::int64_t t = reversed(d) ? steps_ - 1 - i : i;
        step(d, t, h, c);
        h = at(dir.states, t * state);
        if (cell_ == Cell::lstm) {
          c = at(dir.cells, t * state);
        }
      }
    }
    write_outputs();
  }

 private:
  std::int64_t gates() const { return traits(cell_).gates; }
  std::int64_t gate_rows() const { return gates() * hidden_; }
  Direction& of(std::int64_t d) { return directions_data_.at(static_cast<std::size_t>(d)); }
  bool reversed(std::int64_t d) const { return d == 1 || direction_ == "reverse"; }
  const CellFunction& function(std::int64_t d, std::size_t which) const {
    return functions_.at(static_cast<std::size_t>(d) * traits(cell_).functions.size() + which);
  }
  // `elements` into tensor `name`.
  TensorRef at(const std::string& name, std::int64_t elements) {
    return l_.ref(name, static_cast<std::uint64_t>(elements * l_.esize()));
  }
  // Gate `gate`'s block of a [gate][hidden][batch] tensor.
  TensorRef gate(const std::string& name, std::int64_t g) { return at(name, g * hidden_ * batch_); }

  void read_dimensions() {
    const Shape& sx = l_.shape(input(node_, 0));
    if (sx.size() != 3) {
      throw Unsupported(fmt::format("X of shape {}; ONNX's X is 3-D", to_string(sx)));
    }
    const std::int64_t layout = node_.get_int("layout", 0);
    if (layout != 0 && layout != 1) {
      throw Unsupported(fmt::format("layout {}", layout));
    }
    batch_first_ = layout == 1;
    steps_ = batch_first_ ? sx[1] : sx[0];
    batch_ = batch_first_ ? sx[0] : sx[1];
    input_size_ = sx[2];
    direction_ = node_.get_string("direction", "forward");
    if (direction_ != "forward" && direction_ != "reverse" && direction_ != "bidirectional") {
      throw Unsupported(fmt::format("direction {}", direction_));
    }
    directions_ = direction_ == "bidirectional" ? 2 : 1;
    const Shape& sw = l_.shape(input(node_, 1));
    hidden_ = node_.get_int("hidden_size", sw.size() == 3 ? sw[1] / gates() : 0);
    if (hidden_ < 1 || hidden_ > std::int64_t{1} << 24) {
      throw Unsupported(fmt::format("hidden_size {}", hidden_));
    }
    expect_shape(1, "W", {directions_, gate_rows(), input_size_});
    expect_shape(2, "R", {directions_, gate_rows(), hidden_});
    w_ = l_.operand(input(node_, 1));
    r_ = l_.operand(input(node_, 2));
    if (const auto b = optional_input(node_, 3)) {
      expect_shape(3, "B", {directions_, 2 * gate_rows()});
      bias_ = *b;
    }
    const Shape state{batch_first_ ? batch_ : directions_, batch_first_ ? directions_ : batch_,
                      hidden_};
    for (std::size_t i : {std::size_t{5}, std::size_t{6}}) {
      if (i == 5 || cell_ == Cell::lstm) {
        if (optional_input(node_, i)) {
          expect_shape(i, i == 5 ? "initial_h" : "initial_c", state);
        }
      }
    }
    if (const auto p = cell_ == Cell::lstm ? optional_input(node_, 7) : std::nullopt) {
      expect_shape(7, "P", {directions_, 3 * hidden_});
      if (!is_zero(*p)) {
        peepholes_ = *p;
      }
    }
  }

  // Every step is unrolled and the projected inputs of all steps are one
  // operand: both bounded before anything is built.
  void check_size() const {
    constexpr std::int64_t kMaxSteps = 4096;
    constexpr std::int64_t kMaxElements = kMaxOperandBytes / 4;
    if (steps_ < 1 || batch_ < 1 || input_size_ < 1) {
      throw Unsupported("an empty sequence, batch or input");
    }
    if (steps_ > kMaxSteps) {
      throw Unsupported(
          fmt::format("{} steps; a layer is unrolled over at most {}", steps_, kMaxSteps));
    }
    const std::int64_t per_step = gate_rows() * batch_;
    if (gate_rows() > kMaxElements || batch_ > kMaxElements || per_step > kMaxElements / steps_ ||
        input_size_ > kMaxElements || gate_rows() * std::max(input_size_, hidden_) > kMaxElements) {
      throw Unsupported(
          fmt::format("{} steps of {} gate rows for {} sequences (input {}): beyond the device's "
                      "64 MiB operand",
                      steps_, gate_rows(), batch_, input_size_));
    }
  }

  void expect_shape(std::size_t index, const char* what, const Shape& expected) const {
    const Shape& actual = l_.shape(input(node_, index));
    if (actual != expected) {
      throw Unsupported(
          fmt::format("{} of shape {}; expected {}", what, to_string(actual), to_string(expected)));
    }
  }

  // Whether `value` is a constant of zeros (peepholes exported as none).
  bool is_zero(const std::string& value) const {
    if (!l_.graph().is_constant(value)) {
      return false;
    }
    const Constant& c = l_.graph().constants.at(value);
    for (std::int64_t i = 0; i < element_count(c.shape); ++i) {
      if (c.value(i) != 0.0) {
        return false;
      }
    }
    return true;
  }

  // sequence_lens may only say what the shape says: every sequence whole.
  void check_sequence_lengths() const {
    const auto lengths = optional_input(node_, 4);
    if (!lengths) {
      return;
    }
    if (!l_.graph().is_constant(*lengths)) {
      throw Unsupported(fmt::format(
          "sequence_lens '{}' is computed at run time; only a constant of the whole length",
          *lengths));
    }
    for (const std::int64_t length : l_.graph().constants.at(*lengths).integers()) {
      if (length != steps_) {
        throw Unsupported(fmt::format(
            "sequence_lens holds {}: sequences shorter than the {} steps are not computed", length,
            steps_));
      }
    }
  }

  // X as [steps][batch][input]: batch-first X of more than one sequence is
  // reordered by one COPY_STRIDED.
  TensorRef inputs_by_step() {
    const std::string& x = input(node_, 0);
    if (!batch_first_ || batch_ == 1) {
      return l_.ref(x);
    }
    const std::string by_step = l_.scratch(steps_ * batch_ * input_size_);
    strided_copy(l_, origin_, l_.ref(by_step), l_.ref(x),
                 {{steps_, input_size_, batch_ * input_size_},
                  {batch_, steps_ * input_size_, input_size_},
                  {input_size_, 1, 1}});
    return l_.ref(by_step);
  }

  // W·x_t + the biases that do not depend on the state, every step t:
  // [steps][gate rows][batch].
  std::string project_inputs(const TensorRef& x, std::int64_t d) {
    const std::string projected = l_.scratch(steps_ * gate_rows() * batch_);
    const std::vector<std::string> biases = bias_ ? input_biases(d) : std::vector<std::string>{};
    const std::int64_t elements = steps_ * gate_rows() * batch_;
    const std::string products = biases.empty() ? projected : l_.scratch(elements);
    const std::uint32_t m = u32(gate_rows(), "gate rows"), n = u32(batch_, "batch");
    const std::uint32_t k = u32(input_size_, "input size"), steps = u32(steps_, "sequence length");
    const std::uint32_t stride_b = u32(batch_ * input_size_, "input stride");
    const std::uint32_t stride_c = u32(gate_rows() * batch_, "gate stride");
    l_.emit(origin_, {at(w_, d * gate_rows() * input_size_), x}, {l_.ref(products)},
            [=, dt = l_.dtype()](KernelBuilder& kb, std::span<const BufferArg> s) {
              kb.gemm_batched(dt, {.a = s[0],
                                   .b = s[1],
                                   .c = s[2],
                                   .m = m,
                                   .n = n,
                                   .k = k,
                                   .lda = k,
                                   .ldb = k,
                                   .ldc = n,
                                   .batch = steps,
                                   .stride_a = 0U,
                                   .stride_b = stride_b,
                                   .stride_c = stride_c,
                                   .transpose_b = true});
            });
    std::string sum = products;
    for (std::size_t i = 0; i < biases.size(); ++i) {
      const std::string to = i + 1 == biases.size() ? projected : l_.scratch(elements);
      l_.eltwise(origin_, EltwiseOp::add, l_.ref(sum), l_.ref(biases[i]), l_.ref(to), elements,
                 gate_rows() * batch_);
      sum = to;
    }
    return projected;
  }

  // The biases added to W·x_t, [gate rows][batch]: Wb + Rb of every gate
  // row, except a GRU's h-gate Rb with linear_before_reset (added inside
  // the reset instead). Of a constant B one tensor, summed on the host; of
  // a computed one Wb and Rb, each expanded on the device.
  std::vector<std::string> input_biases(std::int64_t d) {
    const std::int64_t w_first = d * 2 * gate_rows(), r_first = w_first + gate_rows();
    const std::int64_t r_rows = linear_before_reset_ ? 2 * hidden_ : gate_rows();
    if (l_.graph().is_constant(*bias_)) {
      const Constant& b = l_.graph().constants.at(*bias_);
      std::vector<float> values;
      for (std::int64_t row = 0; row < gate_rows(); ++row) {
        const double r = row < r_rows ? b.value(r_first + row) : 0.0;
        values.insert(values.end(), static_cast<std::size_t>(batch_),
                      static_cast<float>(b.value(w_first + row) + r));
      }
      return {l_.new_constant({gate_rows() * batch_}, std::move(values))};
    }
    std::string recurrent = per_row(*bias_, r_first, r_rows);
    if (r_rows < gate_rows()) {
      const std::string whole = l_.scratch(gate_rows() * batch_);
      const std::int64_t rest = (gate_rows() - r_rows) * batch_;
      l_.copy(at(whole, 0), l_.ref(recurrent), r_rows * batch_ * l_.esize(), origin_);
      l_.copy(at(whole, r_rows * batch_), l_.ref(l_.filled(rest, 0.0F)), rest * l_.esize(),
              origin_);
      recurrent = whole;
    }
    return {per_row(*bias_, w_first, gate_rows()), recurrent};
  }

  // Rows [first, first + rows) of B or P (one value per gate row or hidden
  // unit), each repeated for the batch: [rows][batch]. Of a constant on the
  // host, of a computed one by one COPY_STRIDED (source stride 0 along the
  // batch).
  std::string per_row(const std::string& value, std::int64_t first, std::int64_t rows) {
    if (l_.graph().is_constant(value)) {
      const Constant& c = l_.graph().constants.at(value);
      std::vector<float> repeated;
      for (std::int64_t row = first; row < first + rows; ++row) {
        repeated.insert(repeated.end(), static_cast<std::size_t>(batch_),
                        static_cast<float>(c.value(row)));
      }
      return l_.new_constant({rows * batch_}, std::move(repeated));
    }
    const std::string expanded = l_.scratch(rows * batch_);
    strided_copy(l_, origin_, l_.ref(expanded), at(l_.operand(value), first),
                 {{rows, 1, batch_}, {batch_, 0, 1}});
    return expanded;
  }

  // initial_h (5) or initial_c (6) of direction d as [hidden][batch]; zeros
  // without it.
  TensorRef initial_state(std::size_t index, std::int64_t d) {
    const auto given = optional_input(node_, index);
    if (!given) {
      return l_.ref(l_.filled(hidden_ * batch_, 0.0F));
    }
    const std::string state = l_.scratch(hidden_ * batch_);
    const std::int64_t batch_stride = batch_first_ ? directions_ * hidden_ : hidden_;
    const std::int64_t first = batch_first_ ? d * hidden_ : d * batch_ * hidden_;
    strided_copy(l_, origin_, l_.ref(state), at(l_.operand(*given), first),
                 {{hidden_, 1, batch_}, {batch_, batch_stride, 1}});
    return l_.ref(state);
  }

  // out = R[d]'s rows of gates [first, first + count) · h.
  void recurrent_product(std::int64_t d, std::int64_t first, std::int64_t count, const TensorRef& h,
                         const TensorRef& out) {
    const std::uint32_t m = u32(count * hidden_, "gate rows"), n = u32(batch_, "batch");
    const std::uint32_t k = u32(hidden_, "hidden size");
    l_.emit(origin_, {at(r_, (d * gate_rows() + first * hidden_) * hidden_), h}, {out},
            [=, dt = l_.dtype()](KernelBuilder& kb, std::span<const BufferArg> s) {
              kb.gemm(dt, {.a = s[0],
                           .b = s[1],
                           .c = s[2],
                           .m = m,
                           .n = n,
                           .k = k,
                           .lda = k,
                           .ldb = n,
                           .ldc = n});
            });
  }

  // pre's gates [first, first + count) = R·h + the projected input of step t.
  void gate_sums(std::int64_t d, std::int64_t t, std::int64_t first, std::int64_t count,
                 const TensorRef& h) {
    recurrent_product(d, first, count, h, l_.ref(product_));
    const std::int64_t elements = count * hidden_ * batch_;
    l_.eltwise(origin_, EltwiseOp::add, l_.ref(product_),
               at(of(d).projected, t * gate_rows() * batch_ + first * hidden_ * batch_),
               gate(pre_, first), elements, elements);
  }

  // activated's gates [first, first + count) (or `out`) = f(clip(source's)).
  void activate(const CellFunction& f, const std::string& source, std::int64_t first,
                std::int64_t count, std::optional<TensorRef> out = std::nullopt) {
    const std::uint32_t n = u32(count * hidden_ * batch_, "element count");
    TensorRef in = gate(source, first);
    if (clip_) {
      TensorRef clipped = gate(clipped_, first);
      l_.emit(origin_, {in}, {clipped},
              [n, c = *clip_, dt = l_.dtype()](KernelBuilder& k, std::span<const BufferArg> s) {
                k.activation_param(dt, ParamActivation::clip, s[0], s[1], n, -c, c);
              });
      in = std::move(clipped);
    }
    apply(f, in, out.value_or(gate(activated_, first)), n);
  }

  void apply(const CellFunction& f, const TensorRef& in, const TensorRef& out, std::uint32_t n) {
    l_.emit(origin_, {in}, {out},
            [f, n, dt = l_.dtype()](KernelBuilder& k, std::span<const BufferArg> s) {
              if (f.plain) {
                k.activation(dt, *f.plain, s[0], s[1], n);
              } else {
                k.activation_param(dt, f.param, s[0], s[1], n, f.alpha, f.beta);
              }
            });
  }

  void multiply(const TensorRef& a, const TensorRef& b, const TensorRef& out) {
    const std::int64_t n = hidden_ * batch_;
    l_.eltwise(origin_, EltwiseOp::mul, a, b, out, n, n);
  }
  void combine(EltwiseOp op, const TensorRef& a, const TensorRef& b, const TensorRef& out) {
    const std::int64_t n = hidden_ * batch_;
    l_.eltwise(origin_, op, a, b, out, n, n);
  }

  void step(std::int64_t d, std::int64_t t, const TensorRef& h, const TensorRef& c) {
    const TensorRef next = at(of(d).states, t * hidden_ * batch_);
    switch (cell_) {
      case Cell::rnn:
        gate_sums(d, t, 0, 1, h);
        activate(function(d, 0), pre_, 0, 1, next);
        return;
      case Cell::gru:
        gru_step(d, t, h, next);
        return;
      case Cell::lstm:
        lstm_step(d, t, h, c, next);
        return;
    }
  }

  // Gates z, r, h: z = f(.), r = f(.), h~ = g(x·Wh + (r ⊙ h)·Rh + Rbh + Wbh)
  // (with linear_before_reset: g(x·Wh + r ⊙ (h·Rh + Rbh) + Wbh)), and
  // H = (1 - z) ⊙ h~ + z ⊙ h, computed as h~ + z ⊙ (h - h~).
  void gru_step(std::int64_t d, std::int64_t t, const TensorRef& h, const TensorRef& next) {
    const TensorRef t0 = l_.ref(temporary_[0]), t1 = l_.ref(temporary_[1]);
    const TensorRef projected_h =
        at(of(d).projected, t * gate_rows() * batch_ + 2 * hidden_ * batch_);
    if (!linear_before_reset_) {
      gate_sums(d, t, 0, 2, h);
      activate(function(d, 0), pre_, 0, 2);
      multiply(gate(activated_, 1), h, t0);
      gate_sums(d, t, 2, 1, t0);
    } else {
      recurrent_product(d, 0, 3, h, l_.ref(product_));
      const std::int64_t zr = 2 * hidden_ * batch_;
      l_.eltwise(origin_, EltwiseOp::add, l_.ref(product_),
                 at(of(d).projected, t * gate_rows() * batch_), l_.ref(pre_), zr, zr);
      activate(function(d, 0), pre_, 0, 2);
      TensorRef reset_input = gate(product_, 2);
      if (bias_) {
        combine(EltwiseOp::add, reset_input, l_.ref(of(d).reset_bias), t1);
        reset_input = t1;
      }
      multiply(gate(activated_, 1), reset_input, t0);
      combine(EltwiseOp::add, t0, projected_h, gate(pre_, 2));
    }
    activate(function(d, 1), pre_, 2, 1);
    combine(EltwiseOp::sub, h, gate(activated_, 2), t0);
    multiply(gate(activated_, 0), t0, t1);
    combine(EltwiseOp::add, gate(activated_, 2), t1, next);
  }

  // Gates i, o, f, c: i = f(. + Pi ⊙ c), f = f(. + Pf ⊙ c), c~ = g(.),
  // C = f ⊙ c + i ⊙ c~, o = f(. + Po ⊙ C), H = o ⊙ h(C).
  void lstm_step(std::int64_t d, std::int64_t t, const TensorRef& h, const TensorRef& c,
                 const TensorRef& next) {
    enum : std::uint8_t { kInput, kOutput, kForget, kCell };
    const TensorRef t0 = l_.ref(temporary_[0]), t1 = l_.ref(temporary_[1]);
    const TensorRef cell = at(of(d).cells, t * hidden_ * batch_);
    const CellFunction& f = function(d, 0);
    gate_sums(d, t, 0, 4, h);
    if (!peepholes_) {
      activate(f, pre_, kInput, 3);
    } else {
      peep(d, kInput, c);
      peep(d, kForget, c);
      activate(f, peeped_, kInput, 1);
      activate(f, peeped_, kForget, 1);
    }
    activate(function(d, 1), pre_, kCell, 1);
    multiply(gate(activated_, kForget), c, t0);
    multiply(gate(activated_, kInput), gate(activated_, kCell), t1);
    combine(EltwiseOp::add, t0, t1, cell);
    if (peepholes_) {
      peep(d, kOutput, cell);
      activate(f, peeped_, kOutput, 1);
    }
    apply(function(d, 2), cell, t0, u32(hidden_ * batch_, "element count"));
    multiply(gate(activated_, kOutput), t0, next);
  }

  // peeped's gate g = pre's + P_g ⊙ cell (P holds i, o, f: the gates' own
  // order).
  void peep(std::int64_t d, std::int64_t g, const TensorRef& cell) {
    const TensorRef t2 = l_.ref(temporary_[2]);
    multiply(l_.ref(of(d).peepholes.at(static_cast<std::size_t>(g))), cell, t2);
    combine(EltwiseOp::add, gate(pre_, g), t2, gate(peeped_, g));
  }

  // Y, Y_h and (LSTM) Y_c from the states, in the layout's order.
  void write_outputs() {
    const std::int64_t state = hidden_ * batch_;
    const auto output = [&](std::size_t i) -> std::optional<std::string> {
      return i < node_.outputs.size() && !node_.outputs[i].empty() ? std::optional(node_.outputs[i])
                                                                   : std::nullopt;
    };
    if (const auto y = output(0)) {
      expect_output(*y, batch_first_ ? Shape{batch_, steps_, directions_, hidden_}
                                     : Shape{steps_, directions_, batch_, hidden_});
      for (std::int64_t d = 0; d < directions_; ++d) {
        const std::vector<CopyAxis> axes =
            batch_first_ ? std::vector<CopyAxis>{{batch_, 1, steps_ * directions_ * hidden_},
                                                 {steps_, state, directions_ * hidden_},
                                                 {hidden_, batch_, 1}}
                         : std::vector<CopyAxis>{{steps_, state, directions_ * state},
                                                 {batch_, 1, hidden_},
                                                 {hidden_, batch_, 1}};
        strided_copy(l_, origin_, at(*y, batch_first_ ? d * hidden_ : d * state),
                     l_.ref(of(d).states), axes);
      }
    }
    for (std::size_t i : {std::size_t{1}, std::size_t{2}}) {
      const auto last = output(i);
      if (!last || (i == 2 && cell_ != Cell::lstm)) {
        continue;
      }
      expect_output(*last, batch_first_ ? Shape{batch_, directions_, hidden_}
                                        : Shape{directions_, batch_, hidden_});
      for (std::int64_t d = 0; d < directions_; ++d) {
        const std::int64_t t = reversed(d) ? 0 : steps_ - 1;
        const std::string& states = i == 1 ? of(d).states : of(d).cells;
        strided_copy(
            l_, origin_, at(*last, batch_first_ ? d * hidden_ : d * state), at(states, t * state),
            {{batch_, 1, batch_first_ ? directions_ * hidden_ : hidden_}, {hidden_, batch_, 1}});
      }
    }
  }

  void expect_output(const std::string& value, const Shape& expected) const {
    if (l_.shape(value) != expected) {
      throw Unsupported(fmt::format("output '{}' of shape {}; expected {}", value,
                                    to_string(l_.shape(value)), to_string(expected)));
    }
  }

  Lowerer& l_;
  const Node& node_;
  Cell cell_;
  std::string origin_;
  bool batch_first_ = false;
  bool linear_before_reset_ = false;
  std::string direction_;
  std::int64_t steps_ = 0, batch_ = 0, input_size_ = 0, hidden_ = 0, directions_ = 1;
  std::string w_, r_;
  std::optional<std::string> bias_;       // B: [directions][Wb, Rb]
  std::optional<std::string> peepholes_;  // P: [directions][Pi, Po, Pf]; none if all 0
  std::vector<CellFunction> functions_;
  std::optional<float> clip_;
  // Per step: [gate][hidden][batch] sums before the activations (pre),
  // R·h (product), the clipped sums, sums with peepholes, the activated
  // gates; [hidden][batch] temporaries.
  std::string pre_, product_, clipped_, peeped_, activated_;
  std::array<std::string, 3> temporary_;
  std::vector<Direction> directions_data_;
};

}  // namespace

void lower_lstm(Lowerer& l, const Node& node) {
  RecurrentLayer(l, node, Cell::lstm).lower();
}
void lower_gru(Lowerer& l, const Node& node) {
  RecurrentLayer(l, node, Cell::gru).lower();
}
void lower_rnn(Lowerer& l, const Node& node) {
  RecurrentLayer(l, node, Cell::rnn).lower();
}

}  // namespace npu::onnx_runtime
