// Error conditions: errno values, kernel errors and instruction errors map to
// the npu::errc a runtime acts on; ioctl errors name the ioctl.
#include "npu/errors.hpp"

#include <gtest/gtest.h>

#include <cerrno>

#include "npu/device.hpp"
#include "npu/isa.hpp"
#include "npu/kernel_image.hpp"

namespace {

std::error_code errno_code(int value) {
  return {value, std::system_category()};
}

TEST(Errors, IoctlErrorsNameTheIoctlAndErrno) {
  const std::system_error error = npu::ioctl_error("DRM_IOCTL_KNPU_SUBMIT", EINVAL);
  EXPECT_STREQ(error.what(), "DRM_IOCTL_KNPU_SUBMIT: Invalid argument");
  EXPECT_EQ(error.code(), errno_code(EINVAL));
  EXPECT_EQ(error.code(), npu::errc::invalid_argument);
}

TEST(Errors, ErrnoValuesMapToConditions) {
  const std::vector<std::pair<int, npu::errc>> table{
      {EOPNOTSUPP, npu::errc::not_supported},    {ENOTTY, npu::errc::not_supported},
      {ENOSYS, npu::errc::not_supported},        {EACCES, npu::errc::no_permission},
      {EPERM, npu::errc::no_permission},         {ENODEV, npu::errc::device_lost},
      {ENXIO, npu::errc::device_lost},           {EIO, npu::errc::device_lost},
      {ECANCELED, npu::errc::queue_banned},      {ETIME, npu::errc::timeout},
      {ETIMEDOUT, npu::errc::timeout},           {ENOMEM, npu::errc::out_of_host_memory},
      {ENOSPC, npu::errc::out_of_device_memory}, {EBUSY, npu::errc::device_busy},
      {EINVAL, npu::errc::invalid_argument},     {ENOENT, npu::errc::invalid_argument},
      {EBADF, npu::errc::invalid_argument},      {EFAULT, npu::errc::invalid_argument},
      {EBADFD, npu::errc::queue_banned},         {ENODATA, npu::errc::contents_lost},
  };
  for (const auto& [value, condition] : table) {
    EXPECT_EQ(errno_code(value), condition) << value;
    EXPECT_EQ(std::error_code(value, std::generic_category()), condition) << value;
    for (const auto& [other_value, other] : table) {
      if (other != condition) {
        EXPECT_NE(errno_code(value), other) << value << " must not be " << static_cast<int>(other);
      }
    }
  }
  EXPECT_NE(errno_code(EAGAIN), npu::errc::timeout);
  EXPECT_NE(errno_code(0), npu::errc::invalid_argument);
  // Host memory running out is not the device's memory running out.
  EXPECT_NE(errno_code(ENOMEM), npu::errc::out_of_device_memory);
  EXPECT_EQ(errno_code(ENOMEM), std::errc::not_enough_memory);
}

TEST(Errors, CodesOfTheNpuCategoryMatchTheirCondition) {
  const std::error_code code(static_cast<int>(npu::errc::out_of_device_memory),
                             npu::error_category());
  EXPECT_EQ(code, npu::errc::out_of_device_memory);
  EXPECT_NE(code, npu::errc::invalid_argument);
  EXPECT_EQ(code.message(), "out of device memory");
}

TEST(Errors, KernelAndInstructionErrorsAreInvalidKernel) {
  EXPECT_EQ(npu::make_error_code(npu::KernelErrc::bad_checksum), npu::errc::invalid_kernel);
  EXPECT_EQ(npu::isa::make_error_code(npu::isa::DecodeErrc::unknown_opcode),
            npu::errc::invalid_kernel);
  EXPECT_NE(npu::make_error_code(npu::KernelErrc::bad_checksum), npu::errc::invalid_argument);
  const npu::KernelFormatError error(npu::KernelErrc::bad_magic, "magic is 0");
  EXPECT_EQ(error.code(), npu::KernelErrc::bad_magic);
  EXPECT_NE(std::string(error.what()).find("magic is 0"), std::string::npos);
}

TEST(Errors, ConditionsHaveMessages) {
  EXPECT_EQ(npu::make_error_condition(npu::errc::queue_banned).message(),
            "queue banned after a failed job or reset");
  EXPECT_STREQ(npu::error_category().name(), "npu");
}

}  // namespace

TEST(Errors, NoDevicePresentIsItsOwnCondition) {
  setenv("KNPU_VISIBLE_DEVICES", "", 1);
  try {
    static_cast<void>(npu::Device::open(0));
    ADD_FAILURE() << "opened a device that is not there";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), npu::errc::no_device) << e.what();
    EXPECT_NE(e.code(), npu::errc::device_lost) << e.what();
  }
  unsetenv("KNPU_VISIBLE_DEVICES");
}

TEST(Errors, LibraryConditionsCompareEqualOnlyToThemselves) {
  const std::system_error error = npu::make_error(npu::errc::out_of_host_memory, "staging");
  EXPECT_EQ(error.code(), npu::errc::out_of_host_memory);
  EXPECT_NE(error.code(), npu::errc::out_of_device_memory);
  EXPECT_EQ(error.code().message(), "out of host memory");
}
