#include "workloads.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <oneapi/dnnl/dnnl.hpp>
#include <random>
#include <span>
#include <stdexcept>
#include <vector>

#include "npu/npu.hpp"

namespace npu_bench {
namespace {

using dnnl::memory;
using npu::isa::DataType;
using Tag = dnnl::memory::format_tag;

constexpr auto kJobTimeout = std::chrono::minutes(10);

template <class T>
std::vector<T> random_tensor(std::size_t count, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<T> values(count);
  if constexpr (std::is_floating_point_v<T>) {
    std::uniform_real_distribution<T> uniform(-1, 1);
    std::ranges::generate(values, [&] { return uniform(rng); });
  } else {
    // Within [-64, 63]: on a CPU without VNNI (the TCG guest's) oneDNN's INT8
    // kernels add pairs of u8 x s8 products in 16 bits, which full-range
    // values overflow; the device is exact, and the check needs both to be.
    std::uniform_int_distribution<int> uniform(-64, 63);
    std::ranges::generate(values, [&] { return static_cast<T>(uniform(rng)); });
  }
  return values;
}

memory::data_type dnnl_type(DataType dtype) {
  return dtype == DataType::int8 ? memory::data_type::s8 : memory::data_type::f32;
}

// The host side: oneDNN primitives run in order, their memories over this
// process's vectors (or their own), and a stream.
class HostPrimitive {
 public:
  HostPrimitive() : engine_(dnnl::engine::kind::cpu, 0), stream_(engine_) {}

  const dnnl::engine& engine() const { return engine_; }
  void add(dnnl::primitive primitive, std::unordered_map<int, memory> arguments) {
    steps_.push_back({std::move(primitive), std::move(arguments)});
  }
  void run() {
    for (auto& [primitive, arguments] : steps_) {
      primitive.execute(stream_, arguments);
    }
    stream_.wait();
  }

 private:
  struct Step {
    dnnl::primitive primitive;
    std::unordered_map<int, memory> arguments;
  };
  dnnl::engine engine_;
  dnnl::stream stream_;
  std::vector<Step> steps_;
};

// A device buffer holding a copy of `values`.
template <class T>
npu::Buffer upload(const npu::Device& device, const std::vector<T>& values) {
  npu::Buffer buffer = device.allocate(values.size() * sizeof(T));
  std::memcpy(buffer.map().data(), values.data(), values.size() * sizeof(T));
  return buffer;
}

DeviceJobTime run_job(npu::Queue& queue, const npu::Kernel& kernel,
                      const npu::KernelArguments& args) {
  const npu::JobResult result = queue.submit(kernel, args).wait(kJobTimeout);
  if (!result.ok()) {
    throw std::runtime_error(fmt::format("{}: {} {}", kernel.name(), npu::to_string(result.status),
                                         npu::to_string(result.error)));
  }
  return job_time(result);
}

template <class T>
double max_abs_difference(std::span<const T> a, std::span<const T> b) {
  double worst = 0;
  for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    worst = std::max(worst, std::abs(static_cast<double>(a[i]) - static_cast<double>(b[i])));
  }
  return worst;
}

// The device's kernel and buffers for one workload.
struct DeviceSide {
  npu::Kernel kernel;
  npu::Queue queue;
  std::vector<npu::Buffer> buffers;  // inputs..., output last
  npu::KernelArguments arguments;
};

template <class T>
class GemmWorkload : public Workload {
 public:
  GemmWorkload(const npu::Device* device, const GemmShape& shape)
      : shape_(shape),
        a_(random_tensor<T>(std::size_t{shape.m} * shape.k, 1)),
        b_(random_tensor<T>(std::size_t{shape.k} * shape.n, 2)),
        c_(std::size_t{shape.m} * shape.n) {
    // INT8: scale the accumulators (about sqrt(K) * 64 * 64 / 3) into range.
    scale_ = shape.dtype == DataType::int8 ? 8.0F / (static_cast<float>(shape.k) * 64) : 1.0F;
    make_host();
    if (device != nullptr) {
      make_device(*device);
    }
  }

  std::string name() const override {
    return fmt::format("gemm {}x{}x{} {}", shape_.m, shape_.n, shape_.k,
                       npu::isa::name(shape_.dtype));
  }
  double flops() const override {
    return 2.0 * shape_.m * shape_.n * static_cast<double>(shape_.k);
  }
  void run_host() override { host_.run(); }
  DeviceJobTime run_device() override {
    return run_job(device_->queue, device_->kernel, device_->arguments);
  }
  double max_difference() const override {
    const auto out = device_->buffers.back().map_as<const T>().first(c_.size());
    return max_abs_difference<T>(out, c_);
  }

