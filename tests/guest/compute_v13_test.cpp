// The instruction set v1.3 addition (hw-spec 7.4.3) through libnpu and
// knpu.ko: GATHER of every table type by INT64 and INT32 indices (negative
// ones included) against a reference row copy written here, an index out
// of range failing the job at that index without writing, and the
// embedding of a transformer's input (token and position embeddings added
// and normalized) in one job.
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "compute_support.hpp"

namespace guest {
namespace {

using npu::isa::Opcode;

constexpr unsigned kSeed = 20261205;

// `count` random indices in [-rows, rows), stored as INT64 or INT32.
std::vector<std::byte> random_indices(std::mt19937& rng, npu::IndexType type, std::int64_t rows,
                                      std::size_t count, std::vector<std::int64_t>& values) {
  std::uniform_int_distribution<std::int64_t> pick(-rows, rows - 1);
  const std::size_t size = type == npu::IndexType::int64 ? 8 : 4;
  std::vector<std::byte> bytes(count * size);
  values.resize(count);
  for (std::size_t i = 0; i < count; ++i) {
    values[i] = pick(rng);
    const auto narrow = static_cast<std::int32_t>(values[i]);
    std::memcpy(
        bytes.data() + i * size,
        size == 8 ? static_cast<const void*>(&values[i]) : static_cast<const void*>(&narrow), size);
  }
  return bytes;
}

npu::Buffer index_buffer(const npu::Device& device, const std::vector<std::byte>& bytes) {
  npu::Buffer buffer = device.allocate(bytes.size());
  buffer.write(0, bytes);
  return buffer;
}

class Gather : public DeviceTest, public testing::WithParamInterface<DataType> {};

// Bit for bit: row r(i) of the table, r(i) = index, or index + rows.
TEST_P(Gather, RowsChosenByInt64AndInt32Indices) {
  const DataType dtype = GetParam();
  SKIP_UNLESS_DEVICE_RUNS(Opcode::gather, dtype);
  std::mt19937 rng{kSeed};
  constexpr std::uint32_t rows = 37, row_elems = 24, count = 50;
  DeviceTensor table(device(), dtype, rows * row_elems);
  const auto t = random_values(rng, dtype, table.count(), -100, 100);
  table.store(t);
  for (npu::IndexType type : {npu::IndexType::int64, npu::IndexType::int32}) {
    std::vector<std::int64_t> idx;
    npu::Buffer indices = index_buffer(device(), random_indices(rng, type, rows, count, idx));
    DeviceTensor out(device(), dtype, count * row_elems);
    npu::KernelBuilder b("gather");
    b.gather(dtype, {.table = b.arg_buffer("table"),
                     .indices = b.arg_buffer("indices"),
                     .output = b.arg_buffer("out"),
                     .rows = rows,
                     .row_elems = row_elems,
                     .count = count,
                     .index_type = type});
    const npu::JobResult result =
        run_kernel(device(), b.build(),
                   {{"table", &table.buffer()}, {"indices", &indices}, {"out", &out.buffer()}});
    ASSERT_TRUE(result.ok()) << npu::to_string(result.error);
    std::vector<double> want(out.count());
    for (std::uint32_t i = 0; i < count; ++i) {
      const std::int64_t r = idx[i] < 0 ? idx[i] + rows : idx[i];
      for (std::uint32_t e = 0; e < row_elems; ++e) {
        want[i * row_elems + e] = t[r * row_elems + e];
      }
    }
    EXPECT_TRUE(all_near(out.load(), want, {0, 0}));
  }
}

INSTANTIATE_TEST_SUITE_P(Dtypes, Gather, testing::ValuesIn(defined_dtypes(Opcode::gather)),
                         dtype_param_name);

// hw-spec 7.4.3: an index outside [-rows, rows) fails the job with
// OPERAND_INVALID at operand 1 and that index's address, before anything
// is written.
class GatherErrors : public DeviceTest {};

TEST_F(GatherErrors, IndexOutOfRangeFailsAtItsAddressAndWritesNothing) {
  SKIP_UNLESS_DEVICE_RUNS(Opcode::gather, DataType::fp32);
  DeviceTensor table(device(), DataType::fp32, 4 * 8);
  DeviceTensor out(device(), DataType::fp32, 3 * 8);
  table.store(std::vector<double>(table.count(), 1.0));
  out.store(std::vector<double>(out.count(), 7.0));
  const std::vector<std::int64_t> bad{-4, 3, 4};
  std::vector<std::byte> bytes(bad.size() * 8);
  std::memcpy(bytes.data(), bad.data(), bytes.size());
  npu::Buffer indices = index_buffer(device(), bytes);
  npu::KernelBuilder b("gather_bad");
  b.gather(DataType::fp32, {.table = b.arg_buffer("table"),
                            .indices = b.arg_buffer("indices"),
                            .output = b.arg_buffer("out"),
                            .rows = 4,
                            .row_elems = 8,
                            .count = 3});
  const npu::JobResult result =
      run_kernel(device(), b.build(),
                 {{"table", &table.buffer()}, {"indices", &indices}, {"out", &out.buffer()}});
  EXPECT_EQ(result.error, npu::JobError::operand_invalid);
  ASSERT_TRUE(result.error_operand.has_value());
  EXPECT_EQ(*result.error_operand, 1U);
  EXPECT_EQ(result.error_address, indices.device_address() + 2 * 8);
  EXPECT_TRUE(all_near(out.load(), std::vector<double>(out.count(), 7.0), {0, 0}));
}

// A transformer's input embedding as the runtime lowers it: token rows by
// INT64 ids, position rows by INT64 positions, added, layer-normalized;
// one job.
class GatherEmbedding : public DeviceTest {};

TEST_F(GatherEmbedding, TokenPlusPositionThenLayerNormInOneJob) {
  SKIP_UNLESS_DEVICE_RUNS(Opcode::gather, DataType::fp32);
  constexpr std::uint32_t vocab = 100, positions = 16, dim = 32, tokens = 12;
  constexpr float kEpsilon = 1e-5F;
  std::mt19937 rng{kSeed};
  DeviceTensor words(device(), DataType::fp32, vocab * dim);
  DeviceTensor places(device(), DataType::fp32, positions * dim);
  DeviceTensor gamma(device(), DataType::fp32, dim);
  DeviceTensor beta(device(), DataType::fp32, dim);
  DeviceTensor a(device(), DataType::fp32, tokens * dim);
  DeviceTensor p(device(), DataType::fp32, tokens * dim);
  DeviceTensor sum(device(), DataType::fp32, tokens * dim);
  DeviceTensor y(device(), DataType::fp32, tokens * dim);
  const auto wv = random_values(rng, DataType::fp32, words.count(), -1, 1);
  const auto pv = random_values(rng, DataType::fp32, places.count(), -1, 1);
  const auto gv = random_values(rng, DataType::fp32, dim, 0.5, 1.5);
  const auto bv = random_values(rng, DataType::fp32, dim, -0.5, 0.5);
  words.store(wv);
  places.store(pv);
  gamma.store(gv);
  beta.store(bv);
  std::vector<std::int64_t> ids;
  npu::Buffer id_buffer =
      index_buffer(device(), random_indices(rng, npu::IndexType::int64, vocab, tokens, ids));
  std::vector<std::int64_t> pos(tokens);
  std::vector<std::byte> pos_bytes(tokens * 8);
  for (std::uint32_t i = 0; i < tokens; ++i) {
    pos[i] = i;
  }
  std::memcpy(pos_bytes.data(), pos.data(), pos_bytes.size());
  npu::Buffer pos_buffer = index_buffer(device(), pos_bytes);

  npu::KernelBuilder b("embedding");
  const auto wa = b.arg_buffer("words");
  const auto pa = b.arg_buffer("places");
  const auto ida = b.arg_buffer("ids");
  const auto posa = b.arg_buffer("pos");
  const auto aa = b.arg_buffer("a");
  const auto ppa = b.arg_buffer("p");
  const auto sa = b.arg_buffer("sum");
  const auto ya = b.arg_buffer("y");
  const auto ga = b.arg_buffer("gamma");
  const auto ba = b.arg_buffer("beta");
  b.gather(DataType::fp32, {.table = wa,
                            .indices = ida,
                            .output = aa,
                            .rows = vocab,
                            .row_elems = dim,
                            .count = tokens})
      .gather(DataType::fp32, {.table = pa,
                               .indices = posa,
                               .output = ppa,
                               .rows = positions,
                               .row_elems = dim,
                               .count = tokens})
      .eltwise(DataType::fp32, npu::EltwiseOp::add, aa, ppa, sa, tokens * dim, tokens * dim)
      .layernorm(DataType::fp32, sa, ya, ga, ba, tokens, dim, kEpsilon);
  const npu::JobResult result = run_kernel(device(), b.build(),
                                           {{"words", &words.buffer()},
                                            {"places", &places.buffer()},
                                            {"ids", &id_buffer},
                                            {"pos", &pos_buffer},
                                            {"a", &a.buffer()},
                                            {"p", &p.buffer()},
                                            {"sum", &sum.buffer()},
                                            {"y", &y.buffer()},
                                            {"gamma", &gamma.buffer()},
                                            {"beta", &beta.buffer()}});
  ASSERT_TRUE(result.ok()) << npu::to_string(result.error);
  std::vector<double> want(y.count());
  for (std::uint32_t i = 0; i < tokens; ++i) {
    const std::int64_t word = ids[i] < 0 ? ids[i] + vocab : ids[i];
    std::vector<double> x(dim);
    double mean = 0;
    for (std::uint32_t e = 0; e < dim; ++e) {
      x[e] = static_cast<float>(wv[word * dim + e] + pv[pos[i] * dim + e]);
      mean += x[e] / dim;
    }
    double var = 0;
    for (std::uint32_t e = 0; e < dim; ++e) {
      var += (x[e] - mean) * (x[e] - mean) / dim;
    }
    for (std::uint32_t e = 0; e < dim; ++e) {
      want[i * dim + e] = (x[e] - mean) / std::sqrt(var + kEpsilon) * gv[e] + bv[e];
    }
  }
  EXPECT_TRUE(all_near(y.load(), want, tolerance(DataType::fp32)));
}

}  // namespace
}  // namespace guest
