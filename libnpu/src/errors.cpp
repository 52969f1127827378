// The npu::errc conditions and how errno values map onto them.
#include "npu/errors.hpp"

#include <cerrno>

#include "npu/isa.hpp"

namespace npu {
namespace {

errc condition_of_errno(int value) {
  switch (value) {
    case EOPNOTSUPP:
    case ENOTTY:
    case ENOSYS:
      return errc::not_supported;
    case EACCES:
    case EPERM:
      return errc::no_permission;
    case ENODEV:
    case ENXIO:
    case EIO:
      return errc::device_lost;
    case ECANCELED:
    case EBADFD:  // the file's jobs hung the device too often
      return errc::queue_banned;
    case ETIME:
    case ETIMEDOUT:
      return errc::timeout;
    case ENOSPC:  // out of device VA; BO_CREATE's ENOMEM for device memory is a code of its own
      return errc::out_of_device_memory;
    case ENOMEM:
      return errc::out_of_host_memory;
    case ENODATA:  // SUBMIT: a buffer the job lists lost its contents in a reset
      return errc::contents_lost;
    case EBUSY:
      return errc::device_busy;
    case EINVAL:
    case ENOENT:
    case EBADF:
    case E2BIG:
    case EFAULT:
    case EOVERFLOW:
      return errc::invalid_argument;
    default:
      return errc{};
  }
}

class ErrorCategory final : public std::error_category {
 public:
  [[nodiscard]] const char* name() const noexcept override { return "npu"; }

  [[nodiscard]] std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::not_supported:
        return "not supported";
      case errc::no_permission:
        return "no permission";
      case errc::device_lost:
        return "device lost";
      case errc::queue_banned:
        return "queue banned after a failed job or reset";
      case errc::timeout:
        return "timeout";
      case errc::out_of_device_memory:
        return "out of device memory";
      case errc::device_busy:
        return "device busy";
      case errc::invalid_kernel:
        return "invalid kernel";
      case errc::invalid_argument:
        return "invalid argument";
      case errc::no_device:
        return "no such device";
      case errc::out_of_host_memory:
        return "out of host memory";
      case errc::contents_lost:
        return "a device reset cleared the buffer's device memory";
    }
    return "unknown npu error";
  }

  [[nodiscard]] bool equivalent(const std::error_code& code,
                                int condition) const noexcept override {
    if (code.category() == *this) {
      return code.value() == condition;
    }
    const bool is_errno =
        code.category() == std::system_category() || code.category() == std::generic_category();
    if (is_errno) {
      return condition_of_errno(code.value()) == static_cast<errc>(condition);
    }
    if (code.category() == isa::decode_category()) {
      return static_cast<errc>(condition) == errc::invalid_kernel;
    }
    return code.category() == *this && code.value() == condition;
  }
};

}  // namespace

const std::error_category& error_category() {
  static const ErrorCategory category;
  return category;
}

std::error_condition make_error_condition(errc condition) {
  return {static_cast<int>(condition), error_category()};
}

std::system_error ioctl_error(const std::string& ioctl_name, int error_number) {
  return {error_number, std::system_category(), ioctl_name};
}

}  // namespace npu

namespace npu {

std::system_error make_error(errc condition, const std::string& what) {
  return {static_cast<int>(condition), error_category(), what};
}

}  // namespace npu
