// The C API without a device: status codes, messages, argument checks.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "c_header_check.h"
#include "npu/npu.h"

namespace {

class NoVisibleDevices : public testing::Test {
 protected:
  void SetUp() override { setenv("KNPU_VISIBLE_DEVICES", "", 1); }
  void TearDown() override { unsetenv("KNPU_VISIBLE_DEVICES"); }
};

TEST(CApi, HeaderIsC) {
  EXPECT_EQ(c_header_status_is_success(NPU_SUCCESS), 1);
  EXPECT_EQ(c_header_status_is_success(NPU_ERROR_TIMEOUT), 0);
  EXPECT_GT(c_header_argument_size(), 0U);
}

TEST(CApi, StatusNames) {
  EXPECT_STREQ(npu_status_name(NPU_SUCCESS), "NPU_SUCCESS");
  EXPECT_STREQ(npu_status_name(NPU_ERROR_QUEUE_BANNED), "NPU_ERROR_QUEUE_BANNED");
  EXPECT_STREQ(npu_status_name(NPU_ERROR_CONTENTS_LOST), "NPU_ERROR_CONTENTS_LOST");
  EXPECT_STREQ(npu_status_name(static_cast<npu_status>(99)), "NPU_ERROR_UNKNOWN_STATUS");
}

TEST_F(NoVisibleDevices, CountIsZeroAndOpenFailsWithAMessage) {
  size_t count = 99;
  ASSERT_EQ(npu_device_count(&count), NPU_SUCCESS);
  EXPECT_EQ(count, 0U);
  EXPECT_STREQ(npu_last_error(), "");
  npu_device* device = nullptr;
  EXPECT_EQ(npu_device_open(0, &device), NPU_ERROR_NO_DEVICE);
  EXPECT_EQ(device, nullptr);
  EXPECT_NE(std::string(npu_last_error()).find("knpu device 0 (there are 0 visible)"),
            std::string::npos)
      << npu_last_error();
}

TEST(CApi, BadVisibleDevicesIsAnInvalidArgument) {
  setenv("KNPU_VISIBLE_DEVICES", "7", 1);
  size_t count = 0;
  EXPECT_EQ(npu_device_count(&count), NPU_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(npu_last_error()).find("KNPU_VISIBLE_DEVICES"), std::string::npos);
  unsetenv("KNPU_VISIBLE_DEVICES");
}

TEST(CApi, NullPointersAreInvalidArguments) {
  EXPECT_EQ(npu_device_count(nullptr), NPU_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(npu_device_open(0, nullptr), NPU_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(npu_device_get_info(nullptr, nullptr), NPU_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(npu_buffer_create(nullptr, 4096, 0, nullptr), NPU_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(npu_buffer_map(nullptr, nullptr), NPU_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(npu_kernel_load_assembly(nullptr, ".kernel k\nnop\n", nullptr),
            NPU_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(npu_queue_create(nullptr, NPU_QUEUE_PRIORITY_NORMAL, nullptr),
            NPU_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(npu_launch(nullptr, nullptr, nullptr, 0, nullptr), NPU_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(npu_job_wait(nullptr, 0, nullptr), NPU_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(npu_last_error()).find("npu_job_wait"), std::string::npos);
  EXPECT_EQ(npu_buffer_size(nullptr), 0U);
  npu_device_close(nullptr);
  npu_buffer_destroy(nullptr);
  npu_queue_destroy(nullptr);
  npu_kernel_destroy(nullptr);
  npu_job_release(nullptr);
}

}  // namespace
