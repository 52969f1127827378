#include "test_kubelet.hpp"

#include <deque>

namespace knpu::cluster::testing {

class TestKubelet::Registration final : public v1beta1::Registration::Service {
 public:
  grpc::Status Register(grpc::ServerContext* /*context*/, const v1beta1::RegisterRequest* request,
                        v1beta1::Empty* /*response*/) override {
    if (request->version() != "v1beta1") {
      return {grpc::StatusCode::INVALID_ARGUMENT, "unsupported version " + request->version()};
    }
    {
      const std::scoped_lock lock(mutex_);
      registrations_.push_back(*request);
    }
    registered_.notify_all();
    return grpc::Status::OK;
  }

  std::optional<v1beta1::RegisterRequest> next(std::chrono::seconds timeout) {
    std::unique_lock lock(mutex_);
    if (!registered_.wait_for(lock, timeout, [this] { return !registrations_.empty(); })) {
      return std::nullopt;
    }
    v1beta1::RegisterRequest request = registrations_.front();
    registrations_.pop_front();
    return request;
  }

 private:
  std::mutex mutex_;
  std::condition_variable registered_;
  std::deque<v1beta1::RegisterRequest> registrations_;
};

TestKubelet::TestKubelet(std::filesystem::path plugin_dir)
    : plugin_dir_(std::move(plugin_dir)), service_(std::make_unique<Registration>()) {}

TestKubelet::~TestKubelet() {
  stop();
}

void TestKubelet::start() {
  // As the kubelet's device manager does on start: no stale sockets survive.
  for (const auto& entry : std::filesystem::directory_iterator(plugin_dir_)) {
    if (entry.is_socket()) {
      std::filesystem::remove(entry.path());
    }
  }
  grpc::ServerBuilder builder;
  builder.AddListeningPort("unix:" + socket_path().string(), grpc::InsecureServerCredentials());
  builder.RegisterService(service_.get());
  server_ = builder.BuildAndStart();
  if (!server_) {
    throw std::runtime_error("test kubelet: cannot listen on " + socket_path().string());
  }
}

void TestKubelet::stop() {
  if (server_) {
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
    server_.reset();
    std::error_code ignored;
    std::filesystem::remove(socket_path(), ignored);
  }
}

void TestKubelet::restart() {
  stop();
  start();
}

std::optional<v1beta1::RegisterRequest> TestKubelet::next_registration(
    std::chrono::seconds timeout) {
  return service_->next(timeout);
}

std::unique_ptr<v1beta1::DevicePlugin::Stub> TestKubelet::dial(
    const v1beta1::RegisterRequest& request) const {
  return v1beta1::DevicePlugin::NewStub(grpc::CreateChannel(
      "unix:" + (plugin_dir_ / request.endpoint()).string(), grpc::InsecureChannelCredentials()));
}

DeviceWatch::DeviceWatch(v1beta1::DevicePlugin::Stub& plugin)
    : reader_([this, &plugin] { read(plugin); }) {}

DeviceWatch::~DeviceWatch() {
  context_.TryCancel();
  reader_.join();
}

void DeviceWatch::read(v1beta1::DevicePlugin::Stub& plugin) {
  const v1beta1::Empty request;
  const std::unique_ptr<grpc::ClientReader<v1beta1::ListAndWatchResponse>> stream =
      plugin.ListAndWatch(&context_, request);
  v1beta1::ListAndWatchResponse response;
  while (stream->Read(&response)) {
    Devices devices;
    for (const v1beta1::Device& device : response.devices()) {
      devices[device.id()] = device.health();
    }
    {
      const std::scoped_lock lock(mutex_);
      latest_ = std::move(devices);
      ++updates_;
    }
    changed_.notify_all();
  }
  stream->Finish();
  {
    const std::scoped_lock lock(mutex_);
    ended_ = true;
  }
  changed_.notify_all();
}

std::optional<DeviceWatch::Devices> DeviceWatch::wait_for(
    const std::function<bool(const Devices&)>& condition, std::chrono::seconds timeout) {
  std::unique_lock lock(mutex_);
  if (!changed_.wait_for(lock, timeout,
                         [&] { return (updates_ > 0 && condition(latest_)) || ended_; }) ||
      !condition(latest_)) {
    return std::nullopt;
  }
  return latest_;
}

std::size_t DeviceWatch::updates() const {
  const std::scoped_lock lock(mutex_);
  return updates_;
}

}  // namespace knpu::cluster::testing
