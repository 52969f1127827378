// The Lowerer: the state of one graph's lowering (the program being built,
// aliases, scratch tensors, integer values) and the helpers every lowering
// function uses. Internal to the runtime: lowering.cpp holds the table of
// lowerings, other files (recurrent_lowering.cpp) lowerings of their own.
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <bitset>
#include <cctype>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "element_codec.hpp"
#include "graph.hpp"
#include "lowering.hpp"
#include "npu/kernel_builder.hpp"

namespace npu::onnx_runtime {

// A node the device cannot run as it is; the reason goes into the report.
class Unsupported : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Copies of a Concat or Slice beyond this many are refused rather than
// filling the argument table (v1.1's strided copy will do them in one).
inline constexpr std::size_t kMaxCopies = 256;

inline std::uint32_t u32(std::int64_t value, const char* what) {
  if (value == 0) {
    throw Unsupported(
        fmt::format("{} 0: an empty tensor, which the device does not compute", what));
  }
  if (value < 0 || value > std::numeric_limits<std::uint32_t>::max()) {
    throw Unsupported(fmt::format("{} {} does not fit the ISA's 32-bit operand", what, value));
  }
  return static_cast<std::uint32_t>(value);
}

// A stride (0 allowed) as a 32-bit operand.
inline std::uint32_t stride32(std::int64_t value) {
  if (value < 0 || value > std::numeric_limits<std::uint32_t>::max()) {
    throw Unsupported(fmt::format("stride {} does not fit the ISA's 32-bit operand", value));
  }
  return static_cast<std::uint32_t>(value);
}

inline std::int64_t product(const Shape& shape, std::size_t begin, std::size_t end) {
  std::int64_t p = 1;
  for (std::size_t i = begin; i < end && i < shape.size(); ++i) {
    p *= shape[i];
  }
  return p;
}

class Lowerer {
 public:
  Lowerer(const Graph& graph, isa::DataType dtype, std::bitset<64> device_ops,
          std::uint32_t hw_version)
      : graph_(graph),
        dtype_(dtype),
        element_size_(static_cast<std::int64_t>(isa::element_size(dtype))),
        device_ops_(device_ops),
        hw_version_(hw_version) {
    program_.dtype = dtype;
    program_.narrowed_float_io = graph.narrowed_float_io;
    for (const std::string& input : graph.inputs) {
      program_.inputs.push_back(input);
      program_.shapes[input] = graph.shape(input);
      const ElementType type = graph.values.at(input).type;
      if (type == ElementType::int64 || type == ElementType::int32) {
        program_.integer_inputs[input] = type;
        index_values_.insert(input);
      } else if (type == ElementType::uint8 || type == ElementType::int8) {
        // Read as the int32 values run() widens them to: the device takes
        // integers only through a Cast to float or as indices, both exact.
        program_.integer_inputs[input] = ElementType::int32;
        program_.widened_inputs[input] = type;
        index_values_.insert(input);
      } else if (type == ElementType::boolean) {
        program_.integer_inputs[input] = type;
      } else if (type != ElementType::float32) {
        throw Unsupported(
            fmt::format("graph input '{}' is {}; the runtime takes float32, float16, "
                        "bfloat16, float64, int64, int32, uint8, int8 and bool inputs",
                        input, to_string(type)));
      }
    }
    for (const std::string& output : graph.outputs) {
      program_.outputs.push_back(output);
      program_.shapes[output] = graph.shape(output);
      const ElementType type =
          graph.values.count(output) != 0U ? graph.values.at(output).type : ElementType::float32;
      if (type == ElementType::boolean || type == ElementType::int64 ||
          type == ElementType::int32 || type == ElementType::uint8 || type == ElementType::int8) {
        program_.output_types[output] = type;
      } else if (type != ElementType::float32 && type != ElementType::undefined) {
        throw Unsupported(
            fmt::format("graph output '{}' is {}; the runtime writes float32, "
                        "float16, bfloat16, float64, int64, int32, uint8, int8 and bool outputs",
                        output, to_string(type)));
      }
      if (graph.is_constant(output) && graph.constants.at(output).size() > 0) {
        copy_constant_output(output);  // one without elements has no bytes to write
      }
    }
  }

