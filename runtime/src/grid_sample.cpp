#include "grid_sample.hpp"

#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "npu/onnx/model.hpp"
#include "onnx_import.hpp"
#include "proto_builder.hpp"

namespace npu::onnx_runtime {

using npu::onnx::ModelError;

namespace {

bool is_grid_sample(const ::onnx::NodeProto& node) {
  return (node.domain().empty() || node.domain() == "ai.onnx") && node.op_type() == "GridSample";
}

std::string string_attribute(const ::onnx::NodeProto& node, const char* name,
                             const std::string& fallback) {
  for (const auto& a : node.attribute()) {
    if (a.name() == name) {
      return a.s();
    }
  }
  return fallback;
}

enum class Mode { nearest, linear, cubic };
enum class Padding { zeros, border, reflection };

// One axis of the input image (x: width, y: height) as float scalars: its
// size, its last pixel, and the range onnxruntime reflects and clamps in, [lo, hi]
// ([0, size - 1] with align_corners, else [-0.5, size - 0.5]).
struct Axis {
  std::string size;
  std::string last;
  std::string lo;
  std::string hi;
};

// A pixel coordinate along one axis, ready to read: clamped into the image,
// and (zeros padding) whether it lies inside it.
struct Reading {
  std::string clamped;
  std::string inside;  // "" with border and reflection padding
};

class GridSampleRewriter {
 public:
  GridSampleRewriter(ProtoBuilder& build, const ::onnx::NodeProto& node)
      : b_(build), node_(node), base_(node.output(0)) {
    const std::string mode = string_attribute(node, "mode", "bilinear");
    const std::string padding = string_attribute(node, "padding_mode", "zeros");
    if (mode == "nearest") {
      mode_ = Mode::nearest;
    } else if (mode == "bicubic" || mode == "cubic") {
      mode_ = Mode::cubic;
    } else if (mode != "bilinear" && mode != "linear") {
      refuse(fmt::format("mode '{}'", mode));
    }
    if (padding == "border") {
      padding_ = Padding::border;
    } else if (padding == "reflection") {
      padding_ = Padding::reflection;
    } else if (padding != "zeros") {
      refuse(fmt::format("padding_mode '{}'", padding));
    }
    align_corners_ = int_attribute(node, "align_corners").value_or(0) != 0;
  }

  void run() {
    const std::string& x = node_.input(0);
    // A grid of other than (x, y) pairs fails this Reshape at import, as
    // onnxruntime refuses it, instead of being read as pairs.
    const std::string grid = reshaped(node_.input(1), {0, 0, 0, 2}, "grid_pairs");
    const std::string x_shape = b_.step("Shape", {x}, base_ + "/x_shape");
    width_ = extent(x_shape, 3, "width");
    planes_ = reshaped(x, {0, 0, -1}, "planes");  // [N, C, H * W]
    // [N, C, 1]: a [N, 1, Ho * Wo] index expanded to every channel.
    channels_ = concat(slice(x_shape, 0, 2), b_.integers(base_ + "/one_point", {1}), "channels");
    const Axis ax = axis(width_, "x");
    const Axis ay = axis(extent(x_shape, 2, "height"), "y");
    const std::string px = coordinate(grid, 0, ax, "x");
    const std::string py = coordinate(grid, 1, ay, "y");
    std::string sampled;
    switch (mode_) {
      case Mode::nearest:
        sampled = pixel(reading(px, ax, "x"), reading(py, ay, "y"), "nearest");
        break;
      case Mode::linear:
        sampled = bilinear(px, py, ax, ay);
        break;
      case Mode::cubic:
        sampled = bicubic(px, py, ax, ay);
        break;
    }
    const std::string grid_shape = b_.step("Shape", {grid}, base_ + "/grid_shape");
    const std::string out_shape =
        concat(slice(x_shape, 0, 2), slice(grid_shape, 1, 3), "out_shape");
    b_.emit("Reshape", {sampled, out_shape}, {node_.output(0)});
  }

 private:
  [[noreturn]] void refuse(const std::string& why) const {
    throw ModelError(fmt::format("GridSample '{}': {}",
                                 node_.name().empty() ? node_.output(0) : node_.name(), why));
  }

  // A float constant, one initializer per value for the whole sample.
  std::string scalar(const std::string& name, float value) {
    const auto known = scalars_.find(value);
    if (known != scalars_.end()) {
      return known->second;
    }
    return scalars_[value] = b_.scalar(base_ + "/" + name, value);
  }

