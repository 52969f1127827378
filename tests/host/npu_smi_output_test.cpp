// npu-smi's field selection and its table, CSV and JSON output, and the
// exit status order.
#include <gtest/gtest.h>

#include <set>

#include "exit_status.hpp"
#include "fields.hpp"
#include "processes.hpp"

namespace {

npu_smi::DeviceSnapshot device(std::size_t index) {
  npu_smi::DeviceSnapshot d;
  d.index = index;
  d.pci_address = "0000:0" + std::to_string(index + 1) + ":00.0";
  d.serial = "4b4e50550000000" + std::to_string(index + 1);
  d.state = "ok";
  d.temperature_c = 41.25;
  d.power_w = 27.5;
  d.clock_mhz = 1000;
  d.throttled = false;
  d.cores = 2;
  d.core_busy_ns = {1000, 2000};
  d.memory_total_bytes = 256ULL << 20;
  d.memory_used_bytes = 4096;
  d.processes = 1;
  return d;
}

TEST(NpuSmiFields, SelectByNameAndAlias) {
  const auto fields = npu_smi::select_fields("temp,power_w,util,pci");
  ASSERT_EQ(fields.size(), 4U);
  EXPECT_EQ(fields[0]->name, "temperature_c");
  EXPECT_EQ(fields[1]->name, "power_w");
  EXPECT_EQ(fields[2]->name, "utilization_percent");
  EXPECT_EQ(fields[3]->name, "pci_address");
}

TEST(NpuSmiFields, UnknownFieldIsNamed) {
  try {
    (void)npu_smi::select_fields("temp,bogus");
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("'bogus'"), std::string::npos);
  }
  EXPECT_THROW((void)npu_smi::select_fields(","), std::invalid_argument);
  EXPECT_THROW((void)npu_smi::parse_format("xml"), std::invalid_argument);
}

TEST(NpuSmiFields, FieldNamesAreUniqueSnakeCase) {
  std::set<std::string_view> names;
  for (const npu_smi::Field& f : npu_smi::all_fields()) {
    EXPECT_TRUE(names.insert(f.name).second) << f.name;
    EXPECT_EQ(f.name.find_first_not_of("abcdefghijklmnopqrstuvwxyz_"), std::string_view::npos)
        << f.name;
  }
}

TEST(NpuSmiOutput, CsvHasHeaderOnceAndEmptyForMissing) {
  const std::vector<npu_smi::DeviceSnapshot> devices = {device(0), device(1)};
  const auto fields = npu_smi::select_fields("index,temperature_c,busy_ns,utilization_percent");
  EXPECT_EQ(npu_smi::render_csv(fields, devices, true),
            "index,temperature_c,busy_ns,utilization_percent\n0,41.2,3000,\n1,41.2,3000,\n");
  EXPECT_EQ(npu_smi::render_csv(fields, devices, false), "0,41.2,3000,\n1,41.2,3000,\n");
}

TEST(NpuSmiOutput, JsonIsVersionedAndTyped) {
  const std::vector<npu_smi::DeviceSnapshot> devices = {device(0)};
  const auto fields =
      npu_smi::select_fields("index,pci_address,temperature_c,throttled,utilization_percent");
  const nlohmann::json doc = npu_smi::to_json(fields, devices);
  EXPECT_EQ(doc["schema_version"], npu_smi::kSchemaVersion);
  const nlohmann::json& d = doc["devices"][0];
  EXPECT_EQ(d["index"], 0);
  EXPECT_EQ(d["pci_address"], "0000:01:00.0");
  EXPECT_DOUBLE_EQ(d["temperature_c"].get<double>(), 41.25);
  EXPECT_EQ(d["throttled"], false);
  EXPECT_TRUE(d["utilization_percent"].is_null());
}

TEST(NpuSmiOutput, TableAlignsColumnsAndMarksMissing) {
  const std::vector<npu_smi::DeviceSnapshot> devices = {device(0)};
  const auto fields = npu_smi::select_fields("index,power_w,utilization_percent");
  EXPECT_EQ(npu_smi::render_table(fields, devices), "#  Power W  Busy %\n0  27.5     -\n");
}

