#include "fusion.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <optional>

#include "determinant_rewrite.hpp"
#include "einsum_rewrite.hpp"
#include "normalization.hpp"
#include "npu/isa.hpp"
#include "selection_rewrite.hpp"
#include "spectral_rewrite.hpp"
#include "window_lift.hpp"

namespace npu::onnx_runtime {
namespace {

// The node that reads `value` if it is the value's only reader and the value
// is not a graph output.
std::optional<std::size_t> sole_consumer(const Graph& graph, const std::string& value) {
  if (graph.is_output(value) || graph.use_count(value) != 1) {
    return std::nullopt;
  }
  return graph.consumers(value).front();
}

bool has_input(const Node& node, std::size_t index) {
  return node.inputs.size() > index && !node.inputs[index].empty();
}

// The producer's output takes the consumer's output name, so graph outputs
// and later readers need no rewiring; the consumer is dropped.
void absorb(Graph& graph, std::size_t producer, std::size_t consumer) {
  const std::string out = graph.nodes[consumer].outputs.at(0);
  graph.nodes[producer].outputs[0] = out;
  graph.nodes.erase(graph.nodes.begin() + static_cast<std::ptrdiff_t>(consumer));
}

bool is_convolution(const Node& node) {
  return node.op == "Conv" || node.op == "ConvTranspose";
}

bool is_weighted(const Node& node, const Graph& graph) {
  return (is_convolution(node) || node.op == "MatMul") && node.inputs.size() >= 2 &&
         graph.is_constant(node.inputs[1]) && graph.constants.at(node.inputs[1]).is_float();
}

// Output channels of a Conv (K of K x C/g x R x S), ConvTranspose (g times
// the K/g of C x K/g x R x S), MatMul (N) or Gemm (N of B's K x N, or of
// N x K with transB).
std::int64_t output_channels(const Node& node, const Graph& graph) {
  const Shape& w = graph.constants.at(node.inputs[1]).shape;
  if (node.op == "ConvTranspose") {
    return w.at(1) * node.get_int("group", 1);
  }
  if (node.op == "Gemm") {
    return node.get_int("transB", 0) != 0 ? w.at(0) : w.at(1);
  }
  return node.op == "Conv" ? w.at(0) : w.back();
}

// The output channel weight element `index` contributes to.
std::int64_t output_channel_of_weight(const Node& node, const Shape& w, std::int64_t index,
                                      std::int64_t channels) {
  const std::int64_t per_slice = element_count(w) / w.at(0);  // elements per w[i]
  if (node.op != "ConvTranspose") {
    return index / per_slice;  // Conv: K x C/g x R x S
  }
  // ConvTranspose: C x K/g x R x S; input channel c is in group c / (C/g).
  const std::int64_t groups = node.get_int("group", 1);
  const std::int64_t c = index / per_slice;
  const std::int64_t k_in_group = index % per_slice / (per_slice / w.at(1));
  return c / (w.at(0) / groups) * (channels / groups) + k_in_group;
}

// Whether `c` holds one value per output channel of `node`'s output, laid
// out as ONNX broadcasting would apply it (K,1,1 for NCHW; N for MatMul).
bool is_channel_vector(const Constant& c, const Node& node, const Graph& graph) {
  const std::int64_t channels = output_channels(node, graph);
  if (!c.is_float() || c.size() != channels) {
    return false;
  }
  const Shape& out = graph.shape(node.outputs[0]);
  if (c.shape.size() > out.size()) {
    return false;
  }
  // Align to the output's trailing dimensions; the channel axis is 1 for
  // Conv and the last for MatMul; every other axis must be 1.
  const std::size_t offset = out.size() - c.shape.size();
  const std::size_t channel_axis = is_convolution(node) ? 1 : out.size() - 1;
  for (std::size_t d = 0; d < c.shape.size(); ++d) {
    const std::size_t axis = d + offset;
    if (c.shape[d] != (axis == channel_axis ? channels : 1)) {
      return false;
    }
  }
  return channels == 1 || offset <= channel_axis;
}

// The node that computes `value`, if any.
std::optional<std::size_t> producer(const Graph& graph, const std::string& value) {
  for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
    if (std::ranges::find(graph.nodes[i].outputs, value) != graph.nodes[i].outputs.end()) {
      return i;
    }
  }
  return std::nullopt;
}

// The axes a Reduce* node names: its `axes` attribute (before opset 18;
// ReduceSum before 13) or its constant `axes` input (from then on, as
// newer exporters write it); none if that input is computed at run time.
std::optional<std::vector<std::int64_t>> named_reduce_axes(const Graph& graph, const Node& node) {
  if (!has_input(node, 1)) {
    return node.get_ints("axes", {});
  }
  if (!graph.is_constant(node.inputs[1])) {
    return std::nullopt;
  }
  return graph.constants.at(node.inputs[1]).integers();
}

// A ReduceMean over exactly the last axis of its input, keeping it.
bool is_mean_of_last_axis(const Graph& graph, const Node& node) {
  if (node.op != "ReduceMean" || node.get_int("keepdims", 1) != 1) {
    return false;
  }
  const auto axes = named_reduce_axes(graph, node);
  const auto rank = static_cast<std::int64_t>(graph.shape(node.inputs[0]).size());
  return axes && axes->size() == 1 && ((*axes)[0] == -1 || (*axes)[0] == rank - 1);
}

std::optional<float> scalar_constant(const Graph& graph, const std::string& value) {
  if (!graph.is_constant(value) || graph.constants.at(value).size() != 1) {
    return std::nullopt;
  }
  return static_cast<float>(graph.constants.at(value).value(0));
}

// The other operand of a binary node, given one.
const std::string& other_input(const Node& node, const std::string& one) {
  return node.inputs.at(0) == one ? node.inputs.at(1) : node.inputs.at(0);
}

// The bounds of a Clip (attributes before opset 11, inputs from 11 on; the
// float range where one is absent); none if a bound is not a constant.
std::optional<std::pair<float, float>> clip_bounds(const Graph& graph, const Node& clip) {
  float low = clip.get_float("min", std::numeric_limits<float>::lowest());
  float high = clip.get_float("max", std::numeric_limits<float>::max());
  for (const std::size_t index : {1U, 2U}) {
    if (!has_input(clip, index)) {
      continue;
    }
    const auto value = scalar_constant(graph, clip.inputs[index]);
    if (!value) {
      return std::nullopt;
    }
    (index == 1 ? low : high) = *value;
  }
  return std::pair{low, high};
}

// The node that reads `value` as its only reader, if it is an `op`.
std::optional<std::size_t> sole_consumer_of_op(const Graph& graph, const std::string& value,
                                               const std::string& op) {
  const auto next = sole_consumer(graph, value);
  if (!next || graph.nodes[*next].op != op) {
    return std::nullopt;
  }
  return next;
}

// Replaces the nodes `chain` with `fused`, placed where the last of them
// was (where all its inputs are computed); returns how many nodes went.
std::size_t replace_chain(Graph& graph, std::vector<std::size_t> chain, Node fused) {
  const std::size_t last = *std::ranges::max_element(chain);
  graph.nodes[last] = std::move(fused);
  std::ranges::sort(chain, std::greater<>());
  std::size_t removed = 0;
  for (const std::size_t index : chain) {
    if (index != last) {
      graph.nodes.erase(graph.nodes.begin() + static_cast<std::ptrdiff_t>(index));
      ++removed;
    }
  }
  return removed;
}

// A chain of element-wise nodes of one input that becomes one node.
struct FusedChain {
  std::string x;
  std::vector<std::size_t> nodes;
  std::map<std::string, AttributeValue> attributes;
};

// Replaces every chain `match` finds (given a node index) with one node of
// `op`, named and placed as the chain's last node (which reads all the
// others); returns how many nodes went.
template <typename Match>
std::size_t fuse_chains(Graph& graph, const std::string& op, Match match) {
  std::size_t removed = 0;
  for (std::size_t i = 0; i < graph.nodes.size();) {
    const std::optional<FusedChain> chain = match(graph, i);
    if (!chain) {
      ++i;
      continue;
    }
    const Node& last = graph.nodes[*std::ranges::max_element(chain->nodes)];
    Node fused{.op = op,
               .name = last.name,
               .inputs = {chain->x},
               .outputs = {last.outputs.at(0)},
               .attributes = chain->attributes};
    removed += replace_chain(graph, chain->nodes, std::move(fused));
    i = 0;  // indices moved; the scan restarts
  }
  return removed;
}

// x * Clip(x + a, 0, b) / b (or * 1/b), from its Add: the chain's nodes
// and HardSwish's alpha and beta (1/b, a/b).
std::optional<FusedChain> match_hard_swish(const Graph& graph, std::size_t add_index) {
  const Node& add = graph.nodes[add_index];
  if (add.op != "Add" || add.inputs.size() != 2) {
    return std::nullopt;
  }
  for (std::size_t side = 0; side < 2; ++side) {
    const std::string& x = add.inputs[side];
    const auto offset = scalar_constant(graph, add.inputs[1 - side]);
    if (!offset || graph.is_constant(x) || graph.shape(add.outputs[0]) != graph.shape(x)) {
      continue;
    }
    const auto clip = sole_consumer_of_op(graph, add.outputs[0], "Clip");
    if (!clip) {
      continue;
    }
    const auto bounds = clip_bounds(graph, graph.nodes[*clip]);
    const auto mul = sole_consumer_of_op(graph, graph.nodes[*clip].outputs[0], "Mul");
    if (!bounds || bounds->first != 0.0F || !(bounds->second > 0.0F) || !mul ||
        other_input(graph.nodes[*mul], graph.nodes[*clip].outputs[0]) != x) {
      continue;
    }
    const float top = bounds->second;
    const std::string& product = graph.nodes[*mul].outputs[0];
    for (const char* op : {"Div", "Mul"}) {
      const auto scale = sole_consumer_of_op(graph, product, op);
      if (!scale || graph.nodes[*scale].inputs.size() != 2 ||
          (std::string(op) == "Div" && graph.nodes[*scale].inputs[0] != product)) {
        continue;
      }
      const auto by = scalar_constant(graph, other_input(graph.nodes[*scale], product));
      const bool normalizes =
          by && (std::string(op) == "Div" ? *by == top : std::abs(*by * top - 1.0F) <= 1e-6F);
      if (normalizes) {
        return FusedChain{
            x, {add_index, *clip, *mul, *scale}, {{"alpha", 1.0F / top}, {"beta", *offset / top}}};
      }
    }
  }
  return std::nullopt;
}

// GELU as exporters spell it out (PyTorch's erf form), from its Erf:
//   Erf(x / sqrt(2)) (or x * 1/sqrt(2)) + 1, times x and 0.5 in any order:
//   (x * e) * 0.5, (0.5 * x) * e, x * (e * 0.5). Every intermediate has no
//   other reader.
bool near(std::optional<float> value, double want) {
  return value && std::abs(*value - want) <= 1e-5 * want;
}
std::optional<FusedChain> match_gelu(const Graph& graph, std::size_t erf_index) {
  const Node& erf = graph.nodes[erf_index];
  if (erf.op != "Erf" || erf.inputs.size() != 1) {
    return std::nullopt;
  }
  const auto scaled = producer(graph, erf.inputs[0]);
  if (!scaled || sole_consumer(graph, erf.inputs[0]) != erf_index ||
      graph.nodes[*scaled].inputs.size() != 2) {
    return std::nullopt;
  }
  const Node& scale = graph.nodes[*scaled];
  std::string x;
  if (scale.op == "Div" && near(scalar_constant(graph, scale.inputs[1]), std::sqrt(2.0))) {
    x = scale.inputs[0];
  } else if (scale.op == "Mul") {
    for (std::size_t side = 0; side < 2; ++side) {
      if (near(scalar_constant(graph, scale.inputs[1 - side]), std::sqrt(0.5))) {
        x = scale.inputs[side];
      }
    }
  }
  if (x.empty() || graph.is_constant(x) || graph.shape(x) != graph.shape(erf.outputs[0])) {
    return std::nullopt;
  }
  const auto add = sole_consumer_of_op(graph, erf.outputs[0], "Add");
  if (!add || graph.nodes[*add].inputs.size() != 2 ||
      scalar_constant(graph, other_input(graph.nodes[*add], erf.outputs[0])) != 1.0F) {
    return std::nullopt;
  }
  const std::string& e = graph.nodes[*add].outputs[0];
  const auto first = sole_consumer_of_op(graph, e, "Mul");
  if (!first || graph.nodes[*first].inputs.size() != 2) {
    return std::nullopt;
  }
  const std::string& with = other_input(graph.nodes[*first], e);
  std::vector<std::size_t> nodes{*scaled, erf_index, *add, *first};
  const auto half_of = [&](const std::string& value) {
    // `value` * 0.5 as the Mul that reads it alone, if it is that.
    const auto mul = sole_consumer_of_op(graph, value, "Mul");
    return mul && graph.nodes[*mul].inputs.size() == 2 &&
                   scalar_constant(graph, other_input(graph.nodes[*mul], value)) == 0.5F
               ? mul
               : std::nullopt;
  };
  if (with == x || scalar_constant(graph, with) == 0.5F) {
    // (x * e) * 0.5 or (e * 0.5) * x: the second Mul takes what is left.
    const std::string& product = graph.nodes[*first].outputs[0];
    const auto second = with == x ? half_of(product) : sole_consumer_of_op(graph, product, "Mul");
    if (!second || (with != x && (graph.nodes[*second].inputs.size() != 2 ||
                                  other_input(graph.nodes[*second], product) != x))) {
      return std::nullopt;
    }
    nodes.push_back(*second);
    return FusedChain{x, nodes, {}};
  }
  // (0.5 * x) * e.
  const auto half = producer(graph, with);
  if (!half || sole_consumer(graph, with) != *first || graph.nodes[*half].op != "Mul" ||
      graph.nodes[*half].inputs.size() != 2 ||
      std::ranges::find(graph.nodes[*half].inputs, x) == graph.nodes[*half].inputs.end() ||
      scalar_constant(graph, other_input(graph.nodes[*half], x)) != 0.5F) {
    return std::nullopt;
  }
  nodes.push_back(*half);
  return FusedChain{x, nodes, {}};
}

}  // namespace