 private:
  void make_host() {
    const memory::data_type type = dnnl_type(shape_.dtype);
    const memory::desc a_md({shape_.m, shape_.k}, type, Tag::ab);
    const memory::desc b_md({shape_.k, shape_.n}, type, Tag::ab);
    const memory::desc c_md({shape_.m, shape_.n}, type, Tag::ab);
    dnnl::primitive_attr attr;
    if (shape_.dtype == DataType::int8) {
      attr.set_output_scales(0, {scale_});
    }
    const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a_md, b_md, c_md), attr,
                                          host_.engine());
    host_.add(dnnl::matmul(pd), {{DNNL_ARG_SRC, memory(a_md, host_.engine(), a_.data())},
                                 {DNNL_ARG_WEIGHTS, memory(b_md, host_.engine(), b_.data())},
                                 {DNNL_ARG_DST, memory(c_md, host_.engine(), c_.data())}});
  }

  void make_device(const npu::Device& device) {
    npu::KernelBuilder builder("bench_gemm");
    const auto a = builder.arg_buffer("a");
    const auto b = builder.arg_buffer("b");
    const auto c = builder.arg_buffer("c");
    builder.gemm(shape_.dtype, {.a = a,
                                .b = b,
                                .c = c,
                                .bias = std::nullopt,
                                .m = shape_.m,
                                .n = shape_.n,
                                .k = shape_.k,
                                .lda = shape_.k,
                                .ldb = shape_.n,
                                .ldc = shape_.n,
                                .scale = scale_});
    npu::Kernel kernel = device.load_kernel(builder.build());
    std::vector<npu::Buffer> buffers;
    buffers.push_back(upload(device, a_));
    buffers.push_back(upload(device, b_));
    buffers.push_back(device.allocate(c_.size() * sizeof(T)));
    npu::KernelArguments args = kernel.make_arguments();
    args.set("a", buffers[0]).set("b", buffers[1]).set("c", buffers[2]);
    device_ = std::make_unique<DeviceSide>(std::move(kernel), device.create_queue(),
                                           std::move(buffers), std::move(args));
  }

  GemmShape shape_;
  float scale_ = 1.0F;
  std::vector<T> a_, b_, c_;
  HostPrimitive host_;
  std::unique_ptr<DeviceSide> device_;
};

// FP32, NCHW / KCRS / NKPQ in memory on both sides (the device's layouts,
// hw-spec 7.4). The host computes as the device does: oneDNN's convolution
// on the layouts it chooses, with the reorders from and to NCHW.
class ConvWorkload : public Workload {
 public:
  ConvWorkload(const npu::Device* device, const ConvShape& shape)
      : shape_(shape),
        p_((shape.h + 2 * shape.pad - shape.r) / shape.stride + 1),
        q_((shape.w + 2 * shape.pad - shape.s) / shape.stride + 1),
        in_(random_tensor<float>(std::size_t{shape.n} * shape.c * shape.h * shape.w, 3)),
        weight_(random_tensor<float>(std::size_t{shape.k} * shape.c * shape.r * shape.s, 4)),
        out_(std::size_t{shape.n} * shape.k * p_ * q_) {
    make_host();
    if (device != nullptr) {
      make_device(*device);
    }
  }

  std::string name() const override {
    return fmt::format("conv2d n{} c{} {}x{} k{} {}x{}/{} fp32", shape_.n, shape_.c, shape_.h,
                       shape_.w, shape_.k, shape_.r, shape_.s, shape_.stride);
  }
  double flops() const override {
    return 2.0 * shape_.n * shape_.k * p_ * q_ * static_cast<double>(shape_.c) * shape_.r *
           shape_.s;
  }
  void run_host() override { host_.run(); }
  DeviceJobTime run_device() override {
    return run_job(device_->queue, device_->kernel, device_->arguments);
  }
  double max_difference() const override {
    const auto out = device_->buffers.back().map_as<const float>().first(out_.size());
    return max_abs_difference<float>(out, out_);
  }

