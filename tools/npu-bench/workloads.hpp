// The compute workloads npu-bench times: one operation run on the device
// (through libnpu) and the same oneDNN primitive run natively in this
// process, on the same input data, so their throughputs can be compared as a
// ratio and their outputs checked against each other.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "npu/device.hpp"
#include "npu/isa.hpp"
#include "statistics.hpp"

namespace npu_bench {

class Workload {
 public:
  virtual ~Workload() = default;

  [[nodiscard]] virtual std::string name() const = 0;
  [[nodiscard]] virtual double flops() const = 0;
  // Runs once on the host with oneDNN.
  virtual void run_host() = 0;
  // Runs once on the device and returns the device's own time of the job;
  // throws std::runtime_error if the job fails.
  virtual DeviceJobTime run_device() = 0;
  // Largest |device - host| over the outputs, after both ran.
  [[nodiscard]] virtual double max_difference() const = 0;
};

struct GemmShape {
  std::uint32_t m, n, k;
  npu::isa::DataType dtype;  // fp32 or int8
};

struct ConvShape {
  std::uint32_t n, c, h, w, k, r, s, stride, pad;
};

// `device` may be null: host only (npu-bench --host-only).
std::unique_ptr<Workload> make_gemm(const npu::Device* device, const GemmShape& shape);
std::unique_ptr<Workload> make_conv2d(const npu::Device* device, const ConvShape& shape);

// Why the device cannot run `opcode` in `dtype` (OPS / DTYPES), if it cannot.
std::optional<std::string> unsupported(const npu::Device& device, npu::isa::Opcode opcode,
                                       npu::isa::DataType dtype);

}  // namespace npu_bench
