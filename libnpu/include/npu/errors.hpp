// Error conditions a runtime can act on. Failures of the driver, the device
// and kernel loading are thrown as std::system_error (or derived); compare
// its code() with these conditions:
//
//   catch (const std::system_error& e) {
//     if (e.code() == npu::errc::queue_banned) { /* make a new queue */ }
//   }
//
// Errors from the driver keep their errno (system_category) and the message
// names the ioctl: "DRM_IOCTL_KNPU_SUBMIT: Invalid argument". Mistakes in
// building kernels and argument lists are std::invalid_argument. Failed jobs
// are not exceptions: JobHandle::wait() returns their status.
#pragma once

#include <string>
#include <system_error>

namespace npu {

enum class errc {
  not_supported = 1,     // the driver or device lacks the feature (EOPNOTSUPP, ENOTTY, ENOSYS)
  no_permission,         // EACCES, EPERM: device node permissions, realtime priority
  device_lost,           // ENODEV, ENXIO, EIO: removed, fatal error, unbound driver
  queue_banned,          // ECANCELED: an earlier job on the queue failed or was reset;
                         // EBADFD: the file's jobs hung the device too often
  timeout,               // ETIME, ETIMEDOUT
  out_of_device_memory,  // device memory full (a code of this category), ENOSPC (device VA)
  device_busy,           // EBUSY: all hardware queues taken
  invalid_kernel,        // a kernel binary or program failed validation
  invalid_argument,      // EINVAL, ENOENT, EBADF, E2BIG, EFAULT, EOVERFLOW: a wrong call
  no_device,             // nothing to open: no such visible device, index or PCI address
  out_of_host_memory,    // ENOMEM, std::bad_alloc: the host (kernel or process) ran out
  contents_lost,         // ENODATA: a device reset cleared a device-memory buffer; free it
};

const std::error_category& error_category();
std::error_condition make_error_condition(errc condition);

// The exception of a failed ioctl: code() is `error_number` in the system
// category, what() is "IOCTL_NAME: strerror".
std::system_error ioctl_error(const std::string& ioctl_name, int error_number);

// An error of libnpu's own (not an errno): code() is `condition` in
// npu::error_category(), what() is `what`.
std::system_error make_error(errc condition, const std::string& what);

}  // namespace npu

template <>
struct std::is_error_condition_enum<npu::errc> : std::true_type {};
