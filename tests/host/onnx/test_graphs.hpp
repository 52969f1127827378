// The host tests' access to make_test_models.py's graphs
// (KNPU_ONNX_TEST_MODELS): imported, through the passes compile() runs,
// lowered, and the decoded instructions' operands.
#pragma once

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <bit>
#include <bitset>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "fusion.hpp"
#include "lowered_program.hpp"
#include "lowering.hpp"
#include "npu/isa.hpp"
#include "npu/onnx/model.hpp"
#include "onnx_import.hpp"

namespace npu::onnx_runtime {

inline std::filesystem::path model_path(const std::string& name) {
  return std::filesystem::path(KNPU_ONNX_TEST_MODELS) / (name + ".onnx");
}

inline Graph import(const std::string& name, const std::map<std::string, Shape>& shapes = {}) {
  return import_graph(parse_model(model_path(name)), shapes);
}

// The model after import and the passes compile() runs, for a device with
// opcodes `ops` of instruction set `hw_version`.
inline Graph fused(const std::string& name, std::bitset<64> ops = every_opcode(),
                   std::uint32_t hw_version = isa::kIsaVersion) {
  Graph graph = import(name);
  run_fusion_passes(graph, ops, hw_version);
  return graph;
}

// The ops of the nodes a pass put in place of the node writing `output`
// (each writes `output` or a value named `output.<something>`), in order.
inline std::vector<std::string> ops_replacing(const Graph& graph, const std::string& output) {
  std::vector<std::string> ops;
  for (const Node& node : graph.nodes) {
    if (node.outputs.at(0) == output || node.outputs.at(0).starts_with(output + ".")) {
      ops.push_back(node.op);
    }
  }
  return ops;
}

inline std::vector<isa::Opcode> opcodes_of(const Program& program) {
  std::vector<isa::Opcode> ops;
  for (const isa::Instruction& i : instructions_of(program)) {
    ops.push_back(i.opcode);
  }
  return ops;
}

// Operand `operand` of a decoded instruction, a value (not an argument).
inline std::uint32_t value(const isa::Instruction& instruction, std::size_t operand) {
  EXPECT_FALSE(instruction.operands.at(operand).is_argument);
  return instruction.operands.at(operand).word;
}
inline float float_value(const isa::Instruction& instruction, std::size_t operand) {
  return std::bit_cast<float>(value(instruction, operand));
}

// That importing `model` and running compile()'s passes fails with an
// error whose message holds `reason` (a node named with what ONNX does not
// define, a bound exceeded).
inline void expect_error_naming(const std::string& model, const std::string& reason) {
  try {
    (void)fused(model);
    ADD_FAILURE() << model << " compiled";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(reason), std::string::npos) << e.what();
  }
}

// The reason lower() gives for the one op it refuses, on a device of
// `hw_version`.
inline std::string refusal(const Graph& graph, std::bitset<64> ops = every_opcode(),
                           std::uint32_t hw_version = isa::kIsaVersion) {
  try {
    lower(graph, isa::DataType::fp32, ops, hw_version);
  } catch (const npu::onnx::UnsupportedOperators& e) {
    EXPECT_EQ(e.entries().size(), 1U) << e.what();
    return e.entries().at(0).op + ": " + e.entries().at(0).reason;
  }
  ADD_FAILURE() << "lowered";
  return "";
}

}  // namespace npu::onnx_runtime
