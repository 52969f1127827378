#include "driver_version.hpp"

#include <fmt/format.h>
#include <xf86drm.h>

#include <memory>

#include "npu/errors.hpp"

namespace npu::detail {
namespace {

struct VersionDeleter {
  void operator()(drmVersion* version) const { drmFreeVersion(version); }
};

std::string text(const char* chars, int length) {
  return chars == nullptr ? std::string{} : std::string(chars, static_cast<std::size_t>(length));
}

}  // namespace

DriverVersion read_driver_version(const DrmFile& file) {
  const std::unique_ptr<drmVersion, VersionDeleter> version(drmGetVersion(file.fd()));
  if (!version) {
    throw ioctl_error("DRM_IOCTL_VERSION", errno != 0 ? errno : EINVAL);
  }
  return {text(version->name, version->name_len),
          version->version_major,
          version->version_minor,
          version->version_patchlevel,
          text(version->date, version->date_len),
          text(version->desc, version->desc_len)};
}

DriverVersion read_driver_version(const std::string& device_node) {
  return read_driver_version(DrmFile(device_node));
}

}  // namespace npu::detail

namespace npu {

std::string DriverVersion::to_string() const {
  return fmt::format("{} {}.{}.{}", name, major, minor, patch);
}

}  // namespace npu
