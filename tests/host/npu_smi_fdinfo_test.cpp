// npu-smi's fdinfo parsing and process scan, against made-up /proc trees
// holding what knpu's show_fdinfo prints.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "fdinfo.hpp"

namespace {

namespace fs = std::filesystem;

constexpr std::string_view kKnpuFdinfo =
    "pos:\t0\nflags:\t02100002\nmnt_id:\t26\nino:\t123\n"
    "drm-driver:\tknpu\n"
    "drm-client-id:\t7\n"
    "drm-pdev:\t0000:01:00.0\n"
    "drm-engine-npu:\t123456789 ns\n"
    "drm-engine-capacity-npu:\t4\n"
    "drm-total-system:\t1 MiB\n"
    "drm-shared-system:\t0\n"
    "drm-resident-system:\t1 MiB\n"
    "drm-active-system:\t12 KiB\n"
    "drm-total-device:\t2 MiB\n"
    "drm-shared-device:\t0\n"
    "drm-resident-device:\t2 MiB\n"
    "drm-active-device:\t0\n";

TEST(NpuSmiFdinfo, ParsesAKnpuClient) {
  const auto client = npu_smi::parse_fdinfo(kKnpuFdinfo);
  ASSERT_TRUE(client.has_value());
  EXPECT_EQ(client->client_id, 7U);
  EXPECT_EQ(client->pci_address, "0000:01:00.0");
  EXPECT_EQ(client->busy_ns, 123456789U);
  EXPECT_EQ(client->capacity, 4U);
  EXPECT_EQ(client->memory.at("total-system"), 1U << 20);
  EXPECT_EQ(client->memory.at("active-system"), 12U << 10);
  EXPECT_EQ(client->memory_bytes(), 3U << 20);
  EXPECT_EQ(client->device_memory_bytes(), 2U << 20);
}

TEST(NpuSmiFdinfo, IgnoresOtherDriversAndPlainFiles) {
  EXPECT_FALSE(npu_smi::parse_fdinfo("pos:\t0\nflags:\t0100002\n").has_value());
  EXPECT_FALSE(npu_smi::parse_fdinfo("drm-driver:\ti915\ndrm-client-id:\t3\n").has_value());
  // A knpu file without a client id cannot be told apart from its duplicates.
  EXPECT_FALSE(npu_smi::parse_fdinfo("drm-driver:\tknpu\n").has_value());
}

TEST(NpuSmiFdinfo, DrmSizes) {
  EXPECT_EQ(npu_smi::parse_drm_size("4096"), 4096U);
  EXPECT_EQ(npu_smi::parse_drm_size("4 KiB"), 4096U);
  EXPECT_EQ(npu_smi::parse_drm_size("2 GiB"), 2ULL << 30);
  EXPECT_FALSE(npu_smi::parse_drm_size("4 KB").has_value());
  EXPECT_FALSE(npu_smi::parse_drm_size("lots").has_value());
}

TEST(NpuSmiFdinfo, ContainerIdFromCgroup) {
  EXPECT_EQ(npu_smi::container_id_from_cgroup("0::/system.slice/docker-0123abcd.scope\n"),
            "0123abcd");
  EXPECT_EQ(npu_smi::container_id_from_cgroup(
                "0::/kubepods.slice/kubepods-pod1.slice/cri-containerd-feed42.scope\n"),
            "feed42");
  EXPECT_EQ(npu_smi::container_id_from_cgroup("0::/user.slice/user-1000.slice/session-2.scope\n"),
            "2");
  EXPECT_EQ(npu_smi::container_id_from_cgroup("0::/\n"), "");
  EXPECT_EQ(npu_smi::cgroup_path("12:cpu:/x\n0::/a/b\n"), "/a/b");
}

class NpuSmiProcScan : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("npu_smi_proc_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
             "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  void write(const fs::path& relative, std::string_view text) {
    fs::create_directories((root_ / relative).parent_path());
    std::ofstream(root_ / relative) << text;
  }

  fs::path root_;
};

TEST_F(NpuSmiProcScan, OneRowPerProcessAndDeviceDuplicatesCountedOnce) {
  write("42/comm", "infer\n");
  write("42/cgroup", "0::/system.slice/docker-c0ffee.scope\n");
  write("42/cmdline", "infer");
  write("42/fdinfo/3", kKnpuFdinfo);
  write("42/fdinfo/4", kKnpuFdinfo);  // dup() of the same file: same client id
  write("42/fdinfo/5",
        "drm-driver:\tknpu\ndrm-client-id:\t9\ndrm-pdev:\t0000:02:00.0\n"
        "drm-engine-npu:\t5 ns\ndrm-total-system:\t4096\ndrm-total-device:\t0\n");
  write("42/fdinfo/0", "pos:\t0\nflags:\t02\n");
  write("7/comm", "bash\n");
  write("7/cmdline", "bash");
  write("7/fdinfo/0", "pos:\t0\n");
  write("self/comm", "not a pid\n");

  const npu_smi::ProcessScan scan = npu_smi::scan_processes(root_);
  ASSERT_EQ(scan.processes.size(), 2U);
  EXPECT_EQ(scan.hidden, 0U);
  const npu_smi::ProcessUsage& first = scan.processes[0];
  EXPECT_EQ(first.pid, 42);
  EXPECT_EQ(first.command, "infer");
  EXPECT_EQ(first.pci_address, "0000:01:00.0");
  EXPECT_EQ(first.clients, 1U);
  EXPECT_EQ(first.busy_ns, 123456789U);
  EXPECT_EQ(first.memory_bytes, 3U << 20);
  EXPECT_EQ(first.device_memory_bytes, 2U << 20);
  EXPECT_EQ(first.container_id, "c0ffee");
  EXPECT_EQ(first.cgroup, "/system.slice/docker-c0ffee.scope");
  EXPECT_EQ(scan.processes[1].pci_address, "0000:02:00.0");
  EXPECT_EQ(scan.processes[1].busy_ns, 5U);
  EXPECT_EQ(scan.processes[1].memory_bytes, 4096U);
  EXPECT_EQ(scan.processes[1].device_memory_bytes, 0U);
}

TEST_F(NpuSmiProcScan, UnreadableProcessIsHiddenNotAnError) {
  if (::geteuid() == 0) {
    GTEST_SKIP() << "root reads every fdinfo directory";
  }
  write("42/cmdline", "secret");
  write("42/fdinfo/3", kKnpuFdinfo);
  fs::permissions(root_ / "42/fdinfo", fs::perms::none);
  const npu_smi::ProcessScan scan = npu_smi::scan_processes(root_);
  fs::permissions(root_ / "42/fdinfo", fs::perms::owner_all);
  EXPECT_TRUE(scan.processes.empty());
  EXPECT_EQ(scan.hidden, 1U);
}

}  // namespace
