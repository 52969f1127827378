#include "knpu_cluster/node_labels.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <functional>
#include <optional>

namespace knpu::cluster {
namespace {

constexpr std::string_view kLabelPrefix = "knpu.dev/npu.";
constexpr std::size_t kMaxLabelValue = 63;
constexpr std::uint64_t kMiB = 1024 * 1024;

bool is_alphanumeric(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0;
}

// The devices' common value of a property, "mixed" when they differ, nothing
// when no device knows it (an empty string is "unknown").
std::optional<std::string> common_value(
    std::span<const NpuDescription> npus,
    const std::function<std::string(const NpuDescription&)>& property) {
  std::optional<std::string> common;
  for (const NpuDescription& npu : npus) {
    const std::string value = property(npu);
    if (value.empty()) {
      continue;
    }
    if (common && *common != value) {
      return "mixed";
    }
    common = value;
  }
  return common;
}

}  // namespace

std::string label_value(std::string_view text) {
  std::string value(text.substr(0, kMaxLabelValue));
  std::ranges::replace_if(
      value, [](char c) { return !is_alphanumeric(c) && c != '.' && c != '_' && c != '-'; }, '-');
  const auto first = std::ranges::find_if(value, is_alphanumeric);
  const auto last = std::find_if(value.rbegin(), value.rend(), is_alphanumeric).base();
  return first < last ? std::string(first, last) : std::string();
}

std::vector<NodeLabel> make_node_labels(std::span<const NpuDescription> npus) {
  std::vector<NodeLabel> labels;
  const auto add = [&labels](std::string_view name, std::string_view value) {
    labels.push_back({fmt::format("{}{}", kLabelPrefix, name), label_value(value)});
  };
  add("present", npus.empty() ? "false" : "true");
  add("count", std::to_string(npus.size()));
  const std::pair<std::string_view, std::function<std::string(const NpuDescription&)>>
      properties[] = {
          {"product", [](const NpuDescription& n) { return product_id(n); }},
          {"driver-version", &NpuDescription::driver_version},
          {"firmware-version", &NpuDescription::firmware_version},
          {"memory-mib",
           [](const NpuDescription& n) {
             return n.memory_bytes == 0 ? std::string() : std::to_string(n.memory_bytes / kMiB);
           }},
          {"cores",
           [](const NpuDescription& n) {
             return n.cores == 0 ? std::string() : std::to_string(n.cores);
           }},
      };
  for (const auto& [name, property] : properties) {
    if (const std::optional<std::string> value = common_value(npus, property)) {
      add(name, *value);
    }
  }
  return labels;
}

std::string format_feature_file(std::span<const NodeLabel> labels) {
  std::string text;
  for (const NodeLabel& label : labels) {
    text += fmt::format("{}={}\n", label.name, label.value);
  }
  return text;
}

}  // namespace knpu::cluster
