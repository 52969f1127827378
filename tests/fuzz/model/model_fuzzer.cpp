// libFuzzer target: arbitrary bytes as an ONNX model through the runtime's
// compiler (docs/onnx-runtime.md), as `npu-infer MODEL` takes it before
// anything reaches a device: protobuf parsing, the QDQ rewrite and the
// operator check of Model::load, import (ONNX shape inference, constant folding), the fusion
// passes, lowering to ISA instructions in FP32 and, with every calibrated
// range 1.0, in INT8, their encoding by KernelBuilder, and the memory plan.
// Built with clang, -fsanitize=fuzzer,address,undefined
// (tests/fuzz/model/CMakeLists.txt); run by `make fuzz-model` and, briefly,
// by the CTest test host.fuzz-model.
//
// A finding is a sanitizer report, a crash, a hang (-timeout) or an
// allocation beyond -rss_limit_mb: a model file must get an error, never
// bring the process down. Runtime errors are what the tools report by
// message (npu-infer prints any std::exception), so they end an input; a
// std::logic_error (out_of_range from .at(), length_error, ...) is a
// finding too: the compiler reached for something it never checked, and
// only the library's bounds check stood between the file and a crash.
#include <onnx/onnx_pb.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <typeinfo>
#include <vector>

#include "fusion.hpp"
#include "int8_rewrite.hpp"
#include "lowering.hpp"
#include "memory_plan.hpp"
#include "npu/isa.hpp"
#include "npu/kernel_builder.hpp"
#include "onnx_import.hpp"
#include "qdq.hpp"
#include "qoperator.hpp"

namespace {

using namespace npu::onnx_runtime;

// What a user passes for dynamic dimensions (npu-infer takes the input
// files' shapes): 1 for each.
std::map<std::string, Shape> input_shapes(const ::onnx::ModelProto& model) {
  std::map<std::string, Shape> shapes = declared_inputs(model);
  for (auto& [name, shape] : shapes) {
    for (std::int64_t& dim : shape) {
      dim = dim < 0 ? 1 : dim;
    }
  }
  return shapes;
}

// The program as its kernel holds it, and the plan of its activations.
void build(const Program& program) {
  npu::KernelBuilder builder("fuzz");
  // Argument names are unique in a kernel: the instructions share them.
  std::vector<npu::BufferArg> args;
  for (const DeviceInstruction& instruction : program.instructions) {
    while (args.size() < instruction.operands.size()) {
      args.push_back(builder.arg_buffer("a" + std::to_string(args.size())));
    }
    instruction.emit(builder, std::span(args).first(instruction.operands.size()));
  }
  (void)builder.build();
  (void)plan_memory(activation_lifetimes(program));
}

void compile_int8(Graph graph) {
  split_float_activations(graph);
  std::map<std::string, float> ranges;
  for (const std::string& tensor : calibrated_tensors(graph)) {
    ranges[tensor] = 1.0F;
  }
  rewrite_int8(graph, ranges, true);
  build(lower(graph, npu::isa::DataType::fp32, every_opcode()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ::onnx::ModelProto model;
  if (size > static_cast<std::size_t>(INT32_MAX) ||
      !model.ParseFromArray(data, static_cast<int>(size))) {
    return 0;
  }
  try {
    rewrite_qoperator(model);  // as Model::load, before its operator check
    rewrite_qdq(model);
    const std::set<std::string> known = lowerable_ops();
    for (const auto& [op, node] : node_ops(model)) {
      if (!known.contains(op)) {
        return 0;  // Model::load names it
      }
    }
    Graph graph = import_graph(model, input_shapes(model));
    run_fusion_passes(graph, every_opcode());
    build(lower(graph, npu::isa::DataType::fp32, every_opcode()));
    compile_int8(std::move(graph));
  } catch (const std::logic_error& e) {
    std::fprintf(stderr, "unchecked input: %s: %s\n", typeid(e).name(), e.what());
    std::abort();
  } catch (const std::exception&) {
    // An error with a message: what the tools print.
  }
  return 0;
}