  // A graph output that is a constant (a Shape or Size of a static shape,
  // a folded table): one DMA_COPY from a copy of it among the weights,
  // under a name of its own (the output's name is its place in the I/O
  // buffer).
  void copy_constant_output(const std::string& output) {
    const Constant& c = graph_.constants.at(output);
    const std::string source = fmt::format("%output {}", output);
    program_.weights[source] = c;
    const std::size_t bytes = encoded_size(c, dtype_);
    copy({output, 0}, {source, 0}, static_cast<std::int64_t>(bytes),
         fmt::format("graph output '{}' (a constant)", output));
  }

  const Graph& graph() const { return graph_; }
  isa::DataType dtype() const { return dtype_; }
  // Whether the device executes `opcode`.
  bool has(isa::Opcode opcode) const { return device_ops_.test(static_cast<std::size_t>(opcode)); }
  // Unsupported naming the instruction unless the device executes it.
  void require(isa::Opcode opcode) const {
    if (!has(opcode)) {
      std::string name(isa::info(opcode).mnemonic);  // as hw-spec writes it: RESIZE
      std::ranges::transform(name, name.begin(), [](unsigned char c) { return std::toupper(c); });
      throw Unsupported(fmt::format("needs the ISA v{}.{} instruction {}, which the device lacks",
                                    isa::info(opcode).isa_version >> 16,
                                    isa::info(opcode).isa_version & 0xffffU, name));
    }
  }
  // Whether the device executes v1.5's flag values (hw-spec 7.4.5): they
  // have no OPS bit, HW_VERSION tells.
  bool has_v15() const { return hw_version_ >= isa::kIsaVersion1_5; }
  // Unsupported naming the v1.5 function or flag unless the device has it.
  void require_v15(std::string_view what) const { require_isa(isa::kIsaVersion1_5, "7.4.5", what); }
  // Likewise for v1.6's functions (hw-spec 7.4.6), which HW_VERSION tells.
  void require_v16(std::string_view what) const { require_isa(isa::kIsaVersion1_6, "7.4.6", what); }
  // And v1.7's CONVERT destination INT32 (hw-spec 7.4.7).
  void require_v17(std::string_view what) const { require_isa(isa::kIsaVersion1_7, "7.4.7", what); }
  // And v1.8's functions and ELTWISE POW (hw-spec 7.4.8).
  void require_v18(std::string_view what) const { require_isa(isa::kIsaVersion1_8, "7.4.8", what); }
  void require_isa(std::uint32_t version, std::string_view section, std::string_view what) const {
    if (hw_version_ < version) {
      throw Unsupported(fmt::format("needs ISA v{}.{}'s {} (hw-spec {}); the device is v{}.{}",
                                    version >> 16, version & 0xffffU, what, section,
                                    hw_version_ >> 16, hw_version_ & 0xffffU));
    }
  }
  // Bytes per element of every tensor on the device.
  std::int64_t esize() const { return element_size_; }
  const Shape& shape(const std::string& value) const {
    const auto it = scratch_shapes_.find(value);
    return it != scratch_shapes_.end() ? it->second : graph_.shape(value);
  }

  // Where `value`'s bytes are: its own storage or the tensor it aliases.
  TensorRef ref(const std::string& value, std::uint64_t offset = 0) {
    if (index_values_.contains(value)) {
      const auto alias = aliases_.find(value);
      const auto computed =
          integer_tensors_.find(alias != aliases_.end() ? alias->second.tensor : value);
      const bool argmax = computed != integer_tensors_.end() && computed->second.source.empty();
      throw Unsupported(fmt::format(
          "'{}' {}: the device reads it only as the indices of a Gather, or in a "
          "Cast or a comparison",
          value, argmax ? "holds int64 indices computed on the device" : "is an integer input"));
    }
    if (const auto it = aliases_.find(value); it != aliases_.end()) {
      return {it->second.tensor, it->second.offset + offset};
    }
    if (program_.weights.contains(value) || program_.activations.contains(value)) {
      return {value, offset};  // already placed, or made by the lowering
    }
    if (graph_.is_constant(value)) {
      use_constant(value);
    } else if (!is_io(value)) {
      const auto type =
          graph_.values.count(value) != 0U ? graph_.values.at(value).type : ElementType::float32;
      if (type != ElementType::float32 && type != ElementType::undefined &&
          type != ElementType::int8 && type != ElementType::boolean) {
        throw Unsupported(
            fmt::format("'{}' is {} on the device; only float32 tensors, bool masks (and the INT8 "
                        "path's int8) are computed",
                        value, to_string(type)));
      }
      const bool byte = type == ElementType::int8 || type == ElementType::boolean;
      const std::int64_t size = byte ? 1 : element_size_;
      program_.activations.emplace(value,
                                   static_cast<std::uint64_t>(element_count(shape(value)) * size));
    }
    return {value, offset};
  }

