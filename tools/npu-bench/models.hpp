// npu-bench's model figure: real ONNX models through the project's runtime
// (npu::onnx) on the device, against the baseline onnxruntime measured
// natively on the host on the same inputs (scripts/onnx/ort-bench.js writes
// the cases, their inputs, onnxruntime's outputs and its latency).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "npu/npu.hpp"
#include "statistics.hpp"

namespace npu_bench {

// One model at one input shape, as the baseline ran it.
struct ModelCase {
  std::string name;  // "cls"
  std::filesystem::path model;
  std::string input_name;
  std::vector<std::int64_t> input_shape;
  std::filesystem::path input;   // .npy, float32
  std::filesystem::path output;  // the baseline's first graph output, .npy
  LatencyStats latency;          // the baseline's, warm-up excluded
  double throughput_per_s = 0;
};

struct ModelBaseline {
  std::string runtime;  // "onnxruntime-node 1.30.0 (...)"
  unsigned threads = 0;
  std::vector<ModelCase> cases;
};

// Reads ort-bench.js's baseline.json; std::runtime_error naming what is wrong.
ModelBaseline read_model_baseline(const std::filesystem::path& path);

struct ModelDeviceResult {
  LatencyStats latency;      // run(): inputs in, one job, outputs out
  LatencyStats job_latency;  // the job alone (submit to completion)
  double throughput_per_s = 0;
  double max_difference = 0;  // |device - baseline| over the first output
};

struct ModelResult {
  ModelCase baseline_case;
  std::string precision;                    // "fp32", "int8"
  std::optional<ModelDeviceResult> device;  // when the device ran it
  std::optional<std::string> device_skipped;

  // Device median latency over the baseline's (goal: at most 1.5).
  [[nodiscard]] std::optional<double> latency_ratio() const;
};

inline constexpr double kModelLatencyGoal = 1.5;

// Each case in FP32 and INT8 on `device` (nullptr: not measured, with the
// reason): `warmup` runs (primitive creation, first touch) then `runs` timed.
std::vector<ModelResult> measure_models(const npu::Device* device, const ModelBaseline& baseline,
                                        unsigned warmup, unsigned runs);

}  // namespace npu_bench
