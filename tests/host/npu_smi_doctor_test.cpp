// npu-smi doctor's platform checks against made-up sysfs and /dev trees:
// each common fault gives its own finding, severity and fix.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "doctor.hpp"

namespace {

namespace fs = std::filesystem;

class NpuSmiDoctor : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("npu_smi_doctor_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(sys() / "bus/pci/devices");
    fs::create_directories(dev() / "accel");
  }
  void TearDown() override {
    std::error_code ec;
    fs::permissions(dev() / "accel/accel0", fs::perms::owner_all, ec);
    fs::remove_all(root_);
  }

  fs::path sys() const { return root_ / "sys"; }
  fs::path dev() const { return root_ / "dev"; }

  void write(const fs::path& path, std::string_view text) {
    fs::create_directories(path.parent_path());
    std::ofstream(path) << text << "\n";
  }
  void add_function(const std::string& address) {
    const fs::path pci = sys() / "bus/pci/devices" / address;
    write(pci / "vendor", "0x1234");
    write(pci / "device", "0x4b4e");
  }
  void load_module() { write(sys() / "module/knpu/version", "1.0.0"); }
  void bind(const std::string& address) {
    const fs::path pci = sys() / "bus/pci/devices" / address;
    fs::create_directories(sys() / "bus/pci/drivers/knpu");
    fs::create_directory_symlink(sys() / "bus/pci/drivers/knpu", pci / "driver");
    fs::create_directories(pci / "accel/accel0");
  }

  npu_smi::Finding last() {
    findings_ = npu_smi::check_platform(sys(), dev());
    EXPECT_FALSE(findings_.empty());
    return findings_.empty() ? npu_smi::Finding{} : findings_.back();
  }

  fs::path root_;
  std::vector<npu_smi::Finding> findings_;
};

TEST_F(NpuSmiDoctor, NoCard) {
  const npu_smi::Finding f = last();
  EXPECT_EQ(f.check, "pci");
  EXPECT_EQ(f.severity, npu_smi::ExitStatus::no_device);
  EXPECT_NE(f.fix.find("lspci -d 1234:4b4e"), std::string::npos);
}

TEST_F(NpuSmiDoctor, ModuleNotLoaded) {
  add_function("0000:01:00.0");
  const npu_smi::Finding f = last();
  EXPECT_EQ(f.check, "module");
  EXPECT_EQ(f.severity, npu_smi::ExitStatus::no_device);
  EXPECT_NE(f.fix.find("modprobe knpu"), std::string::npos);
}

TEST_F(NpuSmiDoctor, FunctionNotBound) {
  add_function("0000:01:00.0");
  load_module();
  const npu_smi::Finding f = last();
  EXPECT_EQ(f.check, "driver");
  EXPECT_NE(f.detail.find("0000:01:00.0 is not bound to knpu"), std::string::npos);
  EXPECT_NE(f.fix.find("dmesg"), std::string::npos);
}

TEST_F(NpuSmiDoctor, NodeMissing) {
  add_function("0000:01:00.0");
  load_module();
  bind("0000:01:00.0");
  const npu_smi::Finding f = last();
  EXPECT_EQ(f.check, "node");
  EXPECT_EQ(f.severity, npu_smi::ExitStatus::no_device);
  EXPECT_NE(f.fix.find("udevadm trigger"), std::string::npos);
}

TEST_F(NpuSmiDoctor, NoPermission) {
  if (::geteuid() == 0) {
    GTEST_SKIP() << "root passes every permission check";
  }
  add_function("0000:01:00.0");
  load_module();
  bind("0000:01:00.0");
  write(dev() / "accel/accel0", "");
  fs::permissions(dev() / "accel/accel0", fs::perms::none);
  const npu_smi::Finding f = last();
  EXPECT_EQ(f.check, "permission");
  EXPECT_EQ(f.severity, npu_smi::ExitStatus::no_permission);
  EXPECT_NE(f.fix.find("group render"), std::string::npos);
}

TEST_F(NpuSmiDoctor, AllGood) {
  add_function("0000:01:00.0");
  load_module();
  bind("0000:01:00.0");
  write(dev() / "accel/accel0", "");
  for (const npu_smi::Finding& f : npu_smi::check_platform(sys(), dev())) {
    EXPECT_EQ(f.severity, npu_smi::ExitStatus::ok) << npu_smi::format_finding(f);
  }
  EXPECT_EQ(last().check, "node");
}

TEST(NpuSmiDoctorFormat, OneLineWithTheFix) {
  EXPECT_EQ(npu_smi::format_finding({npu_smi::ExitStatus::no_permission, "permission",
                                     "/dev/accel/accel0: Permission denied", "join group render"}),
            "[FAIL] permission: /dev/accel/accel0: Permission denied -> fix: join group render");
  EXPECT_EQ(npu_smi::format_finding({npu_smi::ExitStatus::degraded, "thermal", "hot", "cool it"}),
            "[WARN] thermal: hot -> fix: cool it");
  EXPECT_EQ(npu_smi::format_finding({npu_smi::ExitStatus::ok, "pci", "2 functions", ""}),
            "[ ok ] pci: 2 functions");
}

}  // namespace
