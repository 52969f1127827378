// Windows beyond 2-D NCHW with symmetric padding, on make_operator_models.py's
// graphs: 1-D convolutions and pooling lifted to a height of 1
// (window_lift.hpp), pooling padded unevenly or with ceil_mode averages,
// convolutions whose weights are computed in the graph, 3-D convolutions
// (make_volume_models.py) as one CONV2D over depth taps, and work beyond
// the device's 64 MiB operand (convolutions in bands, copies in pieces).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "test_graphs.hpp"

namespace {

using namespace npu::onnx_runtime;
using npu::isa::Instruction;
using npu::isa::Opcode;

constexpr std::uint32_t kPoolMax = 0, kPoolAverageWithPadding = 2, kEltwiseMul = 2;

std::vector<Instruction> of_opcode(const std::vector<Instruction>& program, Opcode opcode) {
  std::vector<Instruction> found;
  std::ranges::copy_if(program, std::back_inserter(found),
                       [opcode](const Instruction& i) { return i.opcode == opcode; });
  return found;
}

TEST(OnnxWindows, OneDimensionalConvAndPoolingAreTwoDimensionalOnesOfHeightOne) {
  const Graph graph = fused("window_1d");
  // BatchNormalization folded and Relu fused into the first Conv, as in 2-D.
  EXPECT_EQ(std::ranges::count_if(
                graph.nodes,
                [](const Node& n) { return n.op == "BatchNormalization" || n.op == "Relu"; }),
            0);
  for (const Node& n : graph.nodes) {
    if (n.op != "Reshape" && n.op != "GlobalAveragePool") {
      EXPECT_EQ(graph.shape(n.inputs.at(0)).size(), 4U) << n.op;
    }
  }
  EXPECT_EQ(graph.shape("d"), (Shape{2, 6, 5}));
  const std::vector<Instruction> program = instructions_of(lower(graph));
  const std::vector<Instruction> convs = of_opcode(program, Opcode::conv2d);
  ASSERT_EQ(convs.size(), 2U);
  // x [2, 4, 19] as [2, 4, 1, 19]; kernel 1 x 3, stride 1 x 2, dilation
  // 1 x 2, pads [2, 1]: the smaller (1) by CONV2D, the other from a copy.
  EXPECT_EQ(value(convs[0], 6), 1U);   // H
  EXPECT_EQ(value(convs[0], 7), 20U);  // W: 19 and the one extra column
  EXPECT_EQ(value(convs[0], 9), 1U);   // R
  EXPECT_EQ(value(convs[0], 10), 3U);  // S
  EXPECT_EQ(value(convs[0], 12), 2U);  // stride_w
  EXPECT_EQ(value(convs[0], 14), 1U);  // pad_w
  EXPECT_EQ(value(convs[0], 16), 2U);  // dilation_w
  EXPECT_EQ(value(convs[1], 17), 6U);  // depthwise: groups
  EXPECT_EQ(of_opcode(program, Opcode::conv_transpose).size(), 1U);
  const std::vector<Instruction> pools = of_opcode(program, Opcode::pool2d);
  ASSERT_EQ(pools.size(), 3U);
  for (const Instruction& pool : pools) {
    EXPECT_EQ(value(pool, 4), 1U);  // H
    EXPECT_EQ(value(pool, 6), 1U);  // kernel_h
  }
  EXPECT_EQ(pools[0].flags, kPoolMax);
}

// MaxPool's Indices: the values' POOL2D, then the maxima spread over their
// windows, the covered elements copied (a ninth row no window covers),
// COMPARE, SELECT, negate, POOL2D, negate, CONVERT to INT32; the int64
// output widened (two ELTWISE, two copies). MaxUnpool: the indices' low
// words (the int64 output's) made floats, spread, COMPARE with the
// positions, the values spread, SELECT, the output zeroed and the covered
// part copied in.
TEST(OnnxWindows, MaxPoolIndicesAndMaxUnpoolOfTilingWindows) {
  using enum Opcode;
  EXPECT_EQ(opcodes_of(lower(fused("max_unpool"))),
            (std::vector{activation,   pool2d,   copy_strided, copy_strided, compare,
                         select,       eltwise,  pool2d,       eltwise,      convert,
                         eltwise,      eltwise,  copy_strided, copy_strided, eltwise,
                         copy_strided, convert,  copy_strided, compare,      copy_strided,
                         select,       dma_fill, copy_strided}));
}

TEST(OnnxWindows, MaxPoolIndicesOfOneDimensionStayRefusedByName) {
  EXPECT_EQ(refusal(fused("maxpool_1d_indices")),
            "MaxPool: the Indices output of a pooling that is not 2-D");
}

// Averages over a copy extended by zeros count every window element; ONNX
// divides by the elements inside the input (or the padded input): one
// ELTWISE mul by kernel size / that count per output position.
TEST(OnnxWindows, UnevenlyPaddedAveragesAreRescaledToOnnxsDivisors) {
  const std::vector<Instruction> program = instructions_of(lower(fused("pool_uneven")));
  const std::vector<Instruction> pools = of_opcode(program, Opcode::pool2d);
  ASSERT_EQ(pools.size(), 5U);
  // same_upper: 8 x 9 in, kernel 3 x 2, stride 2: 4 x 5 out, one pad at
  // the end of each axis, so no symmetric pad and a copy one larger.
  EXPECT_EQ(pools[0].flags, kPoolAverageWithPadding);
  EXPECT_EQ(value(pools[0], 4), 9U);   // H
  EXPECT_EQ(value(pools[0], 5), 10U);  // W
  EXPECT_EQ(value(pools[0], 10), 0U);  // pad_h
  EXPECT_EQ(pools[2].flags, kPoolMax);
  const std::vector<Instruction> muls = of_opcode(program, Opcode::eltwise);
  // same_upper, ceil, ceil_pad; same_lower with count_include_pad has no
  // window past the padded input, so nothing to rescale.
  ASSERT_EQ(muls.size(), 3U);
  for (const Instruction& mul : muls) {
    EXPECT_EQ(mul.flags, kEltwiseMul);
  }
  EXPECT_EQ(value(muls[0], 4), 4U * 5);  // one factor per output position
}

TEST(OnnxWindows, ConvolutionsReadWeightsAndBiasComputedInTheGraph) {
  const std::vector<Instruction> program = instructions_of(lower(fused("conv_computed_weights")));
  ASSERT_EQ(program.size(), 2U);
  EXPECT_EQ(program[0].opcode, Opcode::conv2d);
  EXPECT_EQ(program[1].opcode, Opcode::conv_transpose);
}

TEST(OnnxConv3d, DepthTapsStackedIntoChannelsMakeOneConv2d) {
  const std::vector<Instruction> ins = instructions_of(lower(fused("conv3d")));
  using enum Opcode;
  // padded: depth pads (fill, copy), the taps, CONV2D (bias, Relu), the
  // result to NCDHW; strided: no depth padding; grouped: depth padded 2/0.
  EXPECT_EQ(opcodes_of(lower(fused("conv3d"))),
            (std::vector{dma_fill, copy_strided, gather, conv2d, copy_strided, gather, conv2d,
                         copy_strided, dma_fill, copy_strided, gather, conv2d, copy_strided}));
  // padded: x [2, 2, 4, 5, 6], 3 x 3 x 3, pads 1: 2 images x 4 output
  // depths of 2 channels x 3 taps, each a 5 x 6 plane.
  EXPECT_EQ(value(ins[2], 3), 2U * 2 * 6);  // table rows: N x C x padded depth
  EXPECT_EQ(value(ins[2], 4), 30U);         // row_elems: H x W
  EXPECT_EQ(value(ins[2], 5), 2U * 4 * 2 * 3);
  const Instruction& conv = ins[3];
  EXPECT_EQ(conv.flags & 4U, 4U);         // BIAS
  EXPECT_EQ(conv.flags >> 4 & 0xfU, 1U);  // ACT RELU, fused
  const std::vector<std::uint32_t> nchw_krs{8, 6, 5, 6, 3, 3, 3};
  for (std::size_t i = 0; i < nchw_krs.size(); ++i) {
    EXPECT_EQ(value(conv, 4 + i), nchw_krs[i]) << "operand " << 4 + i;
  }
  // grouped: 2 groups over 2 x 2 stacked channels.
  EXPECT_EQ(value(ins[11], 17), 2U);
}

// H and W padded unevenly or SAME: the padded copy carries the
// difference between the sides, the CONV2D pads the smaller side.
TEST(OnnxConv3d, UnevenAndSamePaddingIsCarriedByThePaddedCopy) {
  using enum Opcode;
  const std::vector<Instruction> ins = instructions_of(lower(fused("conv3d_padding")));
  EXPECT_EQ(opcodes_of(lower(fused("conv3d_padding"))),
            (std::vector{dma_fill, copy_strided, gather, conv2d, copy_strided,  // uneven
                         dma_fill, copy_strided, gather, conv2d, copy_strided,  // SAME_UPPER
                         dma_fill, copy_strided, gather, conv2d, copy_strided}));
  // uneven: x [1, 2, 3, 5, 6], H pads 1/0, W 0/2: a copy 6 x 8, CONV2D pads 0.
  EXPECT_EQ(value(ins[3], 6), 6U);   // H
  EXPECT_EQ(value(ins[3], 7), 8U);   // W
  EXPECT_EQ(value(ins[3], 13), 0U);  // pad_h
  EXPECT_EQ(value(ins[3], 14), 0U);  // pad_w
  // SAME_UPPER, kernel 2, stride 2: D 3 -> 2 (one pad at the end), H 5 -> 3
  // (one at the end), W 6 -> 3 (none).
  EXPECT_EQ(value(ins[8], 4), 2U);  // N x output depths
  EXPECT_EQ(value(ins[8], 6), 6U);  // H padded
  EXPECT_EQ(value(ins[8], 7), 6U);  // W as it is
  // SAME_LOWER, kernel 3 x 2 x 3, stride 1: D and W padded 1/1 (W by the
  // CONV2D), H 1/0.
  EXPECT_EQ(value(ins[13], 6), 6U);   // H: 5 and the extra one in front
  EXPECT_EQ(value(ins[13], 7), 6U);   // W as it is
  EXPECT_EQ(value(ins[13], 14), 1U);  // pad_w
}

// Stacked taps beyond the device's 64 MiB operand: blocks of output
// depths, each a padded copy of the depths it reads, a GATHER, a CONV2D
// and a copy into its depths of the output; every CONV2D input within
// the operand.
TEST(OnnxConv3d, TapsBeyondTheOperandRunInBlocksOfOutputDepths) {
  using enum Opcode;
  const std::vector<Instruction> ins = instructions_of(lower(fused("conv3d_blocks")));
  EXPECT_EQ(opcodes_of(lower(fused("conv3d_blocks"))),
            (std::vector{dma_fill, copy_strided, gather, conv2d, copy_strided, dma_fill,
                         copy_strided, gather, conv2d, copy_strided}));
  for (const Instruction& conv : of_opcode(ins, conv2d)) {
    // x [1, 64, 32, 32, 32], kd 9: 16 output depths of 576 channels of
    // 32 x 32 (36 MiB; all 32 at once would be 72).
    EXPECT_EQ(value(conv, 4), 16U);      // N: output depths in the block
    EXPECT_EQ(value(conv, 5), 64U * 9);  // C: channels x depth taps
  }
}

constexpr double kOperandElements = 64.0 * 1024 * 1024 / 4;  // FP32

// A CONV2D's input and output elements and its multiply-adds per image.
struct ConvSize {
  double input, output, macs;
};
ConvSize conv_size(const Instruction& conv) {
  const auto v = [&conv](std::size_t operand) { return static_cast<double>(value(conv, operand)); };
  const auto out = [&](double in, double kernel, double stride, double pad, double dilation) {
    return std::floor((in + 2 * pad - dilation * (kernel - 1) - 1) / stride) + 1;
  };
  const double P = out(v(6), v(9), v(11), v(13), v(15)), Q = out(v(7), v(10), v(12), v(14), v(16));
  return {v(4) * v(5) * v(6) * v(7), v(4) * v(8) * P * Q,
          v(8) * P * Q * v(5) / v(17) * v(9) * v(10)};
}

// Elements a COPY_STRIDED stages: its source span, its destination span.
std::pair<double, double> copy_spans(const Instruction& copy) {
  double src = 1, dst = 1;
  for (std::size_t d = 0; d < 4; ++d) {
    const double size = value(copy, 2 + d);
    src += (size - 1) * value(copy, 6 + d);
    dst += (size - 1) * value(copy, 10 + d);
  }
  return {src, dst};
}

// Feature maps of 66 MiB: the first Conv (output beyond the operand) in
// two bands of 260 output rows, the second (input beyond it, W padded on
// one side) in two of 130; the activation and the binary operators over
// them in ranges, the MaxPool in runs of planes; no operand of any
// instruction beyond 64 MiB.
TEST(OnnxConvBands, FeatureMapsBeyondTheOperandRunInBandsOfRows) {
  using enum Opcode;
  const std::vector<Instruction> ins = instructions_of(lower(fused("conv_bands")));
  const std::vector<Instruction> convs = of_opcode(ins, conv2d);
  ASSERT_EQ(convs.size(), 4U);
  // H: the rows 260 output rows read, the top (bottom) pad among them.
  EXPECT_EQ(value(convs[0], 6), 259U + 3);
  EXPECT_EQ(value(convs[1], 6), 259U + 3);
  EXPECT_EQ(value(convs[0], 13), 0U);  // CONV2D pads no rows
  EXPECT_EQ(value(convs[2], 6), 129U * 2 + 3);
  EXPECT_EQ(value(convs[2], 7), 521U);  // W with its right pad
  EXPECT_EQ(value(convs[2], 14), 0U);   // which CONV2D does not pad
  for (const Instruction& conv : convs) {
    const ConvSize size = conv_size(conv);
    EXPECT_LE(size.input, kOperandElements);
    EXPECT_LE(size.output, kOperandElements);
  }
  for (const Instruction& copy : of_opcode(ins, copy_strided)) {
    const auto [src, dst] = copy_spans(copy);
    EXPECT_LE(src, kOperandElements);
    EXPECT_LE(dst, kOperandElements);
  }
  // Exp, then Sub and Mul (its 520 columns broadcast): two ranges each.
  const std::vector<Instruction> exps = of_opcode(ins, activation_param);
  const std::vector<Instruction> binary = of_opcode(ins, eltwise);
  ASSERT_EQ(exps.size(), 2U);
  ASSERT_EQ(binary.size(), 4U);
  EXPECT_EQ(value(exps[0], 2) + value(exps[1], 2), 64U * 520 * 520);
  for (const Instruction& op : binary) {
    EXPECT_LE(value(op, 3), kOperandElements);
  }
  EXPECT_EQ(value(binary[1], 4), value(binary[1], 3));  // Sub: b as long as a
  EXPECT_EQ(value(binary[3], 4), 520U);                 // Mul: the columns
  EXPECT_EQ(value(binary[2], 3) % 520, 0U);             // whole rows of them
  // MaxPool: 62 planes of 520 x 520 at a time (16.8M elements), then 2.
  const std::vector<Instruction> pools = of_opcode(ins, pool2d);
  ASSERT_EQ(pools.size(), 2U);
  EXPECT_EQ(value(pools[0], 3), 62U);
  EXPECT_EQ(value(pools[1], 3), 2U);
}

// 4.98e9 multiply-adds in one image, beyond CONV2D's 2^32: two bands.
TEST(OnnxConvBands, MultiplyAddsBeyondOneConvRunInBands) {
  const std::vector<Instruction> convs =
      of_opcode(instructions_of(lower(fused("conv_many_macs"))), Opcode::conv2d);
  ASSERT_EQ(convs.size(), 3U);  // two bands, then the 1x1 Conv whole
  EXPECT_LE(conv_size(convs[0]).macs, 0x1p32);
  EXPECT_LE(conv_size(convs[1]).macs, 0x1p32);
  EXPECT_EQ(value(convs[2], 6), 260U);
}

// Copies of 66 MiB (the operands of a broadcast sum expanded, a
// Transpose, a strided Slice): COPY_STRIDEDs of pieces that each stage at
// most 64 MiB (the axis that spans the most halved until it fits); the
// Softmax between them one SOFTMAX per range of whole rows.
TEST(OnnxCopyPieces, ACopyBeyondTheOperandIsSplitIntoPiecesThatFit) {
  const std::vector<Instruction> ins = instructions_of(lower(fused("copy_pieces")));
  const std::vector<Instruction> copies = of_opcode(ins, Opcode::copy_strided);
  EXPECT_GE(copies.size(), 6U);
  for (const Instruction& copy : copies) {
    const auto [src, dst] = copy_spans(copy);
    EXPECT_LE(src, kOperandElements);
    EXPECT_LE(dst, kOperandElements);
    EXPECT_LE(
        static_cast<double>(value(copy, 2)) * value(copy, 3) * value(copy, 4) * value(copy, 5),
        kOperandElements);
  }
  const std::vector<Instruction> softmaxes = of_opcode(ins, Opcode::softmax);
  ASSERT_EQ(softmaxes.size(), 2U);
  EXPECT_EQ(value(softmaxes[0], 3), 64U);  // cols: each row whole
  EXPECT_EQ(value(softmaxes[0], 2) + value(softmaxes[1], 2), 520U * 520);
}

// A broadcast operand longer than the operand (67 MB, repeated over two
// images): expanded to the output's shape by copies in pieces, then
// ELTWISEs of equal ranges of both.
TEST(OnnxCopyPieces, ABroadcastOperandBeyondTheOperandIsMadeWhole) {
  const std::vector<Instruction> ins = instructions_of(lower(fused("broadcast_beyond_operand")));
  const std::vector<Instruction> sums = of_opcode(ins, Opcode::eltwise);
  ASSERT_GE(sums.size(), 3U);
  double added = 0;
  for (const Instruction& sum : sums) {
    EXPECT_LE(value(sum, 3), kOperandElements);
    EXPECT_EQ(value(sum, 4), value(sum, 3));  // b as long as a
    added += value(sum, 3);
  }
  EXPECT_EQ(added, 2.0 * 4100 * 4100);
  for (const Instruction& copy : of_opcode(ins, Opcode::copy_strided)) {
    const auto [src, dst] = copy_spans(copy);
    EXPECT_LE(src, kOperandElements);
    EXPECT_LE(dst, kOperandElements);
  }
}

// A bilinear Resize to 66 MiB: one RESIZE per run of 62 planes (each of
// 520 x 520 out), as one image; the InstanceNormalization's LAYERNORM per
// range of 62 rows (planes); the 1x1 Conv reading it in bands.
TEST(OnnxPlaneRuns, ResizeBeyondTheOperandRunsOverRunsOfPlanes) {
  const std::vector<Instruction> ins = instructions_of(lower(fused("resize_planes")));
  const std::vector<Instruction> resizes = of_opcode(ins, Opcode::resize);
  ASSERT_EQ(resizes.size(), 2U);
  EXPECT_EQ(value(resizes[0], 2), 1U);   // N
  EXPECT_EQ(value(resizes[0], 3), 62U);  // C: planes
  EXPECT_EQ(value(resizes[1], 3), 2U);
  const std::vector<Instruction> norms = of_opcode(ins, Opcode::layernorm);
  ASSERT_EQ(norms.size(), 2U);
  EXPECT_EQ(value(norms[0], 4), 62U);  // rows
  EXPECT_EQ(value(norms[1], 4), 2U);
  EXPECT_EQ(value(norms[0], 5), 520U * 520);  // cols: a plane
  for (const Instruction& conv : of_opcode(ins, Opcode::conv2d)) {
    EXPECT_LE(conv_size(conv).input, kOperandElements);
    EXPECT_LE(conv_size(conv).output, kOperandElements);
  }
}

// A ConvTranspose to 64 x 520 x 520 (66 MiB): one CONV_TRANSPOSE per
// group of 62 output channels, then 2, each with its slice of the weights
// and bias; every copy within the operand.
TEST(OnnxPlaneRuns, ConvTransposeBeyondTheOperandRunsInGroupsOfOutputChannels) {
  const std::vector<Instruction> ins = instructions_of(lower(fused("conv_transpose_channels")));
  const std::vector<Instruction> parts = of_opcode(ins, Opcode::conv_transpose);
  ASSERT_EQ(parts.size(), 2U);
  EXPECT_EQ(value(parts[0], 8), 62U);  // K
  EXPECT_EQ(value(parts[1], 8), 2U);
  EXPECT_EQ(value(parts[0], 4), 1U);  // N
  for (const Instruction& copy : of_opcode(ins, Opcode::copy_strided)) {
    const auto [src, dst] = copy_spans(copy);
    EXPECT_LE(src, kOperandElements);
    EXPECT_LE(dst, kOperandElements);
  }
}

// Grouped ConvTransposes to 64 x 520 x 520: four groups of 16 channels,
// then depthwise; one CONV_TRANSPOSE per group (its 16 input channels,
// its 16 output channels fit the operand), each reading its channels of
// x and writing its own of the output.
TEST(OnnxConvTransposeParts, GroupedOnesBeyondTheOperandRunPerGroup) {
  const Program program = lower(fused("conv_transpose_groups"));
  const std::vector<Instruction> parts =
      of_opcode(instructions_of(program), Opcode::conv_transpose);
  ASSERT_EQ(parts.size(), 4U + 64U);
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const std::uint32_t channels = i < 4 ? 16U : 1U;
    EXPECT_EQ(value(parts[i], 5), channels) << i;  // C
    EXPECT_EQ(value(parts[i], 8), channels) << i;  // K
  }
  const DeviceInstruction& second = program.instructions.at(1);  // the second group
  EXPECT_EQ(second.operands.front().offset, 16U * 260 * 260 * 4);
  EXPECT_EQ(second.operands.back().offset, 16U * 520 * 520 * 4);
  const DeviceInstruction& last = program.instructions.at(67);  // depthwise, channel 63
  EXPECT_EQ(last.operands.front().offset, 63U * 260 * 260 * 4);
  EXPECT_EQ(last.operands.back().offset, 63U * 520 * 520 * 4);
}

