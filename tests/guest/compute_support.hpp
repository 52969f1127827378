// What the compute suites share: element conversions of hw-spec 7.3, device
// tensors read and written as doubles, random data, per-dtype tolerances and
// a one-call kernel launch.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "guest_device.hpp"

namespace guest {

using npu::isa::DataType;

// IEEE binary16 and bfloat16 bit patterns, rounded to nearest-even from
// binary32 (as the device stores them, hw-spec 7.3).
std::uint16_t to_fp16(float value);
float from_fp16(std::uint16_t bits);
std::uint16_t to_bf16(float value);
float from_bf16(std::uint16_t bits);

// `value` as the nearest number of `dtype` (integers: half to even, saturated).
double representable(DataType dtype, double value);

// How far the device may be from a reference computed in double from the
// same (representable) inputs: |got - want| <= abs + rel * |want|. FP32
// allows reordered sums, FP16 and BF16 one rounding of the FP32 result to
// their 11 and 8 significant bits plus the FP32 work; integers are exact
// except where a test says otherwise.
struct Tolerance {
  double abs;
  double rel;
};
Tolerance tolerance(DataType dtype);

// A buffer holding `count` elements of `dtype`.
class DeviceTensor {
 public:
  DeviceTensor(const npu::Device& device, DataType dtype, std::size_t count);

  void store(const std::vector<double>& values);
  [[nodiscard]] std::vector<double> load();
  [[nodiscard]] npu::Buffer& buffer() { return buffer_; }
  [[nodiscard]] DataType dtype() const { return dtype_; }
  [[nodiscard]] std::size_t count() const { return count_; }

 private:
  DataType dtype_;
  std::size_t count_;
  npu::Buffer buffer_;
};

// Random values representable in `dtype`: floats uniform in [lo, hi],
// integers uniform in [lo, hi] (rounded).
std::vector<double> random_values(std::mt19937& rng, DataType dtype, std::size_t count, double lo,
                                  double hi);

// Checks every element; on mismatch names the first few indices and the
// count. `tol` defaults to tolerance(dtype).
testing::AssertionResult all_near(const std::vector<double>& got, const std::vector<double>& want,
                                  Tolerance tol);

// Runs `image` once on a new queue with buffers bound by argument name.
npu::JobResult run_kernel(const npu::Device& device, const npu::KernelImage& image,
                          std::initializer_list<std::pair<const char*, npu::Buffer*>> buffers);

// GTEST_SKIPs (from the calling test) when the device does not advertise
// the opcode or the data type in OPS / DTYPES.
#define SKIP_UNLESS_DEVICE_RUNS(opcode, dtype)                                                     \
  do {                                                                                             \
    const npu::DeviceProperties& p_ = device().properties();                                       \
    if (!p_.supports(opcode) || !p_.supports(dtype)) {                                             \
      GTEST_SKIP() << "the device does not advertise " << npu::isa::info(opcode).mnemonic << " / " \
                   << npu::isa::name(dtype) << " (OPS " << p_.ops.to_string() << ", DTYPES "       \
                   << p_.dtypes.to_string() << ")";                                                \
    }                                                                                              \
  } while (false)

// The data types an opcode is defined for (hw-spec 7.4), for
// INSTANTIATE_TEST_SUITE_P.
std::vector<DataType> defined_dtypes(npu::isa::Opcode opcode);
std::string dtype_param_name(const testing::TestParamInfo<DataType>& info);

// Reference math of hw-spec 7.3.
double activate(npu::Activation act, double x);
// Requantization of an INT32 accumulator to INT8.
double requantize(double acc, double scale, int zero_point);

}  // namespace guest
