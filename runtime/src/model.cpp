// npu::onnx::Model and CompiledModel: the passes in order, the memory
// layout, the one kernel, and running it.
#include "npu/onnx/model.hpp"

#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <map>
#include <set>
#include <span>
#include <system_error>
#include <utility>

#include "constant_folding.hpp"
#include "dynamic_quantization.hpp"
#include "element_codec.hpp"
#include "function_inlining.hpp"
#include "fusion.hpp"
#include "grid_sample.hpp"
#include "int8_rewrite.hpp"
#include "lowering.hpp"
#include "memory_plan.hpp"
#include "npu/assembly.hpp"
#include "npu/isa.hpp"
#include "npu/kernel_builder.hpp"
#include "npu/launch.hpp"
#include "npu/queue.hpp"
#include "onnx_import.hpp"
#include "qdq.hpp"
#include "qoperator.hpp"
#include "quantization.hpp"
#include "weight_upload.hpp"

namespace npu::onnx {

using onnx_runtime::Constant;
using onnx_runtime::Graph;
using onnx_runtime::Program;

namespace {

std::uint64_t align(std::uint64_t value) {
  return (value + onnx_runtime::kTensorAlignment - 1) / onnx_runtime::kTensorAlignment *
         onnx_runtime::kTensorAlignment;
}

enum class Region : std::uint8_t { weights, arena, io };

using onnx_runtime::ElementType;

// Bytes per element of an integer or bool input or output on the device.
std::uint64_t integer_size(ElementType type) {
  return type == ElementType::int64 ? 8 : type == ElementType::boolean ? 1 : 4;
}

TensorType tensor_type(ElementType type) {
  return type == ElementType::int64      ? TensorType::int64
         : type == ElementType::int32    ? TensorType::int32
         : type == ElementType::uint8    ? TensorType::uint8
         : type == ElementType::int8     ? TensorType::int8
         : type == ElementType::boolean  ? TensorType::boolean
         : type == ElementType::float16  ? TensorType::float16
         : type == ElementType::bfloat16 ? TensorType::bfloat16
         : type == ElementType::float64  ? TensorType::float64
                                         : TensorType::float32;
}

// Whether an input or output of `type` is a float one (held in `data`, in
// the program's dtype on the device).
bool is_float(TensorType type) {
  return type == TensorType::float32 || type == TensorType::float16 ||
         type == TensorType::bfloat16 || type == TensorType::float64;
}

std::string_view to_string(TensorType type) {
  switch (type) {
    case TensorType::int32:
      return "int32";
    case TensorType::int64:
      return "int64";
    case TensorType::boolean:
      return "bool";
    case TensorType::uint8:
      return "uint8";
    case TensorType::int8:
      return "int8";
    case TensorType::float16:
      return "float16";
    case TensorType::bfloat16:
      return "bfloat16";
    case TensorType::float64:
      return "float64";
    case TensorType::float32:
      break;
  }
  return "float32";
}

// Whether integer `value` is one of `type`: int32, or uint8 and int8, which
// the device reads as INT32.
bool fits_type(std::int64_t value, TensorType type) {
  using Range = std::pair<std::int64_t, std::int64_t>;
  const auto [low, high] = type == TensorType::uint8 ? Range{0, 255}
                           : type == TensorType::int8
                               ? Range{-128, 127}
                               : Range{std::numeric_limits<std::int32_t>::min(),
                                       std::numeric_limits<std::int32_t>::max()};
  return value >= low && value <= high;
}

// Bytes per element of input or output type `type` on the device.
std::uint64_t device_element_size(ElementType type, isa::DataType dtype) {
  return is_float(tensor_type(type)) ? static_cast<std::uint64_t>(isa::element_size(dtype))
                                     : integer_size(type);
}

// Writes input `given` into `out` (its place in the I/O buffer) as the
// device reads it: float values in the program's data type; int64 and
// int32 values as they are (the indices of GATHER, hw-spec 7.4.3), uint8
// and int8 ones widened to INT32; bool one byte each. ModelError for a wrong type or count (before
// anything is written), a bool not 0 or 1, or (`narrowed_by` not empty: the node that reads the low
// 32 bits of an int64 input) a value beyond 32 bits; a run refused so has written part of its
// inputs, which the next run overwrites.
void write_input(const HostTensor& given, ElementType type, const std::vector<std::int64_t>& shape,
                 isa::DataType dtype, const std::string& narrowed_by, std::span<std::byte> out) {
  static_assert(std::endian::native == std::endian::little, "the device's integers are LE");
  const TensorType want = tensor_type(type);
  if (given.type != want) {
    throw ModelError(fmt::format("input '{}' is {}, the model takes {}", given.name,
                                 to_string(given.type), to_string(want)));
  }
  const std::size_t count = is_float(want) ? given.data.size() : given.integers.size();
  if (static_cast<std::int64_t>(count) != onnx_runtime::element_count(shape)) {
    throw ModelError(fmt::format("input '{}' has {} values for shape {}", given.name, count,
                                 onnx_runtime::to_string(shape)));
  }
  out = out.first(count * device_element_size(type, dtype));
  if (is_float(want)) {
    onnx_runtime::encode_elements_into(given.data, dtype, out);
    return;
  }
  for (std::size_t i = 0; i < count; ++i) {
    const std::int64_t value = given.integers[i];
    const bool fits32 = value >= std::numeric_limits<std::int32_t>::min() &&
                        value <= std::numeric_limits<std::int32_t>::max();
    if (want == TensorType::boolean) {
      if (value != 0 && value != 1) {
        throw ModelError(
            fmt::format("input '{}': value {} at {} is not a bool (0 or 1)", given.name, value, i));
      }
      out[i] = static_cast<std::byte>(value);
      continue;
    }
    if (want == TensorType::int64 && !narrowed_by.empty() && !fits32) {
      throw ModelError(fmt::format(
          "input '{}': value {} at {} does not fit the 32 bits {} reads (the device converts and "
          "compares integers as INT32)",
          given.name, value, i, narrowed_by));
    }
    if (want == TensorType::int64) {
      std::memcpy(out.data() + 8 * i, &value, 8);
      continue;
    }
    if (!fits_type(value, want)) {
      throw ModelError(fmt::format("input '{}': value {} at {} does not fit {}", given.name, value,
                                   i, to_string(want)));
    }
    const auto narrow = static_cast<std::int32_t>(value);
    std::memcpy(out.data() + 4 * i, &narrow, 4);
  }
}

// A float16 or bfloat16 output's values rounded to that type (to nearest
// even), as the model's Cast to it rounds: the device computed them in the
// program's dtype.
void round_to_own_type(HostTensor& output) {
  if (output.type == TensorType::float32 || output.type == TensorType::float64) {
    return;  // every value of the program's dtype is one of theirs
  }
  const isa::DataType own =
      output.type == TensorType::float16 ? isa::DataType::fp16 : isa::DataType::bf16;
  output.data = onnx_runtime::decode_elements(onnx_runtime::encode_elements(output.data, own), own);
}

// The type of graph input or output `name`: float32, float16, bfloat16 or float64
// (stored in the program's dtype), or an integer or bool type (stored as
// itself; uint8 and int8 as INT32).
ElementType io_type(const onnx_runtime::Program& program, const std::string& name) {
  if (const auto it = program.widened_inputs.find(name); it != program.widened_inputs.end()) {
    return it->second;
  }
  if (const auto it = program.integer_inputs.find(name); it != program.integer_inputs.end()) {
    return it->second;
  }
  if (const auto it = program.output_types.find(name); it != program.output_types.end()) {
    return it->second;
  }
  if (const auto it = program.narrowed_float_io.find(name); it != program.narrowed_float_io.end()) {
    return it->second;
  }
  return ElementType::float32;
}

// The values of an int64, int32, uint8, int8 or bool output read back from
// the device. A uint8 or int8 output's INT32 words are narrowed as C
// converts (modulo 256), onnxruntime's wrap of 8-bit arithmetic.
std::vector<std::int64_t> output_integers(std::span<const std::byte> bytes, ElementType type) {
  const std::size_t size = integer_size(type);
  std::vector<std::int64_t> values(bytes.size() / size);
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (type == ElementType::int64) {
      std::memcpy(&values[i], bytes.data() + 8 * i, 8);
    } else if (size == 4) {
      std::int32_t v = 0;
      std::memcpy(&v, bytes.data() + 4 * i, 4);
      values[i] = type == ElementType::uint8  ? static_cast<std::uint8_t>(v)
                  : type == ElementType::int8 ? static_cast<std::int8_t>(v)
                                              : v;
    } else {
      values[i] = std::to_integer<std::int64_t>(bytes[i]);
    }
  }
  return values;
}

}  // namespace

