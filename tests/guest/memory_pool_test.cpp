// BufferPool: many small tensors carved from a few slabs, in host and device
// memory; jobs use them with every byte checked; a range is reused only after
// the last copy of its buffer, including the one an in-flight job holds.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

#include "guest_device.hpp"

namespace guest {
namespace {

using namespace std::chrono_literals;

constexpr std::size_t kSlab = std::size_t{1} << 20;

class Pool : public DeviceTest, public testing::WithParamInterface<npu::MemoryPlacement> {
 protected:
  void SetUp() override {
    DeviceTest::SetUp();
    if (GetParam() == npu::MemoryPlacement::device &&
        !device().properties().has(npu::Capability::device_memory)) {
      GTEST_SKIP() << "no device memory";
    }
  }
  npu::BufferPoolOptions options() const {
    return {.buffer = {.placement = GetParam()}, .slab_size = kSlab, .alignment = 256};
  }
};

bool overlap(const npu::Buffer& a, const npu::Buffer& b) {
  return a.device_address() < b.device_address() + b.size() &&
         b.device_address() < a.device_address() + a.size();
}

TEST_P(Pool, SmallTensorsShareSlabsAndNeverOverlap) {
  npu::BufferPool pool(device(), options());
  std::vector<npu::Buffer> tensors;
  for (std::size_t i = 0; i < 600; ++i) {
    tensors.push_back(pool.allocate(100 + (i * 37) % 3000));
  }
  const npu::BufferPoolStatistics statistics = pool.statistics();
  EXPECT_EQ(statistics.allocations, tensors.size());
  EXPECT_LE(statistics.slabs, 2U) << "600 tensors of < 3 KiB fit in two 1 MiB slabs";
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    EXPECT_EQ(tensors[i].device_address() % 256, 0U);
    for (std::size_t j = i + 1; j < tensors.size(); ++j) {
      ASSERT_FALSE(overlap(tensors[i], tensors[j])) << "tensors " << i << " and " << j;
    }
  }
}

TEST_P(Pool, JobsCopyBetweenPooledBuffersEveryByteChecked) {
  npu::BufferPool pool(device(), options());
  npu::Queue queue = device().create_queue();
  std::vector<std::pair<npu::Buffer, npu::Buffer>> pairs;
  for (std::size_t bytes : {std::size_t{1}, std::size_t{255}, std::size_t{4097}, kSlab / 3}) {
    pairs.emplace_back(pool.allocate(bytes), pool.allocate(bytes));
  }
  std::uint32_t pattern = 0x1357'9BDF;
  for (auto& [src, dst] : pairs) {
    ASSERT_TRUE(queue.fill(src, pattern).wait(60s).ok());
    std::ranges::fill(dst.map(), std::byte{0xEE});
    ASSERT_TRUE(queue.copy(dst, src).wait(60s).ok());
    std::vector<std::byte> expected(src.size());
    for (std::size_t i = 0; i < expected.size(); ++i) {
      expected[i] = static_cast<std::byte>(pattern >> (8 * (i % 4)));
    }
    const auto bytes = dst.map();
    ASSERT_TRUE(std::ranges::equal(bytes, expected)) << dst.size() << "-byte copy";
    ++pattern;
  }
}

TEST_P(Pool, RangeReturnsOnlyAfterTheLastCopyIsGone) {
  npu::BufferPool pool(device(), options());
  std::uint64_t address = 0;
  {
    std::optional<npu::Buffer> first = pool.allocate(4096);
    address = first->device_address();
    const npu::Buffer copy = *first;
    first.reset();
    EXPECT_NE(pool.allocate(4096).device_address(), address) << "still held by a copy";
    EXPECT_EQ(pool.statistics().allocations, 1U);
  }
  EXPECT_EQ(pool.statistics().allocations, 0U);
  EXPECT_EQ(pool.statistics().used_bytes, 0U);
  EXPECT_EQ(pool.allocate(4096).device_address(), address) << "first fit reuses the range";
}

TEST_P(Pool, InFlightJobKeepsItsRange) {
  npu::BufferPool pool(device(), options());
  npu::Queue queue = device().create_queue();
  std::uint64_t address = 0;
  std::optional<npu::JobHandle> job;
  {
    npu::Buffer target = pool.allocate(kSlab / 2);
    address = target.device_address();
    job = queue.fill(target, 0xA5A5'A5A5);
  }
  // The job still holds the buffer: its range is not handed out again.
  npu::Buffer other = pool.allocate(kSlab / 2);
  EXPECT_FALSE(other.device_address() <= address &&
               address < other.device_address() + other.size());
  EXPECT_EQ(pool.statistics().allocations, 2U);
  ASSERT_TRUE(job->wait(60s).ok());
  job.reset();
  EXPECT_EQ(pool.statistics().allocations, 1U);
}

TEST_P(Pool, SubBuffersHoldTheLease) {
  npu::BufferPool pool(device(), options());
  std::optional<npu::Buffer> window;
  {
    npu::Buffer whole = pool.allocate(8192);
    window = whole.sub_buffer(4096, 4096);
  }
  EXPECT_EQ(pool.statistics().allocations, 1U);
  window.reset();
  EXPECT_EQ(pool.statistics().allocations, 0U);
}

TEST_P(Pool, AllocationsOutliveThePoolAndTrimFreesEmptySlabs) {
  std::optional<npu::BufferPool> pool(std::in_place, device(), options());
  npu::Buffer survivor = pool->allocate(1000);
  { npu::Buffer other = pool->allocate(kSlab - 512); }  // a second slab, now empty
  EXPECT_EQ(pool->statistics().slabs, 2U);
  pool->trim();
  EXPECT_EQ(pool->statistics().slabs, 1U);
  pool.reset();
  npu::Queue queue = device().create_queue();
  ASSERT_TRUE(queue.fill(survivor, 0x0102'0304).wait(60s).ok());
  EXPECT_EQ(survivor.map()[0], std::byte{0x04});
}

TEST_P(Pool, LargeRequestsGetTheirOwnBufferObject) {
  npu::BufferPool pool(device(), options());
  const npu::Buffer large = pool.allocate(kSlab + 1);
  EXPECT_EQ(large.offset(), 0U);
  EXPECT_GE(large.size(), kSlab + 1);
  EXPECT_EQ(pool.statistics().slabs, 0U);
}

TEST_P(Pool, BadRequestsAreRefusedAndLoseNothing) {
  npu::BufferPool pool(device(), options());
  const npu::Buffer kept = pool.allocate(64);
  EXPECT_THROW(static_cast<void>(pool.allocate(0)), std::invalid_argument);
  EXPECT_THROW(static_cast<void>(pool.allocate(64, 3)), std::invalid_argument);
  EXPECT_THROW(static_cast<void>(pool.allocate(64, 8192)), std::invalid_argument);
  EXPECT_THROW(npu::BufferPool(device(), {.slab_size = 0}), std::invalid_argument);
  EXPECT_THROW(npu::BufferPool(device(), {.alignment = 24}), std::invalid_argument);
  EXPECT_EQ(pool.statistics().allocations, 1U);
}

INSTANTIATE_TEST_SUITE_P(Placements, Pool,
                         testing::Values(npu::MemoryPlacement::host, npu::MemoryPlacement::device),
                         [](const auto& placement) {
                           return placement.param == npu::MemoryPlacement::host ? "Host" : "Device";
                         });

}  // namespace
}  // namespace guest
