// A DRM syncobj handle, destroyed with the object: what Event and Timeline
// are made of.
#pragma once

#include <drm.h>

#include <cstdint>
#include <memory>

#include "drm_file.hpp"

namespace npu::detail {

class SyncObject {
 public:
  explicit SyncObject(std::shared_ptr<const DrmFile> file) : file_(std::move(file)) {
    drm_syncobj_create create{};
    NPU_IOCTL(*file_, DRM_IOCTL_SYNCOBJ_CREATE, &create);
    handle_ = create.handle;
  }
  ~SyncObject() {
    drm_syncobj_destroy destroy{};
    destroy.handle = handle_;
    static_cast<void>(file_->try_ioctl(DRM_IOCTL_SYNCOBJ_DESTROY, &destroy));
  }
  SyncObject(const SyncObject&) = delete;
  SyncObject& operator=(const SyncObject&) = delete;

  [[nodiscard]] const DrmFile& file() const { return *file_; }
  [[nodiscard]] std::uint32_t handle() const { return handle_; }

 private:
  std::shared_ptr<const DrmFile> file_;
  std::uint32_t handle_ = 0;
};

}  // namespace npu::detail