struct Model::State {
  ::onnx::ModelProto proto;
  // QuantizeLinear -> DequantizeLinear pairs on computed tensors and
  // DynamicQuantizeLinear, rewritten into float arithmetic whose rounding
  // needs FP32 (qdq.hpp, dynamic_quantization.hpp).
  std::size_t fp32_roundings = 0;
};

Model::Model(std::unique_ptr<State> state) : state_(std::move(state)) {}
Model::~Model() = default;
Model::Model(Model&&) noexcept = default;
Model& Model::operator=(Model&&) noexcept = default;

Model Model::load(const std::filesystem::path& path) {
  auto state = std::make_unique<State>();
  state->proto = onnx_runtime::parse_model(path);
  // Dynamically quantized models become float arithmetic, QOperator models
  // QDQ ones, first (dynamic_quantization.hpp, qoperator.hpp).
  state->fp32_roundings = onnx_runtime::rewrite_dynamic_quantization(state->proto).quantizers;
  (void)onnx_runtime::rewrite_qoperator(state->proto);
  state->fp32_roundings += onnx_runtime::rewrite_qdq(state->proto).round_trips;
  // Every op must have a lowering (or fold away): checked before anything
  // is compiled, so a model the device cannot run is named at once. An op
  // without one that ONNX defines as a function of others is that first.
  const std::set<std::string> known = onnx_runtime::lowerable_ops();
  (void)onnx_runtime::inline_functions(state->proto, known);
  (void)onnx_runtime::decompose_grid_sample(state->proto);
  std::map<std::string, UnsupportedOperators::Entry> missing;
  for (const auto& [op, node] : onnx_runtime::node_ops(state->proto)) {
    if (!known.contains(op)) {
      auto& entry = missing[op];
      entry.op = op;
      entry.nodes.push_back(node);
      entry.reason = "no lowering to the ISA";
    }
  }
  if (!missing.empty()) {
    std::vector<UnsupportedOperators::Entry> entries;
    for (auto& [op, entry] : missing) {
      entries.push_back(std::move(entry));
    }
    throw UnsupportedOperators(std::move(entries));
  }
  return Model(std::move(state));
}

