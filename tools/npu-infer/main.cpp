// npu-infer: runs an ONNX model on the NPU (docs/onnx-runtime.md).
//
//   npu-infer MODEL.onnx --input NAME=FILE.npy ... --output DIR
//             [--dtype fp32|fp16|bf16|int8] [--calibrate NAME=FILE.npy ...]
//             [--device N] [--repeat N] [--json]
//
// Exit status: 0 done; 1 the device or the job failed; 2 bad arguments,
// input files or model file; 3 the model uses operators the device cannot
// run (listed by name).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "npu/device.hpp"
#include "npu/onnx/model.hpp"
#include "npy.hpp"

namespace {

constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;
constexpr int kExitUnsupported = 3;

struct Options {
  std::filesystem::path model;
  std::vector<std::string> inputs;
  std::vector<std::string> calibration;
  double percentile = npu::onnx::kDefaultCalibrationPercentile;
  std::filesystem::path output_dir;
  std::string dtype = "fp32";
  std::size_t device = 0;
  unsigned repeat = 1;
  bool json = false;
  bool print_program = false;
};

npu::onnx::Precision parse_precision(const std::string& text) {
  static const std::map<std::string, npu::onnx::Precision> names{
      {"fp32", npu::onnx::Precision::fp32},
      {"fp16", npu::onnx::Precision::fp16},
      {"bf16", npu::onnx::Precision::bf16},
      {"int8", npu::onnx::Precision::int8}};
  return names.at(text);
}

// A float64 file's values rounded to float, the precision the device
// computes a float64 model in; ModelError for a finite value beyond
// float's range, which would become an infinity.
std::vector<float> narrowed_to_float(const std::string& name, std::span<const std::byte> bytes) {
  std::vector<double> values(bytes.size() / sizeof(double));
  std::ranges::copy(bytes, std::as_writable_bytes(std::span(values)).begin());
  std::vector<float> narrowed;
  narrowed.reserve(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (std::isfinite(values[i]) && std::abs(values[i]) > std::numeric_limits<float>::max()) {
      throw npu::onnx::ModelError(
          fmt::format("input '{}': value {} at {} is beyond float32's range, in which the device "
                      "computes a float64 model",
                      name, values[i], i));
    }
    narrowed.push_back(static_cast<float>(values[i]));
  }
  return narrowed;
}

npu::onnx::HostTensor read_input(const std::string& spec, const char* option = "--input") {
  const auto eq = spec.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size()) {
    throw npu::onnx::ModelError(fmt::format("{} '{}' is not NAME=FILE.npy", option, spec));
  }
  const std::string name = spec.substr(0, eq);
  const std::filesystem::path path = spec.substr(eq + 1);
  npu_tools::NpyArray array = npu_tools::read_npy_file(path);
  npu::onnx::HostTensor tensor;
  tensor.name = name;
  for (const std::uint64_t dim : array.header.shape) {
    tensor.shape.push_back(static_cast<std::int64_t>(dim));
  }
  switch (array.header.type) {
    case npu_tools::NpyType::float32:
      tensor.data.resize(array.data.size() / sizeof(float));
      std::ranges::copy(array.data, std::as_writable_bytes(std::span(tensor.data)).begin());
      return tensor;
    case npu_tools::NpyType::float16: {
      tensor.type = npu::onnx::TensorType::float16;
      std::vector<_Float16> halves(array.data.size() / sizeof(_Float16));
      std::ranges::copy(array.data, std::as_writable_bytes(std::span(halves)).begin());
      tensor.data.assign(halves.begin(), halves.end());  // exact
      return tensor;
    }
    case npu_tools::NpyType::float64:
      tensor.type = npu::onnx::TensorType::float64;
      tensor.data = narrowed_to_float(name, array.data);
      return tensor;
    case npu_tools::NpyType::int64:
      tensor.type = npu::onnx::TensorType::int64;
      tensor.integers.resize(array.data.size() / sizeof(std::int64_t));
      std::ranges::copy(array.data, std::as_writable_bytes(std::span(tensor.integers)).begin());
      return tensor;
    case npu_tools::NpyType::int32: {
      tensor.type = npu::onnx::TensorType::int32;
      std::vector<std::int32_t> values(array.data.size() / sizeof(std::int32_t));
      std::ranges::copy(array.data, std::as_writable_bytes(std::span(values)).begin());
      tensor.integers.assign(values.begin(), values.end());
      return tensor;
    }
    case npu_tools::NpyType::boolean:
    case npu_tools::NpyType::uint8:
      tensor.type = array.header.type == npu_tools::NpyType::uint8 ? npu::onnx::TensorType::uint8
                                                                   : npu::onnx::TensorType::boolean;
      for (const std::byte b : array.data) {
        tensor.integers.push_back(std::to_integer<std::int64_t>(b));
      }
      return tensor;
    case npu_tools::NpyType::int8:
      tensor.type = npu::onnx::TensorType::int8;
      for (const std::byte b : array.data) {
        tensor.integers.push_back(static_cast<std::int8_t>(std::to_integer<std::uint8_t>(b)));
      }
      return tensor;
  }
  throw std::logic_error("an NpyType read_input does not know");
}