  // `op` of `inputs`, a new value named `name` under the node's output.
  std::string op(const char* op, const std::vector<std::string>& inputs, const std::string& name) {
    return b_.step(op, inputs, base_ + "/" + name);
  }

  std::string slice(const std::string& shape, std::int64_t start, std::int64_t end) {
    return b_.step(
        "Slice",
        {shape, b_.integers(base_ + "/start", {start}), b_.integers(base_ + "/end", {end})},
        shape + "_slice");
  }

  std::string concat(const std::string& a, const std::string& b, const char* name) {
    ::onnx::NodeProto& node = b_.emit("Concat", {a, b}, {b_.fresh(base_ + "/" + name)});
    ProtoBuilder::set_int(node, "axis", 0);
    return node.output(0);
  }

  std::string reshaped(const std::string& value, const std::vector<std::int64_t>& shape,
                       const std::string& name) {
    return op("Reshape", {value, b_.integers(base_ + "/" + name + "_shape", shape)}, name);
  }

  // Dimension `axis` of `shape` as a float scalar.
  std::string extent(const std::string& shape, std::int64_t axis, const char* name) {
    const std::string dim =
        op("Gather", {shape, b_.initializer(base_ + "/axis", Constant::of_ints({}, {axis}))},
           std::string(name) + "_dim");
    ::onnx::NodeProto& cast = b_.emit("Cast", {dim}, {b_.fresh(base_ + "/" + name)});
    ProtoBuilder::set_int(cast, "to", ::onnx::TensorProto::FLOAT);
    return cast.output(0);
  }

  Axis axis(const std::string& size, const std::string& name) {
    Axis a;
    a.size = size;
    a.last = op("Sub", {size, scalar("one", 1.0F)}, name + "_last");
    if (align_corners_) {
      a.lo = scalar("zero", 0.0F);
      a.hi = a.last;
    } else {
      a.lo = scalar("minus_half", -0.5F);
      a.hi = op("Sub", {size, scalar("half", 0.5F)}, name + "_hi");
    }
    return a;
  }

  // The grid's component `index` (0: x, 1: y) in pixels of axis `a`
  // (onnxruntime's GsDenormalize), rounded for nearest. Padding applies to
  // each pixel read (reading()), not to the coordinate, as onnxruntime's
  // PixelAtGrid does.
  std::string coordinate(const std::string& grid, std::int64_t index, const Axis& a,
                         const std::string& name) {
    ::onnx::NodeProto& gather = b_.emit(
        "Gather",
        {grid, b_.initializer(base_ + "/" + name + "_index", Constant::of_ints({}, {index}))},
        {b_.fresh(base_ + "/" + name + "_normalized")});
    ProtoBuilder::set_int(gather, "axis", 3);
    const std::string one = scalar("one", 1.0F);
    const std::string two = scalar("two", 2.0F);
    const std::string shifted = op("Add", {gather.output(0), one}, name);
    std::string c;
    if (align_corners_) {  // (g + 1) / 2 * (size - 1)
      c = op("Mul", {op("Div", {shifted, two}, name), a.last}, name);
    } else {  // ((g + 1) * size - 1) / 2
      c = op("Div", {op("Sub", {op("Mul", {shifted, a.size}, name), one}, name), two}, name);
    }
    if (mode_ == Mode::nearest) {
      c = op("Round", {c}, name + "_rounded");
    }
    return c;
  }

  // onnxruntime's GsReflect: c folded back into [lo, hi] as often as it
  // lies beyond, by the span's multiples d = n * span + r.
  std::string reflected(const std::string& c, const Axis& a, const std::string& name) {
    const std::string zero = scalar("zero", 0.0F);
    const std::string below = op("Less", {c, a.lo}, name + "_below");
    const std::string above = op("Greater", {c, a.hi}, name + "_above");
    const std::string span = op("Sub", {a.hi, a.lo}, name + "_span");
    const std::string beyond =
        op("Where", {below, op("Sub", {a.lo, c}, name), op("Sub", {c, a.hi}, name)}, name);
    const std::string d = op("Where", {op("Or", {below, above}, name), beyond, zero}, name);
    const std::string n = op("Floor", {op("Div", {d, span}, name)}, name + "_spans");
    const std::string r = op("Sub", {d, op("Mul", {n, span}, name)}, name + "_rest");
    const std::string half = op("Div", {n, scalar("two", 2.0F)}, name);
    const std::string odd = op(
        "Greater", {op("Sub", {half, op("Floor", {half}, name)}, name), scalar("quarter", 0.25F)},
        name + "_odd");
    const std::string from_lo = op("Add", {a.lo, r}, name);
    const std::string from_hi = op("Sub", {a.hi, r}, name);
    const std::string low_side = op("Where", {odd, from_hi, from_lo}, name);
    const std::string high_side = op("Where", {odd, from_lo, from_hi}, name);
    return op("Where", {below, low_side, op("Where", {above, high_side, c}, name)},
              name + "_reflected");
  }