std::size_t fuse_hard_swish(Graph& graph) {
  return fuse_chains(graph, "HardSwish", match_hard_swish);
}

std::size_t fuse_gelu(Graph& graph) {
  return fuse_chains(graph, "Gelu", match_gelu);
}

std::size_t fuse_silu(Graph& graph) {
  std::size_t removed = 0;
  for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
    const Node& mul = graph.nodes[i];
    if (mul.op != "Mul" || mul.inputs.size() != 2) {
      continue;
    }
    for (std::size_t side = 0; side < 2; ++side) {
      const std::string& gate = mul.inputs[side];
      const std::string& x = mul.inputs[1 - side];
      const auto sigmoid = producer(graph, gate);
      if (!sigmoid || graph.nodes[*sigmoid].op != "Sigmoid" || sole_consumer(graph, gate) != i) {
        continue;
      }
      std::vector<std::size_t> chain{*sigmoid};
      const std::string& sigmoid_input = graph.nodes[*sigmoid].inputs.at(0);
      if (sigmoid_input != x) {
        // x * 1 feeding the Sigmoid, read by nothing else.
        const auto one = producer(graph, sigmoid_input);
        if (!one || graph.nodes[*one].op != "Mul" ||
            sole_consumer(graph, sigmoid_input) != *sigmoid) {
          continue;
        }
        const Node& scale = graph.nodes[*one];
        if (other_input(scale, x) == x || scalar_constant(graph, other_input(scale, x)) != 1.0F ||
            (scale.inputs[0] != x && scale.inputs[1] != x)) {
          continue;
        }
        chain.push_back(*one);
      }
      const std::string out = mul.outputs.at(0);
      graph.nodes[i] =
          Node{.op = "Silu", .name = mul.name, .inputs = {x}, .outputs = {out}, .attributes = {}};
      std::ranges::sort(chain, std::greater<>());
      for (const std::size_t index : chain) {
        graph.nodes.erase(graph.nodes.begin() + static_cast<std::ptrdiff_t>(index));
        ++removed;
      }
      i -= chain.size();
      break;
    }
  }
  return removed;
}

