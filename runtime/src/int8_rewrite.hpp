// The INT8 rewrite (docs/onnx-runtime.md "INT8"): after fusion, every Conv
// (padded symmetrically), Gemm and MatMul with constant weights whose fused
// activation the device has in INT8 (none or Relu) becomes the runtime's
// own nodes
//
//   QuantizeInt8(x) -> Int8Conv / Int8MatMul -> DequantizeInt8 -> y
//
// with weights quantized per output channel, an INT32 bias and the
// per-channel requantization scales as constants, and activation scales
// from the calibration. A quantized node whose input another quantized node
// made reads that node's INT8 output directly, also through layout-only ops
// (Reshape, Flatten, Squeeze, Unsqueeze, Identity, Dropout: the same op on
// the INT8 tensor, at its producer's scale); a DequantizeInt8 or a float
// layout-only op nobody reads is dropped. A node no quantized node reads writes FP32 itself from
// its INT32 accumulators (attribute float_output; no DequantizeInt8): on a
// device with CONVERT (ISA v1.2) always, converted by that instruction; on
// one without, when its accumulators convert to FP32 exactly through the
// rounding bias. Every other node stays FP32.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "graph.hpp"

namespace npu::onnx_runtime {

// Before calibration and the rewrite: a Conv, Gemm or MatMul with constant
// weights and a fused activation INT8 lacks (Sigmoid, Tanh, Silu) gives the
// activation back as its own node after "<output>/linear", so the product
// can run in INT8 and the activation in FP32. Returns the nodes split.
std::size_t split_float_activations(Graph& graph);

// The nodes the rewrite quantizes, by index into graph.nodes.
std::vector<std::size_t> quantizable_nodes(const Graph& graph);

// The tensors whose ranges the rewrite needs: the input and the output of
// every quantizable node.
std::set<std::string> calibrated_tensors(const Graph& graph);

// Attribute float_output of Int8Conv and Int8MatMul: how their FP32 output
// is made from the INT32 accumulators.
enum class FloatOutput : std::int64_t {
  none = 0,           // INT8 output, requantized by the product itself
  rounding_bias = 1,  // bias + 0x4B400000, IEEE arithmetic (ISA v1.1)
  convert = 2,        // plain accumulators, one CONVERT INT32 -> FP32 (v1.2)
};

struct Int8RewriteStats {
  std::size_t quantized_nodes = 0;
  std::size_t conversions = 0;  // QuantizeInt8 and DequantizeInt8 nodes left
};

// Rewrites `graph`; `max_abs` holds the calibrated range of every tensor of
// calibrated_tensors(graph) (npu::onnx::ModelError naming a missing one).
// `device_converts`: the device executes CONVERT (ISA v1.2).
Int8RewriteStats rewrite_int8(Graph& graph, const std::map<std::string, float>& max_abs,
                              bool device_converts = false);

}  // namespace npu::onnx_runtime
