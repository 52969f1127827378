#include "compute_support.hpp"

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <sstream>

namespace guest {
namespace {

double round_half_even(double value) {
  return std::nearbyint(value);
}  // FE_TONEAREST

double saturate(double value, double lo, double hi) {
  return std::clamp(value, lo, hi);
}

template <class T>
std::span<T> elements(npu::Buffer& buffer, std::size_t count) {
  return buffer.map_as<T>().first(count);
}

}  // namespace

std::uint16_t to_fp16(float value) {
  const std::uint32_t bits = std::bit_cast<std::uint32_t>(value);
  const auto sign = static_cast<std::uint16_t>((bits >> 16) & 0x8000U);
  const std::uint32_t magnitude = bits & 0x7fff'ffffU;
  if (magnitude > 0x7f80'0000U) {
    return sign | 0x7e00U;  // quiet NaN
  }
  if (magnitude >= 0x477f'f000U) {
    return sign | 0x7c00U;  // at least 65520 rounds to infinity
  }
  if (magnitude < 0x3880'0000U) {
    // Below 2^-14: a subnormal half, in units of 2^-24 (the scaling is exact).
    const float units = std::bit_cast<float>(magnitude) * 16777216.0F;
    return static_cast<std::uint16_t>(sign | static_cast<std::uint16_t>(std::nearbyint(units)));
  }
  const std::uint32_t exponent = (magnitude >> 23) - 127 + 15;
  const std::uint32_t mantissa = magnitude & 0x7f'ffffU;
  std::uint32_t half = exponent << 10 | mantissa >> 13;
  const std::uint32_t rest = mantissa & 0x1fffU;
  if (rest > 0x1000U || (rest == 0x1000U && (half & 1U) != 0)) {
    ++half;  // a carry into the exponent is the right result
  }
  return static_cast<std::uint16_t>(sign | half);
}

float from_fp16(std::uint16_t bits) {
  const std::uint32_t sign = static_cast<std::uint32_t>(bits & 0x8000U) << 16;
  const std::uint32_t exponent = (bits >> 10) & 0x1fU;
  const std::uint32_t mantissa = bits & 0x3ffU;
  if (exponent == 0) {
    const float magnitude = static_cast<float>(mantissa) / 16777216.0F;
    return std::bit_cast<float>(sign | std::bit_cast<std::uint32_t>(magnitude));
  }
  if (exponent == 0x1f) {
    return std::bit_cast<float>(sign | 0x7f80'0000U | mantissa << 13);
  }
  return std::bit_cast<float>(sign | (exponent - 15 + 127) << 23 | mantissa << 13);
}

std::uint16_t to_bf16(float value) {
  const std::uint32_t bits = std::bit_cast<std::uint32_t>(value);
  if ((bits & 0x7fff'ffffU) > 0x7f80'0000U) {
    return static_cast<std::uint16_t>((bits >> 16) | 0x40U);  // quiet NaN
  }
  return static_cast<std::uint16_t>((bits + 0x7fffU + ((bits >> 16) & 1U)) >> 16);
}

float from_bf16(std::uint16_t bits) {
  return std::bit_cast<float>(static_cast<std::uint32_t>(bits) << 16);
}

double representable(DataType dtype, double value) {
  switch (dtype) {
    case DataType::fp32:
      return static_cast<float>(value);
    case DataType::fp16:
      return from_fp16(to_fp16(static_cast<float>(value)));
    case DataType::bf16:
      return from_bf16(to_bf16(static_cast<float>(value)));
    case DataType::int8:
      return saturate(round_half_even(value), -128, 127);
    case DataType::int32:
      return saturate(round_half_even(value), std::numeric_limits<std::int32_t>::min(),
                      std::numeric_limits<std::int32_t>::max());
    case DataType::none:
      break;
  }
  ADD_FAILURE() << "no values of type none";
  return 0;
}

Tolerance tolerance(DataType dtype) {
  switch (dtype) {
    case DataType::fp32:
      return {1e-5, 1e-5};
    case DataType::fp16:
      return {1e-3, 1e-3};  // 2^-11 relative rounding, twice for ops that round an intermediate
    case DataType::bf16:
      return {8e-3, 8e-3};  // 2^-8 relative rounding
    default:
      return {0, 0};
  }
}

DeviceTensor::DeviceTensor(const npu::Device& device, DataType dtype, std::size_t count)
    : dtype_(dtype),
      count_(count),
      buffer_(device.allocate(count * npu::isa::element_size(dtype))) {}

void DeviceTensor::store(const std::vector<double>& values) {
  ASSERT_EQ(values.size(), count_);
  for (std::size_t i = 0; i < count_; ++i) {
    const double v = representable(dtype_, values[i]);
    switch (dtype_) {
      case DataType::fp32:
        elements<float>(buffer_, count_)[i] = static_cast<float>(v);
        break;
      case DataType::fp16:
        elements<std::uint16_t>(buffer_, count_)[i] = to_fp16(static_cast<float>(v));
        break;
      case DataType::bf16:
        elements<std::uint16_t>(buffer_, count_)[i] = to_bf16(static_cast<float>(v));
        break;
      case DataType::int8:
        elements<std::int8_t>(buffer_, count_)[i] = static_cast<std::int8_t>(v);
        break;
      case DataType::int32:
        elements<std::int32_t>(buffer_, count_)[i] = static_cast<std::int32_t>(v);
        break;
      case DataType::none:
        FAIL();
    }
  }
}

std::vector<double> DeviceTensor::load() {
  std::vector<double> values(count_);
  for (std::size_t i = 0; i < count_; ++i) {
    switch (dtype_) {
      case DataType::fp32:
        values[i] = elements<float>(buffer_, count_)[i];
        break;
      case DataType::fp16:
        values[i] = from_fp16(elements<std::uint16_t>(buffer_, count_)[i]);
        break;
      case DataType::bf16:
        values[i] = from_bf16(elements<std::uint16_t>(buffer_, count_)[i]);
        break;
      case DataType::int8:
        values[i] = elements<std::int8_t>(buffer_, count_)[i];
        break;
      case DataType::int32:
        values[i] = elements<std::int32_t>(buffer_, count_)[i];
        break;
      case DataType::none:
        break;
    }
  }
  return values;
}

std::vector<double> random_values(std::mt19937& rng, DataType dtype, std::size_t count, double lo,
                                  double hi) {
  std::uniform_real_distribution<double> uniform(lo, hi);
  std::vector<double> values(count);
  for (double& v : values) {
    v = representable(dtype, uniform(rng));
  }
  return values;
}

testing::AssertionResult all_near(const std::vector<double>& got, const std::vector<double>& want,
                                  Tolerance tol) {
  if (got.size() != want.size()) {
    return testing::AssertionFailure() << got.size() << " values, expected " << want.size();
  }
  std::ostringstream report;
  std::size_t bad = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double allowed = tol.abs + tol.rel * std::abs(want[i]);
    const bool same_nan = std::isnan(got[i]) && std::isnan(want[i]);
    if (!same_nan && !(std::abs(got[i] - want[i]) <= allowed)) {
      if (++bad <= 5) {
        report << "\n  [" << i << "] got " << got[i] << ", expected " << want[i] << " +- "
               << allowed;
      }
    }
  }
  if (bad == 0) {
    return testing::AssertionSuccess();
  }
  return testing::AssertionFailure()
         << bad << " of " << got.size() << " elements differ" << report.str();
}

npu::JobResult run_kernel(const npu::Device& device, const npu::KernelImage& image,
                          std::initializer_list<std::pair<const char*, npu::Buffer*>> buffers) {
  const npu::Kernel kernel = device.load_kernel(image);
  npu::KernelArguments args = kernel.make_arguments();
  for (const auto& [name, buffer] : buffers) {
    args.set(name, *buffer);
  }
  npu::Queue queue = device.create_queue();
  return queue.submit(kernel, args).wait(std::chrono::seconds(60));
}

std::vector<DataType> defined_dtypes(npu::isa::Opcode opcode) {
  std::vector<DataType> dtypes;
  for (DataType t :
       {DataType::fp32, DataType::fp16, DataType::bf16, DataType::int8, DataType::int32}) {
    if (npu::isa::info(opcode).allows(t)) {
      dtypes.push_back(t);
    }
  }
  return dtypes;
}

std::string dtype_param_name(const testing::TestParamInfo<DataType>& info) {
  return std::string(npu::isa::name(info.param));
}

double activate(npu::Activation act, double x) {
  switch (act) {
    case npu::Activation::none:
      return x;
    case npu::Activation::relu:
      return std::max(x, 0.0);
    case npu::Activation::gelu:
      return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0)));
    case npu::Activation::silu:
      return x / (1 + std::exp(-x));
    case npu::Activation::sigmoid:
      return 1 / (1 + std::exp(-x));
    case npu::Activation::tanh:
      return std::tanh(x);
    case npu::Activation::hardswish:
      return x * std::clamp(x / 6 + 0.5, 0.0, 1.0);
    case npu::Activation::hardsigmoid:
      return std::clamp(x / 6 + 0.5, 0.0, 1.0);
    case npu::Activation::relu6:
      return std::clamp(x, 0.0, 6.0);
  }
  return x;
}

double requantize(double acc, double scale, int zero_point) {
  // The device multiplies in FP32 (hw-spec 7.3): the same product here.
  const float scaled = static_cast<float>(scale) * static_cast<float>(acc);
  return saturate(round_half_even(scaled) + zero_point, -128, 127);
}

}  // namespace guest
