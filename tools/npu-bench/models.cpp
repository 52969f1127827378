#include "models.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "json_file.hpp"
#include "npu/onnx/model.hpp"
#include "npy.hpp"

namespace npu_bench {
namespace {

using npu::onnx::HostTensor;
using npu::onnx::Precision;

HostTensor read_tensor(const std::filesystem::path& path, std::string name) {
  const npu_tools::NpyArray array = npu_tools::read_npy_file(path);
  if (array.header.type != npu_tools::NpyType::float32) {
    throw std::runtime_error(path.string() + ": not float32");
  }
  HostTensor tensor{std::move(name), {}, std::vector<float>(array.data.size() / sizeof(float))};
  for (const std::uint64_t dim : array.header.shape) {
    tensor.shape.push_back(static_cast<std::int64_t>(dim));
  }
  std::memcpy(tensor.data.data(), array.data.data(), tensor.data.size() * sizeof(float));
  return tensor;
}

double max_difference(const std::vector<float>& device, const std::vector<float>& reference) {
  if (device.size() != reference.size()) {
    return std::numeric_limits<double>::infinity();
  }
  double max = 0;
  for (std::size_t i = 0; i < device.size(); ++i) {
    max = std::max(max, static_cast<double>(std::fabs(device[i] - reference[i])));
  }
  return max;
}

ModelDeviceResult run_on_device(const npu::onnx::CompiledModel& compiled, const HostTensor& input,
                                const HostTensor& reference, unsigned warmup, unsigned runs) {
  const std::vector<HostTensor> inputs{input};
  std::vector<HostTensor> outputs;
  for (unsigned i = 0; i < warmup; ++i) {
    outputs = compiled.run(inputs);
  }
  std::vector<std::chrono::nanoseconds> total, job;
  for (unsigned i = 0; i < runs; ++i) {
    npu::onnx::RunTimings timings;
    const auto start = std::chrono::steady_clock::now();
    outputs = compiled.run(inputs, &timings);
    total.push_back(std::chrono::steady_clock::now() - start);
    job.push_back(timings.device);
  }
  ModelDeviceResult result;
  std::chrono::nanoseconds sum{};
  for (const auto t : total) {
    sum += t;
  }
  result.throughput_per_s = static_cast<double>(runs) / std::chrono::duration<double>(sum).count();
  result.latency = summarize(std::move(total));
  result.job_latency = summarize(std::move(job));
  result.max_difference = max_difference(outputs.front().data, reference.data);
  return result;
}

ModelResult measure_case(const npu::Device* device, const ModelCase& c, Precision precision,
                         unsigned warmup, unsigned runs) {
  ModelResult result{c, precision == Precision::int8 ? "int8" : "fp32", {}, {}};
  if (device == nullptr) {
    result.device_skipped = "no device (--host-only)";
    return result;
  }
  fmt::print(stderr, "npu-bench: model {} {}\n", c.name, result.precision);
  try {
    const npu::onnx::Model model = npu::onnx::Model::load(c.model);
    const HostTensor input = read_tensor(c.input, c.input_name);
    // INT8 is calibrated (min/max) on the case's one input.
    const npu::onnx::Calibration calibration = precision == Precision::int8
                                                   ? model.calibrate(*device, {{input}})
                                                   : npu::onnx::Calibration{};
    const npu::onnx::CompiledModel compiled =
        model.compile(*device, {{c.input_name, c.input_shape}}, precision, calibration);
    result.device =
        run_on_device(compiled, input, read_tensor(c.output, "reference"), warmup, runs);
  } catch (const npu::onnx::ModelError& e) {
    // The runtime cannot run the model in this precision: the reason, no figure.
    result.device_skipped = fmt::format("npu::onnx: {}", e.what());
  }
  return result;
}

LatencyStats latency_from_json(const nlohmann::json& j) {
  return {j.at("median_us").get<double>(), j.at("p99_us").get<double>(),
          j.at("samples").get<std::size_t>()};
}

}  // namespace

std::optional<double> ModelResult::latency_ratio() const {
  if (!device || baseline_case.latency.median_us <= 0) {
    return std::nullopt;
  }
  return device->latency.median_us / baseline_case.latency.median_us;
}

ModelBaseline read_model_baseline(const std::filesystem::path& path) {
  return read_json_file(path, [](const nlohmann::json& j) {
    ModelBaseline baseline{j.at("runtime").get<std::string>(), j.at("threads").get<unsigned>(), {}};
    for (const nlohmann::json& c : j.at("cases")) {
      baseline.cases.push_back({c.at("name").get<std::string>(), c.at("model").get<std::string>(),
                                c.at("input_name").get<std::string>(),
                                c.at("input_shape").get<std::vector<std::int64_t>>(),
                                c.at("input").get<std::string>(), c.at("output").get<std::string>(),
                                latency_from_json(c.at("latency")),
                                c.at("throughput_per_s").get<double>()});
    }
    return baseline;
  });
}

std::vector<ModelResult> measure_models(const npu::Device* device, const ModelBaseline& baseline,
                                        unsigned warmup, unsigned runs) {
  std::vector<ModelResult> results;
  for (const ModelCase& c : baseline.cases) {
    for (const Precision precision : {Precision::fp32, Precision::int8}) {
      results.push_back(measure_case(device, c, precision, warmup, runs));
    }
  }
  return results;
}

}  // namespace npu_bench