std::size_t fuse_layer_norm(Graph& graph) {
  std::size_t removed = 0;
  for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
    if (graph.nodes[i].op != "Sqrt") {
      continue;
    }
    // Walk up from the Sqrt: Add(eps) <- ReduceMean <- Pow(2) <- Sub(x, mean) <- ReduceMean(x).
    const auto add_eps = producer(graph, graph.nodes[i].inputs.at(0));
    if (!add_eps || graph.nodes[*add_eps].op != "Add") {
      continue;
    }
    const Node& add = graph.nodes[*add_eps];
    const auto var = producer(graph, add.inputs.at(0));
    const auto eps = scalar_constant(graph, add.inputs.at(1));
    if (!var || !eps || !is_mean_of_last_axis(graph, graph.nodes[*var])) {
      continue;
    }
    const auto pow = producer(graph, graph.nodes[*var].inputs[0]);
    if (!pow || graph.nodes[*pow].op != "Pow" ||
        scalar_constant(graph, graph.nodes[*pow].inputs.at(1)) != 2.0F) {
      continue;
    }
    const std::string& centered = graph.nodes[*pow].inputs[0];
    const auto sub = producer(graph, centered);
    if (!sub || graph.nodes[*sub].op != "Sub") {
      continue;
    }
    const std::string& x = graph.nodes[*sub].inputs.at(0);
    const auto mean = producer(graph, graph.nodes[*sub].inputs.at(1));
    if (!mean || !is_mean_of_last_axis(graph, graph.nodes[*mean]) ||
        graph.nodes[*mean].inputs[0] != x) {
      continue;
    }
    // d feeds the Pow and the Div; everything else has one reader.
    const auto div = sole_consumer(graph, graph.nodes[i].outputs[0]);
    if (!div || graph.nodes[*div].op != "Div" || graph.nodes[*div].inputs.at(0) != centered ||
        graph.use_count(centered) != 2 || !sole_consumer(graph, graph.nodes[*mean].outputs[0]) ||
        !sole_consumer(graph, graph.nodes[*pow].outputs[0]) ||
        !sole_consumer(graph, graph.nodes[*var].outputs[0]) ||
        !sole_consumer(graph, add.outputs[0])) {
      continue;
    }
    const std::int64_t channels = graph.shape(x).back();
    std::vector<std::size_t> chain{*mean, *sub, *pow, *var, *add_eps, i, *div};
    std::string out = graph.nodes[*div].outputs[0];
    std::vector<float> gamma(static_cast<std::size_t>(channels), 1.0F);
    std::vector<float> beta(static_cast<std::size_t>(channels), 0.0F);
    auto per_channel = [&](const std::string& value) -> const Constant* {
      if (!graph.is_constant(value)) {
        return nullptr;
      }
      const Constant& c = graph.constants.at(value);
      return c.is_float() && c.size() == channels && c.shape.back() == channels ? &c : nullptr;
    };
    if (const auto mul = sole_consumer(graph, out); mul && graph.nodes[*mul].op == "Mul") {
      if (const Constant* g = per_channel(other_input(graph.nodes[*mul], out))) {
        gamma = g->floats;
        chain.push_back(*mul);
        out = graph.nodes[*mul].outputs[0];
      }
    }
    if (const auto plus = sole_consumer(graph, out); plus && graph.nodes[*plus].op == "Add") {
      if (const Constant* b = per_channel(other_input(graph.nodes[*plus], out))) {
        beta = b->floats;
        chain.push_back(*plus);
        out = graph.nodes[*plus].outputs[0];
      }
    }
    const std::string gamma_name = fresh_name(graph, out + ".gamma");
    graph.constants[gamma_name] = Constant::of_floats({channels}, std::move(gamma));
    graph.values[gamma_name] = {ElementType::float32, Shape{channels}};
    const std::string beta_name = fresh_name(graph, out + ".beta");
    graph.constants[beta_name] = Constant::of_floats({channels}, std::move(beta));
    graph.values[beta_name] = {ElementType::float32, Shape{channels}};
    Node norm{.op = "LayerNormalization",
              .name = graph.nodes[i].name,
              .inputs = {x, gamma_name, beta_name},
              .outputs = {out},
              .attributes = {{"axis", std::int64_t{-1}}, {"epsilon", *eps}}};
    // The fused node takes the place of the last node of the chain, where
    // all its inputs are computed; the rest are dropped.
    const std::size_t last = *std::ranges::max_element(chain);
    graph.nodes[last] = std::move(norm);
    std::ranges::sort(chain, std::greater<>());
    for (const std::size_t index : chain) {
      if (index != last) {
        graph.nodes.erase(graph.nodes.begin() + static_cast<std::ptrdiff_t>(index));
        ++removed;
      }
    }
    i = 0;  // indices moved; the scan restarts (each pass removes a Sqrt)
  }
  return removed;
}

