// Device-memory buffers: jobs fill and copy them with every byte checked, the
// CPU reaches them through the BAR, running out is out_of_device_memory and
// fdinfo counts them in their own region.
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "guest_device.hpp"

namespace guest {
namespace {

using namespace std::chrono_literals;

constexpr std::uint32_t kPattern = 0x5AA5'C33C;
constexpr std::uint64_t kPage = 4096;
constexpr std::uint64_t kMiB = 1 << 20;
constexpr npu::BufferOptions kDevice{.placement = npu::MemoryPlacement::device};

class DeviceMemory : public DeviceTest {
 protected:
  void SetUp() override {
    DeviceTest::SetUp();
    ASSERT_TRUE(device().properties().has(npu::Capability::device_memory))
        << "the device has memory: KNPU_CAP_DEVMEM must be set";
  }

  // Value of an fdinfo key of the device file in bytes: "drm-total-device:\t2 MiB"
  // (drm_print_memory_stats() drops the unit for sizes not in whole KiB).
  std::uint64_t fdinfo_bytes(const std::string& key) const {
    std::ifstream fdinfo("/proc/self/fdinfo/" + std::to_string(device().native_handle()));
    for (std::string line; std::getline(fdinfo, line);) {
      if (line.starts_with(key + ":")) {
        std::istringstream fields(line.substr(key.size() + 1));
        std::uint64_t value = 0;
        std::string unit;
        fields >> value >> unit;
        return value * (unit == "KiB" ? 1024 : unit == "MiB" ? kMiB : 1);
      }
    }
    ADD_FAILURE() << "no " << key << " in fdinfo";
    return 0;
  }
};

TEST_F(DeviceMemory, FillThenCopyEveryByte) {
  const npu::Kernel kernel = device().load_kernel(fill_copy_kernel());
  npu::Queue queue = device().create_queue();
  // Sizes below, at and above the 2 MiB device page.
  for (std::uint64_t bytes : {std::uint64_t{4}, std::uint64_t{4099}, 2 * kMiB, 5 * kMiB + 12}) {
    npu::Buffer src = device().allocate(bytes, kDevice);
    npu::Buffer dst = device().allocate(bytes, kDevice);
    EXPECT_EQ(dst.size(), (bytes + kPage - 1) / kPage * kPage);
    std::ranges::fill(dst.map(), std::byte{0x11});
    npu::KernelArguments args = kernel.make_arguments();
    args.set("dst", dst).set("src", src).set("bytes", bytes).set("pattern", kPattern);
    const npu::JobResult result = queue.submit(kernel, args).wait(60s);
    ASSERT_EQ(result.status, npu::JobStatus::ok) << npu::to_string(result.error);
    EXPECT_EQ(first_mismatch(src.map(), bytes, kPattern), -1) << bytes << " bytes, source";
    EXPECT_EQ(first_mismatch(dst.map(), bytes, kPattern), -1) << bytes << " bytes, destination";
    const auto tail = dst.map().subspan(bytes);
    EXPECT_TRUE(std::ranges::all_of(tail, [](std::byte b) { return b == std::byte{0x11}; }))
        << "the copy wrote past " << bytes << " bytes";
  }
}

TEST_F(DeviceMemory, CpuWritesThroughTheBarReachTheDevice) {
  const npu::Kernel copy = device().load_kernel(npu::assemble(R"(
.kernel copy
.arg buffer dst
.arg buffer src
.arg scalar bytes
    dma_copy @dst, @src, @bytes
)"));
  npu::Queue queue = device().create_queue();
  constexpr std::uint64_t kBytes = 3 * kMiB;
  npu::Buffer on_device = device().allocate(kBytes, kDevice);
  npu::Buffer on_host = device().allocate(kBytes);
  std::span<std::byte> in = on_device.map();
  for (std::size_t i = 0; i < in.size(); ++i) {
    in[i] = static_cast<std::byte>((i * 13 + i / 4093) & 0xff);
  }
  npu::KernelArguments args = copy.make_arguments();
  args.set("dst", on_host).set("src", on_device).set("bytes", kBytes);
  ASSERT_TRUE(queue.submit(copy, args).wait(60s).ok());
  const auto mismatch = std::ranges::mismatch(on_host.map(), on_device.map());
  EXPECT_EQ(mismatch.in1, on_host.map().end())
      << "first difference at byte " << (mismatch.in1 - on_host.map().begin());
}

TEST_F(DeviceMemory, NewBuffersAreZeroed) {
  for (int round = 0; round < 2; ++round) {
    npu::Buffer buffer = device().allocate(kMiB, kDevice);
    std::span<std::byte> bytes = buffer.map();
    ASSERT_TRUE(std::ranges::all_of(bytes, [](std::byte b) { return b == std::byte{0}; }))
        << "round " << round << ": device memory handed out with old contents";
    std::ranges::fill(bytes, std::byte{0xee});
  }
}

TEST_F(DeviceMemory, RunningOutIsOutOfDeviceMemory) {
  // The driver keeps one page for its reset canary (docs/uapi.md, "Device memory").
  const std::uint64_t total = device().properties().devmem_size - kPage;
  try {
    static_cast<void>(device().allocate(total + kPage, kDevice));
    FAIL() << "more than the device memory was allocated";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), npu::errc::out_of_device_memory) << e.what();
    EXPECT_NE(e.code(), std::errc::not_enough_memory) << "host memory is not what ran out";
  }
  {
    npu::Buffer all = device().allocate(total, kDevice);
    try {
      static_cast<void>(device().allocate(kPage, kDevice));
      FAIL() << "a page was allocated from a full device memory";
    } catch (const std::system_error& e) {
      EXPECT_EQ(e.code(), npu::errc::out_of_device_memory) << e.what();
    }
    // Host memory is another pool.
    EXPECT_EQ(device().allocate(kPage).size(), kPage);
  }
  EXPECT_EQ(device().allocate(total, kDevice).size(), total) << "freed device memory returns";
}

TEST_F(DeviceMemory, FdinfoCountsDeviceMemoryApart) {
  const std::uint64_t device_before = fdinfo_bytes("drm-total-device");
  const std::uint64_t system_before = fdinfo_bytes("drm-total-system");
  npu::Buffer on_device = device().allocate(2 * kMiB, kDevice);
  npu::Buffer on_host = device().allocate(kMiB);
  EXPECT_EQ(fdinfo_bytes("drm-total-device"), device_before + 2 * kMiB);
  EXPECT_EQ(fdinfo_bytes("drm-resident-device"), device_before + 2 * kMiB);
  EXPECT_EQ(fdinfo_bytes("drm-total-system"), system_before + kMiB);
}

TEST_F(DeviceMemory, IsNotExportedAsADmaBuf) {
  ASSERT_TRUE(device().properties().has(npu::Capability::dma_buf));
  npu::Buffer buffer = device().allocate(kPage, kDevice);
  try {
    static_cast<void>(buffer.export_dma_buf());
    FAIL() << "device memory exported without peer-to-peer support";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), npu::errc::not_supported) << e.what();
  }
}