// Reductions of a tensor of 66 MiB: ReduceMean of all of it, ReduceMax
// and ReduceSum over its 64 channels as partial REDUCEs of runs of rows
// and one of the partial rows (the mean as means of runs weighted by
// their share, summed); ReduceMean over each plane in two ranges of whole
// planes. No REDUCE reads more than the operand.
TEST(OnnxReduceRuns, ReductionsBeyondTheOperandRunInRangesAndPartialRows) {
  const std::vector<Instruction> ins = instructions_of(lower(fused("reduce_beyond_operand")));
  const std::vector<Instruction> reduces = of_opcode(ins, Opcode::reduce);
  ASSERT_EQ(reduces.size(), 11U);
  for (const Instruction& reduce : reduces) {
    EXPECT_LE(static_cast<double>(value(reduce, 2)) * value(reduce, 3) * value(reduce, 4),
              kOperandElements);
  }
  constexpr std::uint32_t kSum = 0, kMean = 1, kMax = 2;
  const auto block = [&](std::size_t i) {
    return std::vector<std::uint32_t>{reduces[i].flags, value(reduces[i], 2), value(reduces[i], 3),
                                      value(reduces[i], 4)};
  };
  const std::uint32_t plane = 520 * 520, operand = 16 << 20;
  // ReduceMean of all: means of 16,777,216 elements and of the rest, each
  // scaled by its share of the count (two ELTWISE muls), their sum.
  EXPECT_EQ(block(0), (std::vector<std::uint32_t>{kMean, 1, operand, 1}));
  EXPECT_EQ(block(1), (std::vector<std::uint32_t>{kMean, 1, 64 * plane - operand, 1}));
  EXPECT_EQ(block(2), (std::vector<std::uint32_t>{kSum, 1, 2, 1}));
  const std::vector<Instruction> shares = of_opcode(ins, Opcode::eltwise);
  ASSERT_EQ(shares.size(), 2U);
  for (const Instruction& share : shares) {
    EXPECT_EQ(share.flags, kEltwiseMul);
    EXPECT_EQ(value(share, 3), 1U);
  }
  // ReduceMean over planes: 62 planes, then 2.
  EXPECT_EQ(block(3), (std::vector<std::uint32_t>{kMean, 62, plane, 1}));
  EXPECT_EQ(block(4), (std::vector<std::uint32_t>{kMean, 2, plane, 1}));
  // ReduceMax over channels: 62 rows, 2 rows, then the two maxima.
  EXPECT_EQ(block(5), (std::vector<std::uint32_t>{kMax, 1, 62, plane}));
  EXPECT_EQ(block(6), (std::vector<std::uint32_t>{kMax, 1, 2, plane}));
  EXPECT_EQ(block(7), (std::vector<std::uint32_t>{kMax, 1, 2, plane}));
  // ReduceSum over channels likewise.
  EXPECT_EQ(block(8), (std::vector<std::uint32_t>{kSum, 1, 62, plane}));
  EXPECT_EQ(block(10), (std::vector<std::uint32_t>{kSum, 1, 2, plane}));
}