namespace {

// A BatchNormalization of inference (training_mode 0, the default) with
// constant parameters: a per-channel scale and shift. training_mode 1
// normalizes by the batch's own statistics instead.
bool is_inference_batch_norm(const Node& bn, const Graph& graph) {
  return bn.op == "BatchNormalization" && bn.inputs.size() >= 5 && bn.outputs.size() == 1 &&
         bn.get_int("training_mode", 0) == 0 &&
         std::all_of(bn.inputs.begin() + 1, bn.inputs.begin() + 5,
                     [&](const std::string& v) { return graph.is_constant(v); });
}

}  // namespace

std::size_t fold_batch_norm(Graph& graph) {
  std::size_t removed = 0;
  for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
    Node& conv = graph.nodes[i];
    if (!is_convolution(conv) || !is_weighted(conv, graph) || conv.has("activation")) {
      continue;
    }
    const auto next = sole_consumer(graph, conv.outputs[0]);
    if (!next || graph.nodes[*next].op != "BatchNormalization") {
      continue;
    }
    const Node& bn = graph.nodes[*next];
    if (!is_inference_batch_norm(bn, graph) || bn.inputs[0] != conv.outputs[0]) {
      continue;
    }
    const Constant& gamma = graph.constants.at(bn.inputs[1]);
    const Constant& beta = graph.constants.at(bn.inputs[2]);
    const Constant& mean = graph.constants.at(bn.inputs[3]);
    const Constant& var = graph.constants.at(bn.inputs[4]);
    const Constant& weight = graph.constants.at(conv.inputs[1]);
    const std::int64_t channels = output_channels(conv, graph);
    if (gamma.size() != channels || beta.size() != channels || mean.size() != channels ||
        var.size() != channels) {
      continue;
    }
    const double epsilon = bn.get_float("epsilon", 1e-5F);
    std::vector<double> scale(static_cast<std::size_t>(channels));
    std::vector<float> b(static_cast<std::size_t>(channels), 0.0F);
    if (has_input(conv, 2)) {
      b = graph.constants.at(conv.inputs[2]).floats;
    }
    for (std::int64_t k = 0; k < channels; ++k) {
      scale[static_cast<std::size_t>(k)] = gamma.value(k) / std::sqrt(var.value(k) + epsilon);
      auto& bias = b[static_cast<std::size_t>(k)];
      bias = static_cast<float>((bias - mean.value(k)) * scale[static_cast<std::size_t>(k)] +
                                beta.value(k));
    }
    std::vector<float> w = weight.floats;
    for (std::int64_t e = 0; e < weight.size(); ++e) {
      const std::int64_t k = output_channel_of_weight(conv, weight.shape, e, channels);
      auto& v = w[static_cast<std::size_t>(e)];
      v = static_cast<float>(v * scale[static_cast<std::size_t>(k)]);
    }
    // New constants: the originals may be shared with other nodes.
    const std::string w_name = fresh_name(graph, conv.inputs[1] + ".bn_folded");
    const std::string b_name = fresh_name(graph, conv.outputs[0] + ".bn_bias");
    graph.constants[w_name] = Constant::of_floats(weight.shape, std::move(w));
    graph.constants[b_name] = Constant::of_floats({channels}, std::move(b));
    graph.values[w_name] = {ElementType::float32, weight.shape};
    graph.values[b_name] = {ElementType::float32, Shape{channels}};
    conv.inputs.resize(3);
    conv.inputs[1] = w_name;
    conv.inputs[2] = b_name;
    absorb(graph, i, *next);
    ++removed;
  }
  return removed;
}

