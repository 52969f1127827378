// The device fields npu-smi reports, and the three output formats (table,
// CSV, JSON) over a selection of them. The schema (field names, types,
// units) is versioned: docs/npu-smi.md.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "device_snapshot.hpp"

namespace npu_smi {

// Bumped when a field changes meaning or type; adding a field keeps it.
inline constexpr int kSchemaVersion = 1;

// No value (unreadable, lost device), text, a count, a measurement, a flag.
using Value = std::variant<std::monostate, std::string, std::uint64_t, double, bool>;

struct Field {
  std::string_view name;    // CSV header and JSON key
  std::string_view header;  // table column
  std::string_view help;
  Value (*get)(const DeviceSnapshot&);
  std::uint64_t table_unit = 1;  // tables show counts divided by this (MiB for bytes)
};

std::span<const Field> all_fields();

// The fields of the summary table (npu-smi with no command).
std::vector<const Field*> summary_fields();

// "temperature_c,power_w" (names or aliases such as temp, power, clock,
// util) in order; throws std::invalid_argument naming an unknown field.
std::vector<const Field*> select_fields(std::string_view list);

enum class Format { table, csv, json };
Format parse_format(std::string_view text);  // throws std::invalid_argument

std::string render_csv(std::span<const Field* const> fields,
                       std::span<const DeviceSnapshot> devices, bool header);
nlohmann::json to_json(std::span<const Field* const> fields,
                       std::span<const DeviceSnapshot> devices);
std::string render_table(std::span<const Field* const> fields,
                         std::span<const DeviceSnapshot> devices);

// A value as text: "" for no value, doubles with one decimal.
std::string to_text(const Value& value);

}  // namespace npu_smi
