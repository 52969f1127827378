// npu-smi doctor's platform checks against made-up sysfs and /dev trees:
// each common fault gives its own finding, severity and fix. And its error
// check over a window, on made-up counters.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
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

// The error check over a window: what rose, by how much, and at what rate
// per minute; the driver's resets count as errors.
npu_smi::DeviceSnapshot counters(std::uint64_t correctable, std::uint64_t uncorrectable,
                                 std::uint64_t resets, std::chrono::seconds at) {
  npu_smi::DeviceSnapshot d;
  d.index = 1;
  d.errors_correctable = correctable;
  d.errors_uncorrectable = uncorrectable;
  d.reset_count = resets;
  d.taken_steady = std::chrono::steady_clock::time_point(at);
  return d;
}

TEST(NpuSmiDoctorErrors, RisingCountersWithTheirRatePerMinute) {
  const auto findings = npu_smi::check_health_counters(counters(1, 0, 0, std::chrono::seconds(0)),
                                                       counters(3, 0, 1, std::chrono::seconds(30)));
  ASSERT_EQ(findings.size(), 1U);
  EXPECT_EQ(findings[0].check, "errors");
  EXPECT_EQ(findings[0].severity, npu_smi::ExitStatus::degraded);
  EXPECT_EQ(findings[0].detail,
            "device 1: error counters rising over 30.0 s: correctable +2 (4.0/min), "
            "uncorrectable +0 (0.0/min), driver resets +1 (2.0/min)");
  EXPECT_NE(findings[0].fix.find("dmesg"), std::string::npos);
}

TEST(NpuSmiDoctorErrors, AResetAloneIsRising) {
  const auto findings = npu_smi::check_health_counters(counters(0, 0, 2, std::chrono::seconds(0)),
                                                       counters(0, 0, 3, std::chrono::seconds(60)));
  ASSERT_EQ(findings.size(), 1U);
  EXPECT_EQ(findings[0].severity, npu_smi::ExitStatus::degraded);
  EXPECT_NE(findings[0].detail.find("driver resets +1 (1.0/min)"), std::string::npos)
      << findings[0].detail;
}

TEST(NpuSmiDoctorErrors, StillCountersAreOkOrAnOldUncorrectableError) {
  const auto quiet = npu_smi::check_health_counters(counters(5, 0, 1, std::chrono::seconds(0)),
                                                    counters(5, 0, 1, std::chrono::seconds(10)));
  ASSERT_EQ(quiet.size(), 1U);
  EXPECT_EQ(quiet[0].severity, npu_smi::ExitStatus::ok);
  EXPECT_EQ(quiet[0].detail, "device 1: 5 correctable, 0 uncorrectable; none rising over 10.0 s");
  const auto old = npu_smi::check_health_counters(counters(0, 2, 0, std::chrono::seconds(0)),
                                                  counters(0, 2, 0, std::chrono::seconds(10)));
  ASSERT_EQ(old.size(), 1U);
  EXPECT_EQ(old[0].severity, npu_smi::ExitStatus::degraded);
  EXPECT_EQ(old[0].detail, "device 1: 2 uncorrectable error(s) since power-on, none over 10.0 s");
}

TEST(NpuSmiDoctorErrors, AWindowUnderASecondIsTheChecksOwnTime) {
  npu_smi::DeviceSnapshot after = counters(5, 0, 1, std::chrono::seconds(0));
  after.taken_steady += std::chrono::milliseconds(40);
  const auto findings =
      npu_smi::check_health_counters(counters(5, 0, 1, std::chrono::seconds(0)), after);
  ASSERT_EQ(findings.size(), 1U);
  EXPECT_EQ(findings[0].detail,
            "device 1: 5 correctable, 0 uncorrectable; none rising during the checks "
            "(40 ms; -w SECONDS watches longer)");
}

}  // namespace
