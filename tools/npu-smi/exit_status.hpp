// npu-smi's exit status: stable, documented in docs/npu-smi.md and the man
// page. Scripts may rely on every value.
#pragma once

namespace npu_smi {

enum class ExitStatus : int {
  ok = 0,
  failure = 1,           // an unexpected error (a bug or an unusual system)
  usage = 2,             // bad command line
  no_device = 3,         // no knpu device: module not loaded, no PCI function, no node
  no_permission = 4,     // a device node or sysfs file the command needs is not accessible
  device_error = 5,      // a device is lost or wedged, or its health job / reset failed
  version_mismatch = 6,  // the driver's uapi is not the one npu-smi was built for
  degraded = 7,          // doctor: devices work but something needs attention (throttling, errors)
};

constexpr int to_int(ExitStatus status) {
  return static_cast<int>(status);
}

// The worse of two outcomes: the one a script should act on first.
constexpr ExitStatus worse(ExitStatus a, ExitStatus b) {
  constexpr auto rank = [](ExitStatus s) {
    switch (s) {
      case ExitStatus::ok:
        return 0;
      case ExitStatus::degraded:
        return 1;
      case ExitStatus::device_error:
        return 2;
      case ExitStatus::version_mismatch:
        return 3;
      case ExitStatus::no_permission:
        return 4;
      case ExitStatus::no_device:
        return 5;
      case ExitStatus::usage:
        return 6;
      case ExitStatus::failure:
        return 7;
    }
    return 7;
  };
  return rank(a) >= rank(b) ? a : b;
}

}  // namespace npu_smi
