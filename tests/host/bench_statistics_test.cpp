// npu-bench's median of the device's own job times: only the timed runs
// count, and a run without the device's timestamps voids the figure rather
// than skewing it.
#include <gtest/gtest.h>

#include <chrono>
#include <vector>

#include "statistics.hpp"

namespace {

using namespace std::chrono_literals;
using npu_bench::DeviceJobTime;
using npu_bench::median_job_seconds;

TEST(BenchStatistics, MedianJobTimeSkipsTheWarmUp) {
  // Three warm-up jobs (slow: first touch), then three timed ones.
  const std::vector<DeviceJobTime> times = {90ms, 80ms, 70ms, 3ms, 1ms, 2ms};
  const auto median = median_job_seconds(times, 3);
  ASSERT_TRUE(median.has_value());
  EXPECT_DOUBLE_EQ(*median, 0.002);
}

TEST(BenchStatistics, MedianJobTimeNeedsEveryTimedJobsTime) {
  EXPECT_FALSE(median_job_seconds({1ms, 2ms, std::nullopt}, 3).has_value());
  // A warm-up job without a time does not matter.
  EXPECT_TRUE(median_job_seconds({std::nullopt, 1ms, 2ms, 3ms}, 3).has_value());
}

TEST(BenchStatistics, MedianJobTimeNeedsEnoughJobs) {
  EXPECT_FALSE(median_job_seconds({1ms, 2ms}, 3).has_value());
  EXPECT_FALSE(median_job_seconds({}, 0).has_value());
}

TEST(BenchStatistics, JobTimeIsTheDevicesStartToEnd) {
  npu::JobResult result;
  EXPECT_FALSE(npu_bench::job_time(result).has_value());
  const auto start = std::chrono::steady_clock::time_point(10ms);
  result.device_times = npu::JobResult::Times{start, start + 250us};
  EXPECT_EQ(npu_bench::job_time(result), DeviceJobTime(250us));
}

}  // namespace
