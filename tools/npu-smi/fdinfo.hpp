// Per-process usage from DRM fdinfo (Documentation/gpu/drm-usage-stats.rst):
// works without privileges for the caller's own processes and inside
// containers, where a PID-based driver view would not.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace npu_smi {

// One open DRM file (a client) as one fdinfo entry shows it.
struct ClientUsage {
  std::uint64_t client_id = 0;
  std::string pci_address;                           // drm-pdev
  std::uint64_t busy_ns = 0;                         // drm-engine-npu
  std::uint64_t capacity = 1;                        // drm-engine-capacity-npu
  std::map<std::string, std::uint64_t> memory;       // "total-system" -> bytes (drm-total-system)
  [[nodiscard]] std::uint64_t memory_bytes() const;  // drm-total-* summed over regions
  [[nodiscard]] std::uint64_t device_memory_bytes() const;  // drm-total-device
};

// The knpu client described by an fdinfo file's text, or nothing when the
// file is not a knpu DRM file.
std::optional<ClientUsage> parse_fdinfo(std::string_view text);

// A DRM size value ("4096", "12 KiB", "3 MiB") in bytes.
std::optional<std::uint64_t> parse_drm_size(std::string_view value);

// The cgroup v2 path in the text of /proc/PID/cgroup ("/user.slice/..."),
// empty without cgroup v2.
std::string cgroup_path(std::string_view cgroup_file);

// The container a process runs in, from /proc/PID/cgroup: the last path
// component of its cgroup v2 path (a container runtime's scope or ID), or the
// path itself.
std::string container_id_from_cgroup(std::string_view cgroup_file);

struct ProcessUsage {
  int pid = 0;
  std::string command;
  std::string cgroup;        // the cgroup v2 path
  std::string container_id;  // see container_id_from_cgroup
  std::string pci_address;
  std::uint64_t busy_ns = 0;              // of all its clients on that device
  std::uint64_t memory_bytes = 0;         // of all its clients on that device, every region
  std::uint64_t device_memory_bytes = 0;  // of that, in the device's own memory
  std::size_t clients = 0;
};

struct ProcessScan {
  std::vector<ProcessUsage> processes;  // one per (pid, device), sorted by pid then device
  std::size_t hidden = 0;               // user processes whose file descriptors we may not read
};

// Scans PROC (normally /proc) for processes with knpu files open.
ProcessScan scan_processes(const std::filesystem::path& proc = "/proc");

}  // namespace npu_smi