 private:
  void make_host() {
    const auto f32 = memory::data_type::f32;
    const memory::desc in_md({shape_.n, shape_.c, shape_.h, shape_.w}, f32, Tag::nchw);
    const memory::desc w_md({shape_.k, shape_.c, shape_.r, shape_.s}, f32, Tag::oihw);
    const memory::desc out_md({shape_.n, shape_.k, p_, q_}, f32, Tag::nchw);
    const memory::dims strides{shape_.stride, shape_.stride};
    const memory::dims padding{shape_.pad, shape_.pad};
    const auto any = [&](const memory::desc& md) {
      return memory::desc(md.dims(), md.data_type(), Tag::any);
    };
    const dnnl::convolution_forward::primitive_desc pd(
        dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference,
                                        dnnl::algorithm::convolution_direct, any(in_md), any(w_md),
                                        any(out_md), strides, padding, padding),
        host_.engine());
    const dnnl::engine& engine = host_.engine();
    const memory in(in_md, engine, in_.data());
    const memory weight(w_md, engine, weight_.data());
    const memory out(out_md, engine, out_.data());
    const memory conv_in(pd.src_desc(), engine);
    const memory conv_weight(pd.weights_desc(), engine);
    const memory conv_out(pd.dst_desc(), engine);
    host_.add(dnnl::reorder(in, conv_in), {{DNNL_ARG_FROM, in}, {DNNL_ARG_TO, conv_in}});
    host_.add(dnnl::reorder(weight, conv_weight),
              {{DNNL_ARG_FROM, weight}, {DNNL_ARG_TO, conv_weight}});
    host_.add(dnnl::convolution_forward(pd),
              {{DNNL_ARG_SRC, conv_in}, {DNNL_ARG_WEIGHTS, conv_weight}, {DNNL_ARG_DST, conv_out}});
    host_.add(dnnl::reorder(conv_out, out), {{DNNL_ARG_FROM, conv_out}, {DNNL_ARG_TO, out}});
  }

  void make_device(const npu::Device& device) {
    npu::KernelBuilder builder("bench_conv2d");
    const auto in = builder.arg_buffer("in");
    const auto weight = builder.arg_buffer("weight");
    const auto out = builder.arg_buffer("out");
    builder.conv2d(DataType::fp32, {.input = in,
                                    .weight = weight,
                                    .output = out,
                                    .bias = std::nullopt,
                                    .n = shape_.n,
                                    .c = shape_.c,
                                    .h = shape_.h,
                                    .w = shape_.w,
                                    .k = shape_.k,
                                    .r = shape_.r,
                                    .s = shape_.s,
                                    .stride_h = shape_.stride,
                                    .stride_w = shape_.stride,
                                    .pad_h = shape_.pad,
                                    .pad_w = shape_.pad});
    npu::Kernel kernel = device.load_kernel(builder.build());
    std::vector<npu::Buffer> buffers;
    buffers.push_back(upload(device, in_));
    buffers.push_back(upload(device, weight_));
    buffers.push_back(device.allocate(out_.size() * sizeof(float)));
    npu::KernelArguments args = kernel.make_arguments();
    args.set("in", buffers[0]).set("weight", buffers[1]).set("out", buffers[2]);
    device_ = std::make_unique<DeviceSide>(std::move(kernel), device.create_queue(),
                                           std::move(buffers), std::move(args));
  }

  ConvShape shape_;
  std::uint32_t p_, q_;
  std::vector<float> in_, weight_, out_;
  HostPrimitive host_;
  std::unique_ptr<DeviceSide> device_;
};

}  // namespace

std::unique_ptr<Workload> make_gemm(const npu::Device* device, const GemmShape& shape) {
  if (shape.dtype == DataType::int8) {
    return std::make_unique<GemmWorkload<std::int8_t>>(device, shape);
  }
  return std::make_unique<GemmWorkload<float>>(device, shape);
}

std::unique_ptr<Workload> make_conv2d(const npu::Device* device, const ConvShape& shape) {
  return std::make_unique<ConvWorkload>(device, shape);
}

std::optional<std::string> unsupported(const npu::Device& device, npu::isa::Opcode opcode,
                                       npu::isa::DataType dtype) {
  const npu::DeviceProperties& p = device.properties();
  if (p.supports(opcode) && p.supports(dtype)) {
    return std::nullopt;
  }
  return fmt::format("the device does not advertise {}.{} (OPS {:#x}, DTYPES {:#x})",
                     npu::isa::info(opcode).mnemonic, npu::isa::name(dtype), p.ops.to_ullong(),
                     p.dtypes.to_ullong());
}

}  // namespace npu_bench
