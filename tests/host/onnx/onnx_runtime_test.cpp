// The ONNX runtime's compiler passes on small graphs made by
// make_test_models.py (python3-onnx): shape inference, constant folding,
// batch-norm folding, fusion, lowering, liveness planning, the report of
// unsupported operators, and malformed files. No device needed.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <filesystem>
#include <limits>
#include <set>
#include <string>

#include "constant_folding.hpp"
#include "element_codec.hpp"
#include "fusion.hpp"
#include "int8_rewrite.hpp"
#include "lowered_program.hpp"
#include "lowering.hpp"
#include "memory_plan.hpp"
#include "npu/isa.hpp"
#include "npu/kernel_builder.hpp"
#include "npu/onnx/model.hpp"
#include "npy.hpp"
#include "onnx_import.hpp"
#include "test_graphs.hpp"
#include "test_model_data.hpp"

namespace {

using npu::onnx::ModelError;
using npu::onnx::UnsupportedOperators;
using namespace npu::onnx_runtime;

std::size_t count_op(const Graph& graph, const std::string& op) {
  return static_cast<std::size_t>(std::ranges::count(graph.nodes, op, &Node::op));
}

// A folded constant against the values NumPy computed (make_test_models.py).
void expect_near_npy(const Constant& got, const std::string& npy) {
  const std::vector<float> want = npy_floats(npy);
  ASSERT_EQ(got.floats.size(), want.size()) << npy;
  for (std::size_t i = 0; i < want.size(); ++i) {
    EXPECT_NEAR(got.floats[i], want[i], 1e-5F * (1 + std::abs(want[i]))) << npy << " " << i;
  }
}

TEST(OnnxShapes, DynamicInputResolvedByOnnxShapeInference) {
  const Graph graph = import("shapes", {{"x", {2, 3, 30, 40}}});
  EXPECT_EQ(graph.shape("c"), (Shape{2, 8, 15, 20}));
  EXPECT_EQ(graph.shape("y"), (Shape{2, 8, 7, 10}));
}

TEST(OnnxShapes, InputShapeMustMatchTheDeclaration) {
  EXPECT_THROW(import("shapes", {{"x", {2, 4, 30, 40}}}), ModelError);  // C is 3
  EXPECT_THROW(import("shapes", {{"x", {2, 3, 30}}}), ModelError);      // rank
  EXPECT_THROW(import("shapes", {{"nope", {1}}}), ModelError);
  try {
    import("shapes");
    FAIL() << "a dynamic input without a shape was accepted";
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("input 'x' has the dynamic shape"), std::string::npos)
        << e.what();
  }
}

TEST(OnnxFolding, ShapeGatherUnsqueezeConcatChainBecomesAConstant) {
  const Graph graph = import("fold_reshape", {{"x", {3, 4, 5, 6}}});
  ASSERT_EQ(graph.nodes.size(), 1U);
  EXPECT_EQ(graph.nodes[0].op, "Reshape");
  const Constant& target = graph.constants.at("target");
  EXPECT_EQ(target.ints, (std::vector<std::int64_t>{3, -1}));
  EXPECT_EQ(graph.shape("y"), (Shape{3, 120}));
}

TEST(OnnxFolding, EvaluatesBroadcastArithmeticOnIntegers) {
  Graph graph;
  graph.constants["a"] = Constant::of_ints({2, 1}, {10, 20});
  graph.constants["b"] = Constant::of_ints({3}, {1, 2, 3});
  Node node{.op = "Sub", .name = "s", .inputs = {"a", "b"}, .outputs = {"c"}, .attributes = {}};
  const auto values = evaluate_on_host(node, graph);
  ASSERT_TRUE(values);
  EXPECT_EQ((*values)[0].shape, (Shape{2, 3}));
  EXPECT_EQ((*values)[0].ints, (std::vector<std::int64_t>{9, 8, 7, 19, 18, 17}));
}

TEST(OnnxFusion, BatchNormFoldsIntoConvWeights) {
  Graph graph = import("bn_fold");
  EXPECT_EQ(fold_batch_norm(graph), 1U);
  ASSERT_EQ(graph.nodes.size(), 1U);
  const Node& conv = graph.nodes[0];
  EXPECT_EQ(conv.op, "Conv");
  EXPECT_EQ(conv.outputs[0], "y");
  expect_near_npy(graph.constants.at(conv.inputs[1]), "bn_fold.weight.npy");
  expect_near_npy(graph.constants.at(conv.inputs[2]), "bn_fold.bias.npy");
}

TEST(OnnxFusion, BiasAndActivationJoinConvAndMatMul) {
  Graph graph = import("fuse");
  EXPECT_EQ(fuse_bias(graph), 2U);
  EXPECT_EQ(fuse_activation(graph), 2U);
  ASSERT_EQ(graph.nodes.size(), 3U);  // Conv, Flatten, MatMul
  EXPECT_EQ(graph.nodes[0].op, "Conv");
  EXPECT_EQ(graph.nodes[0].get_string("activation", ""), "Relu");
  EXPECT_EQ(graph.nodes[0].inputs.size(), 3U);
  EXPECT_EQ(graph.nodes[2].op, "MatMul");
  EXPECT_EQ(graph.nodes[2].get_string("activation", ""), "Sigmoid");
  EXPECT_EQ(graph.nodes[2].outputs[0], "y");
  const Program program = lower(graph);
  EXPECT_EQ(program.instructions.size(), 2U);  // CONV2D and GEMM; Flatten is an alias
}

TEST(OnnxFusion, SwishBecomesTheConvsSiluActivation) {
  Graph graph = import("silu");
  EXPECT_EQ(fuse_silu(graph), 2U);  // the Mul by 1 and the Sigmoid
  EXPECT_EQ(fuse_activation(graph), 1U);
  ASSERT_EQ(graph.nodes.size(), 1U);
  EXPECT_EQ(graph.nodes[0].get_string("activation", ""), "Silu");
  EXPECT_EQ(lower(graph).instructions.size(), 1U);
}

TEST(OnnxFusion, SharedOutputIsNotFused) {
  Graph graph = import("no_fuse_shared");
  EXPECT_EQ(fuse_activation(graph), 0U);
  EXPECT_EQ(count_op(graph, "Relu"), 1U);
}

TEST(OnnxMemoryPlan, DisjointLifetimesShareBytesOverlappingOnesDoNot) {
  const MemoryPlan plan =
      plan_memory({{"a", 1000, 0, 1}, {"b", 1000, 1, 2}, {"c", 1000, 2, 3}, {"d", 500, 3, 4}});
  EXPECT_NE(plan.offsets.at("a"), plan.offsets.at("b"));
  EXPECT_NE(plan.offsets.at("b"), plan.offsets.at("c"));
  EXPECT_EQ(plan.offsets.at("a"), plan.offsets.at("c"));  // a is dead when c is born
  EXPECT_EQ(plan.size, 2048U);                            // two 64-byte-aligned 1000s
  EXPECT_EQ(plan.unplanned, 1024U * 3 + 512U);
  for (const auto& [name, offset] : plan.offsets) {
    EXPECT_EQ(offset % kTensorAlignment, 0U) << name;
  }
}

TEST(OnnxMemoryPlan, ChainOfEightStepsNeedsTwoBuffers) {
  const Program program = lower(import("chain"));
  const MemoryPlan plan = plan_memory(activation_lifetimes(program));
  const std::uint64_t tensor = 16 * 32 * 32 * 4;
  EXPECT_EQ(program.activations.size(), 8U);  // t0..t7; x and y are graph I/O
  EXPECT_EQ(plan.unplanned, 8 * tensor);
  EXPECT_EQ(plan.size, 2 * tensor);
}

TEST(OnnxUnsupported, LoadNamesEveryMissingOperatorAndItsNodes) {
  try {
    npu::onnx::Model::load(model_path("unsupported"));
    FAIL() << "a model with Unique and Bernoulli loaded";
  } catch (const UnsupportedOperators& e) {
    ASSERT_EQ(e.entries().size(), 2U);
    EXPECT_EQ(e.entries()[0].op, "Bernoulli");
    EXPECT_EQ(e.entries()[0].nodes.size(), 2U);
    EXPECT_EQ(e.entries()[1].op, "Unique");
    EXPECT_NE(std::string(e.what()).find("Unique (1 node"), std::string::npos) << e.what();
  }
}

TEST(OnnxUnsupported, AttributesTheIsaCannotMapAreReportedWithTheReason) {
  try {
    lower(import("pad_reflect"));
    FAIL() << "Pad mode reflect padding 3 of 3 elements was lowered";
  } catch (const UnsupportedOperators& e) {
    ASSERT_EQ(e.entries().size(), 1U);
    EXPECT_EQ(e.entries()[0].op, "Pad");
    EXPECT_EQ(e.entries()[0].reason, "mode reflect padding 3 and 1 of 3 elements");
  }
}

// ---- ISA v1.1 lowerings --------------------------------------------------

using npu::isa::Instruction;
using npu::isa::Opcode;

// The opcodes of instruction set v1.0 only: a device without v1.1.
std::bitset<64> v1_0_opcodes() {
  std::bitset<64> ops;
  for (const npu::isa::OpcodeInfo& op : npu::isa::opcode_table()) {
    if (op.isa_version == npu::isa::kIsaVersion1_0) {
      ops.set(static_cast<std::size_t>(op.opcode));
    }
  }
  return ops;
}

// hw-spec 7.4.1 RESIZE flags: MODE 1:0, COORD 3:2, NEAREST_ROUND 5:4.
constexpr std::uint32_t resize_flags(std::uint32_t mode, std::uint32_t coord, std::uint32_t round) {
  return mode | coord << 2 | round << 4;
}

TEST(OnnxLoweringV11, ResizeIsOneInstructionWithTheModelsModeTransformAndScale) {
  struct Case {
    const char* model;
    std::uint32_t flags;
    float scale_h, scale_w;
    std::vector<std::uint32_t> nchw_pq;
  };
  const Case cases[] = {
      {"resize_nearest_floor", resize_flags(0, 1, 2), 2.0F, 2.0F, {1, 3, 5, 7, 10, 14}},
      {"resize_linear_sizes", resize_flags(1, 0, 0), 0.0F, 0.0F, {2, 3, 5, 7, 8, 11}},
      {"resize_linear_align_corners", resize_flags(1, 2, 0), 1.5F, 2.5F, {1, 2, 4, 6, 6, 15}},
      {"resize_nearest_half_pixel", resize_flags(0, 0, 1), 0.0F, 0.0F, {1, 2, 9, 8, 4, 5}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.model);
    const std::vector<Instruction> program = instructions_of(lower(fused(c.model)));
    ASSERT_EQ(program.size(), 1U);
    EXPECT_EQ(program[0].opcode, Opcode::resize);
    EXPECT_EQ(program[0].flags, c.flags);
    for (std::size_t i = 0; i < 6; ++i) {
      EXPECT_EQ(value(program[0], 2 + i), c.nchw_pq[i]) << "operand " << 2 + i;
    }
    EXPECT_EQ(float_value(program[0], 8), c.scale_h);
    EXPECT_EQ(float_value(program[0], 9), c.scale_w);
  }
}

TEST(OnnxLoweringV11, ResizesTheInstructionLacksAreProductsOrRefusedByName) {
  // Cubic: one GEMM per resized axis (resize_test.cpp has the rest).
  EXPECT_EQ(opcodes_of(lower(fused("resize_cubic"))), (std::vector{Opcode::gemm, Opcode::gemm}));
  EXPECT_EQ(refusal(fused("resize_tf_crop")), "Resize: roi must be a constant of 8 values");
  EXPECT_EQ(refusal(fused("resize_nearest_floor"), v1_0_opcodes()),
            "Resize: needs the ISA v1.1 instruction RESIZE, which the device lacks");
}