  bool holds_indices(const std::string& value) const { return index_values_.contains(value); }

  // An integer graph input (or a reshape of one) read as GATHER's indices,
  // and the width of its elements.
  std::pair<TensorRef, IndexType> index_ref(const std::string& value) {
    if (!index_values_.contains(value)) {
      throw Unsupported(
          fmt::format("indices '{}' are computed at run time; GATHER reads indices "
                      "from an int64 or int32 graph input",
                      value));
    }
    const auto it = aliases_.find(value);
    TensorRef r = it != aliases_.end() ? it->second : TensorRef{value, 0};
    const bool int64 = integer_type(r.tensor) == ElementType::int64;
    return {std::move(r), int64 ? IndexType::int64 : IndexType::int32};
  }

  // The type of an integer input or of a tensor made from one (Expand).
  ElementType integer_type(const std::string& tensor) const {
    const auto it = integer_tensors_.find(tensor);
    return it != integer_tensors_.end() ? it->second.type : program_.integer_inputs.at(tensor);
  }

  // The graph input an integer value's elements come from ("" for indices
  // computed on the device).
  std::string integer_source(const std::string& value) {
    const std::string tensor = index_ref(value).first.tensor;
    const auto it = integer_tensors_.find(tensor);
    return it != integer_tensors_.end() ? it->second.source : tensor;
  }

  // `value` made on the device from the elements of integer input `source`
  // (an Expand of it): integers of `type`, read as indices like the input.
  void add_integer_tensor(const std::string& value, ElementType type, const std::string& source) {
    const std::int64_t size = type == ElementType::int64 ? 8 : 4;
    program_.activations.emplace(value,
                                 static_cast<std::uint64_t>(element_count(shape(value)) * size));
    integer_tensors_[value] = {type, source};
    index_values_.insert(value);
  }

  // Where `value`, int64 indices computed on the device (ArgMax), is
  // stored: read on as indices like an integer input's, its values below
  // 2^31 by construction (no input of run()'s to check).
  TensorRef computed_indices(const std::string& value) {
    return computed(value, ElementType::int64);
  }

  // `value`, integers computed on the device (arithmetic on integer
  // values): INT32 words whatever its ONNX width, read on like an int32
  // input's. An int64 graph output is not one of these: it is widened.
  TensorRef computed_integers(const std::string& value) {
    return computed(value, ElementType::int32);
  }

  // An integer value as INT32 elements: an int32 one as it is; an int64
  // one's low words, copied out by one COPY_STRIDED (v1.1), its source
  // input recorded so that run() refuses a value beyond 32 bits.
  TensorRef int32_view(const std::string& value, const std::string& origin) {
    std::pair<TensorRef, IndexType> integers = index_ref(value);
    if (integers.second == IndexType::int32) {
      return std::move(integers.first);
    }
    const std::string key = fmt::format("{}+{}", integers.first.tensor, integers.first.offset);
    if (const auto it = low_words_.find(key); it != low_words_.end()) {
      return {it->second, 0};  // narrowed once, read by every consumer
    }
    require(isa::Opcode::copy_strided);
    if (const std::string source = integer_source(value); !source.empty()) {
      program_.narrowed_inputs.emplace(source, origin);
    }
    const std::int64_t count = element_count(shape(value));
    const std::string low_words = scratch_bytes(count * 4);
    low_words_[key] = low_words;
    CopyStridedOperands o{.dst = {}, .src = {}};
    o.sizes[3] = u32(count, "element count");
    o.src_strides[3] = 2;  // little-endian: the low word of each int64 first
    o.dst_strides[3] = 1;
    emit(origin, {std::move(integers.first)}, {{low_words, 0}},
         [o](KernelBuilder& k, std::span<const BufferArg> s) mutable {
           o.src = s[0];
           o.dst = s[1];
           k.copy_strided(isa::DataType::int32, o);
         });
    return {low_words, 0};
  }