// A batched product whose A (3 x 2800 x 2048) exceeds the operand: one
// GEMM_BATCHED of the first two matrices (11.5M elements of A), then a
// GEMM of the third from its offset in A, B and C.
TEST(OnnxProductRows, BatchedProductsBeyondTheOperandRunInRunsOfMatrices) {
  const Program program = lower(fused("batched_matmul_beyond_operand"));
  const std::vector<Instruction> ins = instructions_of(program);
  const std::vector<Instruction> batched = of_opcode(ins, Opcode::gemm_batched);
  ASSERT_EQ(batched.size(), 1U);
  ASSERT_EQ(of_opcode(ins, Opcode::gemm).size(), 1U);
  EXPECT_EQ(value(batched[0], 11), 2U);  // batch
  const DeviceInstruction& third = program.instructions.at(1);
  EXPECT_EQ(third.operands.at(0).offset, 2U * 2800 * 2048 * 4);  // A
  EXPECT_EQ(third.operands.at(1).offset, 2U * 2048 * 8 * 4);     // B
  EXPECT_EQ(third.operands.back().offset, 2U * 2800 * 8 * 4);    // C
}

// 64 channels of 520 x 520 in a shuffled order: one GATHER of 62 rows
// (64 MiB out) and one of 2, each with its part of the index table, both
// reading the whole 66 MiB table (it is not staged).
TEST(OnnxGatherRanges, AGatherBeyondTheOperandRunsInRangesOfRows) {
  const Program program = lower(fused("gather_beyond_operand"));
  const std::vector<Instruction> gathers = of_opcode(instructions_of(program), Opcode::gather);
  ASSERT_EQ(gathers.size(), 2U);
  EXPECT_EQ(value(gathers[0], 5), 62U);  // count
  EXPECT_EQ(value(gathers[1], 5), 2U);
  for (const Instruction& gather : gathers) {
    EXPECT_EQ(value(gather, 3), 64U);         // table rows
    EXPECT_EQ(value(gather, 4), 520U * 520);  // row_elems
  }
  const DeviceInstruction& second = program.instructions.at(1);
  EXPECT_EQ(second.operands.at(0).offset, 0U);                   // the table
  EXPECT_EQ(second.operands.at(1).offset, 62U * 4);              // INT32 indices
  EXPECT_EQ(second.operands.at(2).offset, 62U * 520 * 520 * 4);  // out
}

