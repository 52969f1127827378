// A stand-in for the kubelet's device manager, speaking the same device-plugin
// API v1beta1 over the same sockets: it serves Registration on kubelet.sock,
// dials the plugins that register, watches their device lists, and restarts
// the way the kubelet does (every socket in the directory is deleted and
// kubelet.sock is created anew).
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "deviceplugin/v1beta1/api.grpc.pb.h"

namespace knpu::cluster::testing {

class TestKubelet {
 public:
  explicit TestKubelet(std::filesystem::path plugin_dir);
  ~TestKubelet();
  TestKubelet(const TestKubelet&) = delete;
  TestKubelet& operator=(const TestKubelet&) = delete;

  void start();
  void stop();
  void restart();

  [[nodiscard]] std::filesystem::path socket_path() const { return plugin_dir_ / "kubelet.sock"; }
  // The next registration not yet taken, waiting up to `timeout`.
  std::optional<v1beta1::RegisterRequest> next_registration(std::chrono::seconds timeout);
  // A client of the plugin that registered with `request`.
  [[nodiscard]] std::unique_ptr<v1beta1::DevicePlugin::Stub> dial(
      const v1beta1::RegisterRequest& request) const;

 private:
  class Registration;

  std::filesystem::path plugin_dir_;
  std::unique_ptr<Registration> service_;
  std::unique_ptr<grpc::Server> server_;
};

// A ListAndWatch stream read on its own thread; the latest device list as
// ID -> health.
class DeviceWatch {
 public:
  using Devices = std::map<std::string, std::string>;

  explicit DeviceWatch(v1beta1::DevicePlugin::Stub& plugin);
  ~DeviceWatch();
  DeviceWatch(const DeviceWatch&) = delete;
  DeviceWatch& operator=(const DeviceWatch&) = delete;

  // Waits until the latest list satisfies `condition`; returns the list then,
  // or nothing after `timeout`.
  std::optional<Devices> wait_for(const std::function<bool(const Devices&)>& condition,
                                  std::chrono::seconds timeout);
  [[nodiscard]] std::size_t updates() const;

 private:
  void read(v1beta1::DevicePlugin::Stub& plugin);

  grpc::ClientContext context_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  Devices latest_;
  std::size_t updates_ = 0;
  bool ended_ = false;
  std::thread reader_;
};

}  // namespace knpu::cluster::testing
