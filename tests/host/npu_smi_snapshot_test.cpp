// npu-smi's reading of one device from a made-up sysfs tree: device memory
// comes from the driver's own accounting, not from the processes npu-smi
// happens to see.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "device_snapshot.hpp"
#include "npu/device.hpp"

namespace {

namespace fs = std::filesystem;

class NpuSmiSnapshot : public ::testing::Test {
 protected:
  void SetUp() override {
    sys_ = fs::temp_directory_path() /
           ("npu_smi_snapshot_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(sys_);
    info_.pci_address = "0000:01:00.0";
    // BAR2 is 128 MiB; the device has 64 MiB of it as memory.
    write("resource",
          "0x00000000fe000000 0x00000000fe0fffff 0x0000000000040200\n"
          "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
          "0x00000000e0000000 0x00000000e7ffffff 0x000000000014220c");
    write("num_cores", "4");
  }
  void TearDown() override { fs::remove_all(sys_); }

  void write(const std::string& name, std::string_view text) {
    const fs::path path = sys_ / "bus/pci/devices" / info_.pci_address / name;
    fs::create_directories(path.parent_path());
    std::ofstream(path) << text << "\n";
  }

  fs::path sys_;
  npu::DeviceInfo info_;
};

TEST_F(NpuSmiSnapshot, DeviceMemoryIsTheDriversAccountingNotTheVisibleProcesses) {
  write("memory_total_bytes", "67108864");
  write("memory_used_bytes", "4194304");
  std::vector<npu_smi::DeviceSnapshot> devices{npu_smi::read_device(info_, sys_)};
  EXPECT_EQ(devices[0].memory_total_bytes, 64ULL << 20);
  EXPECT_EQ(devices[0].memory_used_bytes, 4ULL << 20);

  // A visible process's host-memory buffers are not device memory used.
  npu_smi::ProcessScan scan;
  npu_smi::ProcessUsage app;
  app.pid = 42;
  app.pci_address = info_.pci_address;
  app.memory_bytes = 1ULL << 30;
  app.clients = 1;
  scan.processes.push_back(app);
  scan.hidden = 3;
  npu_smi::add_process_usage(devices, scan);
  EXPECT_EQ(devices[0].memory_used_bytes, 4ULL << 20);
  EXPECT_EQ(devices[0].processes, 1U);
}

TEST_F(NpuSmiSnapshot, NoDeviceMemoryIsUnknownNotZero) {
  const npu_smi::DeviceSnapshot d = npu_smi::read_device(info_, sys_);
  EXPECT_FALSE(d.memory_total_bytes);
  EXPECT_FALSE(d.memory_used_bytes);
}

}  // namespace
