#include "plugin_server.hpp"

#include <fmt/format.h>
#include <grpcpp/grpcpp.h>
#include <sys/stat.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "device_plugin_service.hpp"

namespace knpu::cluster {
namespace {

using namespace std::chrono_literals;

constexpr auto kSocketPoll = 500ms;
constexpr auto kRegisterTimeout = 10s;
constexpr auto kShutdownGrace = 2s;

// A socket file's identity: a kubelet restart makes a new one.
struct FileIdentity {
  dev_t device = 0;
  ino_t inode = 0;

  bool operator==(const FileIdentity&) const = default;
};

std::optional<FileIdentity> identity_of(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return std::nullopt;
  }
  return FileIdentity{st.st_dev, st.st_ino};
}

// Sleeps `duration`; false when stop was requested meanwhile.
bool pause(std::stop_token stop, std::chrono::milliseconds duration) {
  std::mutex mutex;
  std::condition_variable_any wake;
  std::unique_lock lock(mutex);
  wake.wait_for(lock, stop, duration, [] { return false; });
  return !stop.stop_requested();
}

grpc::Status register_with_kubelet(const PluginOptions& options,
                                   const std::filesystem::path& kubelet_socket) {
  const auto channel =
      grpc::CreateChannel("unix:" + kubelet_socket.string(), grpc::InsecureChannelCredentials());
  const auto stub = v1beta1::Registration::NewStub(channel);
  v1beta1::RegisterRequest request;
  request.set_version(std::string(kDevicePluginApiVersion));
  request.set_endpoint(options.endpoint);
  request.set_resource_name(options.resource_name);
  request.mutable_options()->set_pre_start_required(false);
  request.mutable_options()->set_get_preferred_allocation_available(true);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + kRegisterTimeout);
  v1beta1::Empty reply;
  return stub->Register(&context, request, &reply);
}

// Why the plugin must start over, or nothing when stop was requested.
std::optional<std::string> watch_kubelet(const std::filesystem::path& endpoint,
                                         const std::filesystem::path& kubelet_socket,
                                         FileIdentity kubelet, std::stop_token stop) {
  while (pause(stop, kSocketPoll)) {
    if (!std::filesystem::exists(endpoint)) {
      return "the plugin socket was removed (kubelet restart)";
    }
    if (identity_of(kubelet_socket) != kubelet) {
      return "kubelet.sock was recreated (kubelet restart)";
    }
  }
  return std::nullopt;
}

// One session: serve, register, and run until the kubelet restarts.
// Returns false on a fatal error.
bool serve_session(const PluginOptions& options, const DeviceBoard& board,
                   const std::filesystem::path& kubelet_socket, std::stop_token stop) {
  std::optional<FileIdentity> kubelet = identity_of(kubelet_socket);
  if (!kubelet) {
    pause(stop, kSocketPoll);  // the kubelet is not up (yet)
    return true;
  }
  const std::filesystem::path endpoint = options.plugin_dir / options.endpoint;
  std::error_code ignored;
  std::filesystem::remove(endpoint, ignored);

  DevicePluginService service(board);
  grpc::ServerBuilder builder;
  builder.AddListeningPort("unix:" + endpoint.string(), grpc::InsecureServerCredentials());
  builder.RegisterService(&service);
  const std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server) {
    fmt::print(stderr, "npu-device-plugin: cannot serve on {}\n", endpoint.string());
    return false;
  }
  const grpc::Status registered = register_with_kubelet(options, kubelet_socket);
  if (registered.ok()) {
    fmt::print(stderr, "npu-device-plugin: registered {} with the kubelet at {}, serving on {}\n",
               options.resource_name, kubelet_socket.string(), endpoint.string());
    if (const std::optional<std::string> why =
            watch_kubelet(endpoint, kubelet_socket, *kubelet, stop)) {
      fmt::print(stderr, "npu-device-plugin: {}: registering again\n", *why);
    }
  } else {
    fmt::print(stderr, "npu-device-plugin: registration with {} failed: {} (retrying)\n",
               kubelet_socket.string(), registered.error_message());
    pause(stop, kSocketPoll);
  }
  service.stop();
  server->Shutdown(std::chrono::system_clock::now() + kShutdownGrace);
  std::filesystem::remove(endpoint, ignored);
  return true;
}

}  // namespace

int serve(const PluginOptions& options, std::stop_token stop) {
  const std::filesystem::path kubelet_socket =
      options.kubelet_socket.empty() ? options.plugin_dir / "kubelet.sock" : options.kubelet_socket;
  DeviceBoard board;
  HealthMonitor monitor(board, options.health);
  monitor.refresh();
  const std::jthread health([&monitor](std::stop_token s) { monitor.run(s); });

  while (!stop.stop_requested()) {
    if (!serve_session(options, board, kubelet_socket, stop)) {
      return 1;
    }
  }
  return 0;
}

}  // namespace knpu::cluster