// The INT8 calibration samples: the k-th --calibrate file of each input
// belongs to sample k. Each file is checked against the model's declared
// input, so a wrong one is named before anything runs.
std::vector<std::vector<npu::onnx::HostTensor>> read_calibration(
    const npu::onnx::Model& model, const std::vector<std::string>& specs) {
  const auto declared = model.inputs();
  std::vector<std::vector<npu::onnx::HostTensor>> samples;
  std::map<std::string, std::size_t> seen;
  for (const std::string& spec : specs) {
    npu::onnx::HostTensor tensor = read_input(spec, "--calibrate");
    const auto it = declared.find(tensor.name);
    if (it == declared.end()) {
      throw npu::onnx::ModelError(
          fmt::format("--calibrate {}: the model has no input '{}'", spec, tensor.name));
    }
    const std::vector<std::int64_t>& want = it->second;
    bool fits = want.size() == tensor.shape.size();
    for (std::size_t d = 0; fits && d < want.size(); ++d) {
      fits = want[d] < 0 || want[d] == tensor.shape[d];
    }
    if (!fits) {
      throw npu::onnx::ModelError(
          fmt::format("--calibrate {}: shape [{}] does not fit the input's [{}] (-1: any)", spec,
                      fmt::join(tensor.shape, "x"), fmt::join(want, "x")));
    }
    const std::size_t index = seen[tensor.name]++;
    samples.resize(std::max(samples.size(), index + 1));
    samples[index].push_back(std::move(tensor));
  }
  for (const auto& [name, count] : seen) {
    if (count != samples.size()) {
      throw npu::onnx::ModelError(fmt::format(
          "--calibrate: {} file(s) for '{}' but {} samples; give each input once per sample", count,
          name, samples.size()));
    }
  }
  return samples;
}

// A file name for an output: the output's name with path separators replaced.
std::string file_name(const std::string& output) {
  std::string name = output;
  std::ranges::replace(name, '/', '_');
  return name + ".npy";
}

