#include "max_unpooling.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "npu/kernel_builder.hpp"

namespace npu::onnx_runtime {
namespace {

using isa::DataType;

// Pooling windows that tile an NCHW tensor: `planes` = N·C planes of rows ×
// cols, of which the pooled_rows·kh × pooled_cols·kw at the top left are
// covered, window by window.
struct Windows {
  std::int64_t planes, rows, cols, pooled_rows, pooled_cols, kh, kw;

  [[nodiscard]] std::int64_t grid() const { return planes * pooled_rows * kh * pooled_cols * kw; }
  [[nodiscard]] std::int64_t pooled() const { return planes * pooled_rows * pooled_cols; }
  [[nodiscard]] bool covers_all() const {
    return pooled_rows * kh == rows && pooled_cols * kw == cols;
  }
};

// Flat positions must be exact in FP32.
constexpr std::int64_t kMaxPositions = std::int64_t{1} << 24;

// The windows of `n` (MaxPool or MaxUnpool) between the full tensor of
// shape `full` and the pooled one of shape `pooled`, if they tile it.
std::optional<Windows> tiling_windows(const Node& n, const Shape& full, const Shape& pooled) {
  const std::vector<std::int64_t> kernel = n.get_ints("kernel_shape", {});
  const std::vector<std::int64_t> strides = n.get_ints("strides", {1, 1});
  const std::vector<std::int64_t> pads = n.get_ints("pads", {});
  const std::vector<std::int64_t> dilations = n.get_ints("dilations", {1, 1});
  const std::string auto_pad = n.get_string("auto_pad", "NOTSET");
  const bool tiles = full.size() == 4 && pooled.size() == 4 && kernel.size() == 2 &&
                     strides == kernel &&
                     std::ranges::all_of(pads, [](std::int64_t p) { return p == 0; }) &&
                     std::ranges::all_of(dilations, [](std::int64_t d) { return d == 1; }) &&
                     (auto_pad == "NOTSET" || auto_pad == "VALID") &&
                     n.get_int("storage_order", 0) == 0 && n.get_int("ceil_mode", 0) == 0;
  if (!tiles || full[0] != pooled[0] || full[1] != pooled[1] || kernel[0] < 1 || kernel[1] < 1 ||
      pooled[2] * kernel[0] > full[2] || pooled[3] * kernel[1] > full[3]) {
    return std::nullopt;
  }
  return Windows{full[0] * full[1], full[2], full[3], pooled[2], pooled[3], kernel[0], kernel[1]};
}

// tiling_windows(); Unsupported unless the windows tile the tensor, whose
// positions must be exact in FP32.
Windows tiled_windows(const Node& n, const Shape& full, const Shape& pooled) {
  const std::optional<Windows> tiling = tiling_windows(n, full, pooled);
  if (!tiling) {
    throw Unsupported(
        "windows that do not tile the input (kernel_shape = strides, no padding or dilation, "
        "storage_order 0, 2-D)");
  }
  const Windows& w = *tiling;
  if (w.planes * w.rows * w.cols >= kMaxPositions) {
    throw Unsupported(
        fmt::format("a tensor of {} elements: positions beyond 2^24 are not exact "
                    "in FP32",
                    w.planes * w.rows * w.cols));
  }
  return w;
}

void require_fp32(const Lowerer& l) {
  if (l.dtype() != DataType::fp32) {
    throw Unsupported("positions are computed in FP32: compile it in fp32");
  }
}

// Each covered element's flat position, window by window (the grid order:
// plane, window row, row in it, window column, column in it).
TensorRef grid_positions(Lowerer& l, const Windows& w) {
  std::vector<float> positions;
  positions.reserve(static_cast<std::size_t>(w.grid()));
  for (std::int64_t p = 0; p < w.planes; ++p) {
    for (std::int64_t r = 0; r < w.pooled_rows * w.kh; ++r) {
      for (std::int64_t c = 0; c < w.pooled_cols * w.kw; ++c) {
        positions.push_back(static_cast<float>((p * w.rows + r) * w.cols + c));
      }
    }
  }
  return l.ref(l.new_constant({w.grid()}, std::move(positions)));
}

// A pooled tensor's value repeated over each element of its window.
TensorRef spread(Lowerer& l, const std::string& origin, TensorRef pooled, const Windows& w) {
  const std::string out = l.scratch(w.grid());
  const std::int64_t row = w.pooled_cols * w.kw;
  strided_copy(l, origin, l.ref(out), std::move(pooled),
               {{w.planes * w.pooled_rows, w.pooled_cols, w.kh * row},
                {w.kh, 0, row},
                {w.pooled_cols, 1, w.kw},
                {w.kw, 0, 1}});
  return l.ref(out);
}

// The covered elements of the full tensor `full` in grid order (itself
// when the windows cover it all).
TensorRef covered(Lowerer& l, const std::string& origin, const std::string& full,
                  const Windows& w) {
  if (w.covers_all()) {
    return l.ref(full);
  }
  const std::string out = l.scratch(w.grid());
  const std::int64_t row = w.pooled_cols * w.kw;
  strided_copy(l, origin, l.ref(out), l.ref(full),
               {{w.planes, w.rows * w.cols, w.pooled_rows * w.kh * row},
                {w.pooled_rows * w.kh, w.cols, row},
                {row, 1, 1}});
  return l.ref(out);
}

// A byte mask of a == b over `count` elements (COMPARE, v1.4).
TensorRef equal_mask(Lowerer& l, const std::string& origin, TensorRef a, TensorRef b,
                     std::int64_t count) {
  l.require(isa::Opcode::compare);
  const std::string mask = l.scratch_bytes(count);
  const std::uint32_t n = u32(count, "element count");
  l.emit(origin, {std::move(a), std::move(b)}, {l.ref(mask)},
         [n](KernelBuilder& k, std::span<const BufferArg> s) {
           k.compare(DataType::fp32, CompareOp::eq, s[0], s[1], s[2], n, n);
         });
  return l.ref(mask);
}

// Whether MaxUnpool `n`'s indices put each value inside its own window:
// made by a MaxPool of the same windows over a tensor of the output's
// shape, or constants that each do.
void check_indices_in_windows(Lowerer& l, const Node& n, const Windows& w) {
  const std::string& indices = input(n, 1);
  if (l.graph().is_constant(indices)) {
    const std::vector<std::int64_t> values = l.graph().constants.at(indices).integers();
    for (std::size_t i = 0; i < values.size(); ++i) {
      const auto at = static_cast<std::int64_t>(i);
      const std::int64_t plane = at / (w.pooled_rows * w.pooled_cols);
      const std::int64_t wr = at / w.pooled_cols % w.pooled_rows, wc = at % w.pooled_cols;
      const std::int64_t v = values[i] - plane * w.rows * w.cols;
      const std::int64_t r = v / w.cols - wr * w.kh, c = v % w.cols - wc * w.kw;
      if (v < 0 || r < 0 || r >= w.kh || c < 0 || c >= w.kw) {
        throw Unsupported(
            fmt::format("index {} at {} lies outside its window (the device puts each value in "
                        "its own window)",
                        values[i], i));
      }
    }
    return;
  }
  const auto maker = std::ranges::find_if(l.graph().nodes, [&](const Node& m) {
    return m.op == "MaxPool" && m.outputs.size() > 1 && m.outputs[1] == indices;
  });
  if (maker == l.graph().nodes.end() ||
      maker->get_ints("kernel_shape", {}) != n.get_ints("kernel_shape", {}) ||
      maker->get_ints("strides", {1, 1}) != n.get_ints("strides", {1, 1}) ||
      l.shape(input(*maker, 0)) != l.shape(n.outputs.at(0))) {
    throw Unsupported(
        fmt::format("indices '{}' not made by a MaxPool of the same windows over a "
                    "tensor of the output's shape (the device puts each value in "
                    "its own window)",
                    indices));
  }
}

}  // namespace

bool max_pool_windows_tile(const Node& n, const Shape& full, const Shape& pooled) {
  return tiling_windows(n, full, pooled).has_value();
}

// Covered elements equal to their window's maximum keep their position,
// the others 2^24; the smallest per window is the first maximum in
// row-major order, as onnxruntime scans: POOL2D max of the negated
// candidates, negated back. Six instructions (spread, COMPARE, SELECT,
// negate, POOL2D, negate), one more copying the covered elements where
// the windows leave rows or columns out.
TensorRef max_pool_flat_indices(Lowerer& l, const Node& n, const std::string& pooled) {
  require_fp32(l);
  const std::string origin = n.label();
  const std::string& x = input(n, 0);
  const Windows w = tiled_windows(n, l.shape(x), l.shape(pooled));
  const std::int64_t grid = w.grid();
  const TensorRef maxima = spread(l, origin, l.ref(pooled), w);
  const TensorRef mask = equal_mask(l, origin, covered(l, origin, x, w), maxima, grid);
  const std::string candidates = l.scratch(grid);
  select_elements(l, origin, {mask, grid}, {grid_positions(l, w), grid},
                  {l.ref(l.scalar(static_cast<float>(kMaxPositions))), 1}, l.ref(candidates), grid);
  const std::string negated = l.scratch(grid);
  l.eltwise(origin, EltwiseOp::mul, l.ref(candidates), l.ref(l.scalar(-1.0F)), l.ref(negated), grid,
            1);
  const std::string firsts = l.scratch(w.pooled());
  Pool2dOperands shape{.input = {},
                       .output = {},
                       .n = 1U,
                       .c = u32(w.planes, "planes"),
                       .h = u32(w.pooled_rows * w.kh, "rows"),
                       .w = u32(w.pooled_cols * w.kw, "columns"),
                       .kernel_h = u32(w.kh, "kernel"),
                       .kernel_w = u32(w.kw, "kernel"),
                       .stride_h = u32(w.kh, "stride"),
                       .stride_w = u32(w.kw, "stride")};
  l.emit(origin, {l.ref(negated)}, {l.ref(firsts)},
         [shape](KernelBuilder& k, std::span<const BufferArg> s) mutable {
           shape.input = s[0];
           shape.output = s[1];
           k.pool2d(DataType::fp32, shape);
         });
  const std::string positions = l.scratch(w.pooled());
  l.eltwise(origin, EltwiseOp::mul, l.ref(firsts), l.ref(l.scalar(-1.0F)), l.ref(positions),
            w.pooled(), 1);
  return l.ref(positions);
}

// Each value spread over its window, kept where the window's position is
// its index, 0 elsewhere; uncovered rows and columns of the output 0.
void lower_max_unpool(Lowerer& l, const Node& n) {
  require_fp32(l);
  const std::string origin = n.label();
  const std::string& x = input(n, 0);
  const std::string& out = n.outputs.at(0);
  if (l.shape(input(n, 1)) != l.shape(x)) {
    throw Unsupported("indices of another shape than the values");
  }
  const Windows w = tiled_windows(n, l.shape(out), l.shape(x));
  check_indices_in_windows(l, n, w);
  const std::int64_t grid = w.grid();
  const TensorRef positions =
      spread(l, origin, l.ref(integers_as_floats(l, origin, input(n, 1))), w);
  const TensorRef mask = equal_mask(l, origin, grid_positions(l, w), positions, grid);
  const TensorRef values = spread(l, origin, l.ref(x), w);
  const TensorRef zero = l.ref(l.scalar(0.0F));
  if (w.covers_all()) {
    select_elements(l, origin, {mask, grid}, {values, grid}, {zero, 1}, l.ref(out), grid);
    return;
  }
  const std::string placed = l.scratch(grid);
  select_elements(l, origin, {mask, grid}, {values, grid}, {zero, 1}, l.ref(placed), grid);
  const std::uint32_t bytes = u32(w.planes * w.rows * w.cols * 4, "output size");
  l.emit(origin, {}, {l.ref(out)},
         [bytes](KernelBuilder& k, std::span<const BufferArg> s) { k.dma_fill(s[0], bytes, 0); });
  const std::int64_t row = w.pooled_cols * w.kw;
  strided_copy(l, origin, l.ref(out), l.ref(placed),
               {{w.planes, w.pooled_rows * w.kh * row, w.rows * w.cols},
                {w.pooled_rows * w.kh, row, w.cols},
                {row, 1, 1}});
}

}  // namespace npu::onnx_runtime