TEST(NpuSmiOutput, TablesShowMemoryInMiBMachineFormatsInBytes) {
  npu_smi::DeviceSnapshot d = device(0);
  d.memory_used_bytes = (5ULL << 20) + 4096;
  const std::vector<npu_smi::DeviceSnapshot> devices = {d};
  const auto fields = npu_smi::select_fields("mem.used,mem.total");
  EXPECT_EQ(npu_smi::render_table(fields, devices),
            "Mem used MiB  Mem total MiB\n5             256\n");
  EXPECT_EQ(npu_smi::render_csv(fields, devices, true),
            "memory_used_bytes,memory_total_bytes\n5246976,268435456\n");
}

TEST(NpuSmiOutput, UtilizationFromBusyTime) {
  npu_smi::DeviceSnapshot before = device(0);
  npu_smi::DeviceSnapshot now = device(0);
  now.taken_steady = before.taken_steady + std::chrono::milliseconds(100);
  // 2 cores x 100 ms = 200 ms of capacity; 50 ms busy = 25 %.
  now.core_busy_ns = {1000 + 20'000'000, 2000 + 30'000'000};
  npu_smi::add_utilization(now, before);
  ASSERT_TRUE(now.utilization_percent.has_value());
  EXPECT_NEAR(*now.utilization_percent, 25.0, 1e-9);
}

TEST(NpuSmiOutput, ProcessesAsCsvAndJson) {
  npu_smi::ProcessScan scan;
  scan.processes.push_back({.pid = 42,
                            .command = "infer, v2",
                            .cgroup = "/a",
                            .container_id = "c0ffee",
                            .pci_address = "0000:02:00.0",
                            .busy_ns = 5,
                            .memory_bytes = 4096,
                            .device_memory_bytes = 1024,
                            .clients = 1});
  npu_smi::ProcessUsage elsewhere;
  elsewhere.pid = 43;
  elsewhere.pci_address = "0000:09:00.0";  // not a visible device
  scan.processes.push_back(elsewhere);
  scan.hidden = 3;
  const std::vector<npu_smi::DeviceSnapshot> devices = {device(0), device(1)};
  EXPECT_EQ(npu_smi::render_processes(scan, devices, npu_smi::Format::csv),
            "pid,command,device,pci_address,clients,busy_ns,memory_bytes,cgroup,container_id,"
            "device_memory_bytes\n"
            "42,\"infer, v2\",1,0000:02:00.0,1,5,4096,/a,c0ffee,1024\n");
  const auto doc =
      nlohmann::json::parse(npu_smi::render_processes(scan, devices, npu_smi::Format::json));
  EXPECT_EQ(doc["hidden_processes"], 3);
  ASSERT_EQ(doc["processes"].size(), 1U);
  EXPECT_EQ(doc["processes"][0]["device"], 1);
  EXPECT_EQ(doc["processes"][0]["device_memory_bytes"], 1024);
  const std::string table = npu_smi::render_processes(scan, devices, npu_smi::Format::table);
  EXPECT_NE(table.find("3 other process(es) hidden"), std::string::npos);
}

TEST(NpuSmiExitStatus, StableValuesAndOrder) {
  using npu_smi::ExitStatus;
  EXPECT_EQ(npu_smi::to_int(ExitStatus::ok), 0);
  EXPECT_EQ(npu_smi::to_int(ExitStatus::usage), 2);
  EXPECT_EQ(npu_smi::to_int(ExitStatus::no_device), 3);
  EXPECT_EQ(npu_smi::to_int(ExitStatus::no_permission), 4);
  EXPECT_EQ(npu_smi::to_int(ExitStatus::device_error), 5);
  EXPECT_EQ(npu_smi::to_int(ExitStatus::version_mismatch), 6);
  EXPECT_EQ(npu_smi::to_int(ExitStatus::degraded), 7);
  EXPECT_EQ(npu_smi::worse(ExitStatus::ok, ExitStatus::degraded), ExitStatus::degraded);
  EXPECT_EQ(npu_smi::worse(ExitStatus::device_error, ExitStatus::degraded),
            ExitStatus::device_error);
  EXPECT_EQ(npu_smi::worse(ExitStatus::no_permission, ExitStatus::no_device),
            ExitStatus::no_device);
}

}  // namespace