// Products whose A (8400 x 2048) exceeds the operand: MatMul's GEMMs and
// Gemm's in ranges of 8192 rows (64 MiB of A) and 208, each reading its
// rows of A and writing its rows of the result, B and the bias whole.
TEST(OnnxProductRows, ProductsWhoseAExceedsTheOperandRunInRangesOfRows) {
  const Program program = lower(fused("matmul_rows"));
  const std::vector<Instruction> gemms = of_opcode(instructions_of(program), Opcode::gemm);
  ASSERT_EQ(gemms.size(), 4U);
  for (std::size_t i = 0; i < gemms.size(); ++i) {
    EXPECT_EQ(value(gemms[i], 4), i % 2 == 0 ? 8192U : 208U) << i;  // M
    EXPECT_EQ(value(gemms[i], 6), 2048U);                           // K
    EXPECT_LE(value(gemms[i], 4) * 2048.0, kOperandElements);
  }
  EXPECT_EQ(value(gemms[0], 5), 64U);  // N
  EXPECT_EQ(value(gemms[2], 5), 32U);
  // The second range of MatMul's: A and C from row 8192 on.
  const DeviceInstruction& second = program.instructions.at(1);
  EXPECT_EQ(second.operands.front().offset, 8192U * 2048 * 4);
  EXPECT_EQ(second.operands.back().offset, 8192U * 64 * 4);
}

