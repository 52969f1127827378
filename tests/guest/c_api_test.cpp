// The C API against the device: the fill + copy job, a failing job and a
// banned queue, through npu.h only.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>

#include "npu/npu.h"

namespace guest {
namespace {

constexpr const char* kFillCopy = R"(
.kernel fill_copy
.arg buffer dst
.arg buffer src
.arg scalar bytes
    dma_fill @src, @bytes, 0xa5a5a5a5
    dma_copy @dst, @src, @bytes
)";

constexpr std::int64_t kSecond = 1'000'000'000;

class CApi : public testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(npu_device_open(0, &device_), NPU_SUCCESS) << npu_last_error();
    ASSERT_EQ(npu_kernel_load_assembly(device_, kFillCopy, &kernel_), NPU_SUCCESS)
        << npu_last_error();
    ASSERT_EQ(npu_queue_create(device_, NPU_QUEUE_PRIORITY_NORMAL, &queue_), NPU_SUCCESS)
        << npu_last_error();
    ASSERT_EQ(npu_buffer_create(device_, 4096, 0, &src_), NPU_SUCCESS) << npu_last_error();
    ASSERT_EQ(npu_buffer_create(device_, 4096, 0, &dst_), NPU_SUCCESS) << npu_last_error();
  }

  void TearDown() override {
    // Destroyed in an order no C++ scope would allow: the device first.
    npu_device_close(device_);
    npu_queue_destroy(queue_);
    npu_kernel_destroy(kernel_);
    npu_buffer_destroy(src_);
    npu_buffer_destroy(dst_);
  }

  npu_job_result launch(const npu_argument* arguments, std::size_t count) {
    npu_job* job = nullptr;
    npu_job_result result{};
    EXPECT_EQ(npu_launch(queue_, kernel_, arguments, count, &job), NPU_SUCCESS) << npu_last_error();
    EXPECT_EQ(npu_job_wait(job, 30 * kSecond, &result), NPU_SUCCESS) << npu_last_error();
    npu_job_release(job);
    return result;
  }

  npu_device* device_ = nullptr;
  npu_kernel* kernel_ = nullptr;
  npu_queue* queue_ = nullptr;
  npu_buffer* src_ = nullptr;
  npu_buffer* dst_ = nullptr;
};

TEST_F(CApi, DeviceInfo) {
  npu_device_info info{};
  ASSERT_EQ(npu_device_get_info(device_, &info), NPU_SUCCESS);
  EXPECT_EQ(std::strncmp(info.device_node, "/dev/accel/accel", 16), 0) << info.device_node;
  EXPECT_EQ(std::strncmp(info.driver_version, "knpu ", 5), 0) << info.driver_version;
  EXPECT_GE(info.num_cores, 1U);
  EXPECT_GE(info.num_queues, 1U);
  EXPECT_NE(info.ops & (1U << 0x01), 0U) << "dma_copy";
}

TEST_F(CApi, FillAndCopy) {
  const npu_argument arguments[] = {{"dst", dst_, 0}, {"src", src_, 0}, {"bytes", nullptr, 4096}};
  const npu_job_result result = launch(arguments, 3);
  EXPECT_EQ(result.status, NPU_JOB_OK);
  void* data = nullptr;
  ASSERT_EQ(npu_buffer_map(dst_, &data), NPU_SUCCESS);
  const auto* bytes = static_cast<const unsigned char*>(data);
  EXPECT_TRUE(std::all_of(bytes, bytes + 4096, [](unsigned char b) { return b == 0xa5; }));
  EXPECT_EQ(npu_buffer_size(dst_), 4096U);
  EXPECT_NE(npu_buffer_device_address(dst_), 0U);
}

