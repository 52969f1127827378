// The compute workloads npu-bench times: one operation run on the device
// (through libnpu) and the same oneDNN primitive run natively in this
// process, on the same input data, so their throughputs can be compared as a
// ratio and their outputs checked against each other. The device runs it
// two ways: one job at a time (each waited for before the next: the round
// trip is part of every job) and streamed (jobs back to back on one or
// more queues, each with its own output, as a throughput workload keeps a
// device busy).
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
  // Runs `jobs` jobs on the device's streams, kStreamDepth in flight on
  // each, and returns when the last one finished; throws like run_device().
  virtual void run_device_streamed(std::size_t jobs) = 0;
  [[nodiscard]] virtual std::size_t device_streams() const = 0;
  // Largest |device - host| over every output the device wrote, after both ran.
  [[nodiscard]] virtual double max_difference() const = 0;
};

// Jobs kept in flight on each stream: the next one is queued on the device
// when one finishes, so the device never waits for the host's round trip.
constexpr std::size_t kStreamDepth = 2;

struct GemmShape {
  std::uint32_t m, n, k;
  npu::isa::DataType dtype;  // fp32 or int8
};

struct ConvShape {
  std::uint32_t n, c, h, w, k, r, s, stride, pad;
};

// `device` may be null: host only (npu-bench --host-only). `streams`: the
// queues of the streamed runs (at least 1).
std::unique_ptr<Workload> make_gemm(const npu::Device* device, const GemmShape& shape,
                                    std::size_t streams);
std::unique_ptr<Workload> make_conv2d(const npu::Device* device, const ConvShape& shape,
                                      std::size_t streams);

// Why the device cannot run `opcode` in `dtype` (OPS / DTYPES), if it cannot.
std::optional<std::string> unsupported(const npu::Device& device, npu::isa::Opcode opcode,
                                       npu::isa::DataType dtype);

}  // namespace npu_bench
