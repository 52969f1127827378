// The instruction set v1.4 additions (hw-spec 7.4.4) through libnpu and
// knpu.ko: COMPARE of every type and comparison against a reference
// written here (equal pairs included), SELECT of every type bit for bit
// with broadcast operands, an invalid broadcast count failing the job, and
// an attention mask built and applied in one job as Hugging Face's BERT
// exports it (mask == 0, masked_fill with the lowest float, softmax).
#include <cstring>
#include <limits>
#include <vector>

#include "compute_support.hpp"

namespace guest {
namespace {

using npu::isa::Opcode;

constexpr unsigned kSeed = 20261206;

npu::Buffer byte_buffer(const npu::Device& device, const std::vector<std::uint8_t>& bytes) {
  npu::Buffer buffer = device.allocate(bytes.size());
  buffer.write(0, std::as_bytes(std::span(bytes)));
  return buffer;
}

std::vector<std::uint8_t> read_bytes(const npu::Buffer& buffer, std::size_t count) {
  std::vector<std::uint8_t> bytes(count);
  buffer.read(0, std::as_writable_bytes(std::span(bytes)));
  return bytes;
}

bool compare_ref(npu::CompareOp op, double a, double b) {
  switch (op) {
    case npu::CompareOp::eq:
      return a == b;
    case npu::CompareOp::ne:
      return a != b;
    case npu::CompareOp::lt:
      return a < b;
    case npu::CompareOp::le:
      return a <= b;
    case npu::CompareOp::gt:
      return a > b;
    case npu::CompareOp::ge:
      return a >= b;
  }
  return false;
}

class Compare : public DeviceTest, public testing::WithParamInterface<DataType> {};

// mask[i] = a[i] OP b[i mod 8], for each comparison; a third of a equal
// to its b.
TEST_P(Compare, EveryComparisonWithABroadcastRow) {
  const DataType dtype = GetParam();
  SKIP_UNLESS_DEVICE_RUNS(Opcode::compare, dtype);
  std::mt19937 rng{kSeed};
  constexpr std::uint32_t count = 96, b_count = 8;
  DeviceTensor a(device(), dtype, count);
  DeviceTensor b(device(), dtype, b_count);
  b.store(random_values(rng, dtype, b_count, -50, 50));
  const std::vector<double> bv = b.load();
  std::vector<double> av = random_values(rng, dtype, count, -50, 50);
  for (std::uint32_t i = 0; i < count; i += 3) {
    av[i] = bv[i % b_count];
  }
  a.store(av);
  av = a.load();
  for (const npu::CompareOp op : {npu::CompareOp::eq, npu::CompareOp::ne, npu::CompareOp::lt,
                                  npu::CompareOp::le, npu::CompareOp::gt, npu::CompareOp::ge}) {
    npu::Buffer mask = byte_buffer(device(), std::vector<std::uint8_t>(count, 0x5a));
    npu::KernelBuilder k("compare");
    k.compare(dtype, op, k.arg_buffer("a"), k.arg_buffer("b"), k.arg_buffer("mask"), count,
              b_count);
    const npu::JobResult result =
        run_kernel(device(), k.build(), {{"a", &a.buffer()}, {"b", &b.buffer()}, {"mask", &mask}});
    ASSERT_TRUE(result.ok()) << npu::to_string(result.error);
    const std::vector<std::uint8_t> got = read_bytes(mask, count);
    for (std::uint32_t i = 0; i < count; ++i) {
      ASSERT_EQ(got[i], compare_ref(op, av[i], bv[i % b_count]) ? 1 : 0)
          << "element " << i << " op " << static_cast<int>(op);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Dtypes, Compare, testing::ValuesIn(defined_dtypes(Opcode::compare)),
                         dtype_param_name);

class Select : public DeviceTest, public testing::WithParamInterface<DataType> {};

// out[i] = cond[i mod 16] ? x[i] : y (a scalar), bit for bit; cond bytes
// other than 1 are true too.
TEST_P(Select, BroadcastConditionAndScalar) {
  const DataType dtype = GetParam();
  SKIP_UNLESS_DEVICE_RUNS(Opcode::select, dtype);
  std::mt19937 rng{kSeed + 1};
  constexpr std::uint32_t count = 64, c_count = 16;
  std::vector<std::uint8_t> cond(c_count);
  std::uniform_int_distribution<int> pick(0, 3);
  for (std::uint8_t& c : cond) {
    const int p = pick(rng);
    c = p == 0 ? 0 : p == 1 ? 1 : p == 2 ? 0x80 : 0;
  }
  npu::Buffer condition = byte_buffer(device(), cond);
  DeviceTensor x(device(), dtype, count);
  DeviceTensor y(device(), dtype, 1);
  DeviceTensor out(device(), dtype, count);
  x.store(random_values(rng, dtype, count, -100, 100));
  y.store({-7});
  npu::KernelBuilder k("select");
  k.select(dtype, {.condition = k.arg_buffer("cond"),
                   .x = k.arg_buffer("x"),
                   .y = k.arg_buffer("y"),
                   .output = k.arg_buffer("out"),
                   .count = count,
                   .condition_count = c_count,
                   .x_count = count,
                   .y_count = 1});
  const npu::JobResult result = run_kernel(
      device(), k.build(),
      {{"cond", &condition}, {"x", &x.buffer()}, {"y", &y.buffer()}, {"out", &out.buffer()}});
  ASSERT_TRUE(result.ok()) << npu::to_string(result.error);
  const std::vector<double> xv = x.load();
  std::vector<double> want(count);
  for (std::uint32_t i = 0; i < count; ++i) {
    want[i] = cond[i % c_count] != 0 ? xv[i] : -7.0;
  }
  EXPECT_TRUE(all_near(out.load(), want, {0, 0}));
}

INSTANTIATE_TEST_SUITE_P(Dtypes, Select, testing::ValuesIn(defined_dtypes(Opcode::select)),
                         dtype_param_name);

// hw-spec 7.4.4: a broadcast count that does not divide the count fails
// the job with OPERAND_INVALID at that operand.
class MaskErrors : public DeviceTest {};

TEST_F(MaskErrors, BroadcastCountNotDividingFailsTheJob) {
  SKIP_UNLESS_DEVICE_RUNS(Opcode::select, DataType::fp32);
  DeviceTensor x(device(), DataType::fp32, 16);
  DeviceTensor out(device(), DataType::fp32, 16);
  npu::Buffer condition = byte_buffer(device(), std::vector<std::uint8_t>(16, 1));
  npu::KernelBuilder k("select_bad");
  const npu::BufferArg xs = k.arg_buffer("x");
  k.select(DataType::fp32, {.condition = k.arg_buffer("cond"),
                            .x = xs,
                            .y = xs,
                            .output = k.arg_buffer("out"),
                            .count = 16,
                            .condition_count = 3,
                            .x_count = 16,
                            .y_count = 16});
  const npu::JobResult result = run_kernel(
      device(), k.build(), {{"cond", &condition}, {"x", &x.buffer()}, {"out", &out.buffer()}});
  EXPECT_EQ(result.error, npu::JobError::operand_invalid);
  ASSERT_TRUE(result.error_operand.has_value());
  EXPECT_EQ(*result.error_operand, 5U);
}

// One job: padding = (mask == 0) on an INT32 attention mask of 16 keys;
// scores of 4 queries masked_fill'ed with the lowest float where padded;
// SOFTMAX. The padded keys' probabilities are exactly 0, the others those
// of a softmax over the kept keys.
class AttentionMask : public DeviceTest {};

TEST_F(AttentionMask, BuiltAndAppliedInOneJob) {
  SKIP_UNLESS_DEVICE_RUNS(Opcode::select, DataType::fp32);
  SKIP_UNLESS_DEVICE_RUNS(Opcode::compare, DataType::int32);
  constexpr std::uint32_t keys = 16, queries = 4, kept = 11;
  std::mt19937 rng{kSeed + 2};
  DeviceTensor mask_ids(device(), DataType::int32, keys);
  std::vector<double> ids(keys, 1.0);
  std::fill(ids.begin() + kept, ids.end(), 0.0);
  mask_ids.store(ids);
  DeviceTensor zero(device(), DataType::int32, 1);
  zero.store({0});
  DeviceTensor lowest(device(), DataType::fp32, 1);
  lowest.store({std::numeric_limits<float>::lowest()});
  DeviceTensor scores(device(), DataType::fp32, queries * keys);
  const std::vector<double> s = random_values(rng, DataType::fp32, scores.count(), -4, 4);
  scores.store(s);
  DeviceTensor masked(device(), DataType::fp32, queries * keys);
  DeviceTensor probs(device(), DataType::fp32, queries * keys);
  npu::Buffer padded = byte_buffer(device(), std::vector<std::uint8_t>(keys, 0));
  npu::KernelBuilder k("attention_mask");
  const npu::BufferArg padded_arg = k.arg_buffer("padded");
  const npu::BufferArg masked_arg = k.arg_buffer("masked");
  k.compare(DataType::int32, npu::CompareOp::eq, k.arg_buffer("ids"), k.arg_buffer("zero"),
            padded_arg, keys, 1)
      .select(DataType::fp32, {.condition = padded_arg,
                               .x = k.arg_buffer("lowest"),
                               .y = k.arg_buffer("scores"),
                               .output = masked_arg,
                               .count = queries * keys,
                               .condition_count = keys,
                               .x_count = 1,
                               .y_count = queries * keys})
      .softmax(DataType::fp32, masked_arg, k.arg_buffer("probs"), queries, keys);
  const npu::JobResult result = run_kernel(device(), k.build(),
                                           {{"ids", &mask_ids.buffer()},
                                            {"zero", &zero.buffer()},
                                            {"padded", &padded},
                                            {"lowest", &lowest.buffer()},
                                            {"scores", &scores.buffer()},
                                            {"masked", &masked.buffer()},
                                            {"probs", &probs.buffer()}});
  ASSERT_TRUE(result.ok()) << npu::to_string(result.error);
  std::vector<double> want(queries * keys, 0.0);
  for (std::uint32_t q = 0; q < queries; ++q) {
    double top = -1e300, sum = 0;
    for (std::uint32_t j = 0; j < kept; ++j) {
      top = std::max(top, s[q * keys + j]);
    }
    for (std::uint32_t j = 0; j < kept; ++j) {
      sum += std::exp(s[q * keys + j] - top);
    }
    for (std::uint32_t j = 0; j < kept; ++j) {
      want[q * keys + j] = std::exp(s[q * keys + j] - top) / sum;
    }
  }
  const std::vector<double> got = probs.load();
  EXPECT_TRUE(all_near(got, want, tolerance(DataType::fp32)));
  for (std::uint32_t q = 0; q < queries; ++q) {
    for (std::uint32_t j = kept; j < keys; ++j) {
      EXPECT_EQ(got[q * keys + j], 0.0) << q << ", " << j;
    }
  }
}

}  // namespace
}  // namespace guest