  // Bytes of one element of `value` on the device.
  std::int64_t element_bytes(const std::string& value) const {
    const ElementType type =
        graph_.values.count(value) != 0U ? graph_.values.at(value).type : ElementType::float32;
    switch (type) {
      case ElementType::boolean:
      case ElementType::int8:
        return 1;
      case ElementType::int32:
        return 4;
      case ElementType::int64:
        return 8;
      default:
        return element_size_;
    }
  }

  // A constant the device reads: float (stored in the program's dtype), or
  // the INT8 path's int8 weights and int32 biases.
  std::string use_constant(const std::string& name) {
    const Constant& c = graph_.constants.at(name);
    if (!c.is_float() && c.type != ElementType::int8 && c.type != ElementType::int32) {
      throw Unsupported(fmt::format("constant '{}' is {}, not float", name, to_string(c.type)));
    }
    // Placed now, filled by lower() once the program is complete: from a
    // graph given up, the values move instead of being copied.
    if (program_.weights.try_emplace(name, Constant{c.type, c.shape, {}, {}}).second) {
      graph_weights_.insert(name);
    }
    return name;
  }

  // `value` as a tensor the program reads: a constant's weights, or the
  // value as computed on the device.
  std::string operand(const std::string& value) {
    return graph_.is_constant(value) ? use_constant(value) : value;
  }

  std::string new_constant(Shape shape, std::vector<float> values) {
    const std::string name = fmt::format("%const{}", program_.weights.size());
    program_.weights[name] = Constant::of_floats(std::move(shape), std::move(values));
    aliases_.erase(name);
    return name;
  }

  bool has_weight(const std::string& name) const { return program_.weights.contains(name); }

  // A float constant the lowering derives from a graph's (a transposed
  // copy), under `name` so that every node reading it shares one.
  std::string named_constant(const std::string& name, Shape shape, std::vector<float> values) {
    program_.weights[name] = Constant::of_floats(std::move(shape), std::move(values));
    return name;
  }

  // An integer constant of the program (int8 or int32), shared by name.
  std::string integer_constant(const std::string& name, ElementType type,
                               std::vector<std::int64_t> values) {
    if (!program_.weights.contains(name)) {
      const auto size = static_cast<std::int64_t>(values.size());
      program_.weights[name] = Constant::of_ints({size}, std::move(values), type);
    }
    return name;
  }

  // A new int32 constant of `values` (indices a GATHER reads).
  std::string new_index_constant(std::vector<std::int64_t> values) {
    const std::string name = fmt::format("%indices{}", program_.weights.size());
    const auto size = static_cast<std::int64_t>(values.size());
    program_.weights[name] = Constant::of_ints({size}, std::move(values), ElementType::int32);
    return name;
  }

  // A scalar constant, shared by every instruction that needs the value.
  std::string scalar(float value) {
    const std::string key = fmt::format("%scalar{}", value);
    if (!program_.weights.contains(key)) {
      program_.weights[key] = Constant::of_floats({1}, {value});
    }
    return key;
  }

  // A float constant of `count` elements all `value`, shared by name.
  std::string filled(std::int64_t count, float value) {
    const std::string key = fmt::format("%filled{}x{}", count, value);
    if (!program_.weights.contains(key)) {
      program_.weights[key] =
          Constant::of_floats({count}, std::vector<float>(static_cast<std::size_t>(count), value));
    }
    return key;
  }

  std::string scratch(std::int64_t elements) { return scratch_bytes(elements * element_size_); }

  // A scratch tensor of `shape` with elements of `element_bytes` each (a
  // byte mask), for lowerings that chain ops on it.
  std::string scratch_shaped(const Shape& shape, std::int64_t element_bytes) {
    const std::string name = scratch_bytes(element_count(shape) * element_bytes);
    scratch_shapes_[name] = shape;
    return name;
  }

  // A scratch tensor with a shape, for lowerings that chain ops on it.
  std::string scratch_shaped(const Shape& shape) {
    const std::string name = scratch(element_count(shape));
    scratch_shapes_[name] = shape;
    return name;
  }

  std::string scratch_bytes(std::int64_t bytes) {
    const std::string name = fmt::format("%scratch{}", scratch_count_++);
    program_.activations[name] = static_cast<std::uint64_t>(bytes);
    return name;
  }

