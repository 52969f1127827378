// The device's start and end times of completed jobs (uapi 1.1): on the
// host's steady_clock, inside the host's view of the job, in queue order.
#include <chrono>
#include <optional>
#include <vector>

#include "guest_device.hpp"

namespace guest {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// The clock conversion reads the device clock once per completion batch; a
// TCG guest can be descheduled between the two reads of that sample.
constexpr auto kConversionSlack = 2ms;

class JobTimes : public DeviceTest {
 protected:
  void SetUp() override {
    DeviceTest::SetUp();
    ASSERT_TRUE(device().properties().has(npu::Capability::job_timestamps))
        << "the virtual NPU has FEATURES.JOB_TIMESTAMPS";
  }

  npu::KernelArguments fill_copy_arguments(const npu::Kernel& kernel, std::uint64_t bytes) {
    return guest::fill_copy_arguments(device(), kernel, buffers_, bytes, bytes, 0x600D'7173);
  }

  std::vector<npu::Buffer> buffers_;
};

TEST_F(JobTimes, CompletedJobLiesInsideTheHostsViewOfIt) {
  const npu::Kernel kernel = device().load_kernel(fill_copy_kernel());
  npu::Queue queue = device().create_queue();
  const npu::KernelArguments args = fill_copy_arguments(kernel, 4 << 20);
  const Clock::time_point submitted = Clock::now();
  const npu::JobResult result = queue.submit(kernel, args).wait(60s);
  const Clock::time_point returned = Clock::now();
  ASSERT_TRUE(result.ok()) << npu::describe(result);
  ASSERT_TRUE(result.device_times.has_value());
  const auto [start, end] = *result.device_times;
  EXPECT_LE(start, end);
  EXPECT_GE(start + kConversionSlack, submitted) << "the job started before it was submitted";
  EXPECT_LE(end, returned + kConversionSlack) << "the job ended after wait() returned";
  EXPECT_GT(end - start, 0ns) << "8 MiB of DMA take time";
}

TEST_F(JobTimes, JobsOfOneQueueRunOneAfterTheOther) {
  const npu::Kernel kernel = device().load_kernel(fill_copy_kernel());
  npu::Queue queue = device().create_queue();
  std::vector<npu::JobHandle> jobs;
  for (int i = 0; i < 8; ++i) {
    jobs.push_back(queue.submit(kernel, fill_copy_arguments(kernel, 256 << 10)));
  }
  std::optional<Clock::time_point> previous_end;
  for (const npu::JobHandle& job : jobs) {
    const npu::JobResult result = job.wait(60s);
    ASSERT_TRUE(result.ok()) << npu::describe(result);
    ASSERT_TRUE(result.device_times.has_value());
    if (previous_end) {
      EXPECT_LE(*previous_end, result.device_times->start + kConversionSlack);
    }
    previous_end = result.device_times->end;
  }
}

TEST_F(JobTimes, FailedJobsHaveNoTimes) {
  const npu::Kernel kernel = device().load_kernel(fill_copy_kernel());
  npu::Queue queue = device().create_queue();
  npu::KernelArguments args = fill_copy_arguments(kernel, 4096);
  args.set("bytes", std::uint64_t{1} << 30);  // runs off the 4 KiB source
  const npu::JobResult result = queue.submit(kernel, args).wait(60s);
  ASSERT_EQ(result.status, npu::JobStatus::failed);
  EXPECT_FALSE(result.device_times.has_value());
}

}  // namespace
}  // namespace guest
