// The tracing hook (Device::set_job_trace): every job of the open reported
// once, with its kernel, submission time, device times and outcome.
#include <chrono>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "guest_device.hpp"

namespace guest {
namespace {

using namespace std::chrono_literals;

class JobTrace : public DeviceTest {
 protected:
  void SetUp() override {
    DeviceTest::SetUp();
    kernel_.emplace(device().load_kernel(fill_copy_kernel()));
    device().set_job_trace([this](const npu::JobTrace& trace) {
      const std::scoped_lock lock(mutex_);
      traces_.push_back(trace);
    });
  }

  std::vector<npu::JobTrace> traces() {
    const std::scoped_lock lock(mutex_);
    return traces_;
  }

  // A fill+copy of `bytes` between two pages (more runs off them and fails).
  npu::KernelArguments arguments(std::uint64_t bytes) {
    return fill_copy_arguments(device(), *kernel_, buffers_, 4096, bytes, 0x7ACE'0001);
  }

  std::optional<npu::Kernel> kernel_;
  std::vector<npu::Buffer> buffers_;
  std::mutex mutex_;
  std::vector<npu::JobTrace> traces_;
};

TEST_F(JobTrace, WaitedJobsAreReportedOnceWithWhatWaitReturned) {
  npu::Queue queue = device().create_queue();
  std::vector<npu::JobHandle> jobs;
  const auto before = std::chrono::steady_clock::now();
  for (int i = 0; i < 4; ++i) {
    jobs.push_back(queue.submit(*kernel_, arguments(4096)));
  }
  std::vector<npu::JobResult> results;
  for (const npu::JobHandle& job : jobs) {
    results.push_back(job.wait(60s));
    ASSERT_TRUE(results.back().ok()) << npu::describe(results.back());
    ASSERT_TRUE(job.wait(60s).ok()) << "a second wait";
  }
  const std::vector<npu::JobTrace> seen = traces();
  ASSERT_EQ(seen.size(), jobs.size()) << "each job once, however often it is waited on";
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(seen[i].queue_id, jobs[i].queue_id());
    EXPECT_EQ(seen[i].sequence_number, jobs[i].sequence_number());
    EXPECT_EQ(seen[i].kernel, kernel_->name());
    EXPECT_GE(seen[i].submitted, before);
    EXPECT_EQ(seen[i].result.status, npu::JobStatus::ok);
    ASSERT_TRUE(seen[i].result.device_times.has_value());
    ASSERT_TRUE(results[i].device_times.has_value());
    EXPECT_EQ(seen[i].result.device_times->start, results[i].device_times->start);
    EXPECT_EQ(seen[i].result.device_times->end, results[i].device_times->end);
  }
}

TEST_F(JobTrace, JobNobodyWaitedForIsReportedWhenItsLastHandleGoes) {
  npu::Queue queue = device().create_queue();
  std::optional<npu::JobHandle> unwaited = queue.submit(*kernel_, arguments(4096));
  const std::uint64_t sequence_number = unwaited->sequence_number();
  // Jobs of a queue finish in order: once the second is done, so is the first.
  ASSERT_TRUE(queue.submit(*kernel_, arguments(4096)).wait(60s).ok());
  ASSERT_EQ(traces().size(), 1U);
  unwaited.reset();
  const std::vector<npu::JobTrace> seen = traces();
  ASSERT_EQ(seen.size(), 2U);
  EXPECT_EQ(seen[1].sequence_number, sequence_number);
  EXPECT_EQ(seen[1].result.status, npu::JobStatus::ok);
  EXPECT_TRUE(seen[1].result.device_times.has_value());
}

TEST_F(JobTrace, FailedJobIsReportedWithItsError) {
  npu::Queue queue = device().create_queue();
  const npu::JobResult result =
      queue.submit(*kernel_, arguments(std::uint64_t{1} << 30)).wait(60s);  // off the 4 KiB
  ASSERT_EQ(result.status, npu::JobStatus::failed);
  const std::vector<npu::JobTrace> seen = traces();
  ASSERT_EQ(seen.size(), 1U);
  EXPECT_EQ(seen[0].result.status, npu::JobStatus::failed);
  EXPECT_EQ(seen[0].result.error, result.error);
  EXPECT_EQ(seen[0].result.error_offset, result.error_offset);
  EXPECT_FALSE(seen[0].result.device_times.has_value());
}

TEST_F(JobTrace, EveryCopyOfTheDeviceSharesTheHookUntilItIsCleared) {
  const npu::Device copy = device();
  npu::Queue queue = copy.create_queue();
  ASSERT_TRUE(queue.submit(*kernel_, arguments(4096)).wait(60s).ok());
  EXPECT_EQ(traces().size(), 1U);
  copy.set_job_trace({});
  ASSERT_TRUE(queue.submit(*kernel_, arguments(4096)).wait(60s).ok());
  EXPECT_EQ(traces().size(), 1U) << "no reports once the hook is cleared";
}

TEST_F(JobTrace, ConcurrentWaitersReportEachJobOnce) {
  npu::Queue queue = device().create_queue();
  std::vector<npu::JobHandle> jobs;
  for (int i = 0; i < 16; ++i) {
    jobs.push_back(queue.submit(*kernel_, arguments(4096)));
  }
  std::vector<std::thread> waiters;
  for (int t = 0; t < 4; ++t) {
    waiters.emplace_back([&jobs] {
      for (const npu::JobHandle& job : jobs) {
        (void)job.wait(60s);
      }
    });
  }
  for (std::thread& waiter : waiters) {
    waiter.join();
  }
  EXPECT_EQ(traces().size(), jobs.size());
}

}  // namespace
}  // namespace guest
