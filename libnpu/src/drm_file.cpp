#include "drm_file.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <xf86drm.h>

#include <cerrno>
#include <system_error>

#include "npu/errors.hpp"

namespace npu::detail {

DrmFile::DrmFile(const std::string& path) : fd_(::open(path.c_str(), O_RDWR | O_CLOEXEC)) {
  if (fd_ < 0) {
    throw std::system_error(errno, std::system_category(), "open " + path);
  }
}

DrmFile::~DrmFile() {
  ::close(fd_);
}

void DrmFile::ioctl(unsigned long request, const char* name, void* argument) const {
  if (const int error = try_ioctl(request, argument); error != 0) {
    throw ioctl_error(name, error);
  }
}

int DrmFile::try_ioctl(unsigned long request, void* argument) const {
  return drmIoctl(fd_, request, argument) == 0 ? 0 : errno;
}

int DrmFile::try_ioctl_once(unsigned long request, void* argument) const {
  return ::ioctl(fd_, request, argument) == 0 ? 0 : errno;
}

}  // namespace npu::detail