// An output in the graph's own type: float32, float16, float64, int64,
// int32, uint8, int8 or bool; bfloat16, which .npy has no type for, as float32 (every
// value a bfloat16 one).
void write_output(const std::filesystem::path& dir, const npu::onnx::HostTensor& tensor) {
  npu_tools::NpyHeader header;
  for (const std::int64_t dim : tensor.shape) {
    header.shape.push_back(static_cast<std::uint64_t>(dim));
  }
  const std::filesystem::path path = dir / file_name(tensor.name);
  switch (tensor.type) {
    case npu::onnx::TensorType::float16: {
      header.type = npu_tools::NpyType::float16;
      std::vector<_Float16> halves;
      for (const float v : tensor.data) {
        halves.push_back(static_cast<_Float16>(v));  // exact: run() rounded them
      }
      npu_tools::write_npy_file(path, header, std::as_bytes(std::span(halves)));
      return;
    }
    case npu::onnx::TensorType::float64: {
      header.type = npu_tools::NpyType::float64;
      const std::vector<double> values(tensor.data.begin(), tensor.data.end());  // exact
      npu_tools::write_npy_file(path, header, std::as_bytes(std::span(values)));
      return;
    }
    case npu::onnx::TensorType::float32:
    case npu::onnx::TensorType::bfloat16:
      header.type = npu_tools::NpyType::float32;
      npu_tools::write_npy_file(path, header, std::as_bytes(std::span(tensor.data)));
      return;
    case npu::onnx::TensorType::int64:
      header.type = npu_tools::NpyType::int64;
      npu_tools::write_npy_file(path, header, std::as_bytes(std::span(tensor.integers)));
      return;
    case npu::onnx::TensorType::int32: {
      header.type = npu_tools::NpyType::int32;
      const std::vector<std::int32_t> values(tensor.integers.begin(), tensor.integers.end());
      npu_tools::write_npy_file(path, header, std::as_bytes(std::span(values)));
      return;
    }
    case npu::onnx::TensorType::boolean:
    case npu::onnx::TensorType::uint8:
    case npu::onnx::TensorType::int8: {
      header.type = tensor.type == npu::onnx::TensorType::boolean ? npu_tools::NpyType::boolean
                    : tensor.type == npu::onnx::TensorType::uint8 ? npu_tools::NpyType::uint8
                                                                  : npu_tools::NpyType::int8;
      std::vector<std::uint8_t> values;
      for (const std::int64_t v : tensor.integers) {
        values.push_back(tensor.type == npu::onnx::TensorType::boolean
                             ? (v != 0 ? 1 : 0)
                             : static_cast<std::uint8_t>(v));
      }
      npu_tools::write_npy_file(path, header, std::as_bytes(std::span(values)));
      return;
    }
  }
}

struct Statistics {
  double min = 0, median = 0, mean = 0, p90 = 0, max = 0;
};

Statistics statistics(std::vector<double> samples) {
  std::ranges::sort(samples);
  Statistics s;
  s.min = samples.front();
  s.max = samples.back();
  const std::size_t mid = samples.size() / 2;
  s.median = samples.size() % 2 == 1 ? samples[mid] : (samples[mid - 1] + samples[mid]) / 2;
  s.p90 = samples[std::min(samples.size() - 1, samples.size() * 9 / 10)];
  for (const double v : samples) {
    s.mean += v / static_cast<double>(samples.size());
  }
  return s;
}

nlohmann::json to_json(const Statistics& s) {
  return {{"min", s.min}, {"median", s.median}, {"mean", s.mean}, {"p90", s.p90}, {"max", s.max}};
}

nlohmann::json to_json(const npu::onnx::CompileReport& r) {
  return {{"onnx_nodes", r.onnx_nodes},
          {"folded_nodes", r.folded_nodes},
          {"fused_nodes", r.fused_nodes},
          {"instructions", r.instructions},
          {"argument_slots", r.argument_slots},
          {"jobs_per_inference", 1},
          {"weight_bytes", r.weight_bytes},
          {"weights_in_device_memory", r.weights_in_device_memory},
          {"arena_bytes", r.arena_bytes},
          {"activations_in_device_memory", r.activations_in_device_memory},
          {"unplanned_bytes", r.unplanned_bytes},
          {"io_bytes", r.io_bytes},
          {"int8_nodes", r.int8_nodes},
          {"int8_conversions", r.int8_conversions}};
}