// Products whose B (2048 x 8448, 69 MB) or transposed A exceeds the
// operand: the constant B stored K x N transposed once on the host for
// MatMul and Gemm, the computed h by COPY_STRIDEDs for MatMul's B and
// Gemm's transposed A; GEMMs of 8192 and 256 rows of each copy, none
// reading more than the operand, none of a transposed A.
TEST(OnnxProductRows, BsAndTransposedAsBeyondTheOperandReadTransposedCopies) {
  const Program program = lower(fused("products_beyond_operand"));
  const std::vector<Instruction> ins = instructions_of(program);
  const std::vector<Instruction> gemms = of_opcode(ins, Opcode::gemm);
  ASSERT_EQ(gemms.size(), 8U);
  for (std::size_t i = 0; i < gemms.size(); ++i) {
    const double m = value(gemms[i], 4), n = value(gemms[i], 5), k = value(gemms[i], 6);
    EXPECT_EQ(gemms[i].flags & 1U, 0U) << i;  // transposed A
    EXPECT_LE(std::max({m * k, n * k, m * n}), kOperandElements) << i;
  }
  for (std::size_t i = 0; i < 6; i += 2) {  // MatMul, Gemm, MatMul of h: blocks of B
    EXPECT_NE(gemms[i].flags & 2U, 0U) << i;
    EXPECT_EQ(value(gemms[i], 5), 8192U) << i;
    EXPECT_EQ(value(gemms[i + 1], 5), 256U) << i;
  }
  EXPECT_EQ(value(gemms[6], 4), 8192U);  // Gemm of h transposed: rows of the copy
  EXPECT_EQ(value(gemms[7], 4), 256U);
  EXPECT_EQ(std::ranges::count_if(program.weights,
                                  [](const auto& w) {
                                    return w.second.shape == Shape{8448, 2048};
                                  }),
            1);
  EXPECT_GE(of_opcode(ins, Opcode::copy_strided).size(), 4U);
  for (const Instruction& copy : of_opcode(ins, Opcode::copy_strided)) {
    const auto [src, dst] = copy_spans(copy);
    EXPECT_LE(src, kOperandElements);
    EXPECT_LE(dst, kOperandElements);
  }
}