std::size_t lower_batch_norm(Graph& graph) {
  std::size_t rewritten = 0;
  for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
    Node& bn = graph.nodes[i];
    if (!is_inference_batch_norm(bn, graph)) {
      continue;
    }
    const Shape& shape = graph.shape(bn.inputs[0]);
    const std::int64_t channels = shape.size() >= 2 ? shape[1] : 0;
    const Constant& gamma = graph.constants.at(bn.inputs[1]);
    const Constant& beta = graph.constants.at(bn.inputs[2]);
    const Constant& mean = graph.constants.at(bn.inputs[3]);
    const Constant& var = graph.constants.at(bn.inputs[4]);
    if (channels == 0 || gamma.size() != channels || beta.size() != channels ||
        mean.size() != channels || var.size() != channels) {
      continue;
    }
    // y = x * scale + shift per channel.
    const double epsilon = bn.get_float("epsilon", 1e-5F);
    std::vector<float> scale, shift;
    for (std::int64_t k = 0; k < channels; ++k) {
      const double s = gamma.value(k) / std::sqrt(var.value(k) + epsilon);
      scale.push_back(static_cast<float>(s));
      shift.push_back(static_cast<float>(beta.value(k) - mean.value(k) * s));
    }
    const std::string out = bn.outputs[0];
    const std::string x = bn.inputs[0];
    auto add_constant = [&](const std::string& base, Shape dims, std::vector<float> values) {
      const std::string name = fresh_name(graph, base);
      graph.values[name] = {ElementType::float32, dims};
      graph.constants[name] = Constant::of_floats(std::move(dims), std::move(values));
      return name;
    };
    const std::string s_name = add_constant(out + ".bn_scale", {channels, 1, 1, 1}, scale);
    const std::string b_name = add_constant(out + ".bn_shift", {channels}, shift);
    if (shape.size() == 4) {
      // A depthwise 1x1 convolution: one CONV2D, which takes a following
      // activation too.
      Node conv;
      conv.op = "Conv";
      conv.name = bn.name;
      conv.inputs = {x, s_name, b_name};
      conv.outputs = {out};
      conv.attributes["group"] = channels;
      conv.attributes["kernel_shape"] = std::vector<std::int64_t>{1, 1};
      graph.nodes[i] = std::move(conv);
    } else {
      // [N, C], [N, C, L] or [N, C, D, H, W]: a multiplication and an
      // addition, the constants shaped to broadcast along C.
      Shape per_channel(std::max<std::size_t>(shape.size(), 2) - 1, 1);
      per_channel[0] = channels;
      graph.constants[s_name].shape = per_channel;
      graph.values[s_name].shape = per_channel;
      graph.constants[b_name].shape = per_channel;
      graph.values[b_name].shape = per_channel;
      const std::string scaled = fresh_name(graph, out + ".bn_scaled");
      graph.values[scaled] = {ElementType::float32, shape};
      Node mul;
      mul.op = "Mul";
      mul.name = bn.name;
      mul.inputs = {x, s_name};
      mul.outputs = {scaled};
      Node add;
      add.op = "Add";
      add.name = bn.name;
      add.inputs = {scaled, b_name};
      add.outputs = {out};
      graph.nodes[i] = std::move(mul);
      graph.nodes.insert(graph.nodes.begin() + static_cast<std::ptrdiff_t>(i) + 1, std::move(add));
    }
    ++rewritten;
  }
  return rewritten;
}