  // `value`'s elements under another shape, by a name of their own (a
  // lowering that runs another on a reshaped tensor).
  std::string view(const std::string& value, Shape shape) {
    const std::string name = fmt::format("%view{}", scratch_count_++);
    aliases_[name] = ref(value);
    scratch_shapes_[name] = std::move(shape);
    return name;
  }

  // `out` is `in` reinterpreted (Reshape and friends): no instruction, unless
  // `out` is a graph output and needs its own storage. A reshaped integer
  // input stays indices.
  void alias(const std::string& out, const std::string& in, const std::string& origin) {
    // A reinterpretation holds exactly x's elements (a malformed Reshape
    // would have its readers go past x's storage).
    if (element_count(shape(out)) != element_count(shape(in))) {
      throw Unsupported(fmt::format("'{}' of shape {} cannot be '{}' of shape {} reinterpreted",
                                    out, to_string(shape(out)), in, to_string(shape(in))));
    }
    if (index_values_.contains(in) && !is_io(out)) {
      aliases_[out] = index_ref(in).first;
      index_values_.insert(out);
      return;
    }
    if (is_io(out) && index_values_.contains(in)) {
      // An integer output: a copy of the integers, read on as them.
      TensorRef src = index_ref(in).first;
      const ElementType type = integer_type(src.tensor);
      integer_tensors_[out] = {type, integer_source(in)};
      index_values_.insert(out);
      copy({out, 0}, std::move(src), element_count(shape(out)) * element_bytes(out), origin);
      return;
    }
    if (is_io(out)) {
      const std::int64_t bytes = element_count(shape(out)) * element_bytes(out);
      copy(ref(out), ref(in), bytes, origin);
      return;
    }
    aliases_[out] = ref(in);
  }

  void emit(const std::string& origin, std::vector<TensorRef> reads, std::vector<TensorRef> writes,
            std::function<void(KernelBuilder&, std::span<const BufferArg>)> fn) {
    DeviceInstruction instruction;
    instruction.operands = std::move(reads);
    instruction.written.assign(instruction.operands.size(), false);
    for (TensorRef& w : writes) {
      instruction.operands.push_back(std::move(w));
      instruction.written.push_back(true);
    }
    instruction.emit = std::move(fn);
    instruction.origin = origin;
    program_.instructions.push_back(std::move(instruction));
  }

  void copy(TensorRef dst, TensorRef src, std::int64_t bytes, const std::string& origin) {
    const std::uint32_t n = u32(bytes, "copy size");
    emit(origin, {std::move(src)}, {std::move(dst)},
         [n](KernelBuilder& b, std::span<const BufferArg> a) { b.dma_copy(a[1], a[0], n); });
  }

  // Ranges of `total` elements (of `element_bytes`, by default the
  // program's) that each fit the device's 64 MiB operand, whole multiples
  // of `unit` elements: one range when the tensor fits.
  std::vector<ElementRange> operand_ranges(std::int64_t total, std::int64_t unit,
                                           std::int64_t element_bytes = 0) const {
    unit = std::max<std::int64_t>(unit, 1);
    element_bytes = element_bytes > 0 ? element_bytes : element_size_;
    const std::int64_t units = std::max<std::int64_t>(1, kMaxOperandBytes / element_bytes / unit);
    const std::int64_t step = units * unit;
    if ((total + step - 1) / step > kMaxSplits) {
      throw Unsupported(fmt::format(
          "{} elements: more than {} ranges of the device's 64 MiB operand", total, kMaxSplits));
    }
    std::vector<ElementRange> ranges;
    for (std::int64_t first = 0; first < total; first += step) {
      ranges.push_back({first, std::min(step, total - first)});
    }
    return ranges;
  }

  // ELTWISE of `count` elements, b of `b_count` broadcast along the
  // innermost dimension: in ranges of whole b's where a tensor exceeds the
  // device's operand.
  void eltwise(const std::string& origin, EltwiseOp op, const TensorRef& a, const TensorRef& b,
               const TensorRef& out, std::int64_t count, std::int64_t b_count) {
    const std::uint32_t nb = u32(b_count, "broadcast count");
    const bool same = b_count == count;
    const auto at = [this](TensorRef r, std::int64_t first) {
      r.offset += static_cast<std::uint64_t>(first * element_size_);
      return r;
    };
    for (const ElementRange& r : operand_ranges(count, same ? 1 : b_count)) {
      const std::uint32_t n = u32(r.count, "element count");
      emit(
          origin, {at(a, r.first), same ? at(b, r.first) : b}, {at(out, r.first)},
          [op, n, nb = same ? n : nb, dt = dtype_](KernelBuilder& k, std::span<const BufferArg> s) {
            k.eltwise(dt, op, s[0], s[1], s[2], n, nb);
          });
    }
  }

