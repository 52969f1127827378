// Graph rewrites that make one device instruction do the work of several
// ONNX nodes (docs/onnx-runtime.md, "Passes"). Each returns how many nodes
// it removed.
//
// Fused nodes keep their ONNX op type and carry what was merged into them:
// a bias as input 2 (Conv, ConvTranspose, and MatMul, whose ONNX form has
// none) and the
// attribute "activation" ("Relu", "Sigmoid", "Tanh", "Silu", "Gelu", and on
// an ISA v1.5 device "HardSwish", "HardSigmoid", "Relu6").
#pragma once

#include <bitset>
#include <cstddef>
#include <cstdint>
#include <string>

#include "graph.hpp"
#include "npu/isa.hpp"

namespace npu::onnx_runtime {

// BatchNormalization after a Conv or ConvTranspose (its only reader, all
// parameters constant): folded into the convolution's weights and bias.
std::size_t fold_batch_norm(Graph& graph);

// Add of a constant per-output-channel vector after Conv, ConvTranspose or
// MatMul (with constant weights, the only reader): becomes the node's bias.
std::size_t fuse_bias(Graph& graph);

// A BatchNormalization not folded into a convolution (its input not a
// Conv's, as in DenseNet's BN -> ReLU -> Conv): on a 4-D input a depthwise
// 1x1 Conv with the per-channel scale as weights and the shift as bias
// (one CONV2D, which a following ReLU joins); on [N, C] or [N, C, L] a Mul
// and an Add by per-channel constants. Returns the nodes rewritten.
std::size_t lower_batch_norm(Graph& graph);

// x * Sigmoid(x) (also x * Sigmoid(x * 1), as PaddlePaddle exports swish):
// one node "Silu" (the runtime's own op, the ISA's SILU activation).
std::size_t fuse_silu(Graph& graph);

// x * 0.5 * (1 + Erf(x / sqrt(2))), GELU as exporters spell it (the factors
// in any order, the division also as * 1/sqrt(2)): one node "Gelu" (the
// ONNX op of opset 20, approximate "none"), the ISA's GELU activation.
std::size_t fuse_gelu(Graph& graph);

// x * Tanh(Softplus(x)), Mish as exporters before opset 18 spell it (YOLOv4
// and its kin), with the Tanh and Softplus read only by the chain: one node
// "Mish" (the ONNX op of opset 18), one ACTIVATION_PARAM MISH on an ISA v1.5
// device. Both forms need v1.5 (SOFTPLUS is v1.5 too), so the pass runs for
// every device.
std::size_t fuse_mish(Graph& graph);

// x * Clip(x + a, 0, b) / b (also * (1/b)), hard-swish as exporters spell
// it (a = 3, b = 6): one node "HardSwish" (the ONNX op of opset 14) with
// alpha 1/b and beta a/b, which the device runs as one ACTIVATION_PARAM
// (ISA v1.1: run it only for a device that has that instruction).
std::size_t fuse_hard_swish(Graph& graph);

// Relu, Sigmoid, Tanh, Silu, Gelu (approximate "none") and Clip(min 0, no
// max), after Conv, ConvTranspose, MatMul or Gemm (the only reader): the
// device applies them when it stores the output. On a device of ISA v1.5
// (`hw_version`, hw-spec 7.4.5) also HardSwish and HardSigmoid with alpha
// 1/6 and beta 0.5 (the float PyTorch writes; fold_hard_sigmoid_affine()
// brings a product's other HardSigmoids to that form) and Clip(0, 6); older
// devices keep them as instructions of their own.
std::size_t fuse_activation(Graph& graph, std::uint32_t hw_version = isa::kIsaVersion);

// HardSigmoid(alpha, beta) on the output x = W*in + b of a Conv,
// ConvTranspose, MatMul (2-D weights) or Gemm whose weights and bias (if
// any, one value per output channel) are constants and whose only reader
// it is: clamp(alpha*x + beta, 0, 1) = clamp(z/6 + 1/2, 0, 1) with
// z = 6*alpha*x + 6*(beta - 1/2), so the product's weights are scaled by
// 6*alpha and its bias becomes 6*alpha*b + 6*(beta - 1/2) (Gemm's: of
// beta_Gemm*C, its beta set to 1), a bias made if there was none, and the
// HardSigmoid's alpha and beta become 1/6 and 0.5, which fuse_activation()
// then fuses as v1.5's HARDSIGMOID. An identity for every finite alpha and
// beta, negative alpha and zero included (0 makes the weights 0 and the
// output the constant clamp(beta, 0, 1)). The scale is one number for
// every weight, so the weights' layout does not matter, only the output
// channel count of the bias. The folded weights and bias are new constants
// (the originals may be read by other nodes); a fold whose values would not
// be finite floats is not done. Only for a device of ISA v1.5 (`hw_version`):
// an older one keeps HardSigmoid as its own instruction. Returns the
// HardSigmoids folded.
std::size_t fold_hard_sigmoid_affine(Graph& graph, std::uint32_t hw_version = isa::kIsaVersion);

// The node that applies fused activation `activation` (an "activation"
// attribute's value) on its own, from `input` to `output`: the op of that
// name, HardSigmoid with alpha 1/6 and beta 0.5, Relu6 as Clip(0, 6).
Node standalone_activation(const std::string& activation, std::string name, std::string input,
                           std::string output);

// The layer normalization exporters spell out over the last axis,
//   m = ReduceMean(x); d = x - m; v = ReduceMean(d^2); y = d / Sqrt(v + eps)
// [* gamma] [+ beta], becomes one LayerNormalization node (the ONNX op of
// opset 17, axis -1), which the device runs as LAYERNORM.
std::size_t fuse_layer_norm(Graph& graph);

// Every pass above in the order compile() runs them, for a device that
// executes `device_ops` (DeviceProperties::ops) and implements instruction
// set `hw_version` (DeviceProperties::hw_version): BN folds into a bare
// convolution or one whose bias Add joined it (ConvTranspose -> Add -> BN),
// a bias after the BN joins next, and the bias before the activation does.
// Last, 1-D windows are lifted to 2-D ones (lift_1d_windows, which adds
// nodes and is not counted in the nodes removed).
std::size_t run_fusion_passes(Graph& graph, std::bitset<64> device_ops,
                              std::uint32_t hw_version = isa::kIsaVersion);

}  // namespace npu::onnx_runtime
