#include "knpu_cluster/node_labels.hpp"

#include <gtest/gtest.h>

#include "npu_fixtures.hpp"

namespace knpu::cluster {
namespace {

TEST(NodeLabels, DescribeTwoEqualNpus) {
  const std::vector<NodeLabel> expected = {
      {"knpu.dev/npu.present", "true"},
      {"knpu.dev/npu.count", "2"},
      {"knpu.dev/npu.product", "1234-4b4e"},
      {"knpu.dev/npu.driver-version", "1.0.0"},
      {"knpu.dev/npu.firmware-version", "1.0.0"},
      {"knpu.dev/npu.memory-mib", "256"},
      {"knpu.dev/npu.cores", "4"},
  };
  EXPECT_EQ(make_node_labels(testing::two_npus()), expected);
}

TEST(NodeLabels, MixedAndUnknownProperties) {
  std::vector<NpuDescription> npus = testing::two_npus();
  npus[1].firmware_version = "1.1.0";
  npus[0].memory_bytes = 0;  // not openable: unknown
  npus[0].driver_version.clear();
  npus[1].driver_version.clear();
  const std::vector<NodeLabel> labels = make_node_labels(npus);
  const auto value_of = [&](std::string_view name) -> std::optional<std::string> {
    for (const NodeLabel& label : labels) {
      if (label.name == name) {
        return label.value;
      }
    }
    return std::nullopt;
  };
  EXPECT_EQ(value_of("knpu.dev/npu.firmware-version"), "mixed");
  EXPECT_EQ(value_of("knpu.dev/npu.memory-mib"), "256");
  EXPECT_EQ(value_of("knpu.dev/npu.driver-version"), std::nullopt);
}

TEST(NodeLabels, NoNpu) {
  const std::vector<NodeLabel> expected = {{"knpu.dev/npu.present", "false"},
                                           {"knpu.dev/npu.count", "0"}};
  EXPECT_EQ(make_node_labels({}), expected);
}

TEST(NodeLabels, ValuesAreValidKubernetesLabelValues) {
  EXPECT_EQ(label_value("1.0.0"), "1.0.0");
  EXPECT_EQ(label_value("1234:4b4e"), "1234-4b4e");
  EXPECT_EQ(label_value("-knpu 1.0 (beta)-"), "knpu-1.0--beta");
  EXPECT_EQ(label_value(std::string(70, 'a')), std::string(63, 'a'));
  EXPECT_EQ(label_value("::"), "");
}

TEST(NodeLabels, FeatureFileFormat) {
  const std::vector<NodeLabel> labels = {{"knpu.dev/npu.count", "2"}, {"a", "b"}};
  EXPECT_EQ(format_feature_file(labels), "knpu.dev/npu.count=2\na=b\n");
}

}  // namespace
}  // namespace knpu::cluster
