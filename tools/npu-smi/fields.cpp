#include "fields.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

namespace npu_smi {
namespace {

template <class T>
Value optional_value(const std::optional<T>& value) {
  return value ? Value(*value) : Value();
}

Value text_value(const std::string& text) {
  return text.empty() ? Value() : Value(text);
}

std::string iso_time(std::chrono::system_clock::time_point when) {
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}Z",
                     std::chrono::time_point_cast<std::chrono::seconds>(when));
}

constexpr std::uint64_t kMiB = 1ULL << 20;

// A value as a table cell: counts in the field's table unit, "-" for none.
std::string table_text(const Field& field, const Value& value) {
  if (const auto* count = std::get_if<std::uint64_t>(&value); count && field.table_unit > 1) {
    return std::to_string(*count / field.table_unit);
  }
  const std::string text = to_text(value);
  return text.empty() ? "-" : text;
}

const Field kFields[] = {
    {"timestamp", "Time", "when the device was read (UTC, ISO 8601)",
     [](const DeviceSnapshot& d) { return Value(iso_time(d.taken)); }},
    {"index", "#", "index among the visible devices (KNPU_VISIBLE_DEVICES)",
     [](const DeviceSnapshot& d) { return Value(std::uint64_t{d.index}); }},
    {"pci_address", "PCI address", "PCI domain:bus:device.function",
     [](const DeviceSnapshot& d) { return Value(d.pci_address); }},
    {"device_node", "Node", "the accel device node",
     [](const DeviceSnapshot& d) { return text_value(d.device_node); }},
    {"serial", "Serial", "serial number, 16 hex digits",
     [](const DeviceSnapshot& d) { return text_value(d.serial); }},
    {"driver_version", "Driver", "driver name and version",
     [](const DeviceSnapshot& d) { return text_value(d.driver_version); }},
    {"hw_version", "HW", "hardware version major.minor",
     [](const DeviceSnapshot& d) { return text_value(d.hw_version); }},
    {"fw_version", "FW", "firmware version major.minor.patch",
     [](const DeviceSnapshot& d) { return text_value(d.fw_version); }},
    {"state", "State", "ok, fatal (needs a reset), resetting or lost",
     [](const DeviceSnapshot& d) { return text_value(d.state); }},
    {"temperature_c", "Temp C", "die temperature, degrees Celsius",
     [](const DeviceSnapshot& d) { return optional_value(d.temperature_c); }},
    {"temperature_max_c", "Max C", "temperature above which the device runs hot",
     [](const DeviceSnapshot& d) { return optional_value(d.temperature_max_c); }},
    {"temperature_crit_c", "Crit C", "temperature above which the device throttles",
     [](const DeviceSnapshot& d) { return optional_value(d.temperature_crit_c); }},
    {"power_w", "Power W", "board power, watts",
     [](const DeviceSnapshot& d) { return optional_value(d.power_w); }},
    {"clock_mhz", "Clock MHz", "compute clock, MHz",
     [](const DeviceSnapshot& d) { return optional_value(d.clock_mhz); }},
    {"clock_max_mhz", "Max MHz", "nominal compute clock, MHz",
     [](const DeviceSnapshot& d) { return optional_value(d.clock_max_mhz); }},
    {"throttled", "Throttled", "the clock is reduced",
     [](const DeviceSnapshot& d) { return optional_value(d.throttled); }},
    {"throttle_reasons", "Throttle", "why: none or thermal",
     [](const DeviceSnapshot& d) { return text_value(d.throttle_reasons); }},
    {"utilization_percent", "Busy %", "busy cores over the sample window, percent",
     [](const DeviceSnapshot& d) { return optional_value(d.utilization_percent); }},
    {"cores", "Cores", "compute cores",
     [](const DeviceSnapshot& d) { return Value(std::uint64_t{d.cores}); }},
    {"busy_ns", "Busy ns", "time all cores spent running jobs since power-on, ns",
     [](const DeviceSnapshot& d) { return optional_value(d.busy_ns()); }},
    {"jobs_completed", "Jobs", "jobs completed since power-on",
     [](const DeviceSnapshot& d) { return optional_value(d.jobs_completed); }},
    {"bytes_moved", "Bytes moved", "bytes read and written by jobs since power-on",
     [](const DeviceSnapshot& d) { return optional_value(d.bytes_moved); }},
    {"errors_correctable", "Corr. errors", "correctable errors since power-on",
     [](const DeviceSnapshot& d) { return optional_value(d.errors_correctable); }},
    {"errors_uncorrectable", "Uncorr. errors", "uncorrectable errors since power-on",
     [](const DeviceSnapshot& d) { return optional_value(d.errors_uncorrectable); }},
    {"mmu_faults", "MMU faults", "device MMU faults since the last reset",
     [](const DeviceSnapshot& d) { return optional_value(d.mmu_faults); }},
    {"reset_count", "Resets", "device resets by the driver since it bound",
     [](const DeviceSnapshot& d) { return optional_value(d.reset_count); }},
    {"memory_total_bytes", "Mem total MiB", "on-board device memory, bytes",
     [](const DeviceSnapshot& d) { return optional_value(d.memory_total_bytes); }, kMiB},
    {"memory_used_bytes", "Mem used MiB", "device memory allocated by all processes, bytes",
     [](const DeviceSnapshot& d) { return optional_value(d.memory_used_bytes); }, kMiB},
    {"processes", "Procs", "visible processes with the device open",
     [](const DeviceSnapshot& d) { return Value(std::uint64_t{d.processes}); }},
};