std::size_t fuse_bias(Graph& graph) {
  std::size_t removed = 0;
  for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
    Node& node = graph.nodes[i];
    if (!is_weighted(node, graph) || node.has("activation")) {
      continue;
    }
    if (node.op == "MatMul" && graph.constants.at(node.inputs[1]).shape.size() != 2) {
      continue;
    }
    const auto next = sole_consumer(graph, node.outputs[0]);
    if (!next || graph.nodes[*next].op != "Add") {
      continue;
    }
    const Node& add = graph.nodes[*next];
    const std::string& other =
        add.inputs.at(0) == node.outputs[0] ? add.inputs.at(1) : add.inputs.at(0);
    if (!graph.is_constant(other) || !is_channel_vector(graph.constants.at(other), node, graph) ||
        graph.shape(add.outputs[0]) != graph.shape(node.outputs[0])) {
      continue;
    }
    const Constant& addend = graph.constants.at(other);
    std::vector<float> bias = addend.floats;
    if (has_input(node, 2)) {
      const Constant& old = graph.constants.at(node.inputs[2]);
      for (std::size_t k = 0; k < bias.size(); ++k) {
        bias[k] += old.floats.at(k);
      }
    }
    const std::string name = fresh_name(graph, node.outputs[0] + ".bias");
    const auto channels = static_cast<std::int64_t>(bias.size());
    graph.constants[name] = Constant::of_floats({channels}, std::move(bias));
    graph.values[name] = {ElementType::float32, Shape{channels}};
    node.inputs.resize(3);
    node.inputs[2] = name;
    absorb(graph, i, *next);
    ++removed;
  }
  return removed;
}

