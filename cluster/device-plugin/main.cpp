// npu-device-plugin: the knpu NPUs of a node as the Kubernetes extended
// resource knpu.dev/npu (kubelet device-plugin API v1beta1), their CDI spec,
// and their node-feature-discovery labels. See docs/kubernetes.md.
#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <exception>
#include <stop_token>
#include <thread>

#include "knpu_cluster/cluster_commands.hpp"
#include "plugin_server.hpp"

namespace {

volatile std::sig_atomic_t g_signalled = 0;

extern "C" void on_signal(int /*signal*/) {
  g_signalled = 1;
}

int serve(const knpu::cluster::PluginOptions& options) {
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::stop_source serve_stop;
  // Signal handlers may only set a flag; this thread turns it into a stop.
  const std::jthread signal_watch([&serve_stop](std::stop_token stop) {
    while (!stop.stop_requested() && g_signalled == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    serve_stop.request_stop();
  });
  return knpu::cluster::serve(options, serve_stop.get_token());
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Kubernetes device plugin, CDI spec and node labels for knpu NPUs"};
  app.require_subcommand(1);

  knpu::cluster::PluginOptions options;
  long long interval_ms = options.health.interval.count();
  long long probe_timeout_ms = options.health.probe_timeout.count();
  CLI::App* serve_command = app.add_subcommand("serve", "register with the kubelet and serve");
  serve_command
      ->add_option("--plugin-dir", options.plugin_dir, "the kubelet's device-plugin directory")
      ->capture_default_str();
  serve_command->add_option("--kubelet-socket", options.kubelet_socket,
                            "the kubelet's registration socket [PLUGIN_DIR/kubelet.sock]");
  serve_command->add_option("--endpoint", options.endpoint, "this plugin's socket in PLUGIN_DIR")
      ->capture_default_str();
  serve_command->add_option("--resource-name", options.resource_name, "extended resource name")
      ->capture_default_str();
  serve_command->add_option("--health-interval-ms", interval_ms, "time between health probes")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  serve_command
      ->add_option("--probe-timeout-ms", probe_timeout_ms,
                   "a probe job not done by then makes the device Unhealthy")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);

  knpu::cluster::ClusterCommands cluster_commands(app);

  CLI11_PARSE(app, argc, argv);
  try {
    if (*serve_command) {
      options.health.interval = std::chrono::milliseconds(interval_ms);
      options.health.probe_timeout = std::chrono::milliseconds(probe_timeout_ms);
      return serve(options);
    }
    cluster_commands.run(knpu::cluster::describe_npus());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "npu-device-plugin: %s\n", e.what());
    return 1;
  }
}
