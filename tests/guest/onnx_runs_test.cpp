// npu::onnx's CompiledModel::run() run after run on the device: a compiled
// model reuses its I/O buffer, its argument table and its job between runs,
// so each run's outputs must still be its own inputs' (inputs written in
// every float precision, float and bool outputs read back), also after a
// run the runtime refused half-way through writing its inputs, and after a
// run whose job failed (which bans the model's queue).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "guest_device.hpp"
#include "npu/onnx/model.hpp"

namespace guest {
namespace {

using npu::onnx::HostTensor;
using npu::onnx::Precision;

const std::filesystem::path kModels = KNPU_ONNX_TEST_MODELS;

// gather_computed_table (tests/host/onnx/make_test_models.py): y =
// Relu(x)[ids] with x [10, 4] and int32 ids [6] reshaped to [2, 3].
constexpr std::int64_t kRows = 10;
constexpr std::int64_t kColumns = 4;
constexpr std::int64_t kIds = 6;

struct Sample {
  std::vector<float> x;
  std::vector<std::int64_t> ids;
};

// Multiples of 1/4 in [-2.75, 2.75] (exact in FP16 and BF16) and row ids,
// different for each seed.
Sample sample(int seed) {
  Sample s;
  for (int i = 0; i < kRows * kColumns; ++i) {
    s.x.push_back(0.25F * static_cast<float>(((i * 7) + (seed * 13)) % 23 - 11));
  }
  for (int i = 0; i < kIds; ++i) {
    s.ids.push_back(((i * 3) + seed) % kRows);
  }
  return s;
}

std::vector<HostTensor> inputs_of(const Sample& s) {
  return {HostTensor{"x", {kRows, kColumns}, s.x},
          HostTensor{"flat_ids", {kIds}, {}, npu::onnx::TensorType::int32, s.ids}};
}

std::vector<float> expected(const Sample& s) {
  std::vector<float> y;
  for (const std::int64_t row : s.ids) {
    for (std::int64_t column = 0; column < kColumns; ++column) {
      y.push_back(std::max(s.x[static_cast<std::size_t>((row * kColumns) + column)], 0.0F));
    }
  }
  return y;
}

class OnnxRuns : public DeviceTest, public testing::WithParamInterface<Precision> {
 protected:
  [[nodiscard]] npu::onnx::CompiledModel compile_gather() const {
    return npu::onnx::Model::load(kModels / "gather_computed_table.onnx")
        .compile(device(), {{"x", {kRows, kColumns}}, {"flat_ids", {kIds}}}, GetParam());
  }
};

TEST_P(OnnxRuns, EachRunGetsTheOutputsOfItsOwnInputs) {
  const npu::onnx::CompiledModel compiled = compile_gather();
  for (const int seed : {1, 2, 1, 3, 3}) {
    const Sample s = sample(seed);
    const std::vector<HostTensor> outputs = compiled.run(inputs_of(s));
    ASSERT_EQ(outputs.size(), 1U);
    EXPECT_EQ(outputs[0].shape, (std::vector<std::int64_t>{2, 3, kColumns}));
    EXPECT_EQ(outputs[0].data, expected(s)) << "seed " << seed;
  }
}

TEST_P(OnnxRuns, RunAfterARunRefusedWhileWritingItsInputs) {
  const npu::onnx::CompiledModel compiled = compile_gather();
  const Sample first = sample(1);
  EXPECT_EQ(compiled.run(inputs_of(first))[0].data, expected(first));
  // x is written before the ids are refused (the last id is no int32).
  Sample refused = sample(2);
  refused.ids.back() = std::int64_t{1} << 40;
  EXPECT_THROW(static_cast<void>(compiled.run(inputs_of(refused))), npu::onnx::ModelError);
  const Sample next = sample(3);
  EXPECT_EQ(compiled.run(inputs_of(next))[0].data, expected(next));
  EXPECT_EQ(compiled.run(inputs_of(first))[0].data, expected(first));
}

std::string precision_name(const testing::TestParamInfo<Precision>& param) {
  return param.param == Precision::fp16 ? "fp16" : param.param == Precision::bf16 ? "bf16" : "fp32";
}

INSTANTIATE_TEST_SUITE_P(Precisions, OnnxRuns,
                         testing::Values(Precision::fp32, Precision::fp16, Precision::bf16),
                         precision_name);

using OnnxBoolOutputs = DeviceTest;

// mask_ops' bool outputs: nonzero = Cast(x, bool), ge_swapped = row >= x.
TEST_F(OnnxBoolOutputs, FollowEachRunsInput) {
  const npu::onnx::CompiledModel compiled =
      npu::onnx::Model::load(kModels / "mask_ops.onnx").compile(device(), {{"x", {2, 3, 4}}});
  const std::vector<float> row{-1.0F, 0.0F, 0.5F, 1.0F};
  for (const int seed : {1, 2, 1}) {
    std::vector<float> x;
    for (int i = 0; i < 24; ++i) {
      x.push_back(0.5F * static_cast<float>(((i * 5) + (seed * 3)) % 7 - 3));
    }
    const std::vector<HostTensor> outputs = compiled.run({HostTensor{"x", {2, 3, 4}, x}});
    ASSERT_EQ(outputs.size(), 3U);
    std::vector<std::int64_t> nonzero, ge_swapped;
    for (std::size_t i = 0; i < x.size(); ++i) {
      nonzero.push_back(x[i] != 0.0F ? 1 : 0);
      ge_swapped.push_back(row[i % 4] >= x[i] ? 1 : 0);
    }
    EXPECT_EQ(outputs[1].name, "ge_swapped");
    EXPECT_EQ(outputs[1].integers, ge_swapped) << "seed " << seed;
    EXPECT_EQ(outputs[2].name, "nonzero");
    EXPECT_EQ(outputs[2].integers, nonzero) << "seed " << seed;
  }
}

using OnnxRunAfterAFailedJob = DeviceTest;

// A job that fails bans its queue (docs/uapi.md). The driver's debugfs
// drops the next doorbell, so the inference job times out (after the
// driver's job_timeout_ms, 10 s by default); the model must replace its
// queue, and the next run must give the right outputs.
TEST_F(OnnxRunAfterAFailedJob, TheNextRunWorks) {
  const std::filesystem::path inject = std::filesystem::path("/sys/kernel/debug/accel") /
                                       device().info().pci_address / "inject_lost_doorbell";
  std::ofstream arm(inject);
  if (!arm) {
    GTEST_SKIP() << "needs root and debugfs: " << inject;
  }
  const npu::onnx::CompiledModel compiled =
      npu::onnx::Model::load(kModels / "gather_computed_table.onnx")
          .compile(device(), {{"x", {kRows, kColumns}}, {"flat_ids", {kIds}}});
  const Sample s = sample(4);
  ASSERT_EQ(compiled.run(inputs_of(s)).at(0).data, expected(s));
  arm << 1 << std::flush;
  ASSERT_TRUE(arm.good());
  try {
    static_cast<void>(compiled.run(inputs_of(s)));
    FAIL() << "the run whose doorbell was lost returned";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("TIMEOUT"), std::string::npos) << e.what();
  }
  for (const int seed : {5, 6}) {
    const Sample next = sample(seed);
    EXPECT_EQ(compiled.run(inputs_of(next)).at(0).data, expected(next)) << "seed " << seed;
  }
}

}  // namespace
}  // namespace guest
