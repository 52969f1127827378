// The `cdi generate` and `labels` commands, with their options, on any
// CLI11 application: npu-device-plugin and npu-smi offer the same commands
// from this one implementation.
//
//   cdi generate [-o FILE]   the CDI spec of this node's NPUs (default: stdout)
//   labels [-o FILE]         the node-feature-discovery feature file
//                            (default: kFeatureFilePath)
//
// A file is written next to its final path and renamed over it, so readers
// (NFD, a container runtime's CDI cache) never see half of it.
#pragma once

#include <CLI/CLI.hpp>
#include <span>
#include <string>

#include "knpu_cluster/npu_description.hpp"

namespace knpu::cluster {

class ClusterCommands {
 public:
  // Adds the commands to APP; they must outlive its parse().
  explicit ClusterCommands(CLI::App& app);
  ClusterCommands(const ClusterCommands&) = delete;
  ClusterCommands& operator=(const ClusterCommands&) = delete;

  bool cdi_generate_parsed() const { return generate_->parsed(); }
  bool labels_parsed() const { return labels_->parsed(); }

  // Writes what the parsed command produces for NPUS. Throws
  // std::invalid_argument for `cdi generate` without NPUs (a spec needs a
  // device), std::system_error with the errno when the file cannot be
  // written.
  void run(std::span<const NpuDescription> npus) const;

 private:
  std::string cdi_output_ = "-";
  std::string labels_output_;
  CLI::App* generate_ = nullptr;
  CLI::App* labels_ = nullptr;
};

}  // namespace knpu::cluster