namespace {

// The slope of v1.5's HARDSIGMOID and HARDSWISH as ONNX stores it: PyTorch
// writes 0.16666667f, the float nearest 1/6.
constexpr float kSixth = 1.0F / 6;

// The v1.5 fused activation (hw-spec 7.4.5) `act` is, if any: HardSwish and
// HardSigmoid with alpha 1/6 and beta 0.5 exactly as the model stores them
// (ONNX HardSigmoid's default alpha 0.2 is another function, which
// fold_hard_sigmoid_affine() moves into the product before it), Clip(0, 6).
std::optional<std::string> hard_activation(const Graph& graph, const Node& act) {
  if (act.op == "HardSwish" || act.op == "HardSigmoid") {
    const float default_alpha = act.op == "HardSwish" ? kSixth : 0.2F;
    if (act.get_float("alpha", default_alpha) == kSixth && act.get_float("beta", 0.5F) == 0.5F) {
      return act.op;
    }
    return std::nullopt;
  }
  if (act.op == "Clip") {
    const auto bounds = clip_bounds(graph, act);
    if (bounds && bounds->first == 0.0F && bounds->second == 6.0F) {
      return "Relu6";
    }
  }
  return std::nullopt;
}

}  // namespace

Node standalone_activation(const std::string& activation, std::string name, std::string input,
                           std::string output) {
  Node node{activation, std::move(name), {std::move(input)}, {std::move(output)}, {}};
  if (activation == "HardSigmoid") {
    node.attributes["alpha"] = kSixth;
    node.attributes["beta"] = 0.5F;
  } else if (activation == "Relu6") {
    node.op = "Clip";
    node.attributes["min"] = 0.0F;
    node.attributes["max"] = 6.0F;
  }
  return node;
}

namespace {

// A product whose output fold_hard_sigmoid_affine() may rescale: a Conv,
// ConvTranspose, MatMul or Gemm with constant float weights (2-D for
// MatMul and Gemm, as the bias their lowerings add needs), a bias that is
// absent or a constant float of one value per output channel (what the
// lowerings take), no fused activation.
bool takes_folded_affine(const Graph& graph, const Node& node) {
  const bool product = is_convolution(node) || node.op == "MatMul" || node.op == "Gemm";
  if (!product || node.has("activation") || node.outputs.size() != 1 || !has_input(node, 1) ||
      !graph.is_constant(node.inputs[1]) || !graph.constants.at(node.inputs[1]).is_float()) {
    return false;
  }
  const std::size_t rank = graph.constants.at(node.inputs[1]).shape.size();
  if (is_convolution(node) ? rank < 3 : rank != 2) {
    return false;
  }
  if (!has_input(node, 2)) {
    return true;
  }
  if (!graph.is_constant(node.inputs[2])) {
    return false;
  }
  const Constant& bias = graph.constants.at(node.inputs[2]);
  const std::int64_t channels = output_channels(node, graph);
  return bias.is_float() && bias.size() == channels && !bias.shape.empty() &&
         bias.shape.back() == channels;
}

// scale * v + shift for every v, in double, rounded once; none if a result
// is not a finite float.
std::optional<std::vector<float>> affine(const std::vector<float>& values, double scale,
                                         double shift) {
  std::vector<float> result;
  result.reserve(values.size());
  for (const float v : values) {
    const auto r = static_cast<float>(scale * v + shift);
    if (!std::isfinite(r)) {
      return std::nullopt;
    }
    result.push_back(r);
  }
  return result;
}

}  // namespace

std::size_t fold_hard_sigmoid_affine(Graph& graph, std::uint32_t hw_version) {
  if (hw_version < isa::kIsaVersion1_5) {
    return 0;
  }
  std::size_t folded = 0;
  for (Node& node : graph.nodes) {
    if (!takes_folded_affine(graph, node)) {
      continue;
    }
    const auto next = sole_consumer_of_op(graph, node.outputs[0], "HardSigmoid");
    if (!next || hard_activation(graph, graph.nodes[*next])) {
      continue;  // not a HardSigmoid, or already v1.5's
    }
    Node& act = graph.nodes[*next];
    const double alpha = act.get_float("alpha", 0.2F);
    const double beta = act.get_float("beta", 0.5F);
    if (!std::isfinite(alpha) || !std::isfinite(beta)) {
      continue;
    }
    // z = 6*alpha*x + 6*(beta - 1/2); Gemm's C counts beta_Gemm times.
    const double scale = 6 * alpha;
    const std::int64_t channels = output_channels(node, graph);
    std::vector<float> bias(static_cast<std::size_t>(channels), 0.0F);
    if (has_input(node, 2)) {
      const double c_scale = node.op == "Gemm" ? node.get_float("beta", 1.0F) : 1.0;
      const Constant& old = graph.constants.at(node.inputs[2]);
      for (std::int64_t k = 0; k < channels; ++k) {
        bias[static_cast<std::size_t>(k)] = static_cast<float>(c_scale * old.value(k));
      }
    }
    const Constant& weight = graph.constants.at(node.inputs[1]);
    auto w = affine(weight.floats, scale, 0.0);
    auto b = affine(bias, scale, 6 * (beta - 0.5));
    if (!w || !b) {
      continue;
    }
    // New constants: the originals may be read by other nodes.
    const std::string w_name = fresh_name(graph, node.inputs[1] + ".hardsigmoid_folded");
    const std::string b_name = fresh_name(graph, node.outputs[0] + ".hardsigmoid_bias");
    graph.values[w_name] = {ElementType::float32, weight.shape};
    graph.constants[w_name] = Constant::of_floats(weight.shape, std::move(*w));
    graph.values[b_name] = {ElementType::float32, Shape{channels}};
    graph.constants[b_name] = Constant::of_floats({channels}, std::move(*b));
    node.inputs.resize(3);
    node.inputs[1] = w_name;
    node.inputs[2] = b_name;
    if (node.op == "Gemm") {
      node.attributes["beta"] = 1.0F;
    }
    act.attributes["alpha"] = kSixth;
    act.attributes["beta"] = 0.5F;
    ++folded;
  }
  return folded;
}

