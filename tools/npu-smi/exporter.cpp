#include "exporter.hpp"

#include <fmt/format.h>
#include <httplib.h>

#include <charconv>
#include <csignal>
#include <map>
#include <optional>
#include <stdexcept>
#include <thread>

#include "shared_collection.hpp"

namespace npu_smi {
namespace {

// A label value with \, " and newline escaped (exposition format).
std::string escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

class MetricWriter {
 public:
  // A metric family: HELP and TYPE once, then its samples.
  void family(std::string_view name, std::string_view type, std::string_view help) {
    out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  }
  template <class T>
  void sample(std::string_view name, const std::string& labels, const std::optional<T>& value) {
    if (value) {
      sample(name, labels, *value);
    }
  }
  void sample(std::string_view name, const std::string& labels, double value) {
    out_ += fmt::format("{} {}\n", series(name, labels), value);
  }
  void sample(std::string_view name, const std::string& labels, std::uint64_t value) {
    out_ += fmt::format("{} {}\n", series(name, labels), value);
  }
  [[nodiscard]] std::string take() { return std::move(out_); }

 private:
  static std::string series(std::string_view name, const std::string& labels) {
    return labels.empty() ? std::string(name) : fmt::format("{}{{{}}}", name, labels);
  }

  std::string out_;
};

std::string device_labels(const DeviceSnapshot& d) {
  return fmt::format(R"(device="{}",pci_address="{}",serial="{}")", d.index, escape(d.pci_address),
                     escape(d.serial));
}

template <class Get>
void device_family(MetricWriter& w, std::span<const DeviceSnapshot> devices, std::string_view name,
                   std::string_view type, std::string_view help, Get get) {
  w.family(name, type, help);
  for (const DeviceSnapshot& d : devices) {
    w.sample(name, device_labels(d), get(d));
  }
}

std::optional<double> hertz(std::optional<std::uint64_t> mhz) {
  return mhz ? std::optional<double>(static_cast<double>(*mhz) * 1e6) : std::nullopt;
}

volatile std::sig_atomic_t g_stop = 0;

}  // namespace

std::string render_metrics(std::span<const DeviceSnapshot> devices, const ProcessScan& scan) {
  MetricWriter w;
  w.family("knpu_device_info", "gauge", "Identity of the device; the value is always 1.");
  for (const DeviceSnapshot& d : devices) {
    w.sample(
        "knpu_device_info",
        fmt::format(R"({},hw_version="{}",fw_version="{}",driver_version="{}")", device_labels(d),
                    escape(d.hw_version), escape(d.fw_version), escape(d.driver_version)),
        std::uint64_t{1});
  }
  device_family(w, devices, "knpu_up", "gauge",
                "1 if the device answers and has no fatal error, else 0.",
                [](const DeviceSnapshot& d) { return std::uint64_t{d.state == "ok"}; });
  device_family(w, devices, "knpu_temperature_celsius", "gauge", "Die temperature.",
                [](const DeviceSnapshot& d) { return d.temperature_c; });
  device_family(w, devices, "knpu_temperature_throttle_celsius", "gauge",
                "Temperature above which the device throttles its clock.",
                [](const DeviceSnapshot& d) { return d.temperature_crit_c; });
  device_family(w, devices, "knpu_power_watts", "gauge", "Board power.",
                [](const DeviceSnapshot& d) { return d.power_w; });
  device_family(w, devices, "knpu_clock_hertz", "gauge", "Compute clock.",
                [](const DeviceSnapshot& d) { return hertz(d.clock_mhz); });
  device_family(w, devices, "knpu_clock_max_hertz", "gauge", "Nominal compute clock.",
                [](const DeviceSnapshot& d) { return hertz(d.clock_max_mhz); });
  device_family(w, devices, "knpu_throttled", "gauge",
                "1 while the clock is reduced (see the reason in npu-smi).",
                [](const DeviceSnapshot& d) {
                  return d.throttled ? std::optional<std::uint64_t>(*d.throttled) : std::nullopt;
                });
  device_family(w, devices, "knpu_cores", "gauge", "Compute cores.",
                [](const DeviceSnapshot& d) { return std::uint64_t{d.cores}; });
  w.family("knpu_core_busy_seconds_total", "counter", "Time a core spent running jobs.");
  for (const DeviceSnapshot& d : devices) {
    for (std::size_t c = 0; c < d.core_busy_ns.size(); ++c) {
      w.sample("knpu_core_busy_seconds_total", fmt::format(R"({},core="{}")", device_labels(d), c),
               static_cast<double>(d.core_busy_ns[c]) / 1e9);
    }
  }
  device_family(w, devices, "knpu_jobs_completed_total", "counter",
                "Jobs the device completed successfully.",
                [](const DeviceSnapshot& d) { return d.jobs_completed; });
  device_family(w, devices, "knpu_moved_bytes_total", "counter", "Bytes read and written by jobs.",
                [](const DeviceSnapshot& d) { return d.bytes_moved; });
  w.family("knpu_errors_total", "counter", "Device errors by severity.");
  for (const DeviceSnapshot& d : devices) {
    w.sample("knpu_errors_total", device_labels(d) + R"(,severity="correctable")",
             d.errors_correctable);
    w.sample("knpu_errors_total", device_labels(d) + R"(,severity="uncorrectable")",
             d.errors_uncorrectable);
  }
  device_family(w, devices, "knpu_mmu_faults_total", "counter",
                "Device MMU faults since the last device reset.",
                [](const DeviceSnapshot& d) { return d.mmu_faults; });
  device_family(w, devices, "knpu_resets_total", "counter",
                "Device resets done by the driver since it bound the device.",
                [](const DeviceSnapshot& d) { return d.reset_count; });
  device_family(w, devices, "knpu_memory_total_bytes", "gauge", "On-board device memory.",
                [](const DeviceSnapshot& d) { return d.memory_total_bytes; });
  device_family(w, devices, "knpu_memory_used_bytes", "gauge",
                "On-board device memory allocated, by every process.",
                [](const DeviceSnapshot& d) { return d.memory_used_bytes; });

  std::map<std::string, const DeviceSnapshot*> by_address;
  for (const DeviceSnapshot& d : devices) {
    by_address[d.pci_address] = &d;
  }
  auto process_labels = [&](const ProcessUsage& p) {
    const auto it = by_address.find(p.pci_address);
    const std::string device = it == by_address.end()
                                   ? fmt::format(R"(pci_address="{}")", escape(p.pci_address))
                                   : device_labels(*it->second);
    return fmt::format(R"({},pid="{}",command="{}",container_id="{}",cgroup="{}")", device, p.pid,
                       escape(p.command), escape(p.container_id), escape(p.cgroup));
  };
  w.family("knpu_process_busy_seconds_total", "counter",
           "Device time used by a process's jobs (DRM fdinfo drm-engine-npu).");
  for (const ProcessUsage& p : scan.processes) {
    w.sample("knpu_process_busy_seconds_total", process_labels(p),
             static_cast<double>(p.busy_ns) / 1e9);
  }
  w.family("knpu_process_memory_bytes", "gauge",
           "Bytes of buffers a process holds (DRM fdinfo drm-total-*).");
  for (const ProcessUsage& p : scan.processes) {
    w.sample("knpu_process_memory_bytes", process_labels(p), p.memory_bytes);
  }
  w.family("knpu_process_device_memory_bytes", "gauge",
           "Of those, bytes in the device's own memory (DRM fdinfo drm-total-device).");
  for (const ProcessUsage& p : scan.processes) {
    w.sample("knpu_process_device_memory_bytes", process_labels(p), p.device_memory_bytes);
  }
  w.family("knpu_hidden_processes", "gauge",
           "Processes whose file descriptors the exporter may not read.");
  w.sample("knpu_hidden_processes", "", std::uint64_t{scan.hidden});
  return w.take();
}

ListenAddress parse_listen_address(std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    throw std::invalid_argument(fmt::format("'{}' is not HOST:PORT", text));
  }
  ListenAddress address{std::string(text.substr(0, colon)), 0};
  const std::string_view port = text.substr(colon + 1);
  const auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), address.port);
  if (error != std::errc{} || end != port.data() + port.size() || address.port < 1 ||
      address.port > 65535) {
    throw std::invalid_argument(fmt::format("'{}' is not a port number (1-65535)", port));
  }
  return address;
}

