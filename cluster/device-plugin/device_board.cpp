#include "device_board.hpp"

#include <algorithm>

namespace knpu::cluster {

void DeviceBoard::publish(std::vector<DeviceState> devices) {
  {
    const std::scoped_lock lock(mutex_);
    if (devices == current_.devices && current_.generation != 0) {
      return;
    }
    current_.devices = std::move(devices);
    ++current_.generation;
  }
  changed_.notify_all();
}

DeviceBoard::Snapshot DeviceBoard::snapshot() const {
  const std::scoped_lock lock(mutex_);
  return current_;
}

std::optional<DeviceBoard::Snapshot> DeviceBoard::wait_newer(
    std::uint64_t generation, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mutex_);
  if (!changed_.wait_for(lock, timeout, [&] { return current_.generation != generation; })) {
    return std::nullopt;
  }
  return current_;
}

std::optional<DeviceState> DeviceBoard::find(std::string_view id) const {
  const std::scoped_lock lock(mutex_);
  const auto it = std::ranges::find(current_.devices, id, &DeviceState::id);
  if (it == current_.devices.end()) {
    return std::nullopt;
  }
  return *it;
}

}  // namespace knpu::cluster