  // An integer pixel coordinate along one axis, as onnxruntime's
  // PixelAtGrid reads it: clamped (border), reflected (reflection), or
  // read as 0 outside the image (zeros).
  Reading reading(const std::string& c, const Axis& a, const std::string& name) {
    const std::string zero = scalar("zero", 0.0F);
    Reading r;
    const std::string placed = padding_ == Padding::reflection ? reflected(c, a, name) : c;
    r.clamped = op("Clip", {placed, zero, a.last}, name + "_clamped");
    if (padding_ == Padding::zeros) {
      r.inside = op("And",
                    {op("GreaterOrEqual", {c, zero}, name + "_low"),
                     op("LessOrEqual", {c, a.last}, name + "_high")},
                    name + "_inside");
    }
    return r;
  }

  // The pixel at (x, y) for every channel, [N, C, Ho * Wo].
  std::string pixel(const Reading& x, const Reading& y, const std::string& name) {
    const std::string flat = op("Add", {op("Mul", {y.clamped, width_}, name), x.clamped}, name);
    ::onnx::NodeProto& cast = b_.emit("Cast", {flat}, {b_.fresh(base_ + "/" + name + "_index")});
    ProtoBuilder::set_int(cast, "to", ::onnx::TensorProto::INT64);
    const std::string index = reshaped(cast.output(0), {0, 1, -1}, name + "_point");
    const std::string expanded = op("Expand", {index, channels_}, name + "_indices");
    ::onnx::NodeProto& gather =
        b_.emit("GatherElements", {planes_, expanded}, {b_.fresh(base_ + "/" + name + "_values")});
    ProtoBuilder::set_int(gather, "axis", 2);
    if (x.inside.empty()) {
      return gather.output(0);
    }
    const std::string inside =
        reshaped(op("And", {x.inside, y.inside}, name + "_inside"), {0, 1, -1}, name + "_mask");
    return op("Where", {inside, gather.output(0), scalar("zero", 0.0F)}, name + "_pixel");
  }

  // A weight per point, [N, 1, Ho * Wo], to scale [N, C, Ho * Wo] pixels.
  std::string per_point(const std::string& w, const std::string& name) {
    return reshaped(w, {0, 1, -1}, name);
  }

  // onnxruntime's bilinear: dy2 * (dx2 * p11 + dx1 * p12) + dy1 * (dx2 *
  // p21 + dx1 * p22), the corners (x1, y1) = floor and (x2, y2) = floor + 1.
  std::string bilinear(const std::string& px, const std::string& py, const Axis& ax,
                       const Axis& ay) {
    const std::string one = scalar("one", 1.0F);
    const std::string x1 = op("Floor", {px}, "x1");
    const std::string y1 = op("Floor", {py}, "y1");
    const std::string x2 = op("Add", {x1, one}, "x2");
    const std::string y2 = op("Add", {y1, one}, "y2");
    const std::string dx1 = per_point(op("Sub", {px, x1}, "dx1"), "dx1");
    const std::string dx2 = per_point(op("Sub", {x2, px}, "dx2"), "dx2");
    const std::string dy1 = per_point(op("Sub", {py, y1}, "dy1"), "dy1");
    const std::string dy2 = per_point(op("Sub", {y2, py}, "dy2"), "dy2");
    const Reading rx1 = reading(x1, ax, "x1");
    const Reading rx2 = reading(x2, ax, "x2");
    const auto row = [&](const std::string& y, const std::string& name) {
      const Reading ry = reading(y, ay, name);
      return op("Add",
                {op("Mul", {dx2, pixel(rx1, ry, name + "_1")}, name),
                 op("Mul", {dx1, pixel(rx2, ry, name + "_2")}, name)},
                name);
    };
    return op("Add",
              {op("Mul", {dy2, row(y1, "y1")}, "top"), op("Mul", {dy1, row(y2, "y2")}, "bottom")},
              "bilinear");
  }