// The mean of 69 million values in FP16 (138 MB): partial REDUCE means of
// two runs of 33,554,432 values and of the rest (a sum of a run of values
// near 3 would overflow FP16's 65,504), weighted by their share, summed.
TEST(OnnxReduceRuns, AMeanBeyondTheOperandInFp16SumsWeightedPartialMeans) {
  const std::vector<Instruction> reduces = of_opcode(
      instructions_of(lower(fused("reduce_mean_fp16"), npu::isa::DataType::fp16)), Opcode::reduce);
  ASSERT_EQ(reduces.size(), 4U);
  constexpr std::uint32_t kSum = 0, kMean = 1, run = 32 << 20;
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(reduces[i].flags, kMean) << i;
  }
  EXPECT_EQ(value(reduces[0], 3), run);
  EXPECT_EQ(value(reduces[2], 3), 64U * 1040 * 1040 - 2 * run);
  EXPECT_EQ(reduces[3].flags, kSum);
  EXPECT_EQ(value(reduces[3], 3), 3U);
}

// Masks of a tensor of 66 MiB: COMPAREs, SELECTs and CONVERTs in ranges
// whose operands each fit 64 MiB (the byte masks too), every range whole
// rows of the 520 broadcast thresholds, together covering the tensor.
TEST(OnnxMaskRanges, ComparisonsSelectsAndConversionsBeyondTheOperandRunInRanges) {
  const std::vector<Instruction> ins = instructions_of(lower(fused("masks_beyond_operand")));
  const double elements = 64.0 * 520 * 520;
  const auto covered = [&](Opcode opcode, std::uint32_t count_word) {
    const std::vector<Instruction> found = of_opcode(ins, opcode);
    double sum = 0;
    for (const Instruction& i : found) {
      EXPECT_LE(value(i, count_word), kOperandElements);
      sum += value(i, count_word);
    }
    return std::pair{found, sum};
  };
  const auto [compares, compared] = covered(Opcode::compare, 3);
  ASSERT_EQ(compares.size(), 4U);  // Greater, ThresholdedRelu's: two ranges each
  EXPECT_EQ(compared, 2 * elements);
  EXPECT_EQ(value(compares[0], 4), 520U);  // the thresholds, whole
  EXPECT_EQ(value(compares[0], 3) % 520, 0U);
  const auto [selects, selected] = covered(Opcode::select, 4);
  ASSERT_EQ(selects.size(), 4U);
  EXPECT_EQ(selected, 2 * elements);
  EXPECT_EQ(value(selects[0], 6), value(selects[0], 4));  // x, the range's own
  EXPECT_EQ(value(selects[0], 7), 1U);                    // the floor, whole
  const auto [converts, converted] = covered(Opcode::convert, 2);
  ASSERT_EQ(converts.size(), 2U);
  EXPECT_EQ(converted, elements);
}

