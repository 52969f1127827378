// npu::onnx: ONNX models compiled for the KNPU and run through libnpu
// (docs/onnx-runtime.md).
//
//   npu::Device device = npu::Device::open(0);
//   npu::onnx::Model model = npu::onnx::Model::load("cls.onnx");
//   npu::onnx::CompiledModel compiled = model.compile(device, {{"x", {1, 3, 48, 192}}});
//   std::vector<npu::onnx::HostTensor> outputs = compiled.run({input});
//
// Loading checks that the device can run every operator of the graph and
// names those it cannot (UnsupportedOperators); nothing runs on the host.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "npu/device.hpp"

namespace npu::onnx_runtime {
struct Program;
}

namespace npu::onnx {

// A file that is not a usable ONNX model: the message says what is wrong.
class ModelError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Operators the device cannot run: every one named, with its nodes.
class UnsupportedOperators : public ModelError {
 public:
  struct Entry {
    std::string op;
    std::vector<std::string> nodes;  // node names (or their first output)
    std::string reason;
  };
  explicit UnsupportedOperators(std::vector<Entry> entries);
  [[nodiscard]] const std::vector<Entry>& entries() const { return entries_; }

 private:
  std::vector<Entry> entries_;
};

enum class Precision : std::uint8_t { fp32, fp16, bf16, int8 };

// The element type of a HostTensor: float32; float16 or bfloat16 (a model
// exported in half precision: its values held as float, computed in the
// program's precision, its outputs rounded to their type); float64 (held
// as float and computed in the program's precision: the device has no
// float64; the caller narrows its inputs); the integers of
// an int64 or int32 graph input or output (the token ids an embedding
// Gather reads, an attention mask), of a uint8 or int8 input (an image's
// bytes, a quantized tensor) or output (a quantized or 8-bit result); or
// bool (a mask: 0 or 1).
enum class TensorType : std::uint8_t {
  float32,
  int32,
  int64,
  boolean,
  float16,
  bfloat16,
  uint8,
  int8,
  float64
};

// A tensor in host memory, row-major: float values in `data` (float32,
// float16, bfloat16, float64), or (type int32, int64, uint8, int8 or bool) integer
// values in `integers` (a bool 0 or 1).
struct HostTensor {
  std::string name;
  std::vector<std::int64_t> shape;
  std::vector<float> data;
  TensorType type = TensorType::float32;
  std::vector<std::int64_t> integers{};
};

// What the compiler did, for --json and the docs.
struct CompileReport {
  std::size_t onnx_nodes = 0;    // nodes in the file (Constant nodes included)
  std::size_t folded_nodes = 0;  // evaluated at compile time
  std::size_t fused_nodes = 0;   // merged into another node (BN, bias, activation)
  std::size_t instructions = 0;  // device instructions of the one kernel
  std::size_t argument_slots = 0;
  std::uint64_t weight_bytes = 0;
  std::uint64_t arena_bytes = 0;      // intermediates after liveness planning
  std::uint64_t unplanned_bytes = 0;  // the same without reuse
  std::uint64_t io_bytes = 0;
  bool weights_in_device_memory = false;
  bool activations_in_device_memory = false;
  std::size_t int8_nodes = 0;        // Conv/Gemm/MatMul run as INT8 GEMM or CONV2D
  std::size_t int8_conversions = 0;  // quantize and dequantize steps around them
};

// INT8 calibration: the range of each tensor the INT8 path quantizes, from
// the model run in FP32 on sample inputs. Per sample the `percentile`-th
// percentile of the tensor's magnitudes (100: its largest, min/max
// calibration), and the largest over the samples. The default 99.99 lets
// the rare outliers of transformer activations saturate rather than coarsen
// every other value's step (docs/onnx-runtime.md "INT8").
inline constexpr double kDefaultCalibrationPercentile = 99.99;
struct Calibration {
  std::map<std::string, float> max_abs;  // by tensor name
  std::size_t samples = 0;
  double percentile = kDefaultCalibrationPercentile;
};

class CompiledModel;

class Model {
 public:
  // Parses the file and checks every operator against the lowering table;
  // ModelError / UnsupportedOperators.
  static Model load(const std::filesystem::path& path);