std::map<std::string, std::vector<std::int64_t>> Model::inputs() const {
  return onnx_runtime::declared_inputs(state_->proto);
}

std::vector<std::string> Model::outputs() const {
  std::vector<std::string> names;
  for (const auto& output : state_->proto.graph().output()) {
    names.push_back(output.name());
  }
  return names;
}

namespace {

// A device instruction of an ONNX node in the program.
struct NodeSpan {
  std::uint32_t start;  // byte offset of its first instruction word
  std::string origin;   // the node
  // Per argument slot it reads or writes: the bytes from that address to
  // the end of the tensor there (the most an operand at it can span).
  std::map<std::uint32_t, std::uint64_t> reach;
};

// The reach of the operand the device reported (its slot in the
// instruction at the error offset), 0 when it names none.
std::uint64_t operand_reach(const NodeSpan& span, std::span<const std::uint32_t> program,
                            const JobResult& result) {
  if (!result.error_operand || *result.error_offset % 4 != 0) {
    return 0;
  }
  std::size_t word = *result.error_offset / 4;
  const isa::DecodeResult decoded = isa::decode_one(program, word);
  if (!decoded.instruction || *result.error_operand >= decoded.instruction->operands.size()) {
    return 0;
  }
  const isa::Operand& operand = decoded.instruction->operands[*result.error_operand];
  const auto it = span.reach.find(operand.word);
  return operand.is_argument && it != span.reach.end() ? it->second : 0;
}

// Where a failed job stopped, for its message: the node whose
// instructions hold the device's error offset, and for OPERAND_INVALID at
// an operand whose tensor reaches beyond the device's 64 MiB operand
// (hw-spec 7.4) that size, the cause the compiler does not split away for
// every operator. A bad index into a large table (GATHER's, not staged)
// names no size.
std::string failure_site(const std::vector<NodeSpan>& spans, std::span<const std::uint32_t> program,
                         const JobResult& result) {
  if (!result.error_offset) {
    return "";
  }
  const auto next = std::ranges::upper_bound(spans, *result.error_offset, {}, &NodeSpan::start);
  if (next == spans.begin()) {
    return "";
  }
  const NodeSpan& span = *std::prev(next);
  std::string site =
      fmt::format(", in node {} (program byte {:#x}", span.origin, *result.error_offset);
  if (result.error_operand) {
    site += fmt::format(", operand {}", *result.error_operand);
  }
  site += ")";
  const std::uint64_t reach = operand_reach(span, program, result);
  if (result.error == JobError::operand_invalid &&
      reach > static_cast<std::uint64_t>(onnx_runtime::kMaxOperandBytes)) {
    site +=
        fmt::format(": a tensor of {} MiB there exceeds the device's 64 MiB operand", reach >> 20);
  }
  return site;
}

}  // namespace

