// npu-smi: what admins and monitoring see of KNPU devices. See npu-smi.1
// and docs/npu-smi.md.
#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <csignal>
#include <optional>
#include <thread>

#include "device_snapshot.hpp"
#include "doctor.hpp"
#include "exit_status.hpp"
#include "exporter.hpp"
#include "fields.hpp"
#include "health.hpp"
#include "knpu_cluster/cluster_commands.hpp"
#include "npu/device.hpp"
#include "npu/errors.hpp"
#include "processes.hpp"
#include "reset.hpp"

namespace {

using npu_smi::ExitStatus;

constexpr auto kSampleWindow = std::chrono::milliseconds(200);

volatile std::sig_atomic_t g_interrupted = 0;

struct Options {
  std::string query;
  std::string format = "table";
  double loop_seconds = 0;
  int count = 0;  // iterations of the loop, 0: until interrupted
  std::vector<std::size_t> ids;
};

std::vector<npu_smi::DeviceSnapshot> selected(std::vector<npu_smi::DeviceSnapshot> all,
                                              const std::vector<std::size_t>& ids) {
  if (ids.empty()) {
    return all;
  }
  std::vector<npu_smi::DeviceSnapshot> out;
  for (npu_smi::DeviceSnapshot& d : all) {
    if (std::ranges::find(ids, d.index) != ids.end()) {
      out.push_back(std::move(d));
    }
  }
  return out;
}

ExitStatus no_device() {
  fmt::print(stderr, "npu-smi: no knpu device found (`npu-smi doctor` tells why)\n");
  return ExitStatus::no_device;
}

std::string human_summary(std::span<const npu_smi::DeviceSnapshot> devices,
                          const npu_smi::ProcessScan& scan) {
  std::string out = npu_smi::render_table(npu_smi::summary_fields(), devices);
  if (scan.processes.empty() && scan.hidden == 0) {
    return out;
  }
  return out + "\n" + npu_smi::render_processes(scan, devices, npu_smi::Format::table);
}

// One report of the devices: the summary, a field query or everything.
std::string render_devices(const std::vector<const npu_smi::Field*>* fields, npu_smi::Format format,
                           std::span<const npu_smi::DeviceSnapshot> devices,
                           const npu_smi::ProcessScan& scan, bool first, bool streaming) {
  switch (format) {
    case npu_smi::Format::csv:
      return npu_smi::render_csv(*fields, devices, first);
    case npu_smi::Format::json: {
      const nlohmann::json doc = npu_smi::to_json(*fields, devices);
      return (streaming ? doc.dump() : doc.dump(2)) + "\n";
    }
    case npu_smi::Format::table:
      break;
  }
  return fields == nullptr ? human_summary(devices, scan) : npu_smi::render_table(*fields, devices);
}

ExitStatus report(const Options& options, const std::vector<const npu_smi::Field*>* fields,
                  const std::vector<const npu_smi::Field*>& machine_fields) {
  const npu_smi::Format format = npu_smi::parse_format(options.format);
  const bool looping = options.loop_seconds > 0;
  const bool terminal = ::isatty(STDOUT_FILENO) != 0;
  std::signal(SIGINT, [](int) { g_interrupted = 1; });
  for (int iteration = 0; !g_interrupted; ++iteration) {
    const auto started = std::chrono::steady_clock::now();
    npu_smi::ProcessScan scan;
    const auto devices = selected(npu_smi::snapshot_devices(kSampleWindow, &scan), options.ids);
    if (devices.empty()) {
      return no_device();
    }
    // The summary is a table for people; scripts get its fields.
    const auto* chosen =
        fields == nullptr && format != npu_smi::Format::table ? &machine_fields : fields;
    const std::string text = render_devices(chosen, format, devices, scan, iteration == 0, looping);
    if (looping && format == npu_smi::Format::table && terminal) {
      fmt::print("\033[H\033[2J");  // home, clear: a clean redraw
    } else if (looping && format == npu_smi::Format::table && iteration > 0) {
      fmt::print("\n");
    }
    fmt::print("{}", text);
    std::fflush(stdout);
    if (!looping || (options.count > 0 && iteration + 1 >= options.count)) {
      break;
    }
    const auto next = started + std::chrono::duration<double>(options.loop_seconds);
    while (!g_interrupted && std::chrono::steady_clock::now() < next) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  return ExitStatus::ok;
}

ExitStatus list_devices() {
  const std::vector<npu::DeviceInfo> infos = npu::enumerate_devices();
  if (infos.empty()) {
    return no_device();
  }
  for (const npu::DeviceInfo& info : infos) {
    const npu_smi::DeviceSnapshot d = npu_smi::read_device(info);
    fmt::print("NPU {}: {} {} (serial {}, hw {}, fw {})\n", d.index, d.pci_address, d.device_node,
               d.serial, d.hw_version, d.fw_version);
  }
  return ExitStatus::ok;
}

ExitStatus query_all(const Options& options) {
  std::vector<const npu_smi::Field*> fields;
  for (const npu_smi::Field& f : npu_smi::all_fields()) {
    fields.push_back(&f);
  }
  if (npu_smi::parse_format(options.format) != npu_smi::Format::table) {
    return report(options, &fields, fields);
  }
  npu_smi::ProcessScan scan;
  const auto devices = selected(npu_smi::snapshot_devices(kSampleWindow, &scan), options.ids);
  if (devices.empty()) {
    return no_device();
  }
  for (const npu_smi::DeviceSnapshot& d : devices) {
    fmt::print("NPU {}\n", d.index);
    for (const npu_smi::Field* f : fields) {
      const std::string text = npu_smi::to_text(f->get(d));
      fmt::print("  {:<22} {}\n", f->name, text.empty() ? "N/A" : text);
    }
  }
  return ExitStatus::ok;
}

ExitStatus list_fields() {
  for (const npu_smi::Field& f : npu_smi::all_fields()) {
    fmt::print("{:<22} {}\n", f.name, f.help);
  }
  return ExitStatus::ok;
}

ExitStatus show_processes(const Options& options) {
  npu_smi::ProcessScan scan;
  const auto devices = selected(npu_smi::snapshot_devices({}, &scan), options.ids);
  if (devices.empty()) {
    return no_device();
  }
  fmt::print("{}", npu_smi::render_processes(scan, devices, npu_smi::parse_format(options.format)));
  return ExitStatus::ok;
}

ExitStatus validate(const Options& options) {
  const std::vector<npu::DeviceInfo> infos = npu::enumerate_devices();
  std::size_t passed = 0;
  std::size_t tried = 0;
  for (const npu::DeviceInfo& info : infos) {
    if (!options.ids.empty() && std::ranges::find(options.ids, info.index) == options.ids.end()) {
      continue;
    }
    ++tried;
    const npu_smi::HealthResult r = npu_smi::run_health_job(info.index);
    if (r.passed) {
      ++passed;
      fmt::print("NPU {} ({}): PASS  fill+copy 1 MiB {}, empty job round trip min {} median {}\n",
                 info.index, info.pci_address, npu_smi::format_us(r.fill_copy),
                 npu_smi::format_us(r.empty_job_min), npu_smi::format_us(r.empty_job_median));
    } else {
      fmt::print("NPU {} ({}): FAIL  {}\n", info.index, info.pci_address, r.error);
    }
  }
  if (tried == 0) {
    return no_device();
  }
  fmt::print("Validation: {} of {} device(s) passed\n", passed, tried);
  return passed == tried ? ExitStatus::ok : ExitStatus::device_error;
}

// `cdi generate` and `labels`: knpu::cluster's, as in npu-device-plugin.
ExitStatus write_cluster_file(const knpu::cluster::ClusterCommands& commands) {
  const std::vector<knpu::cluster::NpuDescription> npus = knpu::cluster::describe_npus();
  if (npus.empty() && commands.cdi_generate_parsed()) {
    return no_device();  // labels say present=false instead
  }
  commands.run(npus);
  return ExitStatus::ok;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"npu-smi: KNPU devices for admins and monitoring."};
  app.footer(
      "Exit status: 0 ok; 1 unexpected error; 2 usage; 3 no device (module, PCI function or node "
      "missing); 4 no permission; 5 device error (lost, wedged, failed job or reset); 6 uapi "
      "version mismatch; 7 doctor found something that needs attention. See npu-smi(1).");
  app.require_subcommand(0, 1);

  Options options;
  app.add_option("-q,--query", options.query,
                 "fields to report, comma-separated (`npu-smi fields` lists them)");
  app.add_option("-f,--format", options.format, "table, csv or json")
      ->check(CLI::IsMember({"table", "csv", "json"}));
  app.add_option("-l,--loop", options.loop_seconds, "report again every SECONDS")
      ->check(CLI::PositiveNumber);
  app.add_option("-c,--count", options.count, "with --loop: stop after N reports")
      ->check(CLI::NonNegativeNumber);
  app.add_option("-i,--id", options.ids, "only these device indices")->delimiter(',');

  // -q, -f, -l, -c and -i also after a command: `npu-smi ps -f json`.
  app.fallthrough();
  CLI::App* list = app.add_subcommand("list", "one line per device (like nvidia-smi -L)");
  CLI::App* query = app.add_subcommand("query", "every field of every device");
  CLI::App* fields = app.add_subcommand("fields", "the fields of --query and what they mean");
  CLI::App* ps = app.add_subcommand("ps", "processes using the devices (from DRM fdinfo)");
  ps->alias("processes");
  bool no_job = false;
  double window_seconds = 0;
  CLI::App* doctor = app.add_subcommand("doctor", "explain what is wrong, with the fix");
  doctor->add_flag("--no-job", no_job, "skip the health job");
  doctor
      ->add_option("-w,--window", window_seconds,
                   "watch the error counters for SECONDS (default: as long as the checks take)")
      ->check(CLI::NonNegativeNumber);
  CLI::App* validate_cmd = app.add_subcommand("validate", "run the health job on each device");
  std::size_t reset_index = 0;
  CLI::App* reset = app.add_subcommand("reset", "reset a device and check that it works");
  reset->add_option("-i,--id", reset_index, "the device index")->required();
  std::string listen = "127.0.0.1:9400";
  CLI::App* exporter = app.add_subcommand("exporter", "serve Prometheus metrics");
  exporter->add_option("--listen", listen, "HOST:PORT to serve /metrics on");
  knpu::cluster::ClusterCommands cluster_commands(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int status = app.exit(e);
    return status == 0 ? 0 : npu_smi::to_int(ExitStatus::usage);
  }

  try {
    ExitStatus status = ExitStatus::ok;
    if (list->parsed()) {
      status = list_devices();
    } else if (query->parsed()) {
      status = query_all(options);
    } else if (fields->parsed()) {
      status = list_fields();
    } else if (ps->parsed()) {
      status = show_processes(options);
    } else if (doctor->parsed()) {
      status = npu_smi::run_doctor(
          {.run_job = !no_job, .window = std::chrono::duration<double>(window_seconds)});
    } else if (validate_cmd->parsed()) {
      status = validate(options);
    } else if (reset->parsed()) {
      status = npu_smi::reset_device(reset_index);
    } else if (exporter->parsed()) {
      status = npu_smi::run_exporter(npu_smi::parse_listen_address(listen));
    } else if (cluster_commands.cdi_generate_parsed() || cluster_commands.labels_parsed()) {
      if (!options.ids.empty()) {
        throw std::invalid_argument(
            "-i does not apply to cdi generate and labels: they describe every device of the "
            "node (KNPU_VISIBLE_DEVICES chooses which)");
      }
      status = write_cluster_file(cluster_commands);
    } else if (!options.query.empty()) {
      const auto chosen = npu_smi::select_fields(options.query);
      status = report(options, &chosen, chosen);
    } else {
      status = report(options, nullptr, npu_smi::summary_fields());
    }
    return npu_smi::to_int(status);
  } catch (const std::invalid_argument& e) {
    fmt::print(stderr, "npu-smi: {}\n", e.what());
    return npu_smi::to_int(ExitStatus::usage);
  } catch (const std::system_error& e) {
    fmt::print(stderr, "npu-smi: {}\n", e.what());
    return npu_smi::to_int(e.code() == npu::errc::no_permission ? ExitStatus::no_permission
                           : e.code() == npu::errc::device_lost ? ExitStatus::device_error
                                                                : ExitStatus::failure);
  } catch (const std::exception& e) {
    fmt::print(stderr, "npu-smi: {}\n", e.what());
    return npu_smi::to_int(ExitStatus::failure);
  }
}
