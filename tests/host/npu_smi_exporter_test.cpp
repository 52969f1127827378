// npu-smi exporter's exposition text and listen address.
#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <sstream>

#include "exporter.hpp"

namespace {

npu_smi::DeviceSnapshot device() {
  npu_smi::DeviceSnapshot d;
  d.index = 1;
  d.pci_address = "0000:02:00.0";
  d.serial = "4b4e505500000002";
  d.hw_version = "1.0";
  d.fw_version = "1.0.0";
  d.driver_version = "knpu 1.0.0";
  d.state = "ok";
  d.temperature_c = 40.5;
  d.temperature_crit_c = 95;
  d.power_w = 25;
  d.clock_mhz = 500;
  d.clock_max_mhz = 1000;
  d.throttled = true;
  d.cores = 2;
  d.core_busy_ns = {1'500'000'000, 0};
  d.jobs_completed = 7;
  d.bytes_moved = 1024;
  d.errors_correctable = 2;
  d.errors_uncorrectable = 0;
  d.mmu_faults = 1;
  d.reset_count = 3;
  d.memory_total_bytes = 256ULL << 20;
  return d;
}

std::string sample_line(const std::string& text, const std::string& prefix) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with(prefix)) {
      return line;
    }
  }
  return {};
}

TEST(NpuSmiExporter, DeviceMetricsCarryLabelsAndBaseUnits) {
  const std::vector<npu_smi::DeviceSnapshot> devices = {device()};
  const std::string text = npu_smi::render_metrics(devices, {});
  const std::string labels = R"({device="1",pci_address="0000:02:00.0",serial="4b4e505500000002"})";
  EXPECT_EQ(sample_line(text, "knpu_temperature_celsius{"),
            "knpu_temperature_celsius" + labels + " 40.5");
  EXPECT_EQ(sample_line(text, "knpu_clock_hertz{"), "knpu_clock_hertz" + labels + " 500000000");
  EXPECT_EQ(sample_line(text, "knpu_throttled{"), "knpu_throttled" + labels + " 1");
  EXPECT_EQ(sample_line(text, "knpu_resets_total{"), "knpu_resets_total" + labels + " 3");
  EXPECT_EQ(
      sample_line(text, "knpu_core_busy_seconds_total{"),
      "knpu_core_busy_seconds_total" + labels.substr(0, labels.size() - 1) + R"(,core="0"} 1.5)");
  EXPECT_EQ(
      sample_line(text, "knpu_errors_total{"),
      "knpu_errors_total" + labels.substr(0, labels.size() - 1) + R"(,severity="correctable"} 2)");
  EXPECT_NE(text.find("# TYPE knpu_jobs_completed_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE knpu_power_watts gauge\n"), std::string::npos);
}

TEST(NpuSmiExporter, CountersEndInTotalAndEveryFamilyIsTyped) {
  const std::vector<npu_smi::DeviceSnapshot> devices = {device()};
  const std::string text = npu_smi::render_metrics(devices, {});
  const std::regex type_line(R"(# TYPE (\w+) (counter|gauge))");
  std::set<std::string> typed;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (std::regex_match(line, m, type_line)) {
      typed.insert(m[1]);
      EXPECT_EQ(m[2] == "counter", m[1].str().ends_with("_total")) << line;
    } else if (!line.starts_with("#")) {
      const std::string name = line.substr(0, line.find_first_of("{ "));
      EXPECT_TRUE(typed.contains(name)) << "untyped sample: " << line;
    }
  }
}

TEST(NpuSmiExporter, ProcessMetricsCarryTheContainerAndEscapeLabels) {
  npu_smi::ProcessScan scan;
  scan.processes.push_back({.pid = 42,
                            .command = "say \"hi\"\\",
                            .cgroup = "/system.slice/docker-c0ffee.scope",
                            .container_id = "c0ffee",
                            .pci_address = "0000:02:00.0",
                            .busy_ns = 250'000'000,
                            .memory_bytes = 8192,
                            .device_memory_bytes = 4096,
                            .clients = 1});
  scan.hidden = 2;
  const std::vector<npu_smi::DeviceSnapshot> devices = {device()};
  const std::string text = npu_smi::render_metrics(devices, scan);
  EXPECT_EQ(sample_line(text, "knpu_process_busy_seconds_total{"),
            R"(knpu_process_busy_seconds_total{device="1",pci_address="0000:02:00.0",)"
            R"(serial="4b4e505500000002",pid="42",command="say \"hi\"\\",)"
            R"(container_id="c0ffee",cgroup="/system.slice/docker-c0ffee.scope"} 0.25)");
  EXPECT_EQ(sample_line(text, "knpu_process_device_memory_bytes{"),
            R"(knpu_process_device_memory_bytes{device="1",pci_address="0000:02:00.0",)"
            R"(serial="4b4e505500000002",pid="42",command="say \"hi\"\\",)"
            R"(container_id="c0ffee",cgroup="/system.slice/docker-c0ffee.scope"} 4096)");
  EXPECT_EQ(sample_line(text, "knpu_hidden_processes "), "knpu_hidden_processes 2");
}

TEST(NpuSmiExporter, MissingValuesAreLeftOut) {
  npu_smi::DeviceSnapshot lost;
  lost.pci_address = "0000:03:00.0";
  lost.state = "lost";
  const std::vector<npu_smi::DeviceSnapshot> devices = {lost};
  const std::string text = npu_smi::render_metrics(devices, {});
  EXPECT_EQ(sample_line(text, "knpu_temperature_celsius{"), "");
  EXPECT_EQ(sample_line(text, "knpu_up{"),
            R"(knpu_up{device="0",pci_address="0000:03:00.0",serial=""} 0)");
}

TEST(NpuSmiExporter, ListenAddress) {
  const npu_smi::ListenAddress a = npu_smi::parse_listen_address("127.0.0.1:9400");
  EXPECT_EQ(a.host, "127.0.0.1");
  EXPECT_EQ(a.port, 9400);
  EXPECT_EQ(npu_smi::parse_listen_address("[::1]:80").host, "[::1]");
  EXPECT_THROW((void)npu_smi::parse_listen_address("9400"), std::invalid_argument);
  EXPECT_THROW((void)npu_smi::parse_listen_address("host:0"), std::invalid_argument);
  EXPECT_THROW((void)npu_smi::parse_listen_address("host:70000"), std::invalid_argument);
  EXPECT_THROW((void)npu_smi::parse_listen_address("host:94x"), std::invalid_argument);
}

}  // namespace