struct CompiledModel::State {
  Device device;
  Queue queue;
  Buffer weights;
  Buffer arena;
  Buffer io;
  std::optional<Launch> launch;
  KernelImage image;
  CompileReport report;
  isa::DataType dtype;  // of the inputs and outputs on the device
  struct Io {
    std::string name;
    std::vector<std::int64_t> shape;
    std::uint64_t offset;
    // float32, float16, bfloat16: stored in `dtype`; int64, int32 and bool
    // as themselves, uint8 and int8 as INT32.
    onnx_runtime::ElementType type = onnx_runtime::ElementType::float32;
    // An int64 input whose low 32 bits this node reads (empty: none).
    std::string narrowed_by{};
  };
  std::vector<Io> inputs, outputs;
  // Each ONNX node's instructions, in program order: where a failed job
  // stopped names its node.
  std::vector<NodeSpan> spans;
};

CompiledModel::CompiledModel(std::unique_ptr<State> state) : state_(std::move(state)) {}
CompiledModel::~CompiledModel() = default;
CompiledModel::CompiledModel(CompiledModel&&) noexcept = default;
CompiledModel& CompiledModel::operator=(CompiledModel&&) noexcept = default;

namespace {

Buffer allocate(const Device& device, std::uint64_t bytes, bool prefer_device, bool* on_device) {
  const auto size = static_cast<std::size_t>(std::max<std::uint64_t>(bytes, 4096));
  if (prefer_device && device.properties().has(Capability::device_memory)) {
    try {
      *on_device = true;
      return device.allocate(size, {.placement = MemoryPlacement::device});
    } catch (const std::system_error&) {
      // Device memory full: the model still runs from host memory.
    }
  }
  *on_device = false;
  return device.allocate(size, {.placement = MemoryPlacement::host});
}

}  // namespace

namespace {

// Import, fold and fuse for these input shapes; the report's node counts.
// The proto is consumed: given by std::move, its weights move on.
Graph prepare_graph(::onnx::ModelProto proto,
                    const std::map<std::string, std::vector<std::int64_t>>& input_shapes,
                    const DeviceProperties& device_properties, CompileReport& report) {
  report.onnx_nodes = static_cast<std::size_t>(proto.graph().node_size());
  Graph graph = onnx_runtime::import_graph(std::move(proto), input_shapes, report.folded_nodes);
  report.fused_nodes =
      onnx_runtime::run_fusion_passes(graph, device_properties.ops, device_properties.hw_version);
  return graph;
}

}  // namespace

CompiledModel Model::compile(const Device& device,
                             const std::map<std::string, std::vector<std::int64_t>>& input_shapes,
                             Precision precision, const Calibration& calibration) const& {
  return compile_state(*state_, device, input_shapes, precision, calibration);
}

CompiledModel Model::compile(const Device& device,
                             const std::map<std::string, std::vector<std::int64_t>>& input_shapes,
                             Precision precision, const Calibration& calibration) && {
  return compile_state(std::move(*state_), device, input_shapes, precision, calibration);
}

