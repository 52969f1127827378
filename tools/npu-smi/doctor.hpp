// npu-smi doctor: the faults admins hit most, one line each with the fix,
// a real job with its latency, and the error counters' rates over a window.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "device_snapshot.hpp"
#include "exit_status.hpp"

namespace npu_smi {

struct Finding {
  ExitStatus severity = ExitStatus::ok;  // ok, degraded or an error
  std::string check;                     // "module", "node", "permission", ...
  std::string detail;
  std::string fix;  // empty when nothing is to be done
};

// "[ ok ] check: detail" or "[FAIL] check: detail -> fix: ...".
std::string format_finding(const Finding& finding);

// The checks before any device is opened, against a sysfs tree SYS and
// device directory DEV (tests point them at made-up trees).
std::vector<Finding> check_platform(const std::filesystem::path& sys = "/sys",
                                    const std::filesystem::path& dev = "/dev");

// The thermal and error findings of one device: throttling now, and its
// error counters and driver resets over the window from BEFORE to AFTER,
// with their rates per minute.
std::vector<Finding> check_health_counters(const DeviceSnapshot& before,
                                           const DeviceSnapshot& after);

struct DoctorOptions {
  bool run_job = true;
  // How long to watch the error counters; the checks and the health job run
  // within it. Zero: as long as they take.
  std::chrono::duration<double> window{};
};

// All checks, printed as they complete; the worst severity found.
ExitStatus run_doctor(const DoctorOptions& options);

}  // namespace npu_smi