TEST_F(CApi, FailedJobIsAResultAndBansTheQueue) {
  // A 1 GiB fill from a 4 KiB buffer runs into the first unmapped page after it.
  constexpr std::uint64_t kBytes = 1ULL << 30;
  const npu_argument arguments[] = {{"dst", dst_, 0}, {"src", src_, 0}, {"bytes", nullptr, kBytes}};
  const npu_job_result result = launch(arguments, 3);
  EXPECT_EQ(result.status, NPU_JOB_FAILED);
  EXPECT_EQ(result.error, 0x08U) << "MMU_FAULT";
  const std::uint64_t src = npu_buffer_device_address(src_);
  EXPECT_GE(result.error_address, src + 4096);
  EXPECT_LT(result.error_address, src + kBytes);
  EXPECT_EQ(result.error_address % 4096, 0U);

  npu_job* job = nullptr;
  EXPECT_EQ(npu_launch(queue_, kernel_, arguments, 3, &job), NPU_ERROR_QUEUE_BANNED);
  EXPECT_NE(std::string(npu_last_error()).find("DRM_IOCTL_KNPU_SUBMIT"), std::string::npos)
      << npu_last_error();
}

TEST_F(CApi, FailedJobSaysWhereItStopped) {
  // The fill (instruction 0, operand 0 the buffer it writes) runs off src.
  const npu_argument arguments[] = {
      {"dst", dst_, 0}, {"src", src_, 0}, {"bytes", nullptr, 1U << 20}};
  npu_job* job = nullptr;
  npu_job_result result{};
  npu_job_fault fault{};
  char text[160];
  ASSERT_EQ(npu_launch(queue_, kernel_, arguments, 3, &job), NPU_SUCCESS) << npu_last_error();
  ASSERT_EQ(npu_job_wait(job, 30 * kSecond, &result), NPU_SUCCESS) << npu_last_error();
  ASSERT_EQ(result.status, NPU_JOB_FAILED);
  ASSERT_EQ(npu_job_get_fault(job, &fault, text, sizeof(text)), NPU_SUCCESS) << npu_last_error();
  EXPECT_EQ(fault.offset, 0U);
  EXPECT_EQ(fault.operand, 0U);
  EXPECT_EQ((fault.info >> 8) & 3U, 2U) << "a write";
  EXPECT_EQ(std::string(text).rfind("MMU_FAULT (write, not present) at 0x", 0), 0U) << text;
  EXPECT_NE(std::string(text).find("in the instruction at byte 0x0, operand 0"), std::string::npos)
      << text;
  char small[10];
  ASSERT_EQ(npu_job_get_fault(job, &fault, small, sizeof(small)), NPU_SUCCESS);
  EXPECT_STREQ(small, "MMU_FAULT");
  EXPECT_EQ(npu_job_get_fault(job, nullptr, nullptr, 0), NPU_ERROR_INVALID_ARGUMENT);
  npu_job_release(job);
}

TEST_F(CApi, JobTimes) {
  const npu_argument arguments[] = {{"dst", dst_, 0}, {"src", src_, 0}, {"bytes", nullptr, 4096}};
  npu_job* job = nullptr;
  npu_job_result result{};
  ASSERT_EQ(npu_launch(queue_, kernel_, arguments, 3, &job), NPU_SUCCESS) << npu_last_error();
  ASSERT_EQ(npu_job_wait(job, 30 * kSecond, &result), NPU_SUCCESS) << npu_last_error();
  ASSERT_EQ(result.status, NPU_JOB_OK);
  std::uint64_t start = 0;
  std::uint64_t end = 0;
  ASSERT_EQ(npu_job_get_times(job, &start, &end), NPU_SUCCESS) << npu_last_error();
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  EXPECT_LE(start, end);
  EXPECT_LE(end, static_cast<std::uint64_t>(now.tv_sec) * kSecond + now.tv_nsec + 2'000'000);
  EXPECT_EQ(npu_job_get_times(job, &start, nullptr), NPU_ERROR_INVALID_ARGUMENT);
  npu_job_release(job);
}

struct TraceLog {
  int calls = 0;
  npu_job_trace last{};
  std::string kernel;
};

