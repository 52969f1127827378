#include "allocation.hpp"

#include <gtest/gtest.h>

namespace knpu::cluster {
namespace {

const std::vector<DeviceState> kDevices = {
    {"0000:02:00.0", "/dev/accel/accel1", 1, true, ""},
    {"0000:01:00.0", "/dev/accel/accel0", 0, true, ""},
};

TEST(Allocation, DeviceNodesCdiNamesAndVisibleDevicesInRequestOrder) {
  const v1beta1::ContainerAllocateResponse response = container_allocation(kDevices);
  ASSERT_EQ(response.devices_size(), 2);
  EXPECT_EQ(response.devices(0).host_path(), "/dev/accel/accel1");
  EXPECT_EQ(response.devices(0).container_path(), "/dev/accel/accel1");
  EXPECT_EQ(response.devices(0).permissions(), "rw");
  EXPECT_EQ(response.devices(1).host_path(), "/dev/accel/accel0");
  ASSERT_EQ(response.cdi_devices_size(), 2);
  EXPECT_EQ(response.cdi_devices(0).name(), "knpu.dev/npu=0000:02:00.0");
  EXPECT_EQ(response.cdi_devices(1).name(), "knpu.dev/npu=0000:01:00.0");
  ASSERT_EQ(response.envs().count("KNPU_VISIBLE_DEVICES"), 1U);
  EXPECT_EQ(response.envs().at("KNPU_VISIBLE_DEVICES"), "0000:02:00.0,0000:01:00.0");
  EXPECT_EQ(response.mounts_size(), 0);
}

TEST(Allocation, PreferredKeepsMustIncludeThenPacksInPciOrder) {
  const std::vector<std::string> available = {"0000:03:00.0", "0000:01:00.0", "0000:02:00.0"};
  const std::vector<std::string> must = {"0000:03:00.0"};
  EXPECT_EQ(preferred_devices(available, must, 2),
            (std::vector<std::string>{"0000:03:00.0", "0000:01:00.0"}));
  EXPECT_EQ(preferred_devices(available, {}, 1), std::vector<std::string>{"0000:01:00.0"});
  EXPECT_EQ(preferred_devices(available, {}, 5).size(), 3U);
}

}  // namespace
}  // namespace knpu::cluster