struct Alias {
  std::string_view alias;
  std::string_view name;
};

constexpr Alias kAliases[] = {
    {"temp", "temperature_c"},
    {"power", "power_w"},
    {"clock", "clock_mhz"},
    {"util", "utilization_percent"},
    {"busy", "utilization_percent"},
    {"mem.used", "memory_used_bytes"},
    {"mem.total", "memory_total_bytes"},
    {"pci", "pci_address"},
};

const Field* find_field(std::string_view name) {
  for (const Alias& a : kAliases) {
    if (a.alias == name) {
      name = a.name;
    }
  }
  const auto it = std::ranges::find(kFields, name, &Field::name);
  return it == std::end(kFields) ? nullptr : &*it;
}

std::string csv_cell(const Value& value) {
  std::string text = to_text(value);
  if (text.find_first_of(",\"\n") == std::string::npos) {
    return text;
  }
  std::string quoted = "\"";
  for (char c : text) {
    quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  }
  return quoted + "\"";
}

nlohmann::json json_value(const Value& value) {
  return std::visit(
      [](const auto& v) -> nlohmann::json {
        if constexpr (std::is_same_v<std::decay_t<decltype(v)>, std::monostate>) {
          return nullptr;
        } else {
          return v;
        }
      },
      value);
}

}  // namespace

std::span<const Field> all_fields() {
  return kFields;
}

std::vector<const Field*> summary_fields() {
  return select_fields(
      "index,pci_address,temperature_c,power_w,clock_mhz,utilization_percent,memory_used_bytes,"
      "memory_total_bytes,processes,state");
}

std::vector<const Field*> select_fields(std::string_view list) {
  std::vector<const Field*> fields;
  while (!list.empty()) {
    const auto comma = list.find(',');
    const std::string_view name = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    if (name.empty()) {
      continue;
    }
    const Field* field = find_field(name);
    if (field == nullptr) {
      throw std::invalid_argument(
          fmt::format("unknown field '{}' (`npu-smi fields` lists them)", name));
    }
    fields.push_back(field);
  }
  if (fields.empty()) {
    throw std::invalid_argument("no field selected");
  }
  return fields;
}

Format parse_format(std::string_view text) {
  if (text == "table") {
    return Format::table;
  }
  if (text == "csv") {
    return Format::csv;
  }
  if (text == "json") {
    return Format::json;
  }
  throw std::invalid_argument(fmt::format("unknown format '{}': table, csv or json", text));
}

std::string to_text(const Value& value) {
  return std::visit(
      [](const auto& v) -> std::string {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          return {};
        } else if constexpr (std::is_same_v<T, std::string>) {
          return v;
        } else if constexpr (std::is_same_v<T, double>) {
          return fmt::format("{:.1f}", v);
        } else if constexpr (std::is_same_v<T, bool>) {
          return v ? "1" : "0";
        } else {
          return fmt::format("{}", v);
        }
      },
      value);
}

std::string render_csv(std::span<const Field* const> fields,
                       std::span<const DeviceSnapshot> devices, bool header) {
  std::string out;
  auto append_row = [&out](const std::vector<std::string>& cells) {
    for (std::size_t i = 0; i < cells.size(); ++i) {
      out += (i ? "," : "") + cells[i];
    }
    out += '\n';
  };
  if (header) {
    std::vector<std::string> names;
    for (const Field* f : fields) {
      names.emplace_back(f->name);
    }
    append_row(names);
  }
  for (const DeviceSnapshot& d : devices) {
    std::vector<std::string> cells;
    for (const Field* f : fields) {
      cells.push_back(csv_cell(f->get(d)));
    }
    append_row(cells);
  }
  return out;
}

nlohmann::json to_json(std::span<const Field* const> fields,
                       std::span<const DeviceSnapshot> devices) {
  nlohmann::json list = nlohmann::json::array();
  for (const DeviceSnapshot& d : devices) {
    nlohmann::json device = nlohmann::json::object();
    for (const Field* f : fields) {
      device[std::string(f->name)] = json_value(f->get(d));
    }
    list.push_back(std::move(device));
  }
  return {{"schema_version", kSchemaVersion}, {"devices", std::move(list)}};
}

std::string render_table(std::span<const Field* const> fields,
                         std::span<const DeviceSnapshot> devices) {
  std::vector<std::vector<std::string>> rows(1);
  for (const Field* f : fields) {
    rows[0].emplace_back(f->header);
  }
  for (const DeviceSnapshot& d : devices) {
    std::vector<std::string> row;
    for (const Field* f : fields) {
      row.push_back(table_text(*f, f->get(d)));
    }
    rows.push_back(std::move(row));
  }
  std::vector<std::size_t> widths(fields.size(), 0);
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += fmt::format("{}{:<{}}", i ? "  " : "", row[i], widths[i]);
    }
    line.erase(line.find_last_not_of(' ') + 1);
    out += line + '\n';
  }
  return out;
}

}  // namespace npu_smi
