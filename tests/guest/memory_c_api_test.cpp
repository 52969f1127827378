// The memory calls of the C API: user memory wrapped and written by a job,
// a dma-buf exported and imported on the second device, and device memory
// running out, through npu.h only.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <string>

#include "npu/npu.h"

namespace guest {
namespace {

constexpr const char* kFill = R"(
.kernel fill
.arg buffer dst
.arg scalar bytes
    dma_fill @dst, @bytes, 0x5c5c5c5c
)";
constexpr std::uint64_t kBytes = 3 * 4096;
constexpr std::int64_t kSecond = 1'000'000'000;

class MemoryCApi : public testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(npu_device_open(0, &device_), NPU_SUCCESS) << npu_last_error();
    ASSERT_EQ(npu_kernel_load_assembly(device_, kFill, &kernel_), NPU_SUCCESS) << npu_last_error();
    ASSERT_EQ(npu_queue_create(device_, NPU_QUEUE_PRIORITY_NORMAL, &queue_), NPU_SUCCESS)
        << npu_last_error();
  }

  void TearDown() override {
    npu_queue_destroy(queue_);
    npu_kernel_destroy(kernel_);
    npu_device_close(device_);
  }

  npu_job_status fill(const npu_buffer* buffer) {
    const npu_argument arguments[] = {{"dst", buffer, 0}, {"bytes", nullptr, kBytes}};
    npu_job* job = nullptr;
    npu_job_result result{};
    EXPECT_EQ(npu_launch(queue_, kernel_, arguments, 2, &job), NPU_SUCCESS) << npu_last_error();
    EXPECT_EQ(npu_job_wait(job, 30 * kSecond, &result), NPU_SUCCESS) << npu_last_error();
    npu_job_release(job);
    return result.status;
  }

  npu_device* device_ = nullptr;
  npu_kernel* kernel_ = nullptr;
  npu_queue* queue_ = nullptr;
};

