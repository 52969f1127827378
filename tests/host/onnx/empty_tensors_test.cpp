// Tensors without elements on make_operator_models.py's graphs: known at
// compile time, never computed (guest-onnx-models checks op-empty_tensors
// against onnxruntime; ONNX's node tests with empty tensors pass on the
// device).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "test_graphs.hpp"

namespace {

using namespace npu::onnx_runtime;

bool computed(const Graph& graph, const std::string& value) {
  return std::ranges::any_of(graph.nodes, [&](const Node& node) {
    return std::ranges::find(node.outputs, value) != node.outputs.end();
  });
}

TEST(OnnxEmptyTensors, WhatReadsAnEmptySliceIsKnownWithoutComputing) {
  const Graph graph = fused("empty_tensors");
  for (const char* value : {"nothing", "empty_relu", "sum_nothing", "prod_nothing", "max_nothing",
                            "l2_nothing", "product_nothing"}) {
    EXPECT_FALSE(computed(graph, value)) << value;
  }
  EXPECT_EQ(graph.constants.at("empty_relu").shape, (Shape{2, 0}));
  EXPECT_EQ(graph.constants.at("sum_nothing").floats, (std::vector<float>{0, 0}));
  EXPECT_EQ(graph.constants.at("prod_nothing").floats, (std::vector<float>{1, 1}));
  EXPECT_EQ(graph.constants.at("prod_nothing").shape, (Shape{2, 1}));
  EXPECT_EQ(graph.constants.at("max_nothing").floats,
            std::vector<float>(2, -std::numeric_limits<float>::infinity()));
  EXPECT_EQ(graph.constants.at("l2_nothing").floats, (std::vector<float>{0, 0}));
  EXPECT_EQ(graph.constants.at("product_nothing").floats, std::vector<float>(6, 0));
  for (const Node& node : graph.nodes) {
    if (node.op == "Concat") {
      EXPECT_EQ(node.inputs, (std::vector<std::string>{"x"}));  // the empty operands dropped
    }
  }
  // The empty output is written by no instruction (it has no bytes); the
  // constant outputs are copied, and x again plus x computed.
  const Program program = lower(graph);
  for (const DeviceInstruction& instruction : program.instructions) {
    EXPECT_EQ(instruction.origin.find("empty_relu"), std::string::npos) << instruction.origin;
  }
  EXPECT_EQ(program.shapes.at("empty_relu"), (Shape{2, 0}));
}

TEST(OnnxEmptyTensors, AnInputWithoutElementsIsTakenAndReadByNoInstruction) {
  const Graph graph = import("empty_batch", {{"x", {0, 3}}});
  EXPECT_EQ(graph.inputs, (std::vector<std::string>{"x"}));
  EXPECT_TRUE(graph.nodes.empty());
  EXPECT_EQ(graph.constants.at("y").shape, (Shape{0, 3}));
  EXPECT_EQ(graph.constants.at("total").floats, (std::vector<float>{0, 0, 0}));
  const Program program = lower(graph);
  EXPECT_EQ(program.inputs, (std::vector<std::string>{"x"}));
  EXPECT_EQ(program.shapes.at("x"), (Shape{0, 3}));
  EXPECT_EQ(opcodes_of(program),
            (std::vector<npu::isa::Opcode>{npu::isa::Opcode::dma_copy}));  // total
}

TEST(OnnxEmptyTensors, AnInputWithElementsIsComputedAsBefore) {
  const Graph graph = import("empty_batch", {{"x", {2, 3}}});
  EXPECT_TRUE(computed(graph, "y"));
  EXPECT_TRUE(computed(graph, "total"));
}

TEST(OnnxEmptyTensors, ASplitCopiesOnlyItsPiecesWithElements) {
  const Graph graph = fused("split_empty_piece");
  const Program program = lower(graph);
  EXPECT_EQ(opcodes_of(program).front(), npu::isa::Opcode::copy_strided);  // "all" only
  EXPECT_EQ(std::ranges::count(opcodes_of(program), npu::isa::Opcode::copy_strided), 1);
  EXPECT_EQ(program.shapes.at("none"), (Shape{0}));
}

TEST(OnnxEmptyTensors, APadOfNothingIsItsValueEverywhere) {
  const Graph graph = fused("pad_empty");
  EXPECT_TRUE(graph.nodes.empty());
  EXPECT_EQ(graph.constants.at("y").floats, (std::vector<float>{7, 7}));
}

}  // namespace
