#include "fdinfo.hpp"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <set>
#include <sstream>
#include <system_error>
#include <tuple>

namespace npu_smi {
namespace {

constexpr std::string_view kDriver = "knpu";

std::string_view trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) {
    return {};
  }
  const auto last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

std::optional<std::uint64_t> parse_u64(std::string_view text) {
  std::uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc{} || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

// "1234 ns" -> 1234
std::optional<std::uint64_t> parse_with_unit(std::string_view value, std::string_view unit) {
  if (!value.ends_with(unit)) {
    return std::nullopt;
  }
  return parse_u64(trim(value.substr(0, value.size() - unit.size())));
}

std::optional<std::string> read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) {
    return std::nullopt;
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// drm-usage-stats.rst: drm-<total|shared|resident|purgeable|active>-<region>.
bool is_memory_key(std::string_view key) {
  for (const std::string_view kind :
       {"drm-total-", "drm-shared-", "drm-resident-", "drm-purgeable-", "drm-active-"}) {
    if (key.starts_with(kind)) {
      return true;
    }
  }
  return false;
}

}  // namespace

std::uint64_t ClientUsage::memory_bytes() const {
  std::uint64_t total = 0;
  for (const auto& [key, bytes] : memory) {
    if (key.starts_with("total-")) {
      total += bytes;
    }
  }
  return total;
}

std::uint64_t ClientUsage::device_memory_bytes() const {
  const auto it = memory.find("total-device");
  return it == memory.end() ? 0 : it->second;
}

std::optional<std::uint64_t> parse_drm_size(std::string_view value) {
  value = trim(value);
  constexpr std::pair<std::string_view, std::uint64_t> kUnits[] = {
      {"KiB", 1ULL << 10}, {"MiB", 1ULL << 20}, {"GiB", 1ULL << 30}};
  for (const auto& [unit, scale] : kUnits) {
    if (const auto number = parse_with_unit(value, unit)) {
      return *number * scale;
    }
  }
  return parse_u64(value);
}

std::optional<ClientUsage> parse_fdinfo(std::string_view text) {
  ClientUsage client;
  bool is_knpu = false;
  bool has_client_id = false;
  while (!text.empty()) {
    const auto newline = text.find('\n');
    const std::string_view line = text.substr(0, newline);
    text = newline == std::string_view::npos ? std::string_view{} : text.substr(newline + 1);
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) {
      continue;
    }
    const std::string_view key = line.substr(0, colon);
    const std::string_view value = trim(line.substr(colon + 1));
    if (key == "drm-driver") {
      is_knpu = value == kDriver;
    } else if (key == "drm-pdev") {
      client.pci_address = std::string(value);
    } else if (key == "drm-client-id") {
      if (const auto id = parse_u64(value)) {
        client.client_id = *id;
        has_client_id = true;
      }
    } else if (key == "drm-engine-npu") {
      client.busy_ns = parse_with_unit(value, "ns").value_or(0);
    } else if (key == "drm-engine-capacity-npu") {
      client.capacity = parse_u64(value).value_or(1);
    } else if (is_memory_key(key)) {
      if (const auto bytes = parse_drm_size(value)) {
        client.memory[std::string(key.substr(4))] = *bytes;
      }
    }
  }
  if (!is_knpu || !has_client_id) {
    return std::nullopt;
  }
  return client;
}

std::string cgroup_path(std::string_view cgroup_file) {
  // cgroup v2: the line "0::/path".
  while (!cgroup_file.empty()) {
    const auto newline = cgroup_file.find('\n');
    const std::string_view line = cgroup_file.substr(0, newline);
    cgroup_file =
        newline == std::string_view::npos ? std::string_view{} : cgroup_file.substr(newline + 1);
    if (line.starts_with("0::")) {
      return std::string(trim(line.substr(3)));
    }
  }
  return {};
}

std::string container_id_from_cgroup(std::string_view cgroup_file) {
  const std::string full = cgroup_path(cgroup_file);
  const std::string_view path = full;
  if (path.empty() || path == "/") {
    return {};
  }
  std::string_view last = path.substr(path.find_last_of('/') + 1);
  // docker-<id>.scope, cri-containerd-<id>.scope, libpod-<id>.scope
  if (last.ends_with(".scope")) {
    last.remove_suffix(6);
    if (const auto dash = last.find_last_of('-'); dash != std::string_view::npos) {
      last.remove_prefix(dash + 1);
    }
  }
  return std::string(last);
}

ProcessScan scan_processes(const std::filesystem::path& proc) {
  namespace fs = std::filesystem;
  ProcessScan scan;
  std::error_code ec;
  for (const fs::directory_entry& entry : fs::directory_iterator(proc, ec)) {
    const std::string name = entry.path().filename().string();
    const auto pid = parse_u64(name);
    if (!pid) {
      continue;
    }
    std::error_code fd_ec;
    fs::directory_iterator fds(entry.path() / "fdinfo", fd_ec);
    if (fd_ec) {
      // Kernel threads have no command line and no files: not hidden users.
      const std::string cmdline = read_file(entry.path() / "cmdline").value_or("");
      if (fd_ec == std::errc::permission_denied && !cmdline.empty()) {
        ++scan.hidden;
      }
      continue;
    }
    std::map<std::string, ProcessUsage> per_device;
    std::set<std::pair<std::string, std::uint64_t>> seen;
    for (const fs::directory_entry& fd : fds) {
      const auto text = read_file(fd.path());
      if (!text) {
        continue;
      }
      const auto client = parse_fdinfo(*text);
      if (!client || !seen.emplace(client->pci_address, client->client_id).second) {
        continue;
      }
      ProcessUsage& usage = per_device[client->pci_address];
      usage.pci_address = client->pci_address;
      usage.busy_ns += client->busy_ns;
      usage.memory_bytes += client->memory_bytes();
      usage.device_memory_bytes += client->device_memory_bytes();
      ++usage.clients;
    }
    if (per_device.empty()) {
      continue;
    }
    std::string command = read_file(entry.path() / "comm").value_or("");
    if (!command.empty() && command.back() == '\n') {
      command.pop_back();
    }
    const std::string cgroup_text = read_file(entry.path() / "cgroup").value_or("");
    for (auto& [address, usage] : per_device) {
      usage.pid = static_cast<int>(*pid);
      usage.command = command;
      usage.cgroup = cgroup_path(cgroup_text);
      usage.container_id = container_id_from_cgroup(cgroup_text);
      scan.processes.push_back(std::move(usage));
    }
  }
  std::ranges::sort(scan.processes, {},
                    [](const ProcessUsage& p) { return std::tie(p.pid, p.pci_address); });
  return scan;
}

}  // namespace npu_smi