std::size_t fuse_activation(Graph& graph, std::uint32_t hw_version) {
  std::size_t removed = 0;
  for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
    Node& node = graph.nodes[i];
    if ((!is_convolution(node) && node.op != "MatMul" && node.op != "Gemm") ||
        node.has("activation")) {
      continue;
    }
    const auto next = sole_consumer(graph, node.outputs[0]);
    if (!next) {
      continue;
    }
    const Node& act = graph.nodes[*next];
    std::string activation = act.op;
    const auto hard =
        hw_version >= isa::kIsaVersion1_5 ? hard_activation(graph, act) : std::nullopt;
    if (hard) {
      activation = *hard;
    } else if (act.op == "Clip") {
      // Clip(min 0) with no upper bound is ReLU.
      const auto bounds = clip_bounds(graph, act);
      if (!bounds || bounds->first != 0.0F || bounds->second != std::numeric_limits<float>::max()) {
        continue;
      }
      activation = "Relu";
    } else if (activation != "Relu" && activation != "Sigmoid" && activation != "Tanh" &&
               activation != "Silu" && activation != "Gelu") {
      continue;
    }
    if (activation == "Gelu" && act.get_string("approximate", "none") != "none") {
      continue;
    }
    node.attributes["activation"] = activation;
    absorb(graph, i, *next);
    ++removed;
  }
  return removed;
}

namespace {

// x * Tanh(Softplus(x)), from its Mul, with the Tanh and Softplus read only
// by the chain.
std::optional<FusedChain> match_mish(const Graph& graph, std::size_t mul_index) {
  const Node& mul = graph.nodes[mul_index];
  if (mul.op != "Mul" || mul.inputs.size() != 2) {
    return std::nullopt;
  }
  for (std::size_t side = 0; side < 2; ++side) {
    const std::string& gate = mul.inputs[side];
    const std::string& x = mul.inputs[1 - side];
    const auto tanh = producer(graph, gate);
    if (!tanh || graph.nodes[*tanh].op != "Tanh" || sole_consumer(graph, gate) != mul_index) {
      continue;
    }
    const std::string& tanh_input = graph.nodes[*tanh].inputs.at(0);
    const auto softplus = producer(graph, tanh_input);
    if (softplus && graph.nodes[*softplus].op == "Softplus" &&
        graph.nodes[*softplus].inputs.at(0) == x && sole_consumer(graph, tanh_input) == *tanh) {
      return FusedChain{x, {*softplus, *tanh, mul_index}, {}};
    }
  }
  return std::nullopt;
}

}  // namespace

std::size_t fuse_mish(Graph& graph) {
  return fuse_chains(graph, "Mish", match_mish);
}

std::size_t run_fusion_passes(Graph& graph, std::bitset<64> device_ops, std::uint32_t hw_version) {
  rewrite_einsum(graph);  // first: their MatMuls take a bias as any other's
  rewrite_spectral(graph);
  rewrite_selections(graph);
  rewrite_determinants(graph);
  std::size_t removed = fuse_bias(graph);
  removed += fold_batch_norm(graph);
  removed += fuse_bias(graph);
  lower_group_norm(graph);  // its affine is a BatchNormalization for the next pass
  lower_batch_norm(graph);
  removed += fuse_silu(graph);
  removed += fuse_gelu(graph);
  removed += fuse_mish(graph);
  if (device_ops.test(static_cast<std::size_t>(isa::Opcode::activation_param))) {
    removed += fuse_hard_swish(graph);
  }
  fold_hard_sigmoid_affine(graph, hw_version);
  removed += fuse_activation(graph, hw_version);
  removed += fuse_layer_norm(graph);
  // Last: the passes above fold BatchNormalization, bias and activation
  // into a 1-D convolution as into a 2-D one.
  lift_1d_windows(graph);
  return removed;
}

}  // namespace npu::onnx_runtime
