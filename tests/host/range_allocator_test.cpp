// BufferPool's range bookkeeping: first fit, alignment, splitting and
// coalescing, checked against a byte map of the slab.
#include "range_allocator.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

namespace {

using npu::detail::RangeAllocator;

TEST(RangeAllocator, FirstFitWithAlignment) {
  RangeAllocator ranges(4096);
  EXPECT_EQ(ranges.allocate(10, 1), 0U);
  EXPECT_EQ(ranges.allocate(10, 256), 256U);
  EXPECT_EQ(ranges.allocate(10, 1), 10U) << "the gap before the aligned range is reused";
  EXPECT_EQ(ranges.used(), 30U);
  EXPECT_FALSE(ranges.allocate(4096, 1).has_value());
}

TEST(RangeAllocator, ReleaseCoalescesBothNeighbours) {
  RangeAllocator ranges(300);
  const auto a = ranges.allocate(100, 1);
  const auto b = ranges.allocate(100, 1);
  const auto c = ranges.allocate(100, 1);
  ASSERT_TRUE(a && b && c);
  EXPECT_FALSE(ranges.allocate(1, 1).has_value());
  ranges.release(*a, 100);
  ranges.release(*c, 100);
  EXPECT_FALSE(ranges.allocate(150, 1).has_value()) << "two holes of 100 are not one of 150";
  ranges.release(*b, 100);
  EXPECT_TRUE(ranges.empty());
  EXPECT_EQ(ranges.allocate(300, 1), 0U) << "all three holes merged";
}

TEST(RangeAllocator, ExactFitLeavesNoEmptyFragments) {
  RangeAllocator ranges(512);
  EXPECT_EQ(ranges.allocate(256, 256), 0U);
  EXPECT_EQ(ranges.allocate(256, 256), 256U);
  EXPECT_FALSE(ranges.allocate(1, 1).has_value());
}

TEST(RangeAllocator, RandomWorkloadNeverOverlapsAndReturnsEverything) {
  constexpr std::uint64_t kCapacity = 1 << 16;
  RangeAllocator ranges(kCapacity);
  std::vector<int> owner(kCapacity, -1);
  struct Live {
    std::uint64_t offset, size;
  };
  std::vector<Live> live;
  std::mt19937 random(1234);
  for (int step = 0; step < 20000; ++step) {
    if (live.empty() || random() % 3 != 0) {
      const std::uint64_t size = 1 + random() % 700;
      const std::uint64_t alignment = std::uint64_t{1} << (random() % 9);
      const auto offset = ranges.allocate(size, alignment);
      if (!offset) {
        continue;
      }
      ASSERT_EQ(*offset % alignment, 0U);
      ASSERT_LE(*offset + size, kCapacity);
      for (std::uint64_t i = *offset; i < *offset + size; ++i) {
        ASSERT_EQ(owner[i], -1) << "byte " << i << " handed out twice";
        owner[i] = step;
      }
      live.push_back({*offset, size});
    } else {
      const std::size_t victim = random() % live.size();
      ranges.release(live[victim].offset, live[victim].size);
      for (std::uint64_t i = 0; i < live[victim].size; ++i) {
        owner[live[victim].offset + i] = -1;
      }
      live[victim] = live.back();
      live.pop_back();
    }
  }
  for (const Live& range : live) {
    ranges.release(range.offset, range.size);
  }
  EXPECT_TRUE(ranges.empty());
  EXPECT_EQ(ranges.allocate(kCapacity, 1), 0U) << "everything coalesced back into one range";
}

}  // namespace
