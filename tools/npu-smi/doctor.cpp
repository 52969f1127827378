#include "doctor.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <thread>
#include <utility>

#include "device_snapshot.hpp"
#include "health.hpp"
#include "npu/npu.hpp"

namespace npu_smi {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kVendor = "0x1234";
constexpr std::string_view kDevice = "0x4b4e";

std::string read_line(const fs::path& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

Finding ok(std::string check, std::string detail) {
  return {ExitStatus::ok, std::move(check), std::move(detail), {}};
}

Finding problem(ExitStatus severity, std::string check, std::string detail, std::string fix) {
  return {severity, std::move(check), std::move(detail), std::move(fix)};
}

std::vector<std::string> knpu_functions(const fs::path& sys) {
  std::vector<std::string> functions;
  std::error_code ec;
  for (const fs::directory_entry& entry : fs::directory_iterator(sys / "bus/pci/devices", ec)) {
    if (read_line(entry.path() / "vendor") == kVendor &&
        read_line(entry.path() / "device") == kDevice) {
      functions.push_back(entry.path().filename().string());
    }
  }
  std::ranges::sort(functions);
  return functions;
}

// The accel node name ("accel0") of a bound PCI function, or "".
std::string accel_name(const fs::path& pci) {
  std::error_code ec;
  for (const fs::directory_entry& entry : fs::directory_iterator(pci / "accel", ec)) {
    return entry.path().filename().string();
  }
  return {};
}

std::vector<Finding> check_function(const fs::path& sys, const fs::path& dev,
                                    const std::string& address) {
  const fs::path pci = sys / "bus/pci/devices" / address;
  std::error_code ec;
  const std::string driver = fs::read_symlink(pci / "driver", ec).filename().string();
  if (driver != "knpu") {
    return {problem(ExitStatus::no_device, "driver",
                    fmt::format("{} is not bound to knpu{}", address,
                                driver.empty() ? "" : fmt::format(" (bound to {})", driver)),
                    fmt::format("see `dmesg | grep -i knpu` for why probe failed; then "
                                "echo {} > /sys/bus/pci/drivers/knpu/bind",
                                address))};
  }
  const std::string accel = accel_name(pci);
  if (accel.empty()) {
    return {problem(ExitStatus::no_device, "node", fmt::format("{} has no accel device", address),
                    "the driver did not register: see `dmesg | grep -i knpu`")};
  }
  const fs::path node = dev / "accel" / accel;
  if (!fs::exists(node, ec)) {
    return {problem(ExitStatus::no_device, "node", fmt::format("{} does not exist", node.string()),
                    "udev did not create it: `udevadm trigger -s accel`, or "
                    "mknod with the numbers in /sys/class/accel/" +
                        accel + "/dev")};
  }
  if (::access(node.c_str(), R_OK | W_OK) != 0) {
    const int error = errno;
    return {problem(ExitStatus::no_permission, "permission",
                    fmt::format("{}: {}", node.string(), std::strerror(error)),
                    "add the user to group render (`sudo usermod -aG render $USER`, log in "
                    "again) and give the node to that group with a udev rule: "
                    "SUBSYSTEM==\"accel\", GROUP=\"render\", MODE=\"0660\"")};
  }
  return {ok("node", fmt::format("{} -> {} (read/write)", address, node.string()))};
}

}  // namespace

std::string format_finding(const Finding& f) {
  const char* tag = f.severity == ExitStatus::ok         ? "[ ok ]"
                    : f.severity == ExitStatus::degraded ? "[WARN]"
                                                         : "[FAIL]";
  std::string line = fmt::format("{} {}: {}", tag, f.check, f.detail);
  if (!f.fix.empty()) {
    line += " -> fix: " + f.fix;
  }
  return line;
}

std::vector<Finding> check_platform(const fs::path& sys, const fs::path& dev) {
  std::vector<Finding> findings;
  const std::vector<std::string> functions = knpu_functions(sys);
  const bool loaded = fs::exists(sys / "module/knpu");
  if (functions.empty()) {
    findings.push_back(problem(ExitStatus::no_device, "pci",
                               "no KNPU function (1234:4b4e) on the PCI bus",
                               "check the card is seated and powered: `lspci -d 1234:4b4e`"));
    return findings;
  }
  findings.push_back(ok("pci", fmt::format("{} KNPU function(s)", functions.size())));
  if (!loaded) {
    findings.push_back(problem(ExitStatus::no_device, "module", "knpu.ko is not loaded",
                               "`sudo modprobe knpu` (see `dmesg | grep -i knpu` if it fails)"));
    return findings;
  }
  const std::string version = read_line(sys / "module/knpu/version");
  findings.push_back(
      ok("module", version.empty() ? "knpu.ko loaded" : "knpu.ko loaded, version " + version));
  for (const std::string& address : functions) {
    for (Finding& f : check_function(sys, dev, address)) {
      findings.push_back(std::move(f));
    }
  }
  return findings;
}

namespace {

Finding check_version(const npu::DeviceInfo& info) {
  try {
    const npu::Device device = npu::Device::open(info.index);
    const std::uint32_t uapi = device.properties().uapi_version;
    return ok("version",
              fmt::format("device {}: {}, uapi {}.{}", info.index,
                          device.driver_version().to_string(), uapi >> 16, uapi & 0xffff));
  } catch (const std::system_error& e) {
    if (e.code() == npu::errc::not_supported) {
      return problem(ExitStatus::version_mismatch, "version", e.what(),
                     "install the npu-smi/libnpu that matches the loaded knpu.ko (or load the "
                     "matching module)");
    }
    if (e.code() == npu::errc::no_permission) {
      return problem(ExitStatus::no_permission, "version", e.what(),
                     "add the user to group render");
    }
    return problem(
        ExitStatus::device_error, "version", e.what(),
        "see `dmesg | grep -i knpu`; `npu-smi reset -i " + std::to_string(info.index) + "`");
  }
}

Finding check_state(const DeviceSnapshot& d) {
  const std::string reset = fmt::format("`sudo npu-smi reset -i {}`", d.index);
  if (d.state == "ok") {
    return ok("state", fmt::format("device {} ({}) ok", d.index, d.pci_address));
  }
  if (d.state == "lost") {
    return problem(ExitStatus::device_error, "state",
                   fmt::format("device {} ({}) is lost: it does not answer on the bus", d.index,
                               d.pci_address),
                   "check the PCIe link (`dmesg | grep -i -e aer -e knpu`); try " + reset +
                       ", else reboot or reseat the card");
  }
  return problem(ExitStatus::device_error, "state",
                 fmt::format("device {} ({}) is {}", d.index, d.pci_address, d.state),
                 d.state == "fatal" ? "an uncorrectable error stopped it: " + reset
                                    : "wait for the reset to finish, else " + reset);
}

Finding check_job(std::size_t index) {
  const HealthResult health = run_health_job(index);
  if (!health.passed) {
    return problem(ExitStatus::device_error, "job",
                   fmt::format("device {}: {}", index, health.error),
                   fmt::format("`sudo npu-smi reset -i {}`; if the job still fails, see "
                               "`dmesg | grep -i knpu`",
                               index));
  }
  return ok("job",
            fmt::format("device {}: fill+copy 1 MiB verified in {}, empty job round trip "
                        "median {}",
                        index, format_us(health.fill_copy), format_us(health.empty_job_median)));
}

// "+2 (4.0/min)": how much a counter rose over the window, and its rate.
std::string rise(std::optional<std::uint64_t> before, std::optional<std::uint64_t> after,
                 double minutes) {
  const std::uint64_t delta = before && after && *after > *before ? *after - *before : 0;
  return fmt::format("+{} ({:.1f}/min)", delta,
                     minutes > 0 ? static_cast<double>(delta) / minutes : 0.0);
}

// "over 10.0 s"; a window under a second is the checks' own time (no -w).
std::string window_text(double seconds) {
  if (seconds >= 1.0)
    return fmt::format("over {:.1f} s", seconds);
  return fmt::format("during the checks ({:.0f} ms; -w SECONDS watches longer)", seconds * 1000);
}

}  // namespace

std::vector<Finding> check_health_counters(const DeviceSnapshot& before,
                                           const DeviceSnapshot& after) {
  std::vector<Finding> findings;
  if (after.throttled.value_or(false)) {
    findings.push_back(
        problem(ExitStatus::degraded, "thermal",
                fmt::format("device {} is throttled ({}) at {:.1f} C, clock {} of {} MHz",
                            after.index, after.throttle_reasons, after.temperature_c.value_or(0.0),
                            after.clock_mhz.value_or(0), after.clock_max_mhz.value_or(0)),
                "improve cooling or airflow; the clock recovers below " +
                    fmt::format("{:.0f} C", after.temperature_max_c.value_or(0.0))));
  }
  const auto rising = [](std::optional<std::uint64_t> a, std::optional<std::uint64_t> b) {
    return a && b && *b > *a;
  };
  const double seconds =
      std::chrono::duration<double>(after.taken_steady - before.taken_steady).count();
  const double minutes = seconds / 60.0;
  if (rising(before.errors_uncorrectable, after.errors_uncorrectable) ||
      rising(before.errors_correctable, after.errors_correctable) ||
      rising(before.reset_count, after.reset_count)) {
    findings.push_back(problem(
        ExitStatus::degraded, "errors",
        fmt::format("device {}: error counters rising {}: correctable {}, "
                    "uncorrectable {}, driver resets {}",
                    after.index, window_text(seconds),
                    rise(before.errors_correctable, after.errors_correctable, minutes),
                    rise(before.errors_uncorrectable, after.errors_uncorrectable, minutes),
                    rise(before.reset_count, after.reset_count, minutes)),
        "watch `npu-smi --query=errors_correctable,errors_uncorrectable,reset_count -l 10`; "
        "`dmesg | grep -i knpu` tells why the driver reset the device; rising uncorrectable "
        "errors mean the card needs service"));
  } else if (after.errors_uncorrectable.value_or(0) > 0) {
    findings.push_back(
        problem(ExitStatus::degraded, "errors",
                fmt::format("device {}: {} uncorrectable error(s) since power-on, none {}",
                            after.index, *after.errors_uncorrectable, window_text(seconds)),
                "not rising now; keep watching the counter"));
  } else {
    findings.push_back(
        ok("errors",
           fmt::format("device {}: {} correctable, 0 uncorrectable; none rising {}", after.index,
                       after.errors_correctable.value_or(0), window_text(seconds))));
  }
  return findings;
}

ExitStatus run_doctor(const DoctorOptions& options) {
  ExitStatus status = ExitStatus::ok;
  // Each finding is flushed as it is made: a long window piped to a log
  // shows what has been checked so far.
  auto report = [&status](const Finding& f) {
    fmt::print("{}\n", format_finding(f));
    std::fflush(stdout);
    status = worse(status, f.severity);
  };
  for (const Finding& f : check_platform()) {
    report(f);
  }
  if (status != ExitStatus::ok && status != ExitStatus::no_permission) {
    return status;
  }
  std::vector<npu::DeviceInfo> infos;
  try {
    infos = npu::enumerate_devices();
  } catch (const std::exception& e) {
    report(problem(ExitStatus::failure, "enumerate", e.what(), "check that /sys is mounted"));
    return status;
  }
  if (infos.empty()) {
    report(
        problem(ExitStatus::no_device, "visible", "no visible knpu device",
                fmt::format("check {} (it hides devices when set)", npu::kVisibleDevicesVariable)));
    return status;
  }
  // The counters are read at the start of the window and again at its end:
  // the checks and jobs run inside it.
  const auto window_end = std::chrono::steady_clock::now() +
                          std::chrono::duration_cast<std::chrono::nanoseconds>(options.window);
  std::vector<std::pair<npu::DeviceInfo, DeviceSnapshot>> watched;
  for (const npu::DeviceInfo& info : infos) {
    DeviceSnapshot before = read_device(info);
    const Finding state = check_state(before);
    report(state);
    if (state.severity != ExitStatus::ok) {
      continue;
    }
    if (::access(info.device_node.c_str(), R_OK | W_OK) != 0) {
      continue;  // reported by the node check
    }
    const Finding version = check_version(info);
    report(version);
    if (options.run_job && version.severity == ExitStatus::ok) {
      report(check_job(info.index));
    }
    watched.emplace_back(info, std::move(before));
  }
  std::this_thread::sleep_until(window_end);
  for (const auto& [info, before] : watched) {
    for (const Finding& f : check_health_counters(before, read_device(info))) {
      report(f);
    }
  }
  return status;
}

}  // namespace npu_smi
