// Node labels for node-feature-discovery (NFD): a "local" feature file that
// NFD's worker reads from /etc/kubernetes/node-feature-discovery/features.d/
// and publishes as labels of the node, so that pods can select nodes by NPU
// count, product, driver and firmware version and memory:
//
//   knpu.dev/npu.present=true
//   knpu.dev/npu.count=2
//   knpu.dev/npu.product=1234-4b4e
//   knpu.dev/npu.driver-version=1.0.0
//   knpu.dev/npu.firmware-version=1.0.0
//   knpu.dev/npu.memory-mib=256
//   knpu.dev/npu.cores=4
//
// A property the devices do not agree on (mixed cards) is labelled "mixed";
// one no device could report (node not openable) is left out.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "knpu_cluster/npu_description.hpp"

namespace knpu::cluster {

inline constexpr std::string_view kFeatureFilePath =
    "/etc/kubernetes/node-feature-discovery/features.d/knpu";

struct NodeLabel {
  std::string name;
  std::string value;

  bool operator==(const NodeLabel&) const = default;
};

std::vector<NodeLabel> make_node_labels(std::span<const NpuDescription> npus);

// A Kubernetes label value (at most 63 characters of [A-Za-z0-9._-],
// beginning and ending with an alphanumeric): other characters become '-'.
std::string label_value(std::string_view text);

// "name=value" lines, the format of NFD's local feature files.
std::string format_feature_file(std::span<const NodeLabel> labels);

}  // namespace knpu::cluster