  // batch x rows x cols -> batch x cols x rows.
  void transpose(const std::string& origin, TensorRef in, TensorRef out, std::int64_t batch,
                 std::int64_t rows, std::int64_t cols) {
    const std::uint32_t b = u32(batch, "batch");
    const std::uint32_t r = u32(rows, "rows");
    const std::uint32_t c = u32(cols, "cols");
    emit(origin, {std::move(in)}, {std::move(out)},
         [b, r, c, dt = dtype_](KernelBuilder& k, std::span<const BufferArg> s) {
           k.transpose(dt, s[0], s[1], b, r, c);
         });
  }

  // One CONVERT (ISA v1.2) of `count` elements, by `scale` or, with
  // `channel_scales`, per channel: `channels` blocks of `inner` elements.
  struct Conversion {
    isa::DataType from, to;
    std::int64_t count;
    float scale = 1.0F;
    std::optional<TensorRef> channel_scales = std::nullopt;
    std::int64_t channels = 0, inner = 0;
  };
  // In ranges that fit the device's operand (whole runs of the channels).
  void convert(const std::string& origin, const Conversion& c, const TensorRef& in,
               const TensorRef& out) {
    require(isa::Opcode::convert);
    const bool per_channel = c.channel_scales.has_value();
    const std::uint32_t channels = per_channel ? u32(c.channels, "channels") : 0U;
    const std::uint32_t inner = per_channel ? u32(c.inner, "channel size") : 0U;
    const auto from_bytes = static_cast<std::int64_t>(isa::element_size(c.from));
    const auto to_bytes = static_cast<std::int64_t>(isa::element_size(c.to));
    for (const ElementRange& r : operand_ranges(c.count, per_channel ? c.channels * c.inner : 1,
                                                std::max(from_bytes, to_bytes))) {
      std::vector<TensorRef> reads{in};
      reads.back().offset += static_cast<std::uint64_t>(r.first * from_bytes);
      if (per_channel) {
        reads.push_back(*c.channel_scales);
      }
      TensorRef written = out;
      written.offset += static_cast<std::uint64_t>(r.first * to_bytes);
      const std::uint32_t count = u32(r.count, "element count");
      emit(origin, std::move(reads), {std::move(written)},
           [=](KernelBuilder& k, std::span<const BufferArg> s) {
             k.convert(
                 c.from, c.to,
                 {.input = s[0],
                  .output = s.back(),
                  .count = count,
                  .scale = c.scale,
                  .channel_scales = per_channel ? std::optional<BufferArg>(s[1]) : std::nullopt,
                  .channels = channels,
                  .inner = inner});
           });
    }
  }

  bool is_io(const std::string& value) const {
    return std::ranges::find(graph_.inputs, value) != graph_.inputs.end() ||
           graph_.is_output(value);
  }

  Program take() && { return std::move(program_); }
  // The weights use_constant() placed: graph constants, by name.
  [[nodiscard]] const std::set<std::string>& graph_weights() const { return graph_weights_; }

 private:
  // `value` computed on the device as integers of `type`.
  TensorRef computed(const std::string& value, ElementType type) {
    if (!is_io(value)) {
      const std::int64_t size = type == ElementType::int64 ? 8 : 4;
      program_.activations.emplace(value,
                                   static_cast<std::uint64_t>(element_count(shape(value)) * size));
    }
    integer_tensors_[value] = {type, ""};
    index_values_.insert(value);
    return {value, 0};
  }