// A fatal PCIe error through the harness's QMP bridge: the guest's AER driver
// resets the link, a conventional reset that clears device memory (hw-spec 9).
class DeviceMemoryAcrossALinkReset : public DeviceMemory {
 protected:
  void SetUp() override {
    DeviceMemory::SetUp();
    if (!IsSkipped() && !HasFatalFailure() && std::getenv("KNPU_QMP") == nullptr) {
      GTEST_SKIP() << "no QMP bridge: run in the knpu guest harness";
    }
  }

  static int inject_fatal_pcie_error() {
    return std::system(
        "\"$KNPU_QMP\" '{\"execute\": \"human-monitor-command\", \"arguments\": "
        "{\"command-line\": \"pcie_aer_inject_error knpu0 MALF_TLP\"}}' | grep -q '\"OK'");
  }
};

TEST_F(DeviceMemoryAcrossALinkReset, BuffersSayTheirContentsAreLost) {
  const npu::Kernel kernel = device().load_kernel(fill_copy_kernel());
  npu::Queue queue = device().create_queue();
  npu::Buffer before = device().allocate(kPage, kDevice);
  npu::Buffer on_host = device().allocate(kPage);
  std::ranges::fill(before.map(), std::byte{0x5a});
  EXPECT_FALSE(before.contents_lost());
  EXPECT_FALSE(on_host.contents_lost());
  const std::uint32_t resets = queue.status().reset_count;

  ASSERT_EQ(inject_fatal_pcie_error(), 0) << "pcie_aer_inject_error was refused";
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (queue.status().reset_count == resets && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_EQ(queue.status().reset_count, resets + 1) << "the link reset did not happen";

  EXPECT_TRUE(before.contents_lost());
  EXPECT_FALSE(on_host.contents_lost()) << "host memory survives every reset";
  npu::KernelArguments args = kernel.make_arguments();
  args.set("dst", on_host).set("src", before).set("bytes", kPage).set("pattern", kPattern);
  try {
    static_cast<void>(queue.submit(kernel, args));
    FAIL() << "a job ran on a buffer whose contents a reset cleared";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), npu::errc::contents_lost) << e.what();
  }
  // A new buffer works, on the same queue: the refused submission banned nothing.
  npu::Buffer after = device().allocate(kPage, kDevice);
  EXPECT_FALSE(after.contents_lost());
  args.set("src", after);
  const npu::JobResult result = queue.submit(kernel, args).wait(60s);
  ASSERT_EQ(result.status, npu::JobStatus::ok) << npu::to_string(result.error);
  EXPECT_EQ(first_mismatch(after.map(), kPage, kPattern), -1);
}

}  // namespace
}  // namespace guest