// ConvTranspose of volumes: x to depth slices, the weights' depth taps to
// output channels, one CONV_TRANSPOSE, one product along depth, the
// result to NCDHW (one copy per image), then the bias and Relu.
TEST(OnnxConvTranspose3d, SlicesThenOneProductAlongDepth) {
  using enum Opcode;
  const std::vector<Instruction> ins = instructions_of(lower(fused("conv_transpose3d")));
  const std::vector<Opcode> opcodes = opcodes_of(lower(fused("conv_transpose3d")));
  ASSERT_GE(opcodes.size(), 9U);
  EXPECT_EQ(
      std::vector(opcodes.begin(), opcodes.begin() + 9),
      (std::vector{copy_strided, copy_strided, conv_transpose, gemm_batched, copy_strided,
                   copy_strided, copy_strided /* the bias along D, H, W */, eltwise, activation}));
  // up: x [2, 2, 3, 4, 5] as 6 slices [2, 4, 5]; kernel 2 x 2 x 2, stride 2:
  // 2 depth taps x 3 channels out, no bias in the instruction.
  const Instruction& ct = ins[2];
  EXPECT_EQ(value(ct, 4), 6U);      // N x D
  EXPECT_EQ(value(ct, 8), 2U * 3);  // kd x K
  EXPECT_EQ(ct.flags & 4U, 0U);     // no BIAS
  // The product: [6, 3·2] · [3·2, 3·8·10] per image.
  const Instruction& product = ins[3];
  EXPECT_EQ(value(product, 4), 6U);           // M: output depths
  EXPECT_EQ(value(product, 5), 3U * 8 * 10);  // N
  EXPECT_EQ(value(product, 6), 3U * 2);       // K: depth x taps
  EXPECT_EQ(value(product, 11), 2U);          // batch: images
}

