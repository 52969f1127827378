#include "knpu_cluster/cdi_spec.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

#include "npu_fixtures.hpp"

namespace knpu::cluster {
namespace {

std::vector<std::string> node_paths(const nlohmann::json& device) {
  std::vector<std::string> paths;
  for (const nlohmann::json& node : device.at("containerEdits").at("deviceNodes")) {
    paths.push_back(node.at("path"));
    EXPECT_EQ(node.at("permissions"), "rw");
  }
  return paths;
}

const nlohmann::json& device_named(const nlohmann::json& spec, std::string_view name) {
  for (const nlohmann::json& device : spec.at("devices")) {
    if (device.at("name") == name) {
      return device;
    }
  }
  throw std::out_of_range("no CDI device " + std::string(name));
}

TEST(CdiSpec, NamesEachDeviceByIndexAndPciAddressAndAll) {
  const nlohmann::json spec = make_cdi_spec(testing::two_npus());
  EXPECT_EQ(spec.at("cdiVersion"), "0.5.0");
  EXPECT_EQ(spec.at("kind"), "knpu.dev/npu");
  ASSERT_EQ(spec.at("devices").size(), 5U);
  EXPECT_EQ(node_paths(device_named(spec, "0")), std::vector<std::string>{"/dev/accel/accel0"});
  EXPECT_EQ(node_paths(device_named(spec, "1")), std::vector<std::string>{"/dev/accel/accel1"});
  EXPECT_EQ(node_paths(device_named(spec, "0000:01:00.0")),
            std::vector<std::string>{"/dev/accel/accel0"});
  EXPECT_EQ(node_paths(device_named(spec, "0000:02:00.0")),
            std::vector<std::string>{"/dev/accel/accel1"});
  EXPECT_EQ(node_paths(device_named(spec, "all")),
            (std::vector<std::string>{"/dev/accel/accel0", "/dev/accel/accel1"}));
}

TEST(CdiSpec, RefusesANodeWithoutDevices) {
  EXPECT_THROW(make_cdi_spec({}), std::invalid_argument);
}

TEST(CdiSpec, FullyQualifiedDeviceName) {
  EXPECT_EQ(cdi_device_name("0000:01:00.0"), "knpu.dev/npu=0000:01:00.0");
}

}  // namespace
}  // namespace knpu::cluster