int run(const Options& options) {
  const npu::onnx::Precision precision = parse_precision(options.dtype);
  npu::onnx::Model model = npu::onnx::Model::load(options.model);
  std::vector<npu::onnx::HostTensor> inputs;
  std::map<std::string, std::vector<std::int64_t>> shapes;
  for (const std::string& spec : options.inputs) {
    inputs.push_back(read_input(spec));
    shapes[inputs.back().name] = inputs.back().shape;
  }
  if (!options.output_dir.empty()) {
    std::filesystem::create_directories(options.output_dir);
  }
  if (!options.calibration.empty() && precision != npu::onnx::Precision::int8) {
    throw npu::onnx::ModelError("--calibrate is for --dtype int8");
  }
  // INT8 without --calibrate: the inference's own inputs are the one sample.
  const std::vector<std::vector<npu::onnx::HostTensor>> samples =
      options.calibration.empty() ? std::vector<std::vector<npu::onnx::HostTensor>>{inputs}
                                  : read_calibration(model, options.calibration);
  const npu::Device device = npu::Device::open(options.device);
  npu::onnx::Calibration calibration;
  if (precision == npu::onnx::Precision::int8) {
    calibration = model.calibrate(device, samples, options.percentile);
  }
  // The model's last use: its weights move to the device, held once.
  const npu::onnx::CompiledModel compiled =
      std::move(model).compile(device, shapes, precision, calibration);
  if (options.print_program) {
    std::fputs(compiled.disassembly().c_str(), stdout);
  }
  std::vector<double> device_us, total_us;
  // The parts of an inference (RunTimings), for --json.
  std::map<std::string, std::vector<double>> stages_us;
  const auto micros = [](auto duration) {
    return std::chrono::duration<double, std::micro>(duration).count();
  };
  std::vector<npu::onnx::HostTensor> outputs;
  for (unsigned i = 0; i < options.repeat; ++i) {
    npu::onnx::RunTimings timings;
    const auto start = std::chrono::steady_clock::now();
    outputs = compiled.run(inputs, &timings);
    total_us.push_back(micros(std::chrono::steady_clock::now() - start));
    device_us.push_back(micros(timings.device));
    stages_us["upload"].push_back(micros(timings.upload));
    stages_us["submit"].push_back(micros(timings.submit));
    stages_us["device_run"].push_back(micros(timings.device_run));
    stages_us["download"].push_back(micros(timings.download));
  }
  nlohmann::json outputs_json = nlohmann::json::array();
  for (const npu::onnx::HostTensor& out : outputs) {
    std::string file;
    if (!options.output_dir.empty()) {
      write_output(options.output_dir, out);
      file = (options.output_dir / file_name(out.name)).string();
    }
    outputs_json.push_back({{"name", out.name}, {"shape", out.shape}, {"file", file}});
  }
  const Statistics job = statistics(device_us);
  const Statistics total = statistics(total_us);
  const npu::onnx::CompileReport& report = compiled.report();
  if (options.json) {
    nlohmann::json stages;
    for (const auto& [stage, stage_samples] : stages_us) {
      stages[stage] = to_json(statistics(stage_samples));
    }
    const nlohmann::json doc{
        {"model", options.model.string()},
        {"device",
         {{"index", device.info().index},
          {"pci_address", device.info().pci_address},
          {"node", device.info().device_node}}},
        {"dtype", options.dtype},
        {"calibration_samples", calibration.samples},
        {"calibration_percentile", calibration.percentile},
        {"compile", to_json(report)},
        {"outputs", outputs_json},
        {"runs", options.repeat},
        {"latency_us",
         {{"job", to_json(job)}, {"end_to_end", to_json(total)}, {"stages", stages}}}};
    fmt::print("{}\n", doc.dump(2));
    return 0;
  }
  fmt::print("model     {} on device {} ({})\n", options.model.string(), device.info().index,
             device.info().pci_address);
  fmt::print("compiled  {} ONNX nodes -> {} device instructions in 1 job ({} folded, {} fused)\n",
             report.onnx_nodes, report.instructions, report.folded_nodes, report.fused_nodes);
  fmt::print(
      "memory    weights {} KiB in {} memory, activations {} KiB in {} memory (without reuse {} "
      "KiB)\n",
      report.weight_bytes / 1024, report.weights_in_device_memory ? "device" : "host",
      report.arena_bytes / 1024, report.activations_in_device_memory ? "device" : "host",
      report.unplanned_bytes / 1024);
  if (precision == npu::onnx::Precision::int8) {
    fmt::print(
        "int8      {} Conv/Gemm/MatMul nodes in INT8, {} quantize/dequantize steps; calibrated "
        "(percentile {}) on {}\n",
        report.int8_nodes, report.int8_conversions, calibration.percentile,
        options.calibration.empty() ? std::string("the inputs themselves")
                                    : fmt::format("{} sample(s)", calibration.samples));
  }
  for (const auto& out : outputs_json) {
    fmt::print(
        "output    {} [{}]{}\n", out["name"].get<std::string>(),
        fmt::join(out["shape"].get<std::vector<std::int64_t>>(), "x"),
        out["file"].get<std::string>().empty() ? "" : " -> " + out["file"].get<std::string>());
  }
  fmt::print(
      "latency   {} run{}: job median {:.1f} us (min {:.1f}, p90 {:.1f}); end to end median {:.1f} "
      "us\n",
      options.repeat, options.repeat == 1 ? "" : "s", job.median, job.min, job.p90, total.median);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Runs an ONNX model on the NPU: one job per inference, weights resident on the device."};
  Options options;
  app.add_option("model", options.model, "the ONNX file")->required();
  app.add_option("--input,-i", options.inputs,
                 "NAME=FILE.npy: a graph input (float32 .npy; its shape fixes the model's dynamic "
                 "dimensions)");
  app.add_option("--output,-o", options.output_dir,
                 "DIR: writes <output name>.npy for each graph output");
  app.add_option("--dtype", options.dtype,
                 "precision on the device (int8: Conv/Gemm/MatMul in INT8, the rest FP32)")
      ->check(CLI::IsMember({"fp32", "fp16", "bf16", "int8"}));
  app.add_option("--calibrate,-c", options.calibration,
                 "NAME=FILE.npy: an INT8 calibration sample of input NAME (repeat for more "
                 "samples; default: the --input files themselves)");
  app.add_option("--calibration-percentile", options.percentile,
                 "P: each tensor's range is the P-th percentile of its magnitudes in each sample "
                 "(default 99.99; 100: min/max)")
      ->check(CLI::Range(0.001, 100.0));
  app.add_option("--device,-d", options.device, "device index (KNPU_VISIBLE_DEVICES applies)");
  app.add_option("--repeat,-r", options.repeat, "run N inferences and report latency statistics")
      ->check(CLI::Range(1U, 1000000U));
  app.add_flag("--json", options.json, "print the compile report, outputs and timings as JSON");
  app.add_flag("--print-program", options.print_program, "print the device program (assembly)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kExitUsage;
  }
  try {
    return run(options);
  } catch (const npu::onnx::UnsupportedOperators& e) {
    if (options.json) {
      nlohmann::json list = nlohmann::json::array();
      for (const auto& entry : e.entries()) {
        list.push_back({{"op", entry.op}, {"nodes", entry.nodes}, {"reason", entry.reason}});
      }
      fmt::print("{}\n",
                 nlohmann::json{{"model", options.model.string()}, {"unsupported", list}}.dump(2));
    }
    fmt::print(stderr, "npu-infer: {}: {}\n", options.model.string(), e.what());
    return kExitUnsupported;
  } catch (const npu::onnx::ModelError& e) {
    fmt::print(stderr, "npu-infer: {}\n", e.what());
    return kExitUsage;
  } catch (const npu_tools::NpyError& e) {
    fmt::print(stderr, "npu-infer: {}\n", e.what());
    return kExitUsage;
  } catch (const std::exception& e) {
    fmt::print(stderr, "npu-infer: {}\n", e.what());
    return kExitFailed;
  }
}
