// Compute kernels as a runtime runs them: several instructions in one job
// (a transformer block's GEMM + bias + GELU + LayerNorm, a CNN's conv + pool
// + ReLU), several queues computing at once, and a throttled device that is
// slower but still right. FP32, against references in double.
#include <cmath>
#include <cstdlib>
#include <thread>

#include "compute_support.hpp"

namespace guest {
namespace {

using namespace std::chrono_literals;
using npu::Activation;
using npu::isa::Opcode;

constexpr DataType kF32 = DataType::fp32;

std::vector<double> gemm_reference(const std::vector<double>& a, const std::vector<double>& b,
                                   std::size_t m, std::size_t n, std::size_t k) {
  std::vector<double> c(m * n);
  for (std::size_t i = 0; i < m; ++i) {
    for (std::size_t j = 0; j < n; ++j) {
      for (std::size_t l = 0; l < k; ++l) {
        c[i * n + j] += a[i * k + l] * b[l * n + j];
      }
    }
  }
  return c;
}

// y = LayerNorm(GELU(x . w + bias)) over rows of N.
class TransformerBlock {
 public:
  static constexpr std::uint32_t kM = 16, kN = 64, kK = 48;
  static constexpr float kEpsilon = 1e-5F;

  TransformerBlock(const npu::Device& device, unsigned seed)
      : x_(device, kF32, kM * kK),
        w_(device, kF32, kK * kN),
        bias_(device, kF32, kN),
        hidden_(device, kF32, kM * kN),
        gamma_(device, kF32, kN),
        beta_(device, kF32, kN),
        y_(device, kF32, kM * kN) {
    std::mt19937 rng(seed);
    xv_ = random_values(rng, kF32, x_.count(), -1, 1);
    wv_ = random_values(rng, kF32, w_.count(), -0.5, 0.5);
    biasv_ = random_values(rng, kF32, kN, -1, 1);
    gammav_ = random_values(rng, kF32, kN, 0.5, 1.5);
    betav_ = random_values(rng, kF32, kN, -0.5, 0.5);
    x_.store(xv_);
    w_.store(wv_);
    bias_.store(biasv_);
    gamma_.store(gammav_);
    beta_.store(betav_);
  }

  static npu::KernelImage kernel() {
    npu::KernelBuilder b("transformer_block");
    const auto x = b.arg_buffer("x");
    const auto w = b.arg_buffer("w");
    const auto bias = b.arg_buffer("bias");
    const auto hidden = b.arg_buffer("hidden");
    const auto gamma = b.arg_buffer("gamma");
    const auto beta = b.arg_buffer("beta");
    const auto y = b.arg_buffer("y");
    b.gemm(kF32, {.a = x,
                  .b = w,
                  .c = hidden,
                  .bias = bias,
                  .m = kM,
                  .n = kN,
                  .k = kK,
                  .lda = kK,
                  .ldb = kN,
                  .ldc = kN,
                  .activation = Activation::gelu})
        .barrier()
        .layernorm(kF32, hidden, y, gamma, beta, kM, kN, kEpsilon);
    return b.build();
  }

  npu::KernelArguments arguments(const npu::Kernel& kernel) {
    npu::KernelArguments args = kernel.make_arguments();
    args.set("x", x_.buffer()).set("w", w_.buffer()).set("bias", bias_.buffer());
    args.set("hidden", hidden_.buffer()).set("gamma", gamma_.buffer()).set("beta", beta_.buffer());
    args.set("y", y_.buffer());
    return args;
  }

  testing::AssertionResult check() {
    std::vector<double> h = gemm_reference(xv_, wv_, kM, kN, kK);
    std::vector<double> want(h.size());
    for (std::size_t i = 0; i < kM; ++i) {
      double mean = 0;
      double variance = 0;
      for (std::size_t j = 0; j < kN; ++j) {
        h[i * kN + j] = activate(Activation::gelu, h[i * kN + j] + biasv_[j]);
        mean += h[i * kN + j] / kN;
      }
      for (std::size_t j = 0; j < kN; ++j) {
        variance += (h[i * kN + j] - mean) * (h[i * kN + j] - mean) / kN;
      }
      for (std::size_t j = 0; j < kN; ++j) {
        want[i * kN + j] =
            (h[i * kN + j] - mean) / std::sqrt(variance + kEpsilon) * gammav_[j] + betav_[j];
      }
    }
    return all_near(y_.load(), want, {1e-4, 1e-4});
  }

