// npu-smi doctor: the faults admins hit most, one line each with the fix,
// then a real job with its latency.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

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

// All checks, printed as they complete; the worst severity found.
ExitStatus run_doctor(bool run_job);

}  // namespace npu_smi