void log_trace(const npu_job_trace* trace, void* user_data) {
  auto* log = static_cast<TraceLog*>(user_data);
  ++log->calls;
  log->last = *trace;
  log->kernel = trace->kernel;
}

TEST_F(CApi, JobTrace) {
  TraceLog log;
  ASSERT_EQ(npu_device_set_job_trace(device_, log_trace, &log), NPU_SUCCESS) << npu_last_error();
  const npu_argument arguments[] = {{"dst", dst_, 0}, {"src", src_, 0}, {"bytes", nullptr, 4096}};
  npu_job* job = nullptr;
  npu_job_result result{};
  ASSERT_EQ(npu_launch(queue_, kernel_, arguments, 3, &job), NPU_SUCCESS) << npu_last_error();
  ASSERT_EQ(npu_job_wait(job, 30 * kSecond, &result), NPU_SUCCESS) << npu_last_error();
  ASSERT_EQ(npu_job_wait(job, 30 * kSecond, &result), NPU_SUCCESS) << npu_last_error();
  std::uint64_t start = 0;
  std::uint64_t end = 0;
  ASSERT_EQ(npu_job_get_times(job, &start, &end), NPU_SUCCESS) << npu_last_error();
  npu_job_release(job);
  ASSERT_EQ(log.calls, 1) << "once per job";
  EXPECT_EQ(log.last.result.status, NPU_JOB_OK);
  EXPECT_EQ(log.last.start_ns, start);
  EXPECT_EQ(log.last.end_ns, end);
  EXPECT_LE(log.last.submitted_ns, end);
  EXPECT_NE(log.last.sequence_number, 0U);
  EXPECT_FALSE(log.kernel.empty());

  ASSERT_EQ(npu_device_set_job_trace(device_, nullptr, nullptr), NPU_SUCCESS);
  ASSERT_EQ(npu_launch(queue_, kernel_, arguments, 3, &job), NPU_SUCCESS) << npu_last_error();
  ASSERT_EQ(npu_job_wait(job, 30 * kSecond, &result), NPU_SUCCESS) << npu_last_error();
  npu_job_release(job);
  EXPECT_EQ(log.calls, 1) << "no reports once tracing stops";
  EXPECT_EQ(npu_device_set_job_trace(nullptr, log_trace, &log), NPU_ERROR_INVALID_ARGUMENT);
}

TEST_F(CApi, ArgumentMistakes) {
  npu_job* job = nullptr;
  const npu_argument missing[] = {{"dst", dst_, 0}};
  EXPECT_EQ(npu_launch(queue_, kernel_, missing, 1, &job), NPU_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(npu_last_error()).find("src, bytes"), std::string::npos)
      << npu_last_error();
  const npu_argument wrong_kind[] = {{"dst", nullptr, 1}, {"src", src_, 0}, {"bytes", nullptr, 4}};
  EXPECT_EQ(npu_launch(queue_, kernel_, wrong_kind, 3, &job), NPU_ERROR_INVALID_ARGUMENT);
  npu_kernel* bad = nullptr;
  EXPECT_EQ(npu_kernel_load_assembly(device_, ".kernel k\n  dma_fil\n", &bad),
            NPU_ERROR_INVALID_KERNEL);
  EXPECT_NE(std::string(npu_last_error()).find("2:3: unknown mnemonic"), std::string::npos)
      << npu_last_error();
  npu_buffer* buffer = nullptr;
  EXPECT_EQ(npu_buffer_create(device_, 0, 0, &buffer), NPU_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(npu_buffer_create(device_, 4096, 1U << 7, &buffer), NPU_ERROR_INVALID_ARGUMENT);
}

}  // namespace
}  // namespace guest

namespace guest {
namespace {

// tests/guest/c11_program.c, built as C11 with warnings as errors.
TEST(CApiProgram, AC11RuntimeRunsOnTheCApiAlone) {
  EXPECT_EQ(std::system(KNPU_C11_PROGRAM), 0)
      << KNPU_C11_PROGRAM << " failed (its output is above)";
}

}  // namespace
}  // namespace guest