  // The graph inputs and their declared shapes (-1: dynamic).
  [[nodiscard]] std::map<std::string, std::vector<std::int64_t>> inputs() const;
  [[nodiscard]] std::vector<std::string> outputs() const;

  // Compiles for these input shapes (every dynamic input must be given) and
  // makes the weights resident on `device`. Precision::int8 needs a
  // calibration of this model (ModelError otherwise).
  [[nodiscard]] CompiledModel compile(
      const Device& device, const std::map<std::string, std::vector<std::int64_t>>& input_shapes,
      Precision precision = Precision::fp32, const Calibration& calibration = {}) const&;
  // The same for the last use of the model (std::move(model).compile(...)):
  // the weights move from the model to the device instead of being copied,
  // so the host holds them once (npu-infer). The model is empty after it.
  [[nodiscard]] CompiledModel compile(
      const Device& device, const std::map<std::string, std::vector<std::int64_t>>& input_shapes,
      Precision precision = Precision::fp32, const Calibration& calibration = {}) &&;

  // Runs the model in FP32 on `device` once per sample (a set of inputs by
  // name, shaped as compile() takes them) and records the ranges INT8
  // compilation needs; ModelError naming the sample for a wrong input.
  [[nodiscard]] Calibration calibrate(const Device& device,
                                      const std::vector<std::vector<HostTensor>>& samples,
                                      double percentile = kDefaultCalibrationPercentile) const;

  ~Model();
  Model(Model&&) noexcept;
  Model& operator=(Model&&) noexcept;

 private:
  struct State;
  explicit Model(std::unique_ptr<State> state);
  // compile() from a copy of the state or from the state itself.
  static CompiledModel compile_state(
      State state, const Device& device,
      const std::map<std::string, std::vector<std::int64_t>>& input_shapes, Precision precision,
      const Calibration& calibration);
  std::unique_ptr<State> state_;
};

struct RunTimings {
  std::chrono::nanoseconds upload{};    // inputs into the device-visible buffer
  std::chrono::nanoseconds device{};    // submit to job completion (one job)
  std::chrono::nanoseconds download{};  // outputs back
  // Parts of `device`: the Queue::submit() call (libnpu and the SUBMIT
  // ioctl), and the job's own run on a device core by the device's clock
  // (zero without Capability::job_timestamps). The rest of `device` is the
  // driver's scheduling, the device's pickup and the completion's way back
  // to the waiting thread.
  std::chrono::nanoseconds submit{};
  std::chrono::nanoseconds device_run{};
};

class CompiledModel {
 public:
  // Runs one inference as one job. Inputs by name (shapes and types as
  // compiled: float32, or int64/int32/bool for the model's integer and bool
  // inputs); returns the graph outputs in graph order, each in the graph's
  // type (float32, or bool, int64, int32). std::runtime_error if the job
  // fails (with the device's error; an index outside its Gather's table
  // fails it with operand_invalid at the index's address; the model's queue,
  // which the failure banned, is replaced, so the next run works), ModelError for
  // wrong inputs: a bool not 0 or 1, an int64 value beyond 32 bits where a
  // node reads its low 32 bits (a Cast to float, a comparison; the node is
  // named).
  std::vector<HostTensor> run(const std::vector<HostTensor>& inputs,
                              RunTimings* timings = nullptr) const;

  [[nodiscard]] const CompileReport& report() const;
  // The device program, disassembled (npu-infer --dump-program).
  [[nodiscard]] std::string disassembly() const;

  ~CompiledModel();
  CompiledModel(CompiledModel&&) noexcept;
  CompiledModel& operator=(CompiledModel&&) noexcept;

 private:
  friend class Model;
  struct State;
  // The one kernel of a lowered program, with its weights resident.
  static CompiledModel build(const Device& device, onnx_runtime::Program program,
                             CompileReport report);
  explicit CompiledModel(std::unique_ptr<State> state);
  void recover_queue() const;
  std::unique_ptr<State> state_;
};

}  // namespace npu::onnx