TEST(OnnxLoweringV11, ConvTransposeCarriesPadsStridesDilationsGroupsOutputPaddingAndBias) {
  const std::vector<Instruction> program = instructions_of(lower(fused("conv_transpose")));
  ASSERT_EQ(program.size(), 1U);
  const Instruction& ct = program[0];
  EXPECT_EQ(ct.opcode, Opcode::conv_transpose);
  EXPECT_EQ(ct.flags & 4U, 4U);  // BIAS
  // N C H W K R S, strides, pads, output padding, dilations, groups.
  const std::vector<std::uint32_t> want{1, 4, 5, 6, 6, 3, 3, 2, 3, 1, 1, 1, 2, 2, 1, 2};
  for (std::size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(value(ct, 4 + i), want[i]) << "operand " << 4 + i;
  }
}

TEST(OnnxLoweringV11, ConvTransposePadsEachSideByCroppingTheSymmetricResult) {
  // pads H 0/1, W 2/1, stride 2, output_padding H 1: the instruction pads
  // H 0 and W 1 (the smaller side), its 7 x 7 output loses W's first column
  // in one strided copy (3 channels x 7 rows merge: 21 rows of 6 of 7).
  const std::vector<Instruction> program =
      instructions_of(lower(fused("conv_transpose_asymmetric")));
  ASSERT_EQ(program.size(), 2U);
  EXPECT_EQ(program[0].opcode, Opcode::conv_transpose);
  const std::vector<std::uint32_t> want{1, 2, 3, 4, 3, 3, 3, 2, 2, 0, 1, 0, 0, 1, 1, 1};
  for (std::size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(value(program[0], 4 + i), want[i]) << "operand " << 4 + i;
  }
  EXPECT_EQ(program[1].opcode, Opcode::copy_strided);
  const std::vector<std::uint32_t> copy{1, 1, 21, 6, 0, 0, 7, 1, 0, 0, 6, 1};
  for (std::size_t i = 0; i < copy.size(); ++i) {
    EXPECT_EQ(value(program[1], 2 + i), copy[i]) << "operand " << 2 + i;
  }
  // output_shape 8 x 16 of extents 9 x 17: the odd total pads the start
  // (ONNX's rule for NOTSET, onnxruntime's too): pad 0, crop one row and
  // one column at the top and left.
  const std::vector<Instruction> shaped =
      instructions_of(lower(fused("conv_transpose_output_shape")));
  ASSERT_EQ(shaped.size(), 2U);
  EXPECT_EQ(value(shaped[0], 13), 0U);
  EXPECT_EQ(value(shaped[0], 14), 0U);
  const std::vector<std::uint32_t> crop{1, 2, 8, 16, 0, 9 * 17, 17, 1, 0, 8 * 16, 16, 1};
  for (std::size_t i = 0; i < crop.size(); ++i) {
    EXPECT_EQ(value(shaped[1], 2 + i), crop[i]) << "operand " << 2 + i;
  }
  // SAME_UPPER then SAME_LOWER (out = in x stride): two instructions each.
  EXPECT_EQ(opcodes_of(lower(fused("conv_transpose_same"))),
            (std::vector{Opcode::conv_transpose, Opcode::copy_strided, Opcode::conv_transpose,
                         Opcode::copy_strided}));
  // output_shape 8 x 8 of a 3 x 3 window's extent 5: three rows and
  // columns beyond it, more than output_padding (below the stride 1) adds.
  EXPECT_EQ(refusal(fused("conv_transpose_too_large")),
            "ConvTranspose: 3 output rows or columns beyond the transposed convolution");
}

TEST(OnnxFusion, GeluSpelledOutInAnyOrderBecomesTheGeluActivation) {
  const Graph graph = fused("gelu");
  // MatMul + bias + GELU, then two GELUs: 17 nodes in 3.
  ASSERT_EQ(graph.nodes.size(), 3U);
  EXPECT_EQ(graph.nodes[0].op, "MatMul");
  EXPECT_EQ(graph.nodes[0].get_string("activation", ""), "Gelu");
  EXPECT_EQ(graph.nodes[0].inputs.size(), 3U);  // the bias joined
  EXPECT_EQ(graph.nodes[1].op, "Gelu");
  EXPECT_EQ(graph.nodes[1].inputs, std::vector<std::string>{graph.nodes[0].outputs[0]});
  EXPECT_EQ(graph.nodes[2].op, "Gelu");
  EXPECT_EQ(graph.nodes[2].outputs, std::vector<std::string>{"y"});
  const std::vector<npu::isa::Instruction> program = instructions_of(lower(graph));
  ASSERT_EQ(program.size(), 3U);
  EXPECT_EQ(program[0].opcode, npu::isa::Opcode::gemm);
  EXPECT_EQ(program[0].flags >> 4 & 0xfU, 2U);  // ACT GELU
  EXPECT_EQ(program[1].opcode, npu::isa::Opcode::activation);
  // x * (1 + Erf(x / 2)) is no GELU: Erf stays, ISA v1.8's ERF, and is
  // refused by name on an older device.
  const Graph erf = fused("erf");
  ASSERT_TRUE(std::ranges::any_of(erf.nodes, [](const Node& n) { return n.op == "Erf"; }));
  EXPECT_TRUE(std::ranges::any_of(instructions_of(lower(erf)), [](const auto& i) {
    return i.opcode == npu::isa::Opcode::activation_param && i.flags == 24U;  // FUNC ERF
  }));
  try {
    lower(erf, npu::isa::DataType::fp32, every_opcode(), npu::isa::kIsaVersion1_7);
    FAIL() << "Erf was lowered for a v1.7 device";
  } catch (const UnsupportedOperators& e) {
    ASSERT_EQ(e.entries().size(), 1U) << e.what();
    EXPECT_EQ(e.entries()[0].op, "Erf");
    EXPECT_EQ(e.entries()[0].reason,
              "needs ISA v1.8's ACTIVATION_PARAM ERF (hw-spec 7.4.8); the device is v1.7");
  }
}

TEST(OnnxFusion, ConvTransposeTakesItsBiasAddBatchNormAndRelu) {
  const Graph graph = fused("conv_transpose_bn");
  ASSERT_EQ(graph.nodes.size(), 1U);
  const Node& ct = graph.nodes[0];
  EXPECT_EQ(ct.op, "ConvTranspose");
  EXPECT_EQ(ct.get_string("activation", ""), "Relu");
  expect_near_npy(graph.constants.at(ct.inputs.at(1)), "conv_transpose_bn.weight.npy");
  expect_near_npy(graph.constants.at(ct.inputs.at(2)), "conv_transpose_bn.bias.npy");
  EXPECT_EQ(opcodes_of(lower(graph)), std::vector<Opcode>{Opcode::conv_transpose});
}

// On a v1.4 device (v1.5 fuses it into the conv: OnnxLoweringV15).
TEST(OnnxFusion, HardSwishAsExportedBecomesOneActivationParam) {
  const Graph graph = fused("hard_swish", every_opcode(), npu::isa::kIsaVersion1_4);
  ASSERT_EQ(graph.nodes.size(), 2U);
  EXPECT_EQ(graph.nodes[1].op, "HardSwish");
  const std::vector<Instruction> program = instructions_of(lower(graph));
  ASSERT_EQ(program.size(), 2U);
  EXPECT_EQ(program[1].opcode, Opcode::activation_param);
  EXPECT_EQ(program[1].flags, 1U);  // HARDSWISH
  EXPECT_EQ(float_value(program[1], 3), 1.0F / 6);
  EXPECT_EQ(float_value(program[1], 4), 0.5F);
  // The ONNX op (opset 14) likewise.
  EXPECT_EQ(opcodes_of(lower(fused("hard_swish_op"))), std::vector{Opcode::activation_param});
  // A v1.0 device: no fusion, the chain in v1 instructions (Add, Clip as
  // max and min, Mul, Div after the conv).
  const Graph v1 = fused("hard_swish", v1_0_opcodes(), npu::isa::kIsaVersion1_0);
  EXPECT_EQ(v1.nodes.size(), 5U);
  EXPECT_EQ(lower(v1, npu::isa::DataType::fp32, v1_0_opcodes()).instructions.size(), 6U);
}

// ---- ISA v1.5: hard-swish, hard-sigmoid and ReLU6 as fused activations ----

// hw-spec 7.3's ACT field of GEMM and CONV2D: flags bits 7:4.
std::uint32_t act_of(const Instruction& instruction) {
  return (instruction.flags >> 4) & 0xfU;
}
constexpr std::uint32_t kActHardSwish = 6;
constexpr std::uint32_t kActHardSigmoid = 7;
constexpr std::uint32_t kActRelu6 = 8;

// The instruction set a lowered program needs (opcodes and flag values).
std::uint32_t isa_version_of(const Program& program) {
  std::uint32_t version = npu::isa::kIsaVersion1_0;
  for (const Instruction& instruction : instructions_of(program)) {
    version = std::max(version, npu::isa::instruction_version(instruction));
  }
  return version;
}

TEST(OnnxLoweringV15, HardActivationsJoinTheProductBeforeThem) {
  const std::vector<Instruction> program = instructions_of(lower(fused("hard_activations")));
  std::vector<Opcode> ops;
  std::vector<std::uint32_t> acts;
  for (const Instruction& instruction : program) {
    ops.push_back(instruction.opcode);
    acts.push_back(instruction.opcode == Opcode::activation_param ? instruction.flags
                                                                  : act_of(instruction));
  }
  // Conv + HardSwish, Conv + Add + HardSigmoid(1/6), Conv + Clip(0, 6),
  // Gemm + HardSwish, MatMul + Add + HardSigmoid(0.2) (its affine folded
  // into the weights and bias): one instruction each.
  EXPECT_EQ(ops, (std::vector{Opcode::conv2d, Opcode::conv2d, Opcode::conv2d, Opcode::gemm,
                              Opcode::gemm}));
  EXPECT_EQ(acts, (std::vector<std::uint32_t>{kActHardSwish, kActHardSigmoid, kActRelu6,
                                              kActHardSwish, kActHardSigmoid}));
  EXPECT_EQ(isa_version_of(lower(fused("hard_activations"))), npu::isa::kIsaVersion1_5);
}

TEST(OnnxLoweringV15, AV14DeviceKeepsTheActivationsAsInstructionsOfTheirOwn) {
  const Program program =
      lower(fused("hard_activations", every_opcode(), npu::isa::kIsaVersion1_4));
  EXPECT_EQ(
      opcodes_of(program),
      (std::vector{Opcode::conv2d, Opcode::activation_param, Opcode::conv2d,
                   Opcode::activation_param, Opcode::conv2d, Opcode::activation_param, Opcode::gemm,
                   Opcode::activation_param, Opcode::gemm, Opcode::activation_param}));
  for (const Instruction& instruction : instructions_of(program)) {
    if (instruction.opcode != Opcode::activation_param) {
      EXPECT_EQ(act_of(instruction), 0U) << npu::isa::info(instruction.opcode).mnemonic;
    }
  }
  EXPECT_EQ(isa_version_of(program), npu::isa::kIsaVersion1_1);  // ACTIVATION_PARAM's
}