CompiledModel Model::compile_state(
    State state, const Device& device,
    const std::map<std::string, std::vector<std::int64_t>>& input_shapes, Precision precision,
    const Calibration& calibration) {
  const std::size_t fp32_roundings = state.fp32_roundings;
  const isa::DataType dtype = precision == Precision::fp16   ? isa::DataType::fp16
                              : precision == Precision::bf16 ? isa::DataType::bf16
                                                             : isa::DataType::fp32;
  if ((precision == Precision::fp16 || precision == Precision::bf16) && fp32_roundings > 0) {
    throw ModelError(fmt::format(
        "the model quantizes {} computed tensors (QuantizeLinear into a DequantizeLinear or a "
        "graph output, DynamicQuantizeLinear), whose rounding is computed in FP32: compile it in "
        "fp32 or int8",
        fp32_roundings));
  }
  if (precision == Precision::int8 && calibration.samples == 0) {
    throw ModelError(
        "int8 needs a calibration: Model::calibrate() on sample inputs (npu-infer --calibrate)");
  }
  CompileReport report;
  Graph graph = prepare_graph(std::move(state.proto), input_shapes, device.properties(), report);
  if (precision == Precision::int8) {
    onnx_runtime::split_float_activations(graph);
    const onnx_runtime::Int8RewriteStats stats = onnx_runtime::rewrite_int8(
        graph, calibration.max_abs,
        device.properties().ops.test(static_cast<std::size_t>(isa::Opcode::convert)));
    report.int8_nodes = stats.quantized_nodes;
    report.int8_conversions = stats.conversions;
  }
  // The graph is given up: its weights move into the program, and from
  // there into the device buffer.
  return CompiledModel::build(device,
                              onnx_runtime::lower(std::move(graph), dtype, device.properties().ops,
                                                  device.properties().hw_version),
                              report);
}

Calibration Model::calibrate(const Device& device,
                             const std::vector<std::vector<HostTensor>>& samples,
                             double percentile) const {
  if (samples.empty()) {
    throw ModelError("a calibration needs at least one sample");
  }
  if (!(percentile > 0.0 && percentile <= 100.0)) {
    throw ModelError(fmt::format("calibration percentile {} is not in (0, 100]", percentile));
  }
  // Samples of one shape share a compiled FP32 model whose outputs include
  // every tensor the INT8 path quantizes.
  using Shapes = std::map<std::string, std::vector<std::int64_t>>;
  std::map<Shapes, std::vector<std::size_t>> by_shapes;
  for (std::size_t i = 0; i < samples.size(); ++i) {
    Shapes shapes;
    for (const HostTensor& tensor : samples[i]) {
      shapes[tensor.name] = tensor.shape;
    }
    by_shapes[shapes].push_back(i);
  }
  std::map<std::string, onnx_runtime::RangeObserver> observers;
  for (const auto& [shapes, indices] : by_shapes) {
    CompileReport report;
    std::optional<CompiledModel> probe;
    std::set<std::string> tensors;
    try {
      Graph graph = prepare_graph(state_->proto, shapes, device.properties(), report);
      onnx_runtime::split_float_activations(graph);
      tensors = onnx_runtime::calibrated_tensors(graph);
      for (const std::string& tensor : tensors) {
        if (std::ranges::find(graph.inputs, tensor) == graph.inputs.end() &&
            !graph.is_output(tensor)) {
          graph.outputs.push_back(tensor);
        }
      }
      probe.emplace(CompiledModel::build(
          device,
          onnx_runtime::lower(std::move(graph), isa::DataType::fp32, device.properties().ops,
                              device.properties().hw_version),
          report));
    } catch (const UnsupportedOperators&) {
      throw;
    } catch (const std::runtime_error& e) {  // the sample's shapes do not fit the model
      throw ModelError(fmt::format("calibration sample {}: {}", indices.front() + 1, e.what()));
    }
    for (const std::size_t index : indices) {
      std::vector<HostTensor> outputs;
      try {
        outputs = probe->run(samples[index]);
      } catch (const ModelError& e) {
        throw ModelError(fmt::format("calibration sample {}: {}", index + 1, e.what()));
      }
      for (const std::vector<HostTensor>* list : {&samples[index], &std::as_const(outputs)}) {
        for (const HostTensor& tensor : *list) {
          if (tensors.contains(tensor.name)) {
            observers.try_emplace(tensor.name, percentile).first->second.observe(tensor.data);
          }
        }
      }
    }
  }
  Calibration calibration;
  calibration.samples = samples.size();
  calibration.percentile = percentile;
  for (const auto& [name, observer] : observers) {
    calibration.max_abs[name] = observer.max_abs();
  }
  return calibration;
}