  // onnxruntime's GsGetCubicCoeffs (A = -0.75) of t in [0, 1), each a
  // weight per point.
  std::vector<std::string> cubic_weights(const std::string& t, const std::string& name) {
    constexpr float kA = -0.75F;
    const auto outer = [&](const std::string& u,
                           const std::string& n) {  // ((A u - 5A) u + 8A) u - 4A
      std::string v = op("Sub", {op("Mul", {u, scalar("a", kA)}, n), scalar("a5", 5 * kA)}, n);
      v = op("Add", {op("Mul", {v, u}, n), scalar("a8", 8 * kA)}, n);
      return op("Sub", {op("Mul", {v, u}, n), scalar("a4", 4 * kA)}, n);
    };
    const auto inner = [&](const std::string& u,
                           const std::string& n) {  // ((A+2) u - (A+3)) u u + 1
      std::string v = op("Sub", {op("Mul", {u, scalar("a2", kA + 2)}, n), scalar("a3", kA + 3)}, n);
      v = op("Mul", {op("Mul", {v, u}, n), u}, n);
      return op("Add", {v, scalar("one", 1.0F)}, n);
    };
    const std::string one = scalar("one", 1.0F);
    return {
        per_point(outer(op("Add", {t, one}, name), name + "_w0"), name + "_w0"),
        per_point(inner(t, name + "_w1"), name + "_w1"),
        per_point(inner(op("Sub", {one, t}, name), name + "_w2"), name + "_w2"),
        per_point(outer(op("Sub", {scalar("two", 2.0F), t}, name), name + "_w3"), name + "_w3")};
  }

  // onnxruntime's bicubic: the 4 x 4 pixels from (floor(x) - 1, floor(y) -
  // 1), each row weighed along x, then the rows along y.
  std::string bicubic(const std::string& px, const std::string& py, const Axis& ax,
                      const Axis& ay) {
    const std::string one = scalar("one", 1.0F);
    const std::string x0 = op("Sub", {op("Floor", {px}, "x0"), one}, "x0");
    const std::string y0 = op("Sub", {op("Floor", {py}, "y0"), one}, "y0");
    // t = x - x0 - 1, as onnxruntime computes it.
    const std::vector<std::string> wx =
        cubic_weights(op("Sub", {op("Sub", {px, x0}, "tx"), one}, "tx"), "wx");
    const std::vector<std::string> wy =
        cubic_weights(op("Sub", {op("Sub", {py, y0}, "ty"), one}, "ty"), "wy");
    std::vector<Reading> columns;
    for (std::size_t j = 0; j < 4; ++j) {
      const std::string name = fmt::format("x{}", j);
      columns.push_back(
          reading(op("Add", {x0, scalar(name, static_cast<float>(j))}, name), ax, name));
    }
    std::string sum;
    for (std::size_t i = 0; i < 4; ++i) {
      const std::string name = fmt::format("y{}", i);
      const Reading row =
          reading(op("Add", {y0, scalar(name, static_cast<float>(i))}, name), ay, name);
      std::string v;
      for (std::size_t j = 0; j < 4; ++j) {
        const std::string p =
            op("Mul", {wx[j], pixel(columns[j], row, fmt::format("p{}{}", i, j))}, name);
        v = v.empty() ? p : op("Add", {v, p}, name);
      }
      const std::string weighed = op("Mul", {wy[i], v}, name);
      sum = sum.empty() ? weighed : op("Add", {sum, weighed}, "bicubic");
    }
    return sum;
  }

  ProtoBuilder& b_;
  const ::onnx::NodeProto& node_;
  std::string base_;
  Mode mode_ = Mode::linear;
  Padding padding_ = Padding::zeros;
  bool align_corners_ = false;
  std::string width_;
  std::string planes_;
  std::string channels_;
  std::map<float, std::string> scalars_;  // scalar()'s, by value
};

}  // namespace

std::size_t decompose_grid_sample(::onnx::ModelProto& model) {
  if (std::ranges::none_of(model.graph().node(), is_grid_sample)) {
    return 0;
  }
  check_before_rewrite(model);
  ::onnx::GraphProto& graph = *model.mutable_graph();
  ProtoBuilder build(graph);
  ProtoBuilder::Nodes rewritten;
  build.emit_into(rewritten);
  std::size_t count = 0;
  for (const ::onnx::NodeProto& node : graph.node()) {
    if (is_grid_sample(node)) {
      GridSampleRewriter(build, node).run();
      ++count;
    } else {
      *rewritten.Add() = node;
    }
  }
  graph.mutable_node()->Swap(&rewritten);
  return count;
}

}  // namespace npu::onnx_runtime
