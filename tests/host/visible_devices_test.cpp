// KNPU_VISIBLE_DEVICES: restriction and order of the devices a process sees.
#include <gtest/gtest.h>

#include "npu/device.hpp"
#include "npu/errors.hpp"

namespace {

std::vector<npu::DeviceInfo> three_devices() {
  std::vector<npu::DeviceInfo> devices(3);
  const char* addresses[] = {"0000:00:03.0", "0000:00:04.0", "0000:01:00.0"};
  for (std::size_t i = 0; i < devices.size(); ++i) {
    devices[i].index = devices[i].physical_index = i;
    devices[i].pci_address = addresses[i];
  }
  return devices;
}

std::vector<std::string> addresses(const std::vector<npu::DeviceInfo>& devices) {
  std::vector<std::string> result;
  for (std::size_t i = 0; i < devices.size(); ++i) {
    EXPECT_EQ(devices[i].index, i);
    result.push_back(devices[i].pci_address);
  }
  return result;
}

using Addresses = std::vector<std::string>;

TEST(VisibleDevices, IndicesSelectAndReorder) {
  EXPECT_EQ(addresses(npu::select_visible_devices(three_devices(), "2,0")),
            (Addresses{"0000:01:00.0", "0000:00:03.0"}));
  EXPECT_EQ(addresses(npu::select_visible_devices(three_devices(), "1")),
            (Addresses{"0000:00:04.0"}));
}

TEST(VisibleDevices, PciAddressesWithOrWithoutDomain) {
  EXPECT_EQ(addresses(npu::select_visible_devices(three_devices(), "00:04.0, 0000:01:00.0")),
            (Addresses{"0000:00:04.0", "0000:01:00.0"}));
  EXPECT_EQ(addresses(npu::select_visible_devices(three_devices(), "0000:00:03.0,1")),
            (Addresses{"0000:00:03.0", "0000:00:04.0"}));
  EXPECT_EQ(addresses(npu::select_visible_devices(three_devices(), "0000:01:00.0")),
            (Addresses{"0000:01:00.0"}));
}

TEST(VisibleDevices, PhysicalIndexIsKept) {
  const auto visible = npu::select_visible_devices(three_devices(), "2");
  ASSERT_EQ(visible.size(), 1U);
  EXPECT_EQ(visible[0].index, 0U);
  EXPECT_EQ(visible[0].physical_index, 2U);
}

TEST(VisibleDevices, EmptyHidesEverything) {
  EXPECT_TRUE(npu::select_visible_devices(three_devices(), "").empty());
  EXPECT_TRUE(npu::select_visible_devices(three_devices(), "  ").empty());
}

TEST(VisibleDevices, BadEntriesAreInvalidArguments) {
  for (std::string_view spec : {"3", "0,5", "-1", "00:09.0", "gpu0", "0,,1", "0,0", "1,00:04.0"}) {
    try {
      npu::select_visible_devices(three_devices(), spec);
      ADD_FAILURE() << "accepted '" << spec << "'";
    } catch (const std::system_error& e) {
      EXPECT_EQ(e.code(), npu::errc::invalid_argument) << spec;
      EXPECT_NE(std::string(e.what()).find("KNPU_VISIBLE_DEVICES"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