TEST_F(MemoryCApi, UserMemory) {
  void* memory =
      ::mmap(nullptr, kBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(memory, MAP_FAILED);
  npu_buffer* buffer = nullptr;
  ASSERT_EQ(npu_buffer_wrap_user_memory(device_, memory, kBytes, 0, &buffer), NPU_SUCCESS)
      << npu_last_error();
  EXPECT_EQ(fill(buffer), NPU_JOB_OK);
  const auto* bytes = static_cast<const unsigned char*>(memory);
  EXPECT_TRUE(std::all_of(bytes, bytes + kBytes, [](unsigned char b) { return b == 0x5c; }));
  npu_buffer_destroy(buffer);

  EXPECT_EQ(npu_buffer_wrap_user_memory(device_, memory, kBytes, NPU_BUFFER_DEVICE_MEMORY, &buffer),
            NPU_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(npu_buffer_wrap_user_memory(device_, static_cast<char*>(memory) + 1, 4096, 0, &buffer),
            NPU_ERROR_INVALID_ARGUMENT)
      << "unaligned";
  ::munmap(memory, kBytes);
}

TEST_F(MemoryCApi, DmaBufOnTheSecondDevice) {
  npu_device* second = nullptr;
  ASSERT_EQ(npu_device_open(1, &second), NPU_SUCCESS) << npu_last_error();
  npu_buffer* exported = nullptr;
  ASSERT_EQ(npu_buffer_create(device_, kBytes, 0, &exported), NPU_SUCCESS) << npu_last_error();
  int fd = -1;
  ASSERT_EQ(npu_buffer_export_dma_buf(exported, &fd), NPU_SUCCESS) << npu_last_error();
  npu_buffer* imported = nullptr;
  ASSERT_EQ(npu_buffer_import_dma_buf(second, fd, &imported), NPU_SUCCESS) << npu_last_error();
  ::close(fd);
  EXPECT_EQ(npu_buffer_size(imported), kBytes);

  EXPECT_EQ(fill(exported), NPU_JOB_OK);
  void* data = nullptr;
  ASSERT_EQ(npu_buffer_map(imported, &data), NPU_SUCCESS) << npu_last_error();
  const auto* bytes = static_cast<const unsigned char*>(data);
  EXPECT_TRUE(std::all_of(bytes, bytes + kBytes, [](unsigned char b) { return b == 0x5c; }));

  EXPECT_EQ(npu_buffer_import_dma_buf(second, -1, &imported), NPU_ERROR_INVALID_ARGUMENT);
  npu_buffer_destroy(imported);
  npu_buffer_destroy(exported);
  npu_device_close(second);
}

TEST_F(MemoryCApi, DeviceMemoryRunsOut) {
  npu_device_info info{};
  ASSERT_EQ(npu_device_get_info(device_, &info), NPU_SUCCESS);
  npu_buffer* buffer = nullptr;
  EXPECT_EQ(npu_buffer_create(device_, info.devmem_size + 4096, NPU_BUFFER_DEVICE_MEMORY, &buffer),
            NPU_ERROR_OUT_OF_DEVICE_MEMORY)
      << npu_last_error();
  int fd = -1;
  ASSERT_EQ(npu_buffer_create(device_, 4096, NPU_BUFFER_DEVICE_MEMORY, &buffer), NPU_SUCCESS);
  EXPECT_EQ(npu_buffer_export_dma_buf(buffer, &fd), NPU_ERROR_NOT_SUPPORTED);
  int lost = -1;
  EXPECT_EQ(npu_buffer_contents_lost(buffer, &lost), NPU_SUCCESS) << npu_last_error();
  EXPECT_EQ(lost, 0) << "no reset happened";
  EXPECT_EQ(npu_buffer_contents_lost(buffer, nullptr), NPU_ERROR_INVALID_ARGUMENT);
  npu_buffer_destroy(buffer);
}

TEST_F(MemoryCApi, BufferPool) {
  npu_buffer_pool* pool = nullptr;
  ASSERT_EQ(npu_buffer_pool_create(device_, NPU_BUFFER_DEVICE_MEMORY, 0, &pool), NPU_SUCCESS)
      << npu_last_error();
  npu_buffer* first = nullptr;
  npu_buffer* second = nullptr;
  ASSERT_EQ(npu_buffer_pool_allocate(pool, kBytes, 0, &first), NPU_SUCCESS) << npu_last_error();
  ASSERT_EQ(npu_buffer_pool_allocate(pool, 100, 4096, &second), NPU_SUCCESS) << npu_last_error();
  EXPECT_EQ(npu_buffer_size(first), kBytes);
  EXPECT_EQ(npu_buffer_device_address(second) % 4096, 0U);
  EXPECT_GE(npu_buffer_device_address(second), npu_buffer_device_address(first) + kBytes);
  npu_buffer_pool_destroy(pool);  // buffers outlive their pool
  EXPECT_EQ(fill(first), NPU_JOB_OK);
  std::string bytes(kBytes, '\0');
  ASSERT_EQ(npu_buffer_read(first, 0, bytes.data(), kBytes), NPU_SUCCESS) << npu_last_error();
  EXPECT_EQ(bytes, std::string(kBytes, '\x5c'));
  npu_buffer_destroy(second);
  npu_buffer_destroy(first);

  npu_buffer* buffer = nullptr;
  EXPECT_EQ(npu_buffer_pool_create(device_, 1U << 7, 0, &pool), NPU_ERROR_INVALID_ARGUMENT);
  ASSERT_EQ(npu_buffer_pool_create(device_, 0, 4096, &pool), NPU_SUCCESS) << npu_last_error();
  EXPECT_EQ(npu_buffer_pool_allocate(pool, 0, 0, &buffer), NPU_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(npu_buffer_pool_allocate(pool, 16, 3, &buffer), NPU_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(buffer, nullptr);
  npu_buffer_pool_trim(pool);
  npu_buffer_pool_destroy(pool);
}

}  // namespace
}  // namespace guest
