// The device is found through libudev and reports the spec's identity and
// default configuration.
#include <cstdlib>
#include <regex>

#include "guest_device.hpp"

namespace guest {
namespace {

// Sets KNPU_VISIBLE_DEVICES for the scope, then removes it again.
class VisibleDevices {
 public:
  explicit VisibleDevices(const std::string& value) {
    setenv("KNPU_VISIBLE_DEVICES", value.c_str(), 1);
  }
  ~VisibleDevices() { unsetenv("KNPU_VISIBLE_DEVICES"); }
  VisibleDevices(const VisibleDevices&) = delete;
  VisibleDevices& operator=(const VisibleDevices&) = delete;
};

TEST(Enumeration, FindsKnpuDevicesThroughUdev) {
  const std::vector<npu::DeviceInfo> devices = npu::enumerate_devices();
  ASSERT_FALSE(devices.empty());
  for (std::size_t i = 0; i < devices.size(); ++i) {
    const npu::DeviceInfo& info = devices[i];
    EXPECT_EQ(info.index, i);
    EXPECT_TRUE(std::regex_match(info.pci_address,
                                 std::regex("[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\\.[0-7]")))
        << info.pci_address;
    EXPECT_TRUE(info.device_node.starts_with("/dev/accel/accel")) << info.device_node;
    EXPECT_EQ(info.vendor_id, 0x1234);
    EXPECT_EQ(info.device_id, 0x4b4e);
    EXPECT_EQ(info.driver, "knpu");
    ASSERT_TRUE(info.driver_version.has_value()) << info.open_error;
    EXPECT_EQ(info.driver_version->name, "knpu");
    if (i > 0) {
      EXPECT_LT(devices[i - 1].pci_address, info.pci_address);
    }
  }
}

TEST(Enumeration, VisibleDevicesRestrictsTheList) {
  const std::vector<npu::DeviceInfo> all = npu::enumerate_devices();
  ASSERT_FALSE(all.empty());
  {
    const VisibleDevices hide_all("");
    EXPECT_TRUE(npu::enumerate_devices().empty());
    EXPECT_THROW(npu::Device::open(0), std::system_error);
  }
  {
    const VisibleDevices by_address(all.back().pci_address);
    const std::vector<npu::DeviceInfo> visible = npu::enumerate_devices();
    ASSERT_EQ(visible.size(), 1U);
    EXPECT_EQ(visible[0].pci_address, all.back().pci_address);
    EXPECT_EQ(npu::Device::open(0).info().pci_address, all.back().pci_address);
  }
  {
    const VisibleDevices bad("99");
    EXPECT_THROW(npu::enumerate_devices(), std::system_error);
  }
}

TEST(Enumeration, OpensByPciAddress) {
  const std::vector<npu::DeviceInfo> all = npu::enumerate_devices();
  ASSERT_FALSE(all.empty());
  const npu::Device device = npu::Device::open(all[0].pci_address);
  EXPECT_EQ(device.info().device_node, all[0].device_node);
  EXPECT_THROW(npu::Device::open(std::string_view("0000:7f:1f.7")), std::system_error);
}

TEST(Enumeration, OpensANodeDirectly) {
  const std::vector<npu::DeviceInfo> all = npu::enumerate_devices();
  ASSERT_FALSE(all.empty());
  const npu::Device device = npu::Device::open_node(all[0].device_node);
  EXPECT_EQ(device.info().pci_address, all[0].pci_address);
  EXPECT_EQ(device.info().vendor_id, 0x1234);
  EXPECT_EQ(device.properties().device_id, 0x4b4eU);
  EXPECT_THROW(npu::Device::open_node("/dev/null"), std::system_error);
}

class Properties : public DeviceTest {};

TEST_F(Properties, MatchTheSpecDefaults) {
  const Expected expected = expected_configuration();
  const npu::DeviceProperties& p = device().properties();
  EXPECT_EQ(p.uapi_version >> 16, 1U);
  EXPECT_EQ(p.device_id, 0x4b4eU);
  EXPECT_EQ(p.revision, 0x01U);
  EXPECT_EQ(p.hw_version >> 16, 1U);
  EXPECT_EQ(p.num_cores, expected.cores);
  EXPECT_EQ(p.num_queues, expected.queues);
  EXPECT_EQ(p.devmem_size, expected.devmem_bytes);
  EXPECT_EQ(p.sram_size, 4U << 20);
  EXPECT_GT(p.va_size, 0U);
  EXPECT_TRUE(p.supports(npu::isa::Opcode::nop));
  EXPECT_TRUE(p.supports(npu::isa::Opcode::dma_copy));
  EXPECT_TRUE(p.supports(npu::isa::Opcode::dma_fill));
  EXPECT_GE(device().clock_mhz(), 1U);
}

TEST_F(Properties, DriverVersionComesFromTheNode) {
  EXPECT_EQ(device().driver_version().name, "knpu");
  EXPECT_FALSE(device().driver_version().description.empty());
}

}  // namespace
}  // namespace guest
