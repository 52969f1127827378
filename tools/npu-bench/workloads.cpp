#include "workloads.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <deque>
#include <oneapi/dnnl/dnnl.hpp>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
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

void check(const npu::Kernel& kernel, const npu::JobResult& result) {
  if (!result.ok()) {
    throw std::runtime_error(fmt::format("{}: {} {}", kernel.name(), npu::to_string(result.status),
                                         npu::to_string(result.error)));
  }
}

template <class T>
double max_abs_difference(std::span<const T> a, std::span<const T> b) {
  double worst = 0;
  for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    worst = std::max(worst, std::abs(static_cast<double>(a[i]) - static_cast<double>(b[i])));
  }
  return worst;
}

// One queue of a workload on the device, with its own output buffer.
struct DeviceStream {
  npu::Queue queue;
  npu::Buffer output;
  npu::KernelArguments arguments;
  bool used = false;  // a job of it ran, so its output is the result
};

// A workload's kernel on the device, its inputs (every stream reads them)
// and its streams.
class DeviceSide {
 public:
  using NamedBuffer = std::pair<std::string, npu::Buffer>;

  DeviceSide(const npu::Device& device, npu::Kernel kernel, std::vector<NamedBuffer> inputs,
             const std::string& output, std::size_t output_bytes, std::size_t streams)
      : kernel_(std::move(kernel)), inputs_(std::move(inputs)) {
    for (std::size_t i = 0; i < streams; ++i) {
      npu::KernelArguments arguments = kernel_.make_arguments();
      for (const auto& [name, buffer] : inputs_) {
        arguments.set(name, buffer);
      }
      npu::Buffer out = device.allocate(output_bytes);
      arguments.set(output, out);
      streams_.push_back({device.create_queue(), std::move(out), std::move(arguments)});
    }
  }

  // One job on the first stream, waited for.
  DeviceJobTime run_one() {
    DeviceStream& stream = streams_.front();
    stream.used = true;
    const npu::JobResult result = stream.queue.submit(kernel_, stream.arguments).wait(kJobTimeout);
    check(kernel_, result);
    return job_time(result);
  }

  // `jobs` jobs round robin over the streams; the oldest job in flight is
  // always on the stream the next one goes to, so waiting for it keeps each
  // stream kStreamDepth deep.
  void run_streamed(std::size_t jobs) {
    std::deque<npu::JobHandle> in_flight;
    for (std::size_t i = 0; i < jobs; ++i) {
      if (in_flight.size() == kStreamDepth * streams_.size()) {
        check(kernel_, in_flight.front().wait(kJobTimeout));
        in_flight.pop_front();
      }
      DeviceStream& stream = streams_[i % streams_.size()];
      stream.used = true;
      in_flight.push_back(stream.queue.submit(kernel_, stream.arguments));
    }
    for (; !in_flight.empty(); in_flight.pop_front()) {
      check(kernel_, in_flight.front().wait(kJobTimeout));
    }
  }

  [[nodiscard]] std::size_t streams() const { return streams_.size(); }

  // The largest `difference(output)` over the outputs jobs wrote.
  template <class F>
  [[nodiscard]] double worst_output(F&& difference) const {
    double worst = 0;
    for (const DeviceStream& stream : streams_) {
      if (stream.used) {
        worst = std::max(worst, difference(stream.output));
      }
    }
    return worst;
  }

 private:
  npu::Kernel kernel_;
  std::vector<NamedBuffer> inputs_;
  std::vector<DeviceStream> streams_;
};

// The device half every workload shares: its calls go to its DeviceSide,
// which the workload creates (none with --host-only).
class DeviceWorkload : public Workload {
 public:
  DeviceJobTime run_device() override { return device_->run_one(); }
  void run_device_streamed(std::size_t jobs) override { device_->run_streamed(jobs); }
  std::size_t device_streams() const override { return device_->streams(); }

 protected:
  // The largest |device - expected| over every output a job wrote.
  template <class T>
  [[nodiscard]] double max_difference_from(const std::vector<T>& expected) const {
    return device_->worst_output([&](const npu::Buffer& out) {
      return max_abs_difference<T>(out.map_as<const T>().first(expected.size()), expected);
    });
  }

  std::unique_ptr<DeviceSide> device_;
};

template <class T>
class GemmWorkload : public DeviceWorkload {
 public:
  GemmWorkload(const npu::Device* device, const GemmShape& shape, std::size_t streams)
      : shape_(shape),
        a_(random_tensor<T>(std::size_t{shape.m} * shape.k, 1)),
        b_(random_tensor<T>(std::size_t{shape.k} * shape.n, 2)),
        c_(std::size_t{shape.m} * shape.n) {
    // INT8: scale the accumulators (about sqrt(K) * 64 * 64 / 3) into range.
    scale_ = shape.dtype == DataType::int8 ? 8.0F / (static_cast<float>(shape.k) * 64) : 1.0F;
    make_host();
    if (device != nullptr) {
      make_device(*device, streams);
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
  double max_difference() const override { return max_difference_from(c_); }

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

  void make_device(const npu::Device& device, std::size_t streams) {
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
    device_ = std::make_unique<DeviceSide>(
        device, device.load_kernel(builder.build()),
        std::vector<DeviceSide::NamedBuffer>{{"a", upload(device, a_)}, {"b", upload(device, b_)}},
        "c", c_.size() * sizeof(T), streams);
  }

  GemmShape shape_;
  float scale_ = 1.0F;
  std::vector<T> a_, b_, c_;
  HostPrimitive host_;
};

// FP32, NCHW / KCRS / NKPQ in memory on both sides (the device's layouts,
// hw-spec 7.4). The host computes as the device does: oneDNN's convolution
// on the layouts it chooses, with the reorders from and to NCHW.
class ConvWorkload : public DeviceWorkload {
 public:
  ConvWorkload(const npu::Device* device, const ConvShape& shape, std::size_t streams)
      : shape_(shape),
        p_((shape.h + 2 * shape.pad - shape.r) / shape.stride + 1),
        q_((shape.w + 2 * shape.pad - shape.s) / shape.stride + 1),
        in_(random_tensor<float>(std::size_t{shape.n} * shape.c * shape.h * shape.w, 3)),
        weight_(random_tensor<float>(std::size_t{shape.k} * shape.c * shape.r * shape.s, 4)),
        out_(std::size_t{shape.n} * shape.k * p_ * q_) {
    make_host();
    if (device != nullptr) {
      make_device(*device, streams);
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
  double max_difference() const override { return max_difference_from(out_); }

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

  void make_device(const npu::Device& device, std::size_t streams) {
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
    device_ = std::make_unique<DeviceSide>(
        device, device.load_kernel(builder.build()),
        std::vector<DeviceSide::NamedBuffer>{{"in", upload(device, in_)},
                                             {"weight", upload(device, weight_)}},
        "out", out_.size() * sizeof(float), streams);
  }

  ConvShape shape_;
  std::uint32_t p_, q_;
  std::vector<float> in_, weight_, out_;
  HostPrimitive host_;
};

}  // namespace

std::unique_ptr<Workload> make_gemm(const npu::Device* device, const GemmShape& shape,
                                    std::size_t streams) {
  if (shape.dtype == DataType::int8) {
    return std::make_unique<GemmWorkload<std::int8_t>>(device, shape, streams);
  }
  return std::make_unique<GemmWorkload<float>>(device, shape, streams);
}

std::unique_ptr<Workload> make_conv2d(const npu::Device* device, const ConvShape& shape,
                                      std::size_t streams) {
  return std::make_unique<ConvWorkload>(device, shape, streams);
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