CompiledModel CompiledModel::build(const Device& device, Program program, CompileReport report) {
  const isa::DataType dtype = program.dtype;
  const onnx_runtime::MemoryPlan plan =
      onnx_runtime::plan_memory(onnx_runtime::activation_lifetimes(program));

  // Layout: weights packed in one buffer, graph inputs then outputs in the
  // host-visible I/O buffer.
  const onnx_runtime::WeightLayout weight_layout =
      onnx_runtime::layout_weights(program.weights, dtype);
  const std::map<std::string, std::uint64_t>& weight_offsets = weight_layout.offsets;
  const std::uint64_t weight_bytes = weight_layout.bytes;
  std::map<std::string, std::uint64_t> io_offsets;
  std::uint64_t io_bytes = 0;
  for (const auto* names : {&program.inputs, &program.outputs}) {
    for (const std::string& name : *names) {
      io_offsets[name] = io_bytes;
      io_bytes = align(io_bytes + static_cast<std::uint64_t>(
                                      onnx_runtime::element_count(program.shapes.at(name))) *
                                      device_element_size(io_type(program, name), dtype));
    }
  }

  // The one kernel: an argument slot per distinct address the instructions
  // use, bound below to (buffer, offset).
  KernelBuilder builder("onnx_model");
  std::map<std::pair<Region, std::uint64_t>, BufferArg> slots;
  auto slot_of = [&](const onnx_runtime::TensorRef& ref) {
    std::pair<Region, std::uint64_t> key;
    if (const auto w = weight_offsets.find(ref.tensor); w != weight_offsets.end()) {
      key = {Region::weights, w->second + ref.offset};
    } else if (const auto io = io_offsets.find(ref.tensor); io != io_offsets.end()) {
      key = {Region::io, io->second + ref.offset};
    } else {
      key = {Region::arena, plan.offsets.at(ref.tensor) + ref.offset};
    }
    if (const auto it = slots.find(key); it != slots.end()) {
      return it->second;
    }
    static constexpr const char* kRegionNames[] = {"w", "a", "io"};
    const BufferArg arg = builder.arg_buffer(
        fmt::format("{}_{}", kRegionNames[static_cast<int>(key.first)], key.second));
    slots.emplace(key, arg);
    return arg;
  };
  auto tensor_bytes = [&](const onnx_runtime::TensorRef& ref) -> std::uint64_t {
    if (const auto w = program.weights.find(ref.tensor); w != program.weights.end()) {
      return onnx_runtime::encoded_size(w->second, dtype);
    }
    if (const auto a = program.activations.find(ref.tensor); a != program.activations.end()) {
      return a->second;
    }
    const auto shape = program.shapes.find(ref.tensor);
    return shape == program.shapes.end()
               ? 0
               : static_cast<std::uint64_t>(onnx_runtime::element_count(shape->second)) *
                     device_element_size(io_type(program, ref.tensor), dtype);
  };
  std::vector<NodeSpan> spans;
  for (const onnx_runtime::DeviceInstruction& instruction : program.instructions) {
    std::vector<BufferArg> args;
    NodeSpan span{builder.program_bytes(), instruction.origin, {}};
    for (const onnx_runtime::TensorRef& ref : instruction.operands) {
      args.push_back(slot_of(ref));
      const std::uint64_t bytes = tensor_bytes(ref);
      std::uint64_t& reach = span.reach[args.back().slot];
      reach = std::max(reach, bytes > ref.offset ? bytes - ref.offset : 0);
    }
    spans.push_back(std::move(span));
    try {
      instruction.emit(builder, args);
    } catch (const std::invalid_argument& e) {
      throw ModelError(
          fmt::format("{}: the device instruction is invalid: {}", instruction.origin, e.what()));
    }
  }

  if (program.instructions.empty()) {
    // Every output is known without computing (empty, or constants of a
    // size the device is not asked to copy): a job still runs, so that
    // run() behaves the same for every model.
    builder.nop();
  }
  report.instructions = program.instructions.size();
  report.argument_slots = slots.size();
  report.weight_bytes = weight_bytes;
  report.arena_bytes = plan.size;
  report.unplanned_bytes = plan.unplanned;
  report.io_bytes = io_bytes;

  Buffer weights = allocate(device, weight_bytes, true, &report.weights_in_device_memory);
  Buffer arena = allocate(device, plan.size, true, &report.activations_in_device_memory);
  bool io_on_device = false;  // always host memory: the host writes and reads it every run
  Buffer io = allocate(device, io_bytes, false, &io_on_device);
  // Written in order, a slice at a time (device memory is write-combined:
  // sequential writes, no reads), each weight's host copy freed once written.
  onnx_runtime::upload_weights(program.weights, weight_offsets, dtype, weights.map());

  auto state = std::make_unique<CompiledModel::State>(CompiledModel::State{device,
                                                                           device.create_queue(),
                                                                           weights,
                                                                           arena,
                                                                           io,
                                                                           std::nullopt,
                                                                           builder.build(),
                                                                           report,
                                                                           dtype,
                                                                           {},
                                                                           {},
                                                                           std::move(spans)});
  state->launch.emplace(device.load_kernel(state->image));
  for (const auto& [key, arg] : slots) {
    const Buffer& buffer = key.first == Region::weights ? weights
                           : key.first == Region::arena ? arena
                                                        : io;
    state->launch->set(arg.slot, buffer, key.second);
  }
  for (const std::string& name : program.inputs) {
    const auto narrowed = program.narrowed_inputs.find(name);
    state->inputs.push_back(
        {name, program.shapes.at(name), io_offsets.at(name), io_type(program, name),
         narrowed != program.narrowed_inputs.end() ? narrowed->second : std::string()});
  }
  for (const std::string& name : program.outputs) {
    state->outputs.push_back(
        {name, program.shapes.at(name), io_offsets.at(name), io_type(program, name)});
  }
  return CompiledModel(std::move(state));
}

