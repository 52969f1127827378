// Lowering: the graph, after the passes, becomes one device program, a list
// of KNPU instructions over named tensors. Every ONNX op has one lowering
// function, registered in one table (lowering.cpp's lowerings(); a family
// of ops may have a file of its own, as recurrent_lowering.cpp); an op
// without an entry, or with attributes its entry cannot map to the ISA, is
// reported by name.
#pragma once

#include <bitset>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "graph.hpp"
#include "npu/kernel_builder.hpp"
#include "npu/onnx/model.hpp"

namespace npu::onnx_runtime {

// The largest tensor operand of a compute instruction on this device
// (docs/hw-spec.md 7.4).
inline constexpr std::int64_t kMaxOperandBytes = std::int64_t{64} << 20;

// Multiply-adds a CONV2D accepts per image (hw-spec 7.4).
inline constexpr double kMaxImageMacs = 0x1p32;

// The most instructions one piece of work is split into where its tensors
// exceed the operand (a convolution's bands, a copy's pieces, ranges of
// elements, runs of planes): 256 GiB of 64 MiB operands.
inline constexpr std::int64_t kMaxSplits = 4096;

// Elements [first, first + count) of a tensor.
struct ElementRange {
  std::int64_t first, count;
};

// A place in a tensor's storage: the tensor (after aliases are resolved,
// the tensor that owns the bytes) and a byte offset into it.
struct TensorRef {
  std::string tensor;
  std::uint64_t offset = 0;
};

struct DeviceInstruction {
  std::vector<TensorRef> operands;  // the buffers it touches, in emit's order
  std::vector<bool> written;        // per operand
  // Appends the instruction(s) given the argument slots of the operands.
  std::function<void(KernelBuilder&, std::span<const BufferArg>)> emit;
  std::string origin;  // the ONNX node it comes from
};

struct Program {
  isa::DataType dtype = isa::DataType::fp32;  // of every tensor
  std::vector<DeviceInstruction> instructions;
  std::map<std::string, Constant> weights;  // float32 constants the program reads
  std::map<std::string, std::uint64_t>
      activations;                           // bytes of every other tensor that owns storage
  std::vector<std::string> inputs, outputs;  // graph inputs and outputs (own storage)
  std::map<std::string, Shape> shapes;       // of the inputs and outputs
  // The integer and bool inputs (int64 or int32, stored as such: the
  // indices GATHER reads, the values COMPARE reads; bool one byte each, 0 or
  // 1); every other input is in `dtype`.
  std::map<std::string, ElementType> integer_inputs;
  // uint8 and int8 inputs (an image's bytes): int32 in `integer_inputs`,
  // run() widens them; here their own type.
  std::map<std::string, ElementType> widened_inputs;
  // Outputs not in `dtype`: bool (one byte each, COMPARE's mask), int64 or
  // int32 (integers passed on or computed), written in their own type;
  // uint8 and int8 as INT32 words that run() narrows.
  std::map<std::string, ElementType> output_types;
  // Float inputs and outputs the model declares float16, bfloat16 or
  // float64: in `dtype` on the device like every float, exchanged in their
  // own type.
  std::map<std::string, ElementType> narrowed_float_io;
  // int64 inputs whose low 32 bits an instruction reads as INT32 (a Cast to
  // float, a comparison), and the first node that does: every value must
  // fit in 32 bits, which run() checks before the job is submitted.
  std::map<std::string, std::string> narrowed_inputs;
};

// The op types the lowering table has an entry for.
std::set<std::string> lowerable_ops();

// Every opcode of the instruction set libnpu knows (v1.1), as a set of
// DeviceProperties::ops bits.
std::bitset<64> every_opcode();

// Lowers the whole graph with every tensor in `dtype` (fp32, fp16 or bf16:
// the device computes in FP32 and rounds on store) for a device that
// executes `device_ops` (DeviceProperties::ops) and is of `hw_version`
// (DeviceProperties::hw_version: v1.5's flag values have no OPS bit): where
// an op has a v1.1 instruction the device lacks, the v1 sequence is used if
// there is one; UnsupportedOperators lists every node that cannot run on
// the device, with the reason.
Program lower(const Graph& graph, isa::DataType dtype = isa::DataType::fp32,
              std::bitset<64> device_ops = every_opcode(),
              std::uint32_t hw_version = isa::kIsaVersion);
// The same from a graph the caller gives up: the weights move into the
// program instead of being copied (left empty in `graph`).
Program lower(Graph&& graph, isa::DataType dtype = isa::DataType::fp32,
              std::bitset<64> device_ops = every_opcode(),
              std::uint32_t hw_version = isa::kIsaVersion);

}  // namespace npu::onnx_runtime
