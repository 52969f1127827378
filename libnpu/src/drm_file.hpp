// The syscall layer: an open device node and the ioctls on it. Every failing
// ioctl becomes npu::ioctl_error(NAME, errno). It also holds what belongs to
// the open as a whole: its job tracer.
#pragma once

#include <string>

#include "job_tracer.hpp"

namespace npu::detail {

class DrmFile {
 public:
  // Opens `path` read-write, close-on-exec; throws std::system_error naming it.
  explicit DrmFile(const std::string& path);
  ~DrmFile();
  DrmFile(const DrmFile&) = delete;
  DrmFile& operator=(const DrmFile&) = delete;

  [[nodiscard]] int fd() const { return fd_; }

  // drmIoctl (retries EINTR and EAGAIN); throws on failure.
  void ioctl(unsigned long request, const char* name, void* argument) const;
  // The same, returning 0 or the errno instead of throwing.
  [[nodiscard]] int try_ioctl(unsigned long request, void* argument) const;
  // One ioctl call, EINTR and EAGAIN returned too: for an ioctl that may
  // have done part of its work when interrupted (SUBMIT_BATCH).
  [[nodiscard]] int try_ioctl_once(unsigned long request, void* argument) const;

  // Device::set_job_trace() of every Device copy of this open.
  [[nodiscard]] JobTracer& job_tracer() const { return job_tracer_; }

 private:
  int fd_;
  mutable JobTracer job_tracer_;
};

}  // namespace npu::detail

// IOCTL(file, DRM_IOCTL_X, &arg): an ioctl whose error names DRM_IOCTL_X.
#define NPU_IOCTL(file, request, argument) (file).ioctl((request), #request, (argument))