// PaddlePaddle's opset-9 export: Clip's bounds as attributes, hard-swish
// spelled out (x * Clip(x + 3, 0, 6) / 6).
TEST(OnnxLoweringV15, ClipAttributesAndSpelledOutHardSwishFuseToo) {
  const std::vector<Instruction> program = instructions_of(lower(fused("hard_activations_opset9")));
  ASSERT_EQ(program.size(), 2U);
  EXPECT_EQ(program[0].opcode, Opcode::conv2d);
  EXPECT_EQ(act_of(program[0]), kActRelu6);
  EXPECT_EQ(program[1].opcode, Opcode::conv2d);
  EXPECT_EQ(act_of(program[1]), kActHardSwish);
  EXPECT_EQ(
      opcodes_of(lower(fused("hard_activations_opset9", every_opcode(), npu::isa::kIsaVersion1_4))),
      (std::vector{Opcode::conv2d, Opcode::activation_param, Opcode::conv2d,
                   Opcode::activation_param}));
}

// ---- ISA v1.5: HardSigmoid of other alpha and beta folded into the product ----
// (make_test_models.py, hard_sigmoid_affine)

// The node of `graph` that writes `value`.
const Node& writer_of(const Graph& graph, const std::string& value) {
  const auto it = std::ranges::find_if(
      graph.nodes, [&](const Node& node) { return node.outputs.at(0) == value; });
  if (it == graph.nodes.end()) {
    throw std::runtime_error("no node writes " + value);
  }
  return *it;
}

// `got` is scale * want + shift, element by element, as the fold computes
// it: in double, rounded once.
void expect_affine(const Constant& got, const std::vector<float>& want, double scale, double shift,
                   const std::string& what) {
  ASSERT_EQ(got.floats.size(), want.size()) << what;
  for (std::size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got.floats[i], static_cast<float>(scale * want[i] + shift)) << what << " " << i;
  }
}

// The HardSigmoid's function clamp(alpha*x + beta, 0, 1) is v1.5's
// clamp(z/6 + 1/2, 0, 1) of z = 6*alpha*x + 6*(beta - 1/2): the product's
// weights times 6*alpha, its bias 6*alpha*b + 6*(beta - 1/2).
TEST(OnnxFusionV15, HardSigmoidOfAnyAlphaAndBetaJoinsTheProductBeforeIt) {
  const Graph original = import("hard_sigmoid_affine");
  const Graph graph = fused("hard_sigmoid_affine");
  auto floats = [&](const std::string& name) { return original.constants.at(name).floats; };
  auto weights = [&](const Node& node) -> const Constant& {
    return graph.constants.at(node.inputs.at(1));
  };
  auto bias = [&](const Node& node) -> const Constant& {
    return graph.constants.at(node.inputs.at(2));
  };
  struct Folded {
    std::string output, op, w;
    std::optional<std::string> b;  // none: the product had no bias
    std::vector<float> b_zero;     // its output channels' zeros, then
    double alpha, beta;
  };
  const std::vector<Folded> folds{
      // Squeeze-excitation as PaddleOCR's v2.0 models have it: ONNX's
      // default alpha 0.2 and beta 0.5.
      {"g", "Conv", "se_w2", "se_b2", {}, 0.2F, 0.5F},
      {"h3", "Conv", "w3", std::nullopt, std::vector<float>(4), -0.3F, 0.6F},
      {"ht", "ConvTranspose", "wt", "bt", {}, 0.5F, 0.25F},
      {"h4", "Conv", "w4", "b4", {}, 0.2F, 0.5F},
      {"h7", "MatMul", "m7", std::nullopt, std::vector<float>(8), 0.25F, 0.4F}};
  for (const Folded& f : folds) {
    const Node& node = writer_of(graph, f.output);
    EXPECT_EQ(node.op, f.op) << f.output;
    EXPECT_EQ(node.get_string("activation", ""), "HardSigmoid") << f.output;
    expect_affine(weights(node), floats(f.w), 6 * f.alpha, 0.0, f.output + " weights");
    expect_affine(bias(node), f.b ? floats(*f.b) : f.b_zero, 6 * f.alpha, 6 * (f.beta - 0.5),
                  f.output + " bias");
  }
  // Gemm(alpha 0.5, beta 2, transB): B scaled, C becomes the bias
  // 6*0.2*(2*C), its beta 1; alpha and transB stay.
  const Node& gemm = writer_of(graph, "y");
  EXPECT_EQ(gemm.op, "Gemm");
  EXPECT_EQ(gemm.get_string("activation", ""), "HardSigmoid");
  expect_affine(weights(gemm), floats("gw"), 6.0 * 0.2F, 0.0, "gemm weights");
  std::vector<float> c = floats("gc");
  std::ranges::transform(c, c.begin(), [](float v) { return static_cast<float>(2.0 * v); });
  expect_affine(bias(gemm), c, 6.0 * 0.2F, 0.0, "gemm bias");
  EXPECT_EQ(gemm.get_float("beta", 0.0F), 1.0F);
  EXPECT_EQ(gemm.get_float("alpha", 0.0F), 0.5F);
  EXPECT_EQ(gemm.get_int("transB", 0), 1);

  // Every product's ACT is HARDSIGMOID but the one whose output has a
  // second reader; a second fold finds nothing to do.
  std::size_t fused_sigmoids = 0;
  for (const Instruction& instruction : instructions_of(lower(graph))) {
    const bool product = instruction.opcode == Opcode::conv2d ||
                         instruction.opcode == Opcode::conv_transpose ||
                         instruction.opcode == Opcode::gemm;
    fused_sigmoids += product && act_of(instruction) == kActHardSigmoid ? 1U : 0U;
  }
  EXPECT_EQ(fused_sigmoids, 6U);
  Graph again = graph;
  EXPECT_EQ(fold_hard_sigmoid_affine(again), 0U);
}

// c4 = Conv(ht, w4, b4) folds; c5 = Conv(e, w4, b4) reads the same
// initializers, which stay as they were: the fold writes new constants.
TEST(OnnxFusionV15, AFoldedHardSigmoidLeavesSharedWeightsAsTheyWere) {
  const Graph original = import("hard_sigmoid_affine");
  const Graph graph = fused("hard_sigmoid_affine");
  const Node& folded = writer_of(graph, "h4");
  EXPECT_NE(folded.inputs.at(1), "w4");
  EXPECT_NE(folded.inputs.at(2), "b4");
  const Node& shared = writer_of(graph, "c5");
  EXPECT_EQ(shared.inputs, (std::vector<std::string>{"e", "w4", "b4"}));
  EXPECT_FALSE(shared.has("activation"));
  EXPECT_EQ(graph.constants.at("w4").floats, original.constants.at("w4").floats);
  EXPECT_EQ(graph.constants.at("b4").floats, original.constants.at("b4").floats);
}

// c6 = Conv(a, w6) is read by the HardSigmoid and by an Add: its output
// must stay x, so the HardSigmoid stays ACTIVATION_PARAM's HARDSIGMOID
// (function 0) with alpha 0.2.
TEST(OnnxFusionV15, AHardSigmoidWhoseProductHasAnotherReaderStaysApart) {
  const Graph graph = fused("hard_sigmoid_affine");
  const Node& conv = writer_of(graph, "c6");
  EXPECT_EQ(conv.op, "Conv");
  EXPECT_FALSE(conv.has("activation"));
  EXPECT_EQ(conv.inputs, (std::vector<std::string>{"a", "w6"}));
  const Node& sigmoid = writer_of(graph, "h6");
  EXPECT_EQ(sigmoid.op, "HardSigmoid");
  EXPECT_EQ(sigmoid.get_float("alpha", 0.0F), 0.2F);
  std::vector<Instruction> params;
  for (const Instruction& instruction : instructions_of(lower(graph))) {
    if (instruction.opcode == Opcode::activation_param) {
      params.push_back(instruction);
    }
  }
  ASSERT_EQ(params.size(), 1U);
  EXPECT_EQ(params[0].flags, 0U);  // HARDSIGMOID
  EXPECT_EQ(float_value(params[0], 3), 0.2F);
  EXPECT_EQ(float_value(params[0], 4), 0.5F);
}

// Conv(x, w, b) -> c -> HardSigmoid(alpha, beta) -> y, by hand.
Graph conv_hard_sigmoid(float alpha, float beta) {
  Graph graph;
  graph.inputs = {"x"};
  graph.outputs = {"y"};
  graph.constants["w"] = Constant::of_floats({2, 1, 1, 1}, {1.0F, -3.0F});
  graph.constants["b"] = Constant::of_floats({2}, {0.5F, 2.0F});
  graph.nodes = {Node{"Conv", "conv", {"x", "w", "b"}, {"c"}, {}},
                 Node{"HardSigmoid", "hs", {"c"}, {"y"}, {{"alpha", alpha}, {"beta", beta}}}};
  return graph;
}

TEST(OnnxFusionV15, HardSigmoidFoldOfZeroSlopeIsItsConstant) {
  // Weights 0, bias 6*(beta - 1/2): HARDSIGMOID gives clamp(beta, 0, 1).
  Graph graph = conv_hard_sigmoid(0.0F, 0.75F);
  EXPECT_EQ(fold_hard_sigmoid_affine(graph), 1U);
  const Node& conv = graph.nodes.at(0);
  EXPECT_EQ(graph.constants.at(conv.inputs.at(1)).floats, (std::vector<float>{0.0F, 0.0F}));
  EXPECT_EQ(graph.constants.at(conv.inputs.at(2)).floats, (std::vector<float>{1.5F, 1.5F}));
}

TEST(OnnxFusionV15, HardSigmoidFoldIsNotDoneWhereItCannotBeExact) {
  // A slope whose weights would overflow FP32, one that is not finite, and
  // a product that is a graph output too: the graph stays as it was.
  for (const float alpha : {1e38F, std::numeric_limits<float>::quiet_NaN()}) {
    Graph graph = conv_hard_sigmoid(alpha, 0.5F);
    EXPECT_EQ(fold_hard_sigmoid_affine(graph), 0U) << alpha;
    EXPECT_EQ(graph.nodes.at(0).inputs, (std::vector<std::string>{"x", "w", "b"}));
  }
  Graph output = conv_hard_sigmoid(0.2F, 0.5F);
  output.outputs.push_back("c");
  EXPECT_EQ(fold_hard_sigmoid_affine(output), 0U);
  EXPECT_EQ(output.nodes.at(1).get_float("alpha", 0.0F), 0.2F);
}

TEST(OnnxFusionV15, AV14DeviceKeepsEveryHardSigmoidAsItIs) {
  const Graph original = import("hard_sigmoid_affine");
  const Graph graph = fused("hard_sigmoid_affine", every_opcode(), npu::isa::kIsaVersion1_4);
  EXPECT_EQ(count_op(graph, "HardSigmoid"), 7U);
  for (const char* w : {"se_w2", "w3", "wt", "w4", "m7", "gw"}) {
    EXPECT_EQ(graph.constants.at(w).floats, original.constants.at(w).floats) << w;
  }
  const Program program =
      lower(graph, npu::isa::DataType::fp32, every_opcode(), npu::isa::kIsaVersion1_4);
  EXPECT_EQ(std::ranges::count(opcodes_of(program), Opcode::activation_param), 7);
  Graph imported = original;
  EXPECT_EQ(fold_hard_sigmoid_affine(imported, npu::isa::kIsaVersion1_4), 0U);
  EXPECT_EQ(fold_hard_sigmoid_affine(imported), 6U);
}

// ---- ISA v1.5 lowerings (hw-spec 7.4.5) ------------------------------------

