#include "device_board.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace knpu::cluster {
namespace {

using namespace std::chrono_literals;

TEST(DeviceBoard, WatchersWakeOnlyOnChanges) {
  DeviceBoard board;
  const std::vector<DeviceState> healthy = {{"a", "/dev/accel/accel0", 0, true, ""}};
  board.publish(healthy);
  const std::uint64_t first = board.snapshot().generation;
  board.publish(healthy);
  EXPECT_EQ(board.snapshot().generation, first);
  EXPECT_FALSE(board.wait_newer(first, 10ms));

  std::jthread writer([&board] {
    std::this_thread::sleep_for(20ms);
    board.publish({{"a", "/dev/accel/accel0", 0, false, "gone"}});
  });
  const std::optional<DeviceBoard::Snapshot> newer = board.wait_newer(first, 10s);
  ASSERT_TRUE(newer);
  EXPECT_FALSE(newer->devices.at(0).healthy);
  EXPECT_EQ(board.find("a")->reason, "gone");
  EXPECT_FALSE(board.find("b"));
}

}  // namespace
}  // namespace knpu::cluster