TEST(OnnxConvTranspose3d, GroupsAreRefusedByName) {
  EXPECT_EQ(refusal(fused("conv_transpose3d_grouped")),
            "ConvTranspose: a grouped 3-D ConvTranspose");
}

// Dilated pooling: a padded copy, then per axis one COPY_STRIDED of the
// taps and one REDUCE; an average rescaled by one ELTWISE mul at the end.
TEST(OnnxPoolDilated, TapsPerAxisThenOneReduce) {
  using enum Opcode;
  const Graph graph = fused("pool_dilated");
  const std::vector<Instruction> ins = instructions_of(lower(graph));
  // max: pads [2, 1, 2, 2] on x [1, 2, 7, 8], kernel 3 x 3, dilation 2.
  const std::vector<Opcode> max{dma_fill, copy_strided, copy_strided, reduce, copy_strided, reduce};
  ASSERT_GE(ins.size(), max.size());
  for (std::size_t i = 0; i < max.size(); ++i) {
    EXPECT_EQ(ins[i].opcode, max[i]) << i;
  }
  // W first: 2 x 11 rows, 3 taps each, 7 outputs (11 - 4) per row.
  EXPECT_EQ(value(ins[3], 2), 2U * 11 * 7);  // outer: N x C x H x output columns
  EXPECT_EQ(value(ins[3], 3), 3U);           // length: the taps
  EXPECT_EQ(value(ins[3], 4), 1U);           // inner
  EXPECT_EQ(ins[3].flags, static_cast<std::uint32_t>(npu::ReduceOp::max));
  EXPECT_EQ(std::ranges::count(ins, eltwise, &Instruction::opcode), 2);  // the averages' divisors
  EXPECT_EQ(std::ranges::count(ins, pool2d, &Instruction::opcode), 0);
  // 3-D: three axes, one REDUCE each, for each of the two pools.
  const std::vector<Instruction> volume = instructions_of(lower(fused("pool3d_dilated")));
  EXPECT_EQ(std::ranges::count(volume, reduce, &Instruction::opcode), 6);
  EXPECT_EQ(std::ranges::count(volume, pool2d, &Instruction::opcode), 0);
}

// Indices of windows that overlap, pad or leave gaps: the taps side by side
// (two COPY_STRIDEDs, after a DMA_FILL and COPY_STRIDED padding x), the
// pooled values spread over them, COMPARE, SELECT of the taps' constant
// positions, two REDUCE min, CONVERT to INT32; column-major positions
// (storage_order 1) one GATHER more. A 1-D pooling's are refused by name
// (until 2026-12-07 every window that did not tile the input was).
TEST(OnnxPoolDilated, MaxPoolIndicesOfAnyWindowsAreTheFirstMaximum) {
  using enum Opcode;
  const std::vector<Instruction> ins = instructions_of(lower(fused("maxpool_indices_windows")));
  EXPECT_EQ(std::ranges::count(ins, reduce, &Instruction::opcode), 2 * 4 + 2);  // + dilated values
  EXPECT_EQ(std::ranges::count(ins, compare, &Instruction::opcode), 4);
  EXPECT_EQ(std::ranges::count(ins, select, &Instruction::opcode), 4);
  EXPECT_EQ(std::ranges::count(ins, convert, &Instruction::opcode), 4);
  EXPECT_EQ(std::ranges::count(ins, gather, &Instruction::opcode), 1);  // column-major
  EXPECT_EQ(refusal(fused("maxpool_indices")),
            "MaxPool: the Indices output of a pooling that is not 2-D");
}

TEST(OnnxPool3d, EachIsTwoPool2dsOverPlanesThenDepth) {
  const std::vector<Instruction> ins = instructions_of(lower(fused("pool3d")));
  const auto pools = std::ranges::count(ins, Opcode::pool2d, &Instruction::opcode);
  EXPECT_EQ(pools, 2 * 4);
  // max: planes first, x [1, 2, 5, 6, 7] as [1, 10, 6, 7], 3 x 3 windows.
  const auto first = std::ranges::find(ins, Opcode::pool2d, &Instruction::opcode);
  EXPECT_EQ(value(*first, 3), 10U);  // C: channels x depth
  EXPECT_EQ(value(*first, 6), 3U);   // kernel_h
}

}  // namespace