// The ops lower() refuses for a device of ISA v1.4 (every opcode, no v1.5
// flag value), each with its reason.
std::map<std::string, std::string> refused_on_v14(const Graph& graph) {
  std::map<std::string, std::string> refused;
  try {
    lower(graph, npu::isa::DataType::fp32, every_opcode(), npu::isa::kIsaVersion1_4);
  } catch (const UnsupportedOperators& e) {
    for (const auto& entry : e.entries()) {
      refused[entry.op] = entry.reason;
    }
  }
  return refused;
}

constexpr std::uint32_t kFuncLog = 7, kFuncSoftplus = 8, kFuncMish = 9, kFuncGeluTanh = 10,
                        kFuncAbs = 11, kFuncRound = 12, kFuncExp = 4, kFuncClip = 2;

// The ACTIVATION_PARAM functions of a program, in order.
std::vector<std::uint32_t> functions_of(const Program& program) {
  std::vector<std::uint32_t> functions;
  for (const Instruction& i : instructions_of(program)) {
    if (i.opcode == Opcode::activation_param) {
      functions.push_back(i.flags);
      EXPECT_EQ(float_value(i, 3), 0.0F);  // v1.5's take no parameter; EXP neither
      EXPECT_EQ(float_value(i, 4), 0.0F);
    }
  }
  return functions;
}

TEST(OnnxLoweringV15, LogSoftmaxIsSoftmaxWithTheLogFlagOnAnyAxis) {
  const std::vector<Instruction> lenet = instructions_of(lower(fused("lenet_log_softmax")));
  ASSERT_FALSE(lenet.empty());
  EXPECT_EQ(lenet.back().opcode, Opcode::softmax);
  EXPECT_EQ(lenet.back().flags, 1U);       // LOG
  EXPECT_EQ(value(lenet.back(), 2), 2U);   // rows: the batch
  EXPECT_EQ(value(lenet.back(), 3), 10U);  // cols: the classes
  const std::vector<Instruction> axis1 = instructions_of(lower(fused("log_softmax_axis1")));
  ASSERT_EQ(axis1.size(), 3U);
  EXPECT_EQ(axis1[0].opcode, Opcode::transpose);
  EXPECT_EQ(axis1[1].opcode, Opcode::softmax);
  EXPECT_EQ(axis1[1].flags, 1U);
  EXPECT_EQ(value(axis1[1], 3), 5U);
  EXPECT_EQ(axis1[2].opcode, Opcode::transpose);
  EXPECT_EQ(
      refused_on_v14(fused("lenet_log_softmax")),
      (std::map<std::string, std::string>{
          {"LogSoftmax", "needs ISA v1.5's SOFTMAX LOG (hw-spec 7.4.5); the device is v1.4"}}));
}

TEST(OnnxLoweringV15, LogSoftplusSoftsignRoundAbsAreActivationParamFunctions) {
  const Program program = lower(fused("log_family"));
  EXPECT_EQ(functions_of(program),
            (std::vector<std::uint32_t>{kFuncSoftplus, kFuncLog, kFuncAbs, kFuncRound, kFuncAbs}));
  // Softsign: ABS, ELTWISE add 1, ELTWISE div; the Sum: three ELTWISE adds.
  EXPECT_EQ(std::ranges::count(opcodes_of(program), Opcode::eltwise), 5);
  const std::map<std::string, std::string> refused = refused_on_v14(fused("log_family"));
  EXPECT_EQ(refused.size(), 4U);  // Abs has its v1 form, max(x, -x)
  EXPECT_EQ(refused.at("Log"),
            "needs ISA v1.5's ACTIVATION_PARAM LOG (hw-spec 7.4.5); the device is v1.4");
  EXPECT_EQ(refused.at("Softplus"),
            "needs ISA v1.5's ACTIVATION_PARAM SOFTPLUS (hw-spec 7.4.5); the device is v1.4");
  EXPECT_TRUE(refused.contains("Softsign"));
  EXPECT_TRUE(refused.contains("Round"));
}

TEST(OnnxLoweringV15, MishOpAndItsSpelledOutFormAreOneMish) {
  EXPECT_EQ(functions_of(lower(fused("mish_op"))), std::vector<std::uint32_t>{kFuncMish});
  const Graph spelled = fused("mish_spelled");
  ASSERT_EQ(spelled.nodes.size(), 1U);
  EXPECT_EQ(spelled.nodes[0].op, "Mish");
  EXPECT_EQ(spelled.nodes[0].outputs, std::vector<std::string>{"y"});
  EXPECT_EQ(functions_of(lower(spelled)), std::vector<std::uint32_t>{kFuncMish});
  EXPECT_TRUE(refused_on_v14(spelled).contains("Mish"));
}

TEST(OnnxLoweringV15, GeluTanhIsGeluTanhOnV15AndRefusedByNameBefore) {
  EXPECT_EQ(functions_of(lower(fused("gelu_tanh"))), std::vector<std::uint32_t>{kFuncGeluTanh});
  EXPECT_EQ(refused_on_v14(fused("gelu_tanh")),
            (std::map<std::string, std::string>{
                {"Gelu",
                 "needs ISA v1.5's ACTIVATION_PARAM GELU_TANH (approximate tanh; the v1.4 GELU is "
                 "the erf form) (hw-spec 7.4.5); the device is v1.4"}}));
}

TEST(OnnxLoweringV15, ReduceLogSumAndLogSumExpShiftedByTheMaximum) {
  EXPECT_EQ(
      opcodes_of(lower(fused("reduce_log_sum"))),
      (std::vector<Opcode>{Opcode::activation_param, Opcode::reduce, Opcode::activation_param}));
  EXPECT_EQ(functions_of(lower(fused("reduce_log_sum"))),
            (std::vector<std::uint32_t>{kFuncAbs, kFuncLog}));
  // max m; m clipped to the finite floats; x - m (m expanded along the
  // middle axis); e^; sum; ln; + m.
  const std::vector<Instruction> lse = instructions_of(lower(fused("reduce_log_sum_exp")));
  EXPECT_EQ(opcodes_of(lower(fused("reduce_log_sum_exp"))),
            (std::vector<Opcode>{Opcode::reduce, Opcode::activation_param, Opcode::copy_strided,
                                 Opcode::eltwise, Opcode::activation_param, Opcode::reduce,
                                 Opcode::activation_param, Opcode::eltwise}));
  ASSERT_EQ(lse.size(), 8U);
  EXPECT_EQ(lse[0].flags, 2U);  // REDUCE max
  EXPECT_EQ(lse[3].flags, 1U);  // ELTWISE sub
  EXPECT_EQ(lse[5].flags, 0U);  // REDUCE sum
  EXPECT_EQ(lse[1].flags, kFuncClip);
  EXPECT_EQ(lse[4].flags, kFuncExp);
  EXPECT_EQ(lse[6].flags, kFuncLog);
  EXPECT_TRUE(refused_on_v14(fused("reduce_log_sum_exp")).contains("ReduceLogSumExp"));
}

// A slice of only -inf has the maximum -inf, and x - max would be NaN: the
// maximum is clipped to the dtype's finite range first (a finite one is
// unchanged), so the slice gives ln(0) + m = -inf as onnxruntime.
TEST(OnnxLoweringV15, ReduceLogSumExpClipsTheMaximumToTheFiniteRange) {
  const std::pair<npu::isa::DataType, float> largest[] = {
      {npu::isa::DataType::fp32, std::numeric_limits<float>::max()},
      {npu::isa::DataType::fp16, 65504.0F},
      {npu::isa::DataType::bf16, std::bit_cast<float>(0x7F7F0000U)}};
  for (const auto& [dtype, bound] : largest) {
    const std::vector<Instruction> program =
        instructions_of(lower(fused("reduce_log_sum_exp_infinite"), dtype));
    ASSERT_GE(program.size(), 2U);
    EXPECT_EQ(program[1].opcode, Opcode::activation_param);
    EXPECT_EQ(program[1].flags, kFuncClip);
    EXPECT_EQ(float_value(program[1], 3), -bound);
    EXPECT_EQ(float_value(program[1], 4), bound);
  }
}

// Opset 18 moved the Reduce* operators' axes to an optional input (ReduceSum
// at 13); their schemas come from the runtime (libonnx 1.12 knows opset 17).
TEST(OnnxLoweringV15, Opset18ReduceAxesInputAndNoopWithEmptyAxes) {
  const Graph graph = fused("reduce_opset18");
  EXPECT_EQ(graph.shape("max"), (Shape{2, 1, 4}));
  EXPECT_EQ(graph.shape("min"), (Shape{2, 3}));
  EXPECT_EQ(graph.shape("mean"), (Shape{2, 1, 1}));
  EXPECT_EQ(graph.shape("sum"), (Shape{3, 4}));
  EXPECT_EQ(graph.shape("max_all"), (Shape{1, 1, 1}));
  EXPECT_EQ(graph.shape("lse_noop"), graph.shape("x"));
  EXPECT_EQ(graph.shape("mean_noop"), graph.shape("x"));
  const std::vector<Opcode> ops = opcodes_of(lower(graph));
  // max, min, mean, sum, max_all and ReduceLogSum one REDUCE each,
  // ReduceLogSumExp two; ACTIVATION_PARAM: Abs, ReduceLogSum's LOG,
  // ReduceLogSumExp's CLIP, EXP and LOG. The two noops are |x| copied to
  // their outputs.
  EXPECT_EQ(std::ranges::count(ops, Opcode::reduce), 8);
  EXPECT_EQ(std::ranges::count(ops, Opcode::activation_param), 5);
}

TEST(OnnxLoweringV15, Opset18ReduceAxesComputedAtRunTimeAreRefusedByName) {
  EXPECT_EQ(refusal(fused("reduce_axes_computed")),
            "ReduceMax: axes 'axes' computed at run time; only constant axes");
}

TEST(OnnxLoweringV11, ParameterisedActivationsAreOneInstructionEach) {
  const std::vector<Opcode> ops = opcodes_of(lower(fused("activations")));
  EXPECT_EQ(std::ranges::count(ops, Opcode::activation_param), 6);  // HardSigmoid .. Pow
  EXPECT_EQ(std::ranges::count(ops, Opcode::activation), 1);        // Relu
  EXPECT_EQ(std::ranges::count(ops, Opcode::eltwise), 5);           // the Adds
  EXPECT_EQ(ops.size(), 12U);
  try {
    lower(fused("activations", v1_0_opcodes()), npu::isa::DataType::fp32, v1_0_opcodes());
    FAIL() << "Sqrt, Exp, LeakyRelu and Pow 3 lowered to ISA v1";
  } catch (const UnsupportedOperators& e) {
    std::vector<std::string> refused;
    for (const auto& entry : e.entries()) {
      refused.push_back(entry.op);
      EXPECT_NE(entry.reason.find("ACTIVATION_PARAM"), std::string::npos) << entry.reason;
    }
    EXPECT_EQ(refused, (std::vector<std::string>{"Exp", "LeakyRelu", "Pow", "Sqrt"}));
  }
}

// One slope: LEAKY_RELU; a slope per channel or along the last axis:
// max(x, 0) + slope * min(x, 0), the slope constant (expanded on the host).
TEST(OnnxLoweringV11, PReluIsLeakyReluOrFourEltwises) {
  const std::vector<Opcode> ops = opcodes_of(lower(fused("prelu")));
  EXPECT_EQ(ops, (std::vector{Opcode::eltwise, Opcode::eltwise, Opcode::eltwise, Opcode::eltwise,
                              Opcode::activation_param, Opcode::eltwise, Opcode::eltwise,
                              Opcode::eltwise, Opcode::eltwise}));
}