 private:
  DeviceTensor x_, w_, bias_, hidden_, gamma_, beta_, y_;
  std::vector<double> xv_, wv_, biasv_, gammav_, betav_;
};

class ComputeKernels : public DeviceTest {
 protected:
  void SetUp() override {
    DeviceTest::SetUp();
    for (Opcode op :
         {Opcode::gemm, Opcode::layernorm, Opcode::conv2d, Opcode::pool2d, Opcode::activation}) {
      if (!device().properties().supports(op) || !device().properties().supports(kF32)) {
        GTEST_SKIP() << "the device does not advertise " << npu::isa::info(op).mnemonic
                     << " in FP32 (OPS " << device().properties().ops.to_string() << ")";
      }
    }
  }
};

TEST_F(ComputeKernels, GemmBiasGeluLayerNormInOneJob) {
  TransformerBlock block(device(), 1);
  const npu::Kernel kernel = device().load_kernel(TransformerBlock::kernel());
  npu::Queue queue = device().create_queue();
  const npu::JobResult result = queue.submit(kernel, block.arguments(kernel)).wait(60s);
  ASSERT_TRUE(result.ok()) << npu::to_string(result.error);
  EXPECT_TRUE(block.check());
}

TEST_F(ComputeKernels, ConvPoolReluInOneJob) {
  constexpr std::uint32_t n = 1, c = 3, h = 12, w = 12, k = 8, r = 3, s = 3;
  constexpr std::uint32_t pool = 2;
  constexpr std::uint32_t ph = h / pool, pw = w / pool;
  std::mt19937 rng(2);
  DeviceTensor in(device(), kF32, n * c * h * w);
  DeviceTensor weight(device(), kF32, k * c * r * s);
  DeviceTensor conv(device(), kF32, n * k * h * w);
  DeviceTensor pooled(device(), kF32, n * k * ph * pw);
  DeviceTensor out(device(), kF32, n * k * ph * pw);
  const auto inv = random_values(rng, kF32, in.count(), -1, 1);
  const auto wv = random_values(rng, kF32, weight.count(), -0.5, 0.5);
  in.store(inv);
  weight.store(wv);

  npu::KernelBuilder b("conv_pool_relu");
  const auto in_arg = b.arg_buffer("in");
  const auto w_arg = b.arg_buffer("weight");
  const auto conv_arg = b.arg_buffer("conv");
  const auto pooled_arg = b.arg_buffer("pooled");
  const auto out_arg = b.arg_buffer("out");
  b.conv2d(kF32, {.input = in_arg,
                  .weight = w_arg,
                  .output = conv_arg,
                  .bias = std::nullopt,
                  .n = n,
                  .c = c,
                  .h = h,
                  .w = w,
                  .k = k,
                  .r = r,
                  .s = s,
                  .pad_h = 1,
                  .pad_w = 1})
      .pool2d(kF32, {.input = conv_arg,
                     .output = pooled_arg,
                     .n = n,
                     .c = k,
                     .h = h,
                     .w = w,
                     .kernel_h = pool,
                     .kernel_w = pool,
                     .stride_h = pool,
                     .stride_w = pool})
      .activation(kF32, Activation::relu, pooled_arg, out_arg, n * k * ph * pw);
  const npu::JobResult result = run_kernel(device(), b.build(),
                                           {{"in", &in.buffer()},
                                            {"weight", &weight.buffer()},
                                            {"conv", &conv.buffer()},
                                            {"pooled", &pooled.buffer()},
                                            {"out", &out.buffer()}});
  ASSERT_TRUE(result.ok()) << npu::to_string(result.error);

  std::vector<double> conv_want(conv.count());
  for (std::uint32_t kk = 0; kk < k; ++kk) {
    for (std::uint32_t y = 0; y < h; ++y) {
      for (std::uint32_t x = 0; x < w; ++x) {
        double acc = 0;
        for (std::uint32_t cc = 0; cc < c; ++cc) {
          for (std::uint32_t rr = 0; rr < r; ++rr) {
            for (std::uint32_t ss = 0; ss < s; ++ss) {
              const long iy = long{y} - 1 + rr;
              const long ix = long{x} - 1 + ss;
              if (iy >= 0 && ix >= 0 && iy < h && ix < w) {
                acc += inv[(std::size_t{cc} * h + static_cast<std::size_t>(iy)) * w +
                           static_cast<std::size_t>(ix)] *
                       wv[((std::size_t{kk} * c + cc) * r + rr) * s + ss];
              }
            }
          }
        }
        conv_want[(std::size_t{kk} * h + y) * w + x] = acc;
      }
    }
  }
  std::vector<double> want(out.count());
  for (std::uint32_t kk = 0; kk < k; ++kk) {
    for (std::uint32_t y = 0; y < ph; ++y) {
      for (std::uint32_t x = 0; x < pw; ++x) {
        double best = -INFINITY;
        for (std::uint32_t i = 0; i < pool * pool; ++i) {
          best = std::max(
              best,
              conv_want[(std::size_t{kk} * h + y * pool + i / pool) * w + x * pool + i % pool]);
        }
        want[(std::size_t{kk} * ph + y) * pw + x] = std::max(best, 0.0);
      }
    }
  }
  EXPECT_TRUE(all_near(conv.load(), conv_want, {1e-4, 1e-5})) << "the convolution";
  EXPECT_TRUE(all_near(out.load(), want, {1e-4, 1e-5})) << "after pool and ReLU";
}

TEST_F(ComputeKernels, SeveralQueuesComputeAtOnce) {
  const std::size_t queues = std::max<std::size_t>(4, device().properties().num_cores);
  const npu::Kernel kernel = device().load_kernel(TransformerBlock::kernel());
  std::vector<std::unique_ptr<TransformerBlock>> blocks;
  std::vector<npu::Queue> queue_list;
  std::vector<npu::JobHandle> jobs;
  for (std::size_t i = 0; i < queues; ++i) {
    blocks.push_back(std::make_unique<TransformerBlock>(device(), 100 + static_cast<unsigned>(i)));
    queue_list.push_back(device().create_queue());
  }
  // Every job is submitted before any is waited for, several times per queue.
  constexpr int kRounds = 3;
  for (int round = 0; round < kRounds; ++round) {
    for (std::size_t i = 0; i < queues; ++i) {
      jobs.push_back(queue_list[i].submit(kernel, blocks[i]->arguments(kernel)));
    }
  }
  for (npu::JobHandle& job : jobs) {
    const npu::JobResult result = job.wait(120s);
    ASSERT_TRUE(result.ok()) << npu::to_string(result.status) << " "
                             << npu::to_string(result.error);
  }
  for (std::size_t i = 0; i < queues; ++i) {
    EXPECT_TRUE(blocks[i]->check()) << "queue " << i;
  }
}

// Fault injection through the harness's QMP bridge (docs/testing.md).
class Throttled : public ComputeKernels {
 protected:
  void SetUp() override {
    ComputeKernels::SetUp();
    if (IsSkipped() || HasFatalFailure()) {
      return;
    }
    if (std::getenv("KNPU_QMP") == nullptr) {
      GTEST_SKIP() << "no QMP bridge: run in the knpu guest harness";
    }
    nominal_clock_ = device().clock_mhz();
    ASSERT_EQ(set_overheat(true), 0);
    overheated_ = true;
  }
  void TearDown() override {
    if (overheated_) {
      EXPECT_EQ(set_overheat(false), 0);
    }
  }

  static int set_overheat(bool on) {
    const std::string command = std::string("\"$KNPU_QMP\" qom-set knpu0 inject-overheat ") +
                                (on ? "true" : "false") + " >/dev/null";
    return std::system(command.c_str());
  }

  std::uint32_t nominal_clock_ = 0;
  bool overheated_ = false;
};

TEST_F(Throttled, OverheatedDeviceStillComputesCorrectly) {
  // The device's telemetry follows the injected temperature within a tick.
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (device().clock_mhz() >= nominal_clock_ && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_LT(device().clock_mhz(), nominal_clock_) << "the clock did not drop";
  TransformerBlock block(device(), 7);
  const npu::Kernel kernel = device().load_kernel(TransformerBlock::kernel());
  npu::Queue queue = device().create_queue();
  for (int i = 0; i < 3; ++i) {
    const npu::JobResult result = queue.submit(kernel, block.arguments(kernel)).wait(120s);
    ASSERT_TRUE(result.ok()) << npu::to_string(result.error);
    EXPECT_TRUE(block.check()) << "run " << i;
  }
}

}  // namespace
}  // namespace guest
