#include "processes.hpp"

#include <fmt/format.h>

#include <optional>

namespace npu_smi {
namespace {

struct Row {
  const ProcessUsage* process;
  std::size_t device;
};

std::vector<Row> visible_rows(const ProcessScan& scan, std::span<const DeviceSnapshot> devices) {
  std::vector<Row> rows;
  for (const ProcessUsage& p : scan.processes) {
    for (const DeviceSnapshot& d : devices) {
      if (d.pci_address == p.pci_address) {
        rows.push_back({&p, d.index});
      }
    }
  }
  return rows;
}

std::string csv_text(std::string_view text) {
  if (text.find_first_of(",\"\n") == std::string_view::npos) {
    return std::string(text);
  }
  std::string quoted = "\"";
  for (char c : text) {
    quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  }
  return quoted + "\"";
}

}  // namespace

std::string render_processes(const ProcessScan& scan, std::span<const DeviceSnapshot> devices,
                             Format format) {
  const std::vector<Row> rows = visible_rows(scan, devices);
  switch (format) {
    case Format::json: {
      nlohmann::json list = nlohmann::json::array();
      for (const Row& r : rows) {
        list.push_back({{"pid", r.process->pid},
                        {"command", r.process->command},
                        {"device", r.device},
                        {"pci_address", r.process->pci_address},
                        {"clients", r.process->clients},
                        {"busy_ns", r.process->busy_ns},
                        {"memory_bytes", r.process->memory_bytes},
                        {"cgroup", r.process->cgroup},
                        {"container_id", r.process->container_id},
                        {"device_memory_bytes", r.process->device_memory_bytes}});
      }
      const nlohmann::json doc = {{"schema_version", kSchemaVersion},
                                  {"processes", std::move(list)},
                                  {"hidden_processes", scan.hidden}};
      return doc.dump(2) + "\n";
    }
    case Format::csv: {
      std::string out =
          "pid,command,device,pci_address,clients,busy_ns,memory_bytes,cgroup,container_id,"
          "device_memory_bytes\n";
      for (const Row& r : rows) {
        out += fmt::format("{},{},{},{},{},{},{},{},{},{}\n", r.process->pid,
                           csv_text(r.process->command), r.device, r.process->pci_address,
                           r.process->clients, r.process->busy_ns, r.process->memory_bytes,
                           csv_text(r.process->cgroup), csv_text(r.process->container_id),
                           r.process->device_memory_bytes);
      }
      return out;
    }
    case Format::table:
      break;
  }
  std::string out =
      fmt::format("{:>7}  {:<16}  {:>3}  {:<12}  {:>12}  {:>12}  {:>12}  {}\n", "PID", "Command",
                  "Dev", "PCI", "Busy ms", "Memory KiB", "On-dev KiB", "Container");
  for (const Row& r : rows) {
    out += fmt::format("{:>7}  {:<16}  {:>3}  {:<12}  {:>12.1f}  {:>12}  {:>12}  {}\n",
                       r.process->pid, r.process->command, r.device, r.process->pci_address,
                       static_cast<double>(r.process->busy_ns) / 1e6,
                       r.process->memory_bytes / 1024, r.process->device_memory_bytes / 1024,
                       r.process->container_id.empty() ? "-" : r.process->container_id);
  }
  if (rows.empty()) {
    out += "  (no process has a knpu device open)\n";
  }
  if (scan.hidden > 0) {
    out += fmt::format(
        "  {} other process(es) hidden: no permission to read their fdinfo (run "
        "as root to see them)\n",
        scan.hidden);
  }
  return out;
}

}  // namespace npu_smi