// Tile: one COPY_STRIDED each (repeats as source stride 0; the values
// against onnxruntime in guest-onnx-models).
TEST(OnnxLoweringV11, TileIsOneStridedCopy) {
  const std::vector<Instruction> program = instructions_of(lower(fused("tile")));
  ASSERT_EQ(program.size(), 3U);  // Relu, two Tiles
  EXPECT_EQ(program[1].opcode, Opcode::copy_strided);
  EXPECT_EQ(program[2].opcode, Opcode::copy_strided);
}

// A copy of more axes than COPY_STRIDED's four is one copy per index of
// its shortest axis, each of four: the Tile of 2 x 3 x 4 x 5 by 2, 2, 2, 3
// moves eight axes (2^4 copies); the Expand of rank 6 moves six axes, five
// after merging (2 copies). Every copy writes its own part of the output.
TEST(OnnxLoweringV11, CopiesOfMoreThanFourAxesAreOneCopyPerIndexOfTheShortestAxis) {
  const std::vector<Instruction> program = instructions_of(lower(fused("high_rank_copies")));
  ASSERT_EQ(program.size(), 18U);
  std::set<std::uint32_t> targets;
  for (const Instruction& i : program) {
    EXPECT_EQ(i.opcode, Opcode::copy_strided);
    targets.insert(i.operands.at(0).word);  // operand 0: the destination's argument slot
  }
  EXPECT_EQ(targets.size(), 18U);
}

TEST(OnnxLoweringV11, ChannelBroadcastOfARuntimeTensorIsOneStridedCopyOrTwoTransposesOnV1) {
  // x 1 x 4 x 3 x 3 times s 1 x 4 x 1 x 1: s read 9 times per value into a
  // 4 x 9 block, then one ELTWISE with that block innermost.
  const std::vector<Instruction> program = instructions_of(lower(import("broadcast_channel")));
  ASSERT_EQ(program.size(), 2U);
  EXPECT_EQ(program[0].opcode, Opcode::copy_strided);
  const std::vector<std::uint32_t> want{1, 1, 4, 9, 0, 0, 1, 0, 0, 0, 9, 1};
  for (std::size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(value(program[0], 2 + i), want[i]) << "operand " << 2 + i;
  }
  EXPECT_EQ(program[1].opcode, Opcode::eltwise);
  EXPECT_EQ(
      opcodes_of(lower(import("broadcast_channel"), npu::isa::DataType::fp32, v1_0_opcodes())),
      (std::vector{Opcode::transpose, Opcode::eltwise, Opcode::transpose}));
}

TEST(OnnxLoweringV11, TransposeOfMiddleAxesIsOneStridedCopyOrTwoDeviceTransposesOnV1) {
  const std::vector<Instruction> program = instructions_of(lower(import("transpose_0213")));
  ASSERT_EQ(program.size(), 1U);
  EXPECT_EQ(program[0].opcode, Opcode::copy_strided);
  // 2 x 3 x 4 x 5 read as 2 x 4 x 3 x 5: sizes, source strides.
  const std::vector<std::uint32_t> want{2, 4, 3, 5, 60, 5, 20, 1};
  for (std::size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(value(program[0], 2 + i), want[i]) << "operand " << 2 + i;
  }
  EXPECT_EQ(opcodes_of(lower(import("transpose_0213"), npu::isa::DataType::fp32, v1_0_opcodes())),
            (std::vector{Opcode::transpose, Opcode::transpose}));
}

TEST(OnnxLoweringV11, BatchedMatMulIsOneGemmBatchedOrOneGemmPerMatrixOnV1) {
  const std::vector<Instruction> program = instructions_of(lower(import("matmul_batched")));
  ASSERT_EQ(program.size(), 2U);  // the transpose, the product
  const Instruction& gemm = program[1];
  EXPECT_EQ(gemm.opcode, Opcode::gemm_batched);
  // M N K lda ldb ldc, then batch and the strides of A, B, C (operand 10 is the scale).
  const std::vector<std::uint32_t> want{4, 4, 5, 5, 4, 4};
  for (std::size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(value(gemm, 4 + i), want[i]) << "operand " << 4 + i;
  }
  const std::vector<std::uint32_t> batch{6, 20, 20, 16};
  for (std::size_t i = 0; i < batch.size(); ++i) {
    EXPECT_EQ(value(gemm, 11 + i), batch[i]) << "operand " << 11 + i;
  }
  const std::vector<Opcode> v1 =
      opcodes_of(lower(import("matmul_batched"), npu::isa::DataType::fp32, v1_0_opcodes()));
  EXPECT_EQ(std::ranges::count(v1, Opcode::gemm), 6);
}

TEST(OnnxLoweringV11, MatMulBroadcastsBatchDimensionsAndOneDimensionalOperands) {
  const std::vector<Instruction> program = instructions_of(lower(import("matmul_broadcast")));
  // [2,1,3,4] x [3,4,5]: two GEMM_BATCHED of 3, A's stride 0; [3,3] x
  // [2,3,3,5]: one of 6, A's stride 0; [2,3,3,5] x [1,1,5,2]: B shared, one
  // GEMM of 18 rows; [3] x [2,3,3,2]: one of 6 rows of 1; [2,3,2] x [2]: one
  // GEMM of 6 rows, a column.
  ASSERT_EQ(program.size(), 6U);
  struct Want {
    Opcode opcode;
    std::vector<std::uint32_t> mnk;
    std::vector<std::uint32_t> batch_strides;  // batch, A, B, C
  };
  const std::vector<Want> want{{Opcode::gemm_batched, {3, 5, 4}, {3, 0, 20, 15}},
                               {Opcode::gemm_batched, {3, 5, 4}, {3, 0, 20, 15}},
                               {Opcode::gemm_batched, {3, 5, 3}, {6, 0, 15, 15}},
                               {Opcode::gemm, {18, 2, 5}, {}},
                               {Opcode::gemm_batched, {1, 2, 3}, {6, 0, 6, 2}},
                               {Opcode::gemm, {6, 1, 2}, {}}};
  for (std::size_t p = 0; p < want.size(); ++p) {
    SCOPED_TRACE(p);
    EXPECT_EQ(program[p].opcode, want[p].opcode);
    for (std::size_t i = 0; i < 3; ++i) {
      EXPECT_EQ(value(program[p], 4 + i), want[p].mnk[i]) << "operand " << 4 + i;
    }
    for (std::size_t i = 0; i < want[p].batch_strides.size(); ++i) {
      EXPECT_EQ(value(program[p], 11 + i), want[p].batch_strides[i]) << "operand " << 11 + i;
    }
  }
  // Two computed operands, B broadcast along the inner batch axis: two
  // GEMM_BATCHED of 3 (after the transpose and the mean).
  EXPECT_EQ(opcodes_of(lower(import("matmul_broadcast_computed"))),
            (std::vector{Opcode::copy_strided, Opcode::reduce, Opcode::gemm_batched,
                         Opcode::gemm_batched}));
  // ISA v1: one GEMM per matrix, 6 + 6 + 1 + 6 + 1.
  const std::vector<Opcode> v1 =
      opcodes_of(lower(import("matmul_broadcast"), npu::isa::DataType::fp32, v1_0_opcodes()));
  EXPECT_EQ(v1, std::vector<Opcode>(20, Opcode::gemm));
}

TEST(OnnxLoweringV11, SplitIsOneStridedCopyPerOutputExpandOneWithZeroStrides) {
  const std::vector<Instruction> program = instructions_of(lower(import("split_expand")));
  ASSERT_EQ(program.size(), 5U);  // three parts, the Expand, the Add
  // Sizes, then source and destination strides: 2 rows of the part's 4, 8
  // and 12 elements out of x's rows of 24.
  const std::vector<std::vector<std::uint32_t>> parts{{1, 1, 2, 4, 0, 0, 24, 1, 0, 0, 4, 1},
                                                      {1, 1, 2, 8, 0, 0, 24, 1, 0, 0, 8, 1},
                                                      {1, 1, 2, 12, 0, 0, 24, 1, 0, 0, 12, 1}};
  for (std::size_t p = 0; p < parts.size(); ++p) {
    EXPECT_EQ(program[p].opcode, Opcode::copy_strided);
    for (std::size_t i = 0; i < parts[p].size(); ++i) {
      EXPECT_EQ(value(program[p], 2 + i), parts[p][i]) << "part " << p << " operand " << 2 + i;
    }
  }
  // [2,1,4] to [3,2,2,4]: the new axis and the 1 read with stride 0.
  EXPECT_EQ(program[3].opcode, Opcode::copy_strided);
  const std::vector<std::uint32_t> expand{3, 2, 2, 4, 0, 4, 0, 1, 16, 8, 4, 1};
  for (std::size_t i = 0; i < expand.size(); ++i) {
    EXPECT_EQ(value(program[3], 2 + i), expand[i]) << "operand " << 2 + i;
  }
  EXPECT_EQ(program[4].opcode, Opcode::eltwise);
  try {
    lower(import("split_expand"), npu::isa::DataType::fp32, v1_0_opcodes());
    FAIL() << "lowered to ISA v1";
  } catch (const UnsupportedOperators& e) {
    ASSERT_EQ(e.entries().size(), 2U) << e.what();
    EXPECT_EQ(e.entries()[0].op, "Expand");
    EXPECT_EQ(e.entries()[1].op, "Split");
    EXPECT_EQ(e.entries()[1].reason,
              "needs the ISA v1.1 instruction COPY_STRIDED, which the device lacks");
  }
}

TEST(OnnxLoweringV11, PadIsAFillAndAStridedCopySoftmaxOnAnyAxisGoesThroughTransposes) {
  const std::vector<Instruction> program = instructions_of(lower(import("pad_softmax")));
  ASSERT_EQ(program.size(), 5U);
  // [1,2,3,4] padded (0,0,1,-1) before and (0,1,2,2) after: [1,3,6,5],
  // 90 elements of 0.5, then the kept 2 x 3 x 3 from x[0,0,0,1] to
  // y[0,0,1,0].
  EXPECT_EQ(program[0].opcode, Opcode::dma_fill);
  EXPECT_EQ(value(program[0], 1), 90U * 4);
  EXPECT_EQ(value(program[0], 2), std::bit_cast<std::uint32_t>(0.5F));
  EXPECT_EQ(program[1].opcode, Opcode::copy_strided);
  const std::vector<std::uint32_t> copy{1, 2, 3, 3, 0, 12, 4, 1, 0, 30, 5, 1};
  for (std::size_t i = 0; i < copy.size(); ++i) {
    EXPECT_EQ(value(program[1], 2 + i), copy[i]) << "operand " << 2 + i;
  }
  // Softmax along axis 1 of [1,3,6,5]: 30 rows of 3 between transposes.
  EXPECT_EQ(program[2].opcode, Opcode::transpose);
  EXPECT_EQ(program[3].opcode, Opcode::softmax);
  EXPECT_EQ(value(program[3], 2), 30U);
  EXPECT_EQ(value(program[3], 3), 3U);
  EXPECT_EQ(program[4].opcode, Opcode::transpose);
  // In FP16 the fill pattern is the value's 16 bits twice.
  const std::vector<Instruction> fp16 =
      instructions_of(lower(import("pad_softmax"), npu::isa::DataType::fp16));
  EXPECT_EQ(value(fp16[0], 1), 90U * 2);
  EXPECT_EQ(value(fp16[0], 2), 0x38003800U);
}

