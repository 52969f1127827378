// The DevicePlugin gRPC service of the kubelet's device-plugin API v1beta1,
// answering from the DeviceBoard.
#pragma once

#include <atomic>

#include "device_board.hpp"
#include "deviceplugin/v1beta1/api.grpc.pb.h"

namespace knpu::cluster {

inline constexpr const char* kHealthy = "Healthy";
inline constexpr const char* kUnhealthy = "Unhealthy";

class DevicePluginService final : public v1beta1::DevicePlugin::Service {
 public:
  explicit DevicePluginService(const DeviceBoard& board);

  // Ends the ListAndWatch streams, before the server shuts down.
  void stop() { stopping_ = true; }

  grpc::Status GetDevicePluginOptions(grpc::ServerContext* context, const v1beta1::Empty* request,
                                      v1beta1::DevicePluginOptions* response) override;
  grpc::Status ListAndWatch(grpc::ServerContext* context, const v1beta1::Empty* request,
                            grpc::ServerWriter<v1beta1::ListAndWatchResponse>* writer) override;
  grpc::Status GetPreferredAllocation(grpc::ServerContext* context,
                                      const v1beta1::PreferredAllocationRequest* request,
                                      v1beta1::PreferredAllocationResponse* response) override;
  grpc::Status Allocate(grpc::ServerContext* context, const v1beta1::AllocateRequest* request,
                        v1beta1::AllocateResponse* response) override;
  grpc::Status PreStartContainer(grpc::ServerContext* context,
                                 const v1beta1::PreStartContainerRequest* request,
                                 v1beta1::PreStartContainerResponse* response) override;

 private:
  const DeviceBoard& board_;
  std::atomic<bool> stopping_{false};
};

}  // namespace knpu::cluster