  const Graph& graph_;
  isa::DataType dtype_;
  std::int64_t element_size_;
  std::bitset<64> device_ops_;
  std::uint32_t hw_version_;
  Program program_;
  std::map<std::string, TensorRef> aliases_;
  std::map<std::string, Shape> scratch_shapes_;
  int scratch_count_ = 0;
  // Integer graph inputs, tensors made from them and their aliases: read
  // only by index_ref().
  std::set<std::string> index_values_;
  struct IntegerTensor {
    ElementType type;
    std::string source;  // the graph input its elements come from, or ""
  };
  std::map<std::string, IntegerTensor> integer_tensors_;
  // int32_view()'s copies of int64 values' low words, by tensor and offset.
  std::map<std::string, std::string> low_words_;
  std::set<std::string> graph_weights_;
};

inline const std::string& input(const Node& node, std::size_t index) {
  if (index >= node.inputs.size() || node.inputs[index].empty()) {
    throw Unsupported(fmt::format("input {} is missing", index));
  }
  return node.inputs[index];
}

// One axis of a strided copy, in elements.
struct CopyAxis {
  std::int64_t size, src_stride, dst_stride;
};

void strided_copy(Lowerer& l, const std::string& origin, TensorRef dst, TensorRef src,
                  const std::vector<CopyAxis>& axes,
                  std::optional<isa::DataType> dtype = std::nullopt);

// A SELECT operand: its tensor and its element count (the output's, or a
// trailing block of it read again).
struct SelectOperand {
  TensorRef ref;
  std::int64_t count;
};

// out (count elements) = mask[i] ? x : y: SELECT (v1.4) of elements of
// `dtype` (by default the program's; INT32 for integers), one per range
// that fits the device's operand.
void select_elements(Lowerer& l, const std::string& origin, SelectOperand mask, SelectOperand x,
                     SelectOperand y, TensorRef out, std::int64_t count,
                     std::optional<isa::DataType> dtype = std::nullopt);

// Integers (a constant, or integers computed on the device) as floats of
// the program's dtype, under a name of their shape: a constant's converted
// on the host, others by one CONVERT from their INT32 words.
std::string integers_as_floats(Lowerer& l, const std::string& origin, const std::string& value);

// Input `index` as integers: empty if omitted; Unsupported unless constant.
std::vector<std::int64_t> constant_ints(Lowerer& l, const Node& node, std::size_t index);

// Constant indices of `n` (input 1), each checked against `bound` and
// made non-negative; Unsupported for indices computed at run time.
std::vector<std::int64_t> constant_indices(Lowerer& l, const Node& n, std::int64_t bound);

// Row-major strides of `shape`, in elements.
std::vector<std::int64_t> strides_of(const Shape& shape);

// Unsupported unless `groups` x `per_group` rows fit a GATHER's INT32 index
// table, one operand of at most 64 MiB: checked before the table is built.
void check_gathered_rows(std::int64_t groups, std::int64_t per_group);

// The `axis` of GatherElements or ScatterElements over data of shape `sx`,
// indices of shape `si` of the same rank (negative from the end).
std::size_t elements_axis(const Node& n, const Shape& sx, const Shape& si);

// out = rows `rows` of x viewed as rows of `row_elems` elements, in that
// order: one GATHER (v1.3) reading a constant int32 index table.
void gather_rows(Lowerer& l, const std::string& origin, const std::string& x,
                 const std::string& out, std::int64_t row_elems, std::vector<std::int64_t> rows);

// Selections and scatters by indices known at run time (lowering.cpp): the
// INT32 element numbers GatherElements' (ScatterElements') indices address
// along `axis`, and the INT32 slice rows GatherND's (ScatterND's) tuples of
// `k` indices address after `batch_dims`; each index brought into range
// on the device (one out of range fails the job).
TensorRef runtime_element_rows(Lowerer& l, const Node& n, std::size_t axis);
TensorRef runtime_tuple_rows(Lowerer& l, const Node& n, std::size_t batch_dims, std::size_t k);

// Largest data rows × updates a scatter at run-time positions compares.
inline constexpr std::int64_t kMaxRuntimeScatterPairs = std::int64_t{1} << 22;

// Output = input 0 with update row j (input 2) replacing row targets[j]
// (INT32, in range, known at run time), the last update landing on a row
// winning; the data as `data_rows` rows of `row_elems`.
void scatter_by_runtime_targets(Lowerer& l, const Node& n, const TensorRef& targets,
                                std::int64_t updates, std::int64_t data_rows,
                                std::int64_t row_elems);

// `first` rows then `second` rows of `row_elems`, into one scratch tensor
// a GATHER reads: two copies.
std::string side_by_side(Lowerer& l, const std::string& origin, TensorRef first,
                         std::int64_t first_rows, TensorRef second, std::int64_t second_rows,
                         std::int64_t row_elems);

}  // namespace npu::onnx_runtime