TEST(OnnxLoweringV11, ConvPaddedUnequallyCopiesItsInputIntoAPaddedTensorFirst) {
  const std::vector<Instruction> program = instructions_of(lower(import("conv_asymmetric")));
  ASSERT_EQ(program.size(), 6U);
  // pads H 0/1, W 1/2: W's 1 stays CONV2D's, the other row and column go
  // into a zero-filled 8 x 9 copy of the 7 x 8 input.
  EXPECT_EQ(program[0].opcode, Opcode::dma_fill);
  EXPECT_EQ(value(program[0], 1), 2U * 8 * 9 * 4);
  EXPECT_EQ(value(program[0], 2), 0U);
  EXPECT_EQ(program[1].opcode, Opcode::copy_strided);
  const std::vector<std::uint32_t> copy{1, 2, 7, 8, 0, 56, 8, 1, 0, 72, 9, 1};
  for (std::size_t i = 0; i < copy.size(); ++i) {
    EXPECT_EQ(value(program[1], 2 + i), copy[i]) << "operand " << 2 + i;
  }
  // CONV2D: H W, then the pads (operands 6, 7, 13, 14).
  EXPECT_EQ(program[2].opcode, Opcode::conv2d);
  EXPECT_EQ((std::vector{value(program[2], 6), value(program[2], 7), value(program[2], 13),
                         value(program[2], 14)}),
            (std::vector<std::uint32_t>{8, 9, 0, 1}));
  // SAME_UPPER, stride 2 x 1 on 3 x 5 with a 2 x 3 window: H pads 0/1 (the
  // odd total's extra at the end), W 1/1: a 4 x 5 copy, CONV2D pads 0 and 1.
  EXPECT_EQ(program[3].opcode, Opcode::dma_fill);
  EXPECT_EQ(value(program[3], 1), 3U * 4 * 5 * 4);
  const std::vector<std::uint32_t> copy2{1, 1, 3, 15, 0, 0, 15, 1, 0, 0, 20, 1};
  for (std::size_t i = 0; i < copy2.size(); ++i) {
    EXPECT_EQ(value(program[4], 2 + i), copy2[i]) << "operand " << 2 + i;
  }
  EXPECT_EQ((std::vector{value(program[5], 6), value(program[5], 7), value(program[5], 13),
                         value(program[5], 14)}),
            (std::vector<std::uint32_t>{4, 5, 0, 1}));
  // The INT8 rewrite leaves such convolutions in FP32.
  EXPECT_TRUE(quantizable_nodes(fused("conv_asymmetric")).empty());
}

TEST(OnnxLoweringV11, ConcatIsOneStridedCopyPerInputSliceWithStepsOne) {
  const std::vector<Instruction> program = instructions_of(lower(fused("concat_slice")));
  ASSERT_EQ(program.size(), 4U);
  for (const Instruction& i : program) {
    EXPECT_EQ(i.opcode, Opcode::copy_strided);
  }
  // The slice [:, 1:300:3, 0:6:2, 1:4:2] of 2 x 300 x 6 x 4: the two outer
  // axes merge (7200 = 100 x 72 elements); sizes, then source strides.
  const std::vector<std::uint32_t> want{1, 200, 3, 2, 0, 72, 8, 2};
  for (std::size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(value(program[3], 2 + i), want[i]) << "operand " << 2 + i;
  }
  // ISA v1: 1,800 DMA copies are beyond the limit; steps need v1.1.
  try {
    lower(import("concat_slice"), npu::isa::DataType::fp32, v1_0_opcodes());
    FAIL() << "lowered to ISA v1";
  } catch (const UnsupportedOperators& e) {
    ASSERT_EQ(e.entries().size(), 2U) << e.what();
    EXPECT_NE(e.entries()[0].reason.find("1800 copies"), std::string::npos) << e.what();
    EXPECT_NE(e.entries()[1].reason.find("steps other than 1"), std::string::npos) << e.what();
  }
}

TEST(OnnxMalformed, FilesThatAreNotModelsAreRefusedClearly) {
  for (const char* name : {"empty", "garbage", "truncated", "does_not_exist"}) {
    try {
      npu::onnx::Model::load(model_path(name));
      ADD_FAILURE() << name << " loaded";
    } catch (const ModelError& e) {
      EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
    }
  }
}

TEST(OnnxUnsupported, AShapeKnownOnlyAtRunTimeIsRefusedWhereItIsMade) {
  // The Range is named before anything is lowered; the Mul after it, whose
  // input has no static shape, made the compile fail with "the shape of
  // 'ramp' is not known" before (ONNX's expanded window functions).
  EXPECT_EQ(refusal(fused("range_run_time_length")), "Range: on values only known at run time");
}

TEST(OnnxImport, ConstantNodesOfEveryNumericFormBecomeInitializers) {
  const Graph g = import("constant_attributes");
  ASSERT_TRUE(g.is_constant("s"));
  EXPECT_EQ(g.constants.at("s").shape, Shape{});
  EXPECT_EQ(g.constants.at("s").value(0), 2.5);
  EXPECT_EQ(g.constants.at("v").shape, Shape{4});
  EXPECT_EQ(g.constants.at("v").value(3), 4.0);
  EXPECT_EQ(g.constants.at("shape").integers(), (std::vector<std::int64_t>{4, 2}));
  EXPECT_EQ(g.constants.at("one").integers(), std::vector<std::int64_t>{1});
  EXPECT_EQ(g.shape("g"), Shape{2});
}

// Models that crashed the compiler or libonnx's shape inference, or made the
// compiler allocate gigabytes, before (tests/fuzz/model): each is refused,
// with what is wrong.
TEST(OnnxMalformed, HostileModelsAreRefusedNotCrashedOn) {
  const std::map<std::string, std::string> expected{
      {"hostile_conv_rank", "weight has rank 4, the input 3"},
      {"hostile_gemm_scalar", "input 1 has rank 0"},
      {"hostile_short_raw_data", "has 63 bytes of data for shape [8]"},
      {"hostile_tensor_without_data", "tensor 'zero' has 0 values for shape [], which needs 1"},
      {"hostile_short_typed_data", "tensor 'pads' has 7 values for shape [8], which needs 8"},
      {"hostile_empty_huge_gather", "value 'q': shape [0x3x4611686018427387904x6]"},
      {"hostile_duplicate_input", "input 'x' is defined twice"},
      {"hostile_conv_without_output", "Conv ''"},
      {"hostile_opset_zero", "no such operator in version 0"},
      {"hostile_huge_pad", "too large"},
      {"hostile_conv_zero_stride", "attribute strides has the value 0"},
      {"hostile_huge_range", "more than the 16777216 allowed"},
      {"hostile_fold_chain", "exceeds the model's budget of 16777216 elements"},
      {"hostile_neg_int64_min", "Neg of -9223372036854775808 is beyond the 64-bit integers"},
      {"hostile_constant_string",
       "Constant '': attribute 'value_string' (strings and sparse tensors are not supported)"},
      {"hostile_if_condition_pair", "If '': its condition 'pair' holds 2 elements, not one"},
      {"hostile_if_branch_outputs",
       "If '': its then_branch has 0 inputs and 2 outputs; an If's branch has none and 1"},
  };
  for (const auto& [name, message] : expected) {
    try {
      import(name);
      ADD_FAILURE() << name << " was imported";
    } catch (const ModelError& e) {
      EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << name << ": " << e.what();
    }
  }
}

// Models the compiler lowered only by reading past a shape or allocating
// 64 GiB (tests/fuzz/model, stop 20): each is refused by name.
TEST(OnnxMalformed, HostileModelsAreRefusedWhenLowered) {
  EXPECT_EQ(refusal(fused("hostile_conv_transpose_rank_2_output")),
            "ConvTranspose: only 1-D and 2-D convolutions (NCL, NCHW)");
  EXPECT_EQ(refusal(fused("hostile_nan_gather_index")),
            "Gather: malformed node (constant value nan is not a 64-bit integer)");
  EXPECT_EQ(refusal(fused("hostile_reshape_count")),
            "Reshape: 'f' of shape [1x4x4294967321] cannot be 'x' of shape [1x4x5x5] "
            "reinterpreted");
  try {
    lower(fused("hostile_huge_broadcast"));
    ADD_FAILURE() << "lowered";
  } catch (const UnsupportedOperators& e) {
    // The BN's Mul and Add: their constants are expanded on the device (not
    // on the host, beyond 64 MiB), by copies of 32-bit strides.
    EXPECT_NE(std::string(e.what()).find("stride 4294967321 does not fit the ISA's 32-bit operand"),
              std::string::npos)
        << e.what();
  }
}

// An If whose condition folds to a constant (the input's channel count is
// 3) is the branch it takes: its Relu and the If inside it, whose constant
// condition keeps the Mul by the branch's own 2; the else branch (a Neg of
// the same value names) and the Sigmoid are gone.
TEST(OnnxIf, ConstantConditionsSpliceTheBranchTheyTake) {
  const Graph graph = import("if_constant");
  std::vector<std::string> ops;
  for (const Node& n : graph.nodes) {
    ops.push_back(n.op);
  }
  EXPECT_EQ(ops, (std::vector<std::string>{"Relu", "Mul", "Identity", "Identity", "Add"}));
  EXPECT_EQ(graph.shape("y"), (Shape{1, 3, 4, 4}));
  EXPECT_EQ(opcodes_of(lower(fused("if_constant"))),
            (std::vector<npu::isa::Opcode>{npu::isa::Opcode::activation, npu::isa::Opcode::eltwise,
                                           npu::isa::Opcode::eltwise}));
}

TEST(OnnxIf, AConditionKnownOnlyAtRunTimeIsRefusedByName) {
  EXPECT_EQ(refusal(fused("if_runtime")),
            "If: its condition 'flag' is known only at run time; an If whose condition folds to "
            "a constant (a test of a static shape) runs the branch it takes");
}

TEST(OnnxMalformed, UndefinedValueIsNamed) {
  try {
    import("undefined_input");
    FAIL() << "a node reading an undefined value was accepted";
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("nowhere"), std::string::npos) << e.what();
  }
}

}  // namespace

