// Events as binary DRM syncobjs.
#include "npu/event.hpp"

#include <drm.h>

#include <cerrno>

#include "drm_file.hpp"
#include "monotonic.hpp"
#include "npu/errors.hpp"
#include "sync_object.hpp"

namespace npu {
namespace {

drm_syncobj_array one_handle(const std::uint32_t& handle) {
  drm_syncobj_array array{};
  array.handles = reinterpret_cast<std::uintptr_t>(&handle);
  array.count_handles = 1;
  return array;
}

}  // namespace

Event::Event(std::shared_ptr<const detail::DrmFile> file)
    : object_(std::make_shared<const detail::SyncObject>(std::move(file))) {}

std::uint32_t Event::handle() const {
  return object_->handle();
}

bool Event::wait(std::chrono::nanoseconds timeout) const {
  const std::uint32_t handle = object_->handle();
  drm_syncobj_wait wait{};
  wait.handles = reinterpret_cast<std::uintptr_t>(&handle);
  wait.count_handles = 1;
  wait.timeout_nsec = detail::deadline_after(timeout);
  wait.flags = DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT;
  const int error = object_->file().try_ioctl(DRM_IOCTL_SYNCOBJ_WAIT, &wait);
  if (error == ETIME || error == ETIMEDOUT) {
    return false;
  }
  if (error != 0) {
    throw ioctl_error("DRM_IOCTL_SYNCOBJ_WAIT", error);
  }
  return true;
}

void Event::signal() const {
  const std::uint32_t handle = object_->handle();
  drm_syncobj_array array = one_handle(handle);
  NPU_IOCTL(object_->file(), DRM_IOCTL_SYNCOBJ_SIGNAL, &array);
}

void Event::reset() const {
  const std::uint32_t handle = object_->handle();
  drm_syncobj_array array = one_handle(handle);
  NPU_IOCTL(object_->file(), DRM_IOCTL_SYNCOBJ_RESET, &array);
}

}  // namespace npu
