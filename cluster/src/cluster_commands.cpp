#include "knpu_cluster/cluster_commands.hpp"

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <system_error>

#include "knpu_cluster/cdi_spec.hpp"
#include "knpu_cluster/node_labels.hpp"

namespace knpu::cluster {
namespace {

void write_file_atomically(const std::filesystem::path& path, const std::string& text) {
  if (path.has_parent_path()) {
    std::filesystem::create_directories(path.parent_path());
  }
  const std::filesystem::path temporary = path.string() + ".tmp";
  {
    // A failed open or write leaves its reason in errno: EACCES tells
    // npu-smi's exit status a permission error from others.
    errno = 0;
    std::ofstream out(temporary, std::ios::trunc);
    out << text;
    out.close();
    if (!out) {
      throw std::system_error(errno, std::generic_category(), "cannot write " + temporary.string());
    }
  }
  std::filesystem::rename(temporary, path);
}

// OUTPUT "-" is stdout.
void emit(const std::string& output, const std::string& text) {
  if (output == "-") {
    std::cout << text;
  } else {
    write_file_atomically(output, text);
  }
}

}  // namespace

ClusterCommands::ClusterCommands(CLI::App& app) : labels_output_(kFeatureFilePath) {
  CLI::App* cdi = app.add_subcommand("cdi", "Container Device Interface spec");
  cdi->require_subcommand(1);
  generate_ = cdi->add_subcommand("generate", "write the CDI spec of this node's NPUs");
  generate_
      ->add_option("-o,--output", cdi_output_,
                   "file, e.g. /var/run/cdi/knpu.dev-npu.json ('-': stdout)")
      ->capture_default_str();
  labels_ = app.add_subcommand("labels", "write the node-feature-discovery feature file");
  labels_->add_option("-o,--output", labels_output_, "file ('-': stdout)")->capture_default_str();
}

void ClusterCommands::run(std::span<const NpuDescription> npus) const {
  if (generate_->parsed()) {
    emit(cdi_output_, make_cdi_spec(npus).dump(2) + "\n");
  } else if (labels_->parsed()) {
    emit(labels_output_, format_feature_file(make_node_labels(npus)));
  }
}

}  // namespace knpu::cluster