namespace {

TEST(OnnxElementCodec, Fp16AndBf16RoundToNearestEvenAndWidenExactly) {
  const std::vector<float> values{1.0F, -2.5F, 0.1F, 65504.0F, 1e6F, 1.0F + 1.0F / 256};
  const auto fp16 =
      decode_elements(encode_elements(values, npu::isa::DataType::fp16), npu::isa::DataType::fp16);
  EXPECT_EQ(fp16[0], 1.0F);
  EXPECT_EQ(fp16[1], -2.5F);
  EXPECT_NEAR(fp16[2], 0.1F, 1e-4F);
  EXPECT_EQ(fp16[3], 65504.0F);
  EXPECT_TRUE(std::isinf(fp16[4]));  // beyond FP16's range
  const auto bf16 =
      decode_elements(encode_elements(values, npu::isa::DataType::bf16), npu::isa::DataType::bf16);
  EXPECT_EQ(bf16[0], 1.0F);
  EXPECT_EQ(bf16[1], -2.5F);
  EXPECT_EQ(bf16[5], 1.0F);  // 1 + 2^-8 is a tie: rounds to the even 1.0
  EXPECT_NEAR(bf16[4], 1e6F, 1e6F / 128);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  EXPECT_TRUE(std::isnan(decode_elements(
      encode_elements(std::vector{nan}, npu::isa::DataType::bf16), npu::isa::DataType::bf16)[0]));
}

// A model's constants saturate where inputs overflow: the lowest FP32 of an
// attention mask stays finite in FP16 and BF16 (0 times it stays 0), and
// infinities and NaN stay what they are.
TEST(OnnxElementCodec, ConstantsSaturateToTheLargestFiniteValue) {
  using npu::isa::DataType;
  const float lowest = std::numeric_limits<float>::lowest();
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<float> values{lowest, 1e6F, -inf, 2.5F, 3.3999e38F};
  const auto fp16 =
      decode_elements(encode_constant_elements(values, DataType::fp16), DataType::fp16);
  EXPECT_EQ(fp16, (std::vector{-65504.0F, 65504.0F, -inf, 2.5F, 65504.0F}));
  const auto bf16 =
      decode_elements(encode_constant_elements(values, DataType::bf16), DataType::bf16);
  const float bf16_largest = std::bit_cast<float>(0x7f7f'0000U);
  EXPECT_EQ(bf16, (std::vector{-bf16_largest, 999424.0F, -inf, 2.5F, bf16_largest}));
  EXPECT_TRUE(
      std::isinf(decode_elements(encode_elements(values, DataType::bf16), DataType::bf16)[0]));
  EXPECT_EQ(encode_constant_elements(values, DataType::fp32),
            encode_elements(values, DataType::fp32));
  const std::vector<float> nan{std::numeric_limits<float>::quiet_NaN()};
  EXPECT_TRUE(std::isnan(
      decode_elements(encode_constant_elements(nan, DataType::fp16), DataType::fp16)[0]));
}

// The in-place forms write exactly the vector forms' bytes (a model's
// inputs and outputs go through them) and refuse a destination of another size.
TEST(OnnxElementCodec, InPlaceFormsMatchAndCheckTheirSizes) {
  using npu::isa::DataType;
  const std::vector<float> values{1.0F, -2.5F, 0.1F, 3e38F, -0.0F};
  for (const DataType dtype : {DataType::fp32, DataType::fp16, DataType::bf16}) {
    const std::vector<std::byte> bytes = encode_elements(values, dtype);
    std::vector<std::byte> in_place(bytes.size());
    encode_elements_into(values, dtype, in_place);
    EXPECT_EQ(in_place, bytes);
    std::vector<float> decoded(values.size());
    decode_elements_into(bytes, dtype, decoded);
    EXPECT_EQ(decoded, decode_elements(bytes, dtype));
    std::vector<std::byte> short_by_one(bytes.size() - 1);
    EXPECT_THROW(encode_elements_into(values, dtype, short_by_one), std::invalid_argument);
    std::vector<float> one_more(values.size() + 1);
    EXPECT_THROW(decode_elements_into(bytes, dtype, one_more), std::invalid_argument);
  }
  std::vector<std::byte> int8_out(values.size());
  EXPECT_THROW(encode_elements_into(values, DataType::int8, int8_out), std::invalid_argument);
}

// ---- ops of PyTorch's exports of torchvision and transformer models ----

std::vector<float> constant_floats(const Graph& graph, const std::string& name) {
  const Constant& c = graph.constants.at(name);
  std::vector<float> values;
  for (std::int64_t i = 0; i < c.size(); ++i) {
    values.push_back(static_cast<float>(c.value(i)));
  }
  return values;
}

TEST(OnnxFolding, RangeLessEqualWhereConstantOfShapeAndExpandFoldIntoConstants) {
  const Graph graph = import("fold_mask");
  ASSERT_EQ(graph.nodes.size(), 3U);  // x * mask * not-first + 0.5
  EXPECT_EQ(count_op(graph, "Mul"), 2U);
  EXPECT_EQ(count_op(graph, "Add"), 1U);
  // Where(Range(0, 6) < 3, 2, -1) expanded to [1, 4, 6].
  const std::vector<float> mask = constant_floats(graph, "me");
  ASSERT_EQ(mask.size(), 24U);
  for (std::size_t i = 0; i < mask.size(); ++i) {
    EXPECT_EQ(mask[i], i % 6 < 3 ? 2.0F : -1.0F) << i;
  }
  EXPECT_EQ(constant_floats(graph, "nef"), (std::vector<float>{0, 1, 1, 1, 1, 1}));
  EXPECT_EQ(graph.constants.at("nef").type, ElementType::float32);
  // The bool it was cast from, folded too, is released: no node reads it.
  EXPECT_EQ(graph.values.at("ne").type, ElementType::boolean);
  EXPECT_FALSE(graph.is_constant("ne"));
  EXPECT_EQ(constant_floats(graph, "half"), std::vector<float>(24, 0.5F));
}

TEST(OnnxFusion, BatchNormWithoutAConvIsADepthwiseConvOnNchwAndMulAddOtherwise) {
  const Graph graph = fused("batch_norm");
  ASSERT_EQ(graph.nodes.size(), 5U);  // Abs, Conv (+ Relu), Reshape, Mul, Add
  const Node& conv = graph.nodes[1];
  EXPECT_EQ(conv.op, "Conv");
  EXPECT_EQ(conv.get_int("group", 1), 4);
  EXPECT_EQ(conv.get_string("activation", ""), "Relu");
  EXPECT_EQ(graph.constants.at(conv.inputs[1]).shape, (Shape{4, 1, 1, 1}));
  EXPECT_EQ(graph.nodes[3].op, "Mul");
  EXPECT_EQ(graph.nodes[4].op, "Add");
  EXPECT_EQ(graph.constants.at(graph.nodes[3].inputs[1]).shape, (Shape{4, 1}));
  // scale = gamma / sqrt(var + eps), shift = beta - mean * scale.
  const Graph original = import("batch_norm");
  const std::vector<float> gamma = constant_floats(original, "n2_g");
  const std::vector<float> beta = constant_floats(original, "n2_b");
  const std::vector<float> mean = constant_floats(original, "n2_m");
  const std::vector<float> var = constant_floats(original, "n2_v");
  const std::vector<float> scale = constant_floats(graph, graph.nodes[3].inputs[1]);
  const std::vector<float> shift = constant_floats(graph, graph.nodes[4].inputs[1]);
  for (std::size_t k = 0; k < 4; ++k) {
    const double s = gamma[k] / std::sqrt(var[k] + 1e-3);
    EXPECT_NEAR(scale[k], s, 1e-6) << k;
    EXPECT_NEAR(shift[k], beta[k] - mean[k] * s, 1e-5) << k;
  }
  // Abs: ACTIVATION_PARAM ABS (v1.5); one CONV2D with ACT RELU; Mul and Add.
  const std::vector<Instruction> program = instructions_of(lower(graph));
  EXPECT_EQ(opcodes_of(lower(graph)), (std::vector{Opcode::activation_param, Opcode::conv2d,
                                                   Opcode::eltwise, Opcode::eltwise}));
  EXPECT_EQ(value(program[1], 17), 4U);          // groups
  EXPECT_EQ((program[1].flags >> 4) & 15U, 1U);  // ACT RELU
  // Before v1.5, Abs is ELTWISE mul by -1 and max.
  EXPECT_EQ(
      opcodes_of(lower(graph, npu::isa::DataType::fp32, every_opcode(), npu::isa::kIsaVersion1_4)),
      (std::vector{Opcode::eltwise, Opcode::eltwise, Opcode::conv2d, Opcode::eltwise,
                   Opcode::eltwise}));
}

TEST(OnnxLowering, NegReciprocalAndSumMeanMaxMinOfManyOperandsAreEltwiseChains) {
  const std::vector<Instruction> program = instructions_of(lower(fused("variadic")));
  // Neg 1, x*x 1, +1 1, Reciprocal 1, Sum of 4: 3, Mean of 3: 2 + 1/3,
  // Max of 3: 2, Min of 3: 2, the last Sum of 4: 3.
  ASSERT_EQ(program.size(), 17U);
  EXPECT_EQ(program[3].opcode, Opcode::activation_param);
  EXPECT_EQ(program[3].flags, 5U);  // POW
  EXPECT_EQ(float_value(program[3], 3), 1.0F);
  EXPECT_EQ(float_value(program[3], 4), -1.0F);
  for (std::size_t i = 4; i < program.size(); ++i) {
    EXPECT_EQ(program[i].opcode, Opcode::eltwise) << i;
  }
  EXPECT_EQ(refusal(fused("variadic"), v1_0_opcodes()),
            "Reciprocal: needs the ISA v1.1 instruction ACTIVATION_PARAM, which the device lacks");
}

TEST(OnnxLoweringV11, PadReflectAndEdgeAndGatherByConstantIndicesAreStridedCopies) {
  const std::vector<Instruction> program = instructions_of(lower(fused("pad_gather")));
  // reflect H 2/1, W 1/3: (1 + 3) x (1 + 4) runs; edge H 1/2, W 0/2: 3 x 2;
  // Gather of channels [2, 0, 2, 1]: one GATHER (v1.3) of channel rows by
  // constant indices; of row -2: one copy.
  ASSERT_EQ(program.size(), 20U + 6U + 1U + 1U);
  for (std::size_t i = 0; i < program.size(); ++i) {
    EXPECT_EQ(program[i].opcode, i == 26 ? Opcode::gather : Opcode::copy_strided) << i;
  }
  EXPECT_EQ(value(program[26], 3), 3U);        // rows: the channels
  EXPECT_EQ(value(program[26], 4), 11U * 12);  // a channel's elements
  EXPECT_EQ(value(program[26], 5), 4U);        // count
  // The first copy: x [1,3,5,6] into the middle of [1,3,8,10] (row 2, column 1).
  const std::vector<std::uint32_t> first{1, 3, 5, 6, 0, 30, 6, 1, 0, 80, 10, 1};
  for (std::size_t i = 0; i < first.size(); ++i) {
    EXPECT_EQ(value(program[0], 2 + i), first[i]) << "operand " << 2 + i;
  }
  // Edge padding: the third edge copy (H's begin row, W's middle) copies
  // row 0 of the reflected [1,3,8,10] into row 0 of [1,3,11,12].
  const Instruction& edge = program[22];
  const std::vector<std::uint32_t> edge_want{1, 1, 3, 10, 0, 0, 80, 1, 0, 0, 132, 1};
  for (std::size_t i = 0; i < edge_want.size(); ++i) {
    EXPECT_EQ(value(edge, 2 + i), edge_want[i]) << "operand " << 2 + i;
  }
  // Row -2 of the four gathered channels: 4 x 12 elements, 11 x 12 apart.
  const std::vector<std::uint32_t> row{1, 1, 4, 12, 0, 0, 132, 1, 0, 0, 12, 1};
  for (std::size_t i = 0; i < row.size(); ++i) {
    EXPECT_EQ(value(program.back(), 2 + i), row[i]) << "operand " << 2 + i;
  }
  // Edge padding's source stride 0 along W's end run (the second copy).
  EXPECT_EQ(value(program[21], 2 + 4 + 3), 0U);
  try {
    lower(fused("pad_gather"), npu::isa::DataType::fp32, v1_0_opcodes());
    FAIL() << "lowered for a v1.0 device";
  } catch (const UnsupportedOperators& e) {
    ASSERT_EQ(e.entries().size(), 2U);
    EXPECT_EQ(e.entries()[0].op, "Gather");
    EXPECT_EQ(e.entries()[0].reason,
              "needs the ISA v1.1 instruction COPY_STRIDED, which the device lacks");
    EXPECT_EQ(e.entries()[1].op, "Pad");
  }
}

// ---- ISA v1.3: GATHER by indices only known at run time ------------------

// The opcodes of instruction sets up to v1.2: a device without GATHER.
std::bitset<64> v1_2_opcodes() {
  std::bitset<64> ops;
  for (const npu::isa::OpcodeInfo& op : npu::isa::opcode_table()) {
    ops.set(static_cast<std::size_t>(op.opcode), op.isa_version <= npu::isa::kIsaVersion1_2);
  }
  return ops;
}

TEST(OnnxLoweringV13, EmbeddingByInt64IdsIsOneGatherOfTheTablesRows) {
  for (const npu::isa::DataType dtype : {npu::isa::DataType::fp32, npu::isa::DataType::bf16}) {
    const Program program = lower(fused("embedding"), dtype);
    EXPECT_EQ(program.integer_inputs.at("input_ids"), ElementType::int64);
    // The position embeddings (a Gather of constants) are folded.
    EXPECT_EQ(opcodes_of(program),
              (std::vector<Opcode>{Opcode::gather, Opcode::eltwise, Opcode::layernorm}));
    const Instruction gather = instructions_of(program).at(0);
    EXPECT_EQ(gather.dtype, dtype);
    EXPECT_EQ(gather.flags, 1U);           // INDEX_INT64
    EXPECT_EQ(value(gather, 3), 40U);      // rows: the vocabulary
    EXPECT_EQ(value(gather, 4), 16U);      // row elements
    EXPECT_EQ(value(gather, 5), 2U * 6U);  // one index per token
  }
}

TEST(OnnxLoweringV13, Int32IdsReshapedSelectRowsOfAComputedTable) {
  const Program program = lower(fused("gather_computed_table"));
  EXPECT_EQ(program.integer_inputs.at("flat_ids"), ElementType::int32);
  EXPECT_FALSE(program.integer_inputs.contains("x"));
  EXPECT_EQ(opcodes_of(program), (std::vector<Opcode>{Opcode::activation, Opcode::gather}));
  const Instruction gather = instructions_of(program).at(1);
  EXPECT_EQ(gather.flags, 0U);  // INT32 indices
  EXPECT_EQ(value(gather, 3), 10U);
  EXPECT_EQ(value(gather, 4), 4U);
  EXPECT_EQ(value(gather, 5), 6U);
  // The Reshape of the ids is an alias: GATHER reads the input's bytes.
  EXPECT_EQ(program.instructions.at(1).operands.at(1).tensor, "flat_ids");
}

TEST(OnnxLoweringV13, EncoderLayerWithAMaskLowersAndTheMaskIsCastOnTheDevice) {
  const Program program = lower(fused("embed_encoder"));
  EXPECT_EQ(program.integer_inputs.size(), 2U);
  const std::vector<Opcode> ops = opcodes_of(program);
  EXPECT_EQ(std::ranges::count(ops, Opcode::gather), 1);
  // Cast of the int64 mask: its low words, then INT32 -> FP32.
  const auto convert = std::ranges::find(ops, Opcode::convert);
  ASSERT_NE(convert, ops.end());
  ASSERT_NE(convert, ops.begin());
  EXPECT_EQ(*(convert - 1), Opcode::copy_strided);
  EXPECT_EQ(std::ranges::count(ops, Opcode::layernorm), 3);
  EXPECT_EQ(std::ranges::count(ops, Opcode::softmax), 1);
}

TEST(OnnxLoweringV13, RuntimeIndicesTheIsaCannotTakeAreRefusedByName) {
  EXPECT_EQ(refusal(fused("embedding"), v1_2_opcodes()),
            "Gather: needs the ISA v1.3 instruction GATHER, which the device lacks");
}

// ---- ISA v1.4: masks computed at run time (COMPARE, SELECT) -------------

std::bitset<64> v1_3_opcodes() {
  std::bitset<64> ops;
  for (const npu::isa::OpcodeInfo& op : npu::isa::opcode_table()) {
    ops.set(static_cast<std::size_t>(op.opcode), op.isa_version <= npu::isa::kIsaVersion1_3);
  }
  return ops;
}

TEST(OnnxLoweringV14, ComparisonsAreCompareWithTheBroadcastOperandAsB) {
  const Program program = lower(fused("mask_ops"));
  // The masks that are graph outputs are written as bool, one byte each.
  EXPECT_EQ(program.output_types.at("ge_swapped"), ElementType::boolean);
  EXPECT_EQ(program.output_types.at("nonzero"), ElementType::boolean);
  EXPECT_FALSE(program.output_types.contains("y"));
  std::vector<Instruction> compares;
  for (const Instruction& i : instructions_of(program)) {
    if (i.opcode == Opcode::compare) {
      compares.push_back(i);
    }
  }
  ASSERT_EQ(compares.size(), 8U);  // with Xor's NE
  // Less(x, row): row of 4 is b, read i mod 4.
  EXPECT_EQ(compares[0].flags, static_cast<std::uint32_t>(npu::CompareOp::lt));
  EXPECT_EQ(value(compares[0], 3), 24U);
  EXPECT_EQ(value(compares[0], 4), 4U);
  // GreaterOrEqual(row, x): the operands swapped, x <= row.
  EXPECT_EQ(compares[1].flags, static_cast<std::uint32_t>(npu::CompareOp::le));
  EXPECT_EQ(value(compares[1], 4), 4U);
  // Greater(x, 0.25): a scalar.
  EXPECT_EQ(compares[2].flags, static_cast<std::uint32_t>(npu::CompareOp::gt));
  EXPECT_EQ(value(compares[2], 4), 1U);
  // LessOrEqual(x, col[3, 1]): not a trailing block, expanded first.
  EXPECT_EQ(value(compares[3], 4), 24U);
  // Not and Equal of masks: bytes, INT8.
  EXPECT_EQ(compares[4].dtype, npu::isa::DataType::int8);
  EXPECT_EQ(compares[4].flags, static_cast<std::uint32_t>(npu::CompareOp::eq));
  EXPECT_EQ(value(compares[4], 4), 1U);
  EXPECT_EQ(compares[5].dtype, npu::isa::DataType::int8);
  // Cast(x, bool): x != 0.
  EXPECT_EQ(compares[6].flags, static_cast<std::uint32_t>(npu::CompareOp::ne));
  const std::vector<Opcode> ops = opcodes_of(program);
  EXPECT_EQ(std::ranges::count(ops, Opcode::select), 3);
  // And and Or: ELTWISE min and max of the mask bytes.
  std::vector<Instruction> logical;
  for (const Instruction& i : instructions_of(program)) {
    if (i.opcode == Opcode::eltwise && i.dtype == npu::isa::DataType::int8) {
      logical.push_back(i);
    }
  }
  ASSERT_EQ(logical.size(), 2U);
  EXPECT_EQ(logical[0].flags, static_cast<std::uint32_t>(npu::EltwiseOp::min));
  EXPECT_EQ(logical[1].flags, static_cast<std::uint32_t>(npu::EltwiseOp::max));
  EXPECT_EQ(std::ranges::count(ops, Opcode::convert), 1);  // Cast(mask, float)
}

TEST(OnnxLoweringV14, HuggingFaceMaskIsExpandedAsIntegersThenSelectedExactly) {
  const Program program = lower(fused("hf_mask_encoder"));
  EXPECT_EQ(program.narrowed_inputs.at("attention_mask"), "Cast (output 'expanded_f')");
  EXPECT_EQ(program.output_types.at("padding"), ElementType::boolean);
  EXPECT_EQ(program.output_types.at("m3"), ElementType::int64);
  const std::vector<Instruction> instructions = instructions_of(program);
  const auto select = std::ranges::find(instructions, Opcode::select, &Instruction::opcode);
  ASSERT_NE(select, instructions.end());
  EXPECT_EQ(select->dtype, npu::isa::DataType::fp32);
  EXPECT_EQ(value(*select, 4), 64U);  // out: 1 x 1 x 8 x 8
  EXPECT_EQ(value(*select, 5), 64U);  // the condition, whole
  EXPECT_EQ(value(*select, 6), 1U);   // finfo.min, a scalar
  EXPECT_EQ(value(*select, 7), 64U);
  // Equal(attention_mask, 0): the mask's low words against an INT32 zero.
  const auto equal = std::ranges::find(instructions, Opcode::compare, &Instruction::opcode);
  ASSERT_NE(equal, instructions.end());
  EXPECT_EQ(std::ranges::count(instructions, Opcode::compare, &Instruction::opcode), 2);
  EXPECT_EQ(std::ranges::count(instructions, Opcode::gather, &Instruction::opcode), 1);
}

TEST(OnnxLoweringV14, MasksTheIsaCannotTakeAreRefusedByName) {
  // Where of integers: a SELECT of INT32 words (the int64 input's low
  // words), sign-extended into the int64 output (its high words by two
  // ELTWISE, then the low and the high words copied).
  EXPECT_EQ(opcodes_of(lower(fused("where_integers"))),
            (std::vector{Opcode::copy_strided, Opcode::compare, Opcode::select, Opcode::eltwise,
                         Opcode::eltwise, Opcode::copy_strided, Opcode::copy_strided}));
  // A float Cast to uint8 and read on: truncated to INT32 (CONVERT), wrapped
  // modulo 256 (seven ELTWISE INT32), converted back.
  EXPECT_EQ(opcodes_of(lower(fused("cast_to_uint8"))),
            (std::vector{Opcode::convert, Opcode::eltwise, Opcode::eltwise, Opcode::eltwise,
                         Opcode::eltwise, Opcode::eltwise, Opcode::eltwise, Opcode::eltwise,
                         Opcode::convert}));
  EXPECT_EQ(refusal(fused("compare_int_float")), "Less: compares int64 with float32");
  try {
    lower(fused("mask_ops"), npu::isa::DataType::fp32, v1_3_opcodes());
    ADD_FAILURE() << "lowered for a v1.3 device";
  } catch (const UnsupportedOperators& e) {
    EXPECT_NE(std::string(e.what()).find("needs the ISA v1.4 instruction COMPARE"),
              std::string::npos)
        << e.what();
  }
}

TEST(OnnxLoweringV11, MaxPoolCeilModeReadsACopyExtendedByMinusInfinity) {
  const std::vector<Instruction> program = instructions_of(lower(fused("maxpool_ceil")));
  ASSERT_EQ(program.size(), 3U);
  // 8 x 8, 3 x 3 windows, stride 2, ceil_mode: 4 x 4 outputs read 9 x 9.
  EXPECT_EQ(program[0].opcode, Opcode::dma_fill);
  EXPECT_EQ(value(program[0], 1), 2U * 9 * 9 * 4);
  EXPECT_EQ(value(program[0], 2), std::bit_cast<std::uint32_t>(-INFINITY));
  EXPECT_EQ(program[1].opcode, Opcode::copy_strided);
  EXPECT_EQ(program[2].opcode, Opcode::pool2d);
  EXPECT_EQ(value(program[2], 4), 9U);
  EXPECT_EQ(value(program[2], 5), 9U);
}

TEST(OnnxLoweringV11, UpsampleAndResizeOfOpset10AreAsymmetricResizes) {
  const std::vector<Instruction> up = instructions_of(lower(fused("upsample_v9")));
  ASSERT_EQ(up.size(), 1U);
  EXPECT_EQ(up[0].flags, resize_flags(0, 1, 2));  // nearest, asymmetric, floor
  EXPECT_EQ(float_value(up[0], 8), 2.0F);
  EXPECT_EQ(float_value(up[0], 9), 3.0F);
  const std::vector<Instruction> v10 = instructions_of(lower(fused("resize_v10")));
  ASSERT_EQ(v10.size(), 2U);
  EXPECT_EQ(v10[0].flags, resize_flags(1, 1, 0));  // linear, asymmetric
  EXPECT_EQ(float_value(v10[0], 9), 2.5F);
  EXPECT_EQ(v10[1].flags, resize_flags(0, 1, 3));  // nearest shrinking: ceil
  EXPECT_EQ(float_value(v10[1], 8), 0.6F);
}

}  // namespace
