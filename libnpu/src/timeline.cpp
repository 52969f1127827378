// Timelines as DRM timeline syncobjs.
#include "npu/timeline.hpp"

#include <cerrno>

#include "monotonic.hpp"
#include "npu/errors.hpp"
#include "sync_object.hpp"

namespace npu {

Timeline::Timeline(std::shared_ptr<const detail::DrmFile> file)
    : object_(std::make_shared<const detail::SyncObject>(std::move(file))) {}

std::uint32_t Timeline::handle() const {
  return object_->handle();
}

std::uint64_t Timeline::value() const {
  const std::uint32_t handle = object_->handle();
  std::uint64_t point = 0;
  drm_syncobj_timeline_array query{};
  query.handles = reinterpret_cast<std::uintptr_t>(&handle);
  query.points = reinterpret_cast<std::uintptr_t>(&point);
  query.count_handles = 1;
  NPU_IOCTL(object_->file(), DRM_IOCTL_SYNCOBJ_QUERY, &query);
  return point;
}

bool Timeline::wait(std::uint64_t point, std::chrono::nanoseconds timeout) const {
  const std::uint32_t handle = object_->handle();
  drm_syncobj_timeline_wait wait{};
  wait.handles = reinterpret_cast<std::uintptr_t>(&handle);
  wait.points = reinterpret_cast<std::uintptr_t>(&point);
  wait.count_handles = 1;
  wait.timeout_nsec = detail::deadline_after(timeout);
  wait.flags = DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT;
  const int error = object_->file().try_ioctl(DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT, &wait);
  if (error == ETIME || error == ETIMEDOUT) {
    return false;
  }
  if (error != 0) {
    throw ioctl_error("DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT", error);
  }
  return true;
}

void Timeline::signal(std::uint64_t point) const {
  const std::uint32_t handle = object_->handle();
  drm_syncobj_timeline_array array{};
  array.handles = reinterpret_cast<std::uintptr_t>(&handle);
  array.points = reinterpret_cast<std::uintptr_t>(&point);
  array.count_handles = 1;
  NPU_IOCTL(object_->file(), DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL, &array);
}

}  // namespace npu