ExitStatus run_exporter(const ListenAddress& listen) {
  SharedCollection<std::string> metrics_page([] {
    ProcessScan scan;
    const std::vector<DeviceSnapshot> devices = snapshot_devices({}, &scan);
    return render_metrics(devices, scan);
  });
  httplib::Server server;
  server.Get("/metrics", [&metrics_page](const httplib::Request&, httplib::Response& response) {
    try {
      response.set_content(metrics_page.get(), "text/plain; version=0.0.4");
    } catch (const std::exception& e) {
      response.status = 500;
      response.set_content(fmt::format("npu-smi exporter: {}\n", e.what()), "text/plain");
    }
  });
  server.Get("/", [](const httplib::Request&, httplib::Response& response) {
    response.set_content("npu-smi exporter: metrics at /metrics\n", "text/plain");
  });

  // A connection that sends no request holds one of the server's few
  // threads until the read timeout (5 s by default): keep it short, so idle
  // or slow clients cannot hold a scrape past Prometheus's timeout.
  server.set_read_timeout(std::chrono::seconds(1));
  server.set_keep_alive_timeout(1);

  struct sigaction action {};
  action.sa_handler = [](int) { g_stop = 1; };
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);

  if (!server.bind_to_port(listen.host, listen.port)) {
    fmt::print(stderr, "npu-smi exporter: cannot listen on {}:{}\n", listen.host, listen.port);
    return ExitStatus::failure;
  }
  fmt::print(stderr, "npu-smi exporter: serving http://{}:{}/metrics\n", listen.host, listen.port);
  std::thread watcher([&server] {
    while (!g_stop) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    server.stop();
  });
  server.listen_after_bind();
  g_stop = 1;
  watcher.join();
  return ExitStatus::ok;
}

}  // namespace npu_smi
