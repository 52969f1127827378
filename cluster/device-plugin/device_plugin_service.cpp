#include "device_plugin_service.hpp"

#include <fmt/format.h>

#include <chrono>
#include <vector>

#include "allocation.hpp"

namespace knpu::cluster {
namespace {

// How often a ListAndWatch stream looks whether the kubelet went away.
constexpr std::chrono::milliseconds kWatchPoll{250};

v1beta1::ListAndWatchResponse device_list(const std::vector<DeviceState>& devices) {
  v1beta1::ListAndWatchResponse response;
  for (const DeviceState& state : devices) {
    v1beta1::Device* device = response.add_devices();
    device->set_id(state.id);
    device->set_health(state.healthy ? kHealthy : kUnhealthy);
  }
  return response;
}

}  // namespace

DevicePluginService::DevicePluginService(const DeviceBoard& board) : board_(board) {}

grpc::Status DevicePluginService::GetDevicePluginOptions(grpc::ServerContext* /*context*/,
                                                         const v1beta1::Empty* /*request*/,
                                                         v1beta1::DevicePluginOptions* response) {
  response->set_pre_start_required(false);
  response->set_get_preferred_allocation_available(true);
  return grpc::Status::OK;
}

grpc::Status DevicePluginService::ListAndWatch(
    grpc::ServerContext* context, const v1beta1::Empty* /*request*/,
    grpc::ServerWriter<v1beta1::ListAndWatchResponse>* writer) {
  DeviceBoard::Snapshot sent = board_.snapshot();
  if (!writer->Write(device_list(sent.devices))) {
    return grpc::Status::OK;
  }
  while (!stopping_ && !context->IsCancelled()) {
    if (auto newer = board_.wait_newer(sent.generation, kWatchPoll)) {
      sent = std::move(*newer);
      if (!writer->Write(device_list(sent.devices))) {
        break;
      }
    }
  }
  return grpc::Status::OK;
}

grpc::Status DevicePluginService::GetPreferredAllocation(
    grpc::ServerContext* /*context*/, const v1beta1::PreferredAllocationRequest* request,
    v1beta1::PreferredAllocationResponse* response) {
  for (const v1beta1::ContainerPreferredAllocationRequest& container :
       request->container_requests()) {
    if (container.allocation_size() < 0) {
      return {grpc::StatusCode::INVALID_ARGUMENT, "negative allocation_size"};
    }
    const std::vector<std::string> available(container.available_deviceids().begin(),
                                             container.available_deviceids().end());
    const std::vector<std::string> must_include(container.must_include_deviceids().begin(),
                                                container.must_include_deviceids().end());
    const std::vector<std::string> chosen = preferred_devices(
        available, must_include, static_cast<std::size_t>(container.allocation_size()));
    *response->add_container_responses()->mutable_deviceids() = {chosen.begin(), chosen.end()};
  }
  return grpc::Status::OK;
}

grpc::Status DevicePluginService::Allocate(grpc::ServerContext* /*context*/,
                                           const v1beta1::AllocateRequest* request,
                                           v1beta1::AllocateResponse* response) {
  for (const v1beta1::ContainerAllocateRequest& container : request->container_requests()) {
    std::vector<DeviceState> devices;
    for (const std::string& id : container.devices_ids()) {
      std::optional<DeviceState> device = board_.find(id);
      if (!device) {
        return {grpc::StatusCode::INVALID_ARGUMENT,
                fmt::format("unknown device '{}': not a knpu device of this node", id)};
      }
      devices.push_back(std::move(*device));
    }
    *response->add_container_responses() = container_allocation(devices);
  }
  return grpc::Status::OK;
}

grpc::Status DevicePluginService::PreStartContainer(
    grpc::ServerContext* /*context*/, const v1beta1::PreStartContainerRequest* /*request*/,
    v1beta1::PreStartContainerResponse* /*response*/) {
  return grpc::Status::OK;
}

}  // namespace knpu::cluster