// A failed job banned the model's queue (docs/uapi.md): without a fresh one
// every later run would be refused. If even that fails (the device is
// lost), the next run reports it; this run reports its job's failure.
void CompiledModel::recover_queue() const {
  try {
    state_->queue.recover();
  } catch (const std::system_error&) {
  }
}

std::vector<HostTensor> CompiledModel::run(const std::vector<HostTensor>& inputs,
                                           RunTimings* timings) const {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  // The I/O buffer, mapped once: inputs are written into it and outputs
  // read from it in place, with no copy of their own.
  const std::span<std::byte> io = state_->io.map();
  for (const State::Io& want : state_->inputs) {
    const auto it = std::ranges::find(inputs, want.name, &HostTensor::name);
    if (it == inputs.end()) {
      throw ModelError(fmt::format("input '{}' is missing", want.name));
    }
    if (it->shape != want.shape) {
      throw ModelError(fmt::format("input '{}' has shape {}, the model was compiled for {}",
                                   want.name, onnx_runtime::to_string(it->shape),
                                   onnx_runtime::to_string(want.shape)));
    }
    write_input(*it, want.type, want.shape, state_->dtype, want.narrowed_by,
                io.subspan(want.offset));
  }
  for (const HostTensor& given : inputs) {
    if (std::ranges::find(state_->inputs, given.name, &State::Io::name) == state_->inputs.end()) {
      throw ModelError(fmt::format("the model has no input '{}'", given.name));
    }
  }
  const auto uploaded = Clock::now();
  const JobHandle job = state_->queue.submit(*state_->launch);
  const auto submitted = Clock::now();
  const JobResult result = job.wait();
  const auto computed = Clock::now();
  if (!result.ok()) {
    recover_queue();
    throw std::runtime_error(fmt::format(
        "the inference job {}: {} at {:#x}{}", to_string(result.status), to_string(result.error),
        result.error_address, failure_site(state_->spans, state_->image.program, result)));
  }
  std::vector<HostTensor> outputs;
  outputs.reserve(state_->outputs.size());
  for (const State::Io& out : state_->outputs) {
    const auto count = static_cast<std::size_t>(onnx_runtime::element_count(out.shape));
    const std::span<const std::byte> bytes =
        io.subspan(out.offset, count * device_element_size(out.type, state_->dtype));
    HostTensor& output = outputs.emplace_back();
    output.name = out.name;
    output.shape = out.shape;
    output.type = tensor_type(out.type);
    if (is_float(output.type)) {
      output.data.resize(count);
      onnx_runtime::decode_elements_into(bytes, state_->dtype, output.data);
      round_to_own_type(output);
    } else {
      output.integers = output_integers(bytes, out.type);
    }
  }
  if (timings != nullptr) {
    timings->upload = uploaded - start;
    timings->device = computed - uploaded;
    timings->download = Clock::now() - computed;
    timings->submit = submitted - uploaded;
    timings->device_run = result.device_times
                              ? result.device_times->end - result.device_times->start
                              : std::chrono::nanoseconds::zero();
  }
  return outputs;
}

const CompileReport& CompiledModel::report() const {
  return state_->report;
}

std::string CompiledModel::disassembly() const {
  return disassemble(state_->image);
}

}  // namespace npu::onnx
