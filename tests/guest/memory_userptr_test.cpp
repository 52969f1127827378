// userptr buffers: process memory used by jobs with every byte checked,
// read-only wrapping enforced by the device MMU, bad ranges refused, and
// the per-file limit on pinned memory (module parameter pinned_limit_mb).
#include <drm/knpu_accel.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <string>

#include "guest_device.hpp"
#include "process_memory.hpp"

namespace guest {
namespace {

using namespace std::chrono_literals;

constexpr std::uint32_t kPattern = 0x0BAD'F00D;
constexpr std::size_t kPage = 4096;
constexpr std::size_t kMiB = 1 << 20;

// Sets knpu's pinned_limit_mb for the test's duration.
class PinnedLimit {
 public:
  explicit PinnedLimit(unsigned mib) : old_(read()) { write(std::to_string(mib)); }
  ~PinnedLimit() { write(old_); }
  PinnedLimit(const PinnedLimit&) = delete;
  PinnedLimit& operator=(const PinnedLimit&) = delete;

 private:
  static constexpr const char* kPath = "/sys/module/knpu/parameters/pinned_limit_mb";
  static std::string read() {
    std::string value;
    std::ifstream(kPath) >> value;
    return value;
  }
  static void write(const std::string& value) { std::ofstream(kPath) << value << '\n'; }
  std::string old_;
};

class UserMemory : public DeviceTest {
 protected:
  void SetUp() override {
    DeviceTest::SetUp();
    ASSERT_TRUE(device().properties().has(npu::Capability::userptr));
  }

  // The raw ioctl, for arguments libnpu would not pass.
  int userptr_errno(std::uint64_t address, std::uint64_t size, std::uint32_t flags = 0) const {
    drm_knpu_bo_userptr args{};
    args.user_ptr = address;
    args.size = size;
    args.flags = flags;
    return ::ioctl(device().native_handle(), DRM_IOCTL_KNPU_BO_USERPTR, &args) == 0 ? 0 : errno;
  }
};

TEST_F(UserMemory, JobsReadAndWriteItEveryByte) {
  const npu::Kernel copy = device().load_kernel(npu::assemble(R"(
.kernel copy
.arg buffer dst
.arg buffer src
.arg scalar bytes
    dma_copy @dst, @src, @bytes
)"));
  const npu::Kernel fill = device().load_kernel(fill_kernel());
  npu::Queue queue = device().create_queue();
  for (std::size_t bytes : {kPage, 3 * kMiB + 5 * kPage}) {
    ProcessMemory in(bytes), out(bytes), filled(bytes);
    for (std::size_t i = 0; i < bytes; ++i) {
      in.bytes()[i] = static_cast<std::byte>((i * 7 + i / 251) & 0xff);
    }
    npu::Buffer src = device().wrap_user_memory(in.bytes());
    npu::Buffer dst = device().wrap_user_memory(out.bytes());
    npu::Buffer target = device().wrap_user_memory(filled.bytes());
    EXPECT_EQ(src.size(), bytes);
    EXPECT_EQ(dst.map().data(), out.bytes().data()) << "map() is the wrapped memory";

    npu::KernelArguments copy_args = copy.make_arguments();
    copy_args.set("dst", dst).set("src", src).set("bytes", bytes);
    npu::KernelArguments fill_args = fill.make_arguments();
    fill_args.set("dst", target).set("bytes", bytes - 1).set("pattern", kPattern);
    ASSERT_TRUE(queue.submit(copy, copy_args).wait(60s).ok());
    ASSERT_TRUE(queue.submit(fill, fill_args).wait(60s).ok());

    const auto mismatch = std::ranges::mismatch(out.bytes(), in.bytes());
    EXPECT_EQ(mismatch.in1, out.bytes().end())
        << bytes << " bytes: first difference at " << (mismatch.in1 - out.bytes().begin());
    EXPECT_EQ(first_mismatch(filled.bytes(), bytes - 1, kPattern), -1) << bytes << " bytes";
    EXPECT_EQ(filled.bytes()[bytes - 1], std::byte{0}) << "the fill wrote past its end";
  }
}

// Two buffers over the same pages, both writable, as a process may make
// (a tensor wrapped by two libraries). On the debug kernel the DMA-API
// checker reported the second mapping ("cacheline tracking EEXIST,
// overlapping mappings aren't supported"; found by the smoke test's fuzz
// phase), which fails the run.
TEST_F(UserMemory, TwoBuffersOverTheSamePages) {
  const npu::Kernel fill = device().load_kernel(fill_kernel());
  npu::Queue queue = device().create_queue();
  ProcessMemory memory(4 * kPage);
  npu::Buffer first = device().wrap_user_memory(memory.bytes());
  npu::Buffer second = device().wrap_user_memory(memory.bytes());
  npu::Buffer tail = device().wrap_user_memory(memory.bytes().subspan(2 * kPage));

  std::uint32_t pattern = kPattern;
  for (const npu::Buffer* buffer : {&second, &first}) {
    npu::KernelArguments args = fill.make_arguments();
    args.set("dst", *buffer).set("bytes", 4 * kPage).set("pattern", pattern);
    ASSERT_TRUE(queue.submit(fill, args).wait(60s).ok());
    EXPECT_EQ(first_mismatch(memory.bytes(), 4 * kPage, pattern), -1);
    pattern = ~pattern;
  }
  npu::KernelArguments args = fill.make_arguments();
  args.set("dst", tail).set("bytes", kPage).set("pattern", kPattern);
  ASSERT_TRUE(queue.submit(fill, args).wait(60s).ok());
  EXPECT_EQ(first_mismatch(memory.bytes().subspan(2 * kPage), kPage, kPattern), -1);
}

TEST_F(UserMemory, ReadOnlyMemoryWrittenByAJobIsAnMmuFault) {
  const npu::Kernel fill = device().load_kernel(fill_kernel());
  npu::Queue queue = device().create_queue();
  ProcessMemory memory(2 * kPage);
  std::ranges::fill(memory.bytes(), std::byte{0x5c});
  npu::Buffer buffer = device().wrap_user_memory(memory.bytes(), {.device_read_only = true});
  EXPECT_TRUE(buffer.options().device_read_only);

  npu::KernelArguments args = fill.make_arguments();
  args.set("dst", buffer).set("bytes", kPage).set("pattern", kPattern);
  const npu::JobResult result = queue.submit(fill, args).wait(60s);
  EXPECT_EQ(result.status, npu::JobStatus::failed);
  EXPECT_EQ(result.error, npu::JobError::mmu_fault) << npu::to_string(result.error);
  EXPECT_EQ(result.error_address, buffer.device_address());
  EXPECT_TRUE(std::ranges::all_of(memory.bytes(), [](std::byte b) { return b == std::byte{0x5c}; }))
      << "a read-only buffer was written";
}

TEST_F(UserMemory, ReadOnlyProcessMemoryCanOnlyBeWrappedReadOnly) {
  ProcessMemory memory(kPage, PROT_READ);
  EXPECT_EQ(device().wrap_user_memory(memory.bytes(), {.device_read_only = true}).size(), kPage);
  try {
    static_cast<void>(device().wrap_user_memory(memory.bytes()));
    FAIL() << "read-only process memory wrapped for device writes";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), EFAULT) << e.what();
  }
}

TEST_F(UserMemory, BadRangesAreRefused) {
  ProcessMemory memory(4 * kPage);
  const auto address = reinterpret_cast<std::uintptr_t>(memory.bytes().data());
  EXPECT_EQ(userptr_errno(address, 4 * kPage), 0);
  EXPECT_EQ(userptr_errno(address + 8, kPage), EINVAL) << "unaligned address";
  EXPECT_EQ(userptr_errno(address, kPage + 1), EINVAL) << "unaligned size";
  EXPECT_EQ(userptr_errno(address, 0), EINVAL) << "empty";
  EXPECT_EQ(userptr_errno(address, kPage, 1U << 5), EINVAL) << "unknown flag";
  EXPECT_EQ(userptr_errno(address, kPage, KNPU_BO_DEVMEM), EINVAL) << "device memory flag";
  EXPECT_EQ(userptr_errno(~std::uint64_t{0} & ~(kPage - 1), 2 * kPage), EINVAL) << "wraps";
  EXPECT_EQ(userptr_errno(0xffff'8000'0000'0000ULL, kPage), EFAULT) << "kernel address";
  {
    ProcessMemory gone(kPage);
    const auto gone_address = reinterpret_cast<std::uintptr_t>(gone.bytes().data());
    ::munmap(gone.bytes().data(), kPage);
    EXPECT_EQ(userptr_errno(gone_address, kPage), EFAULT) << "unmapped memory";
    ::mmap(gone.bytes().data(), kPage, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  }
}

TEST_F(UserMemory, PinnedMemoryIsLimitedPerFile) {
  const PinnedLimit limit(1);
  ProcessMemory memory(2 * kMiB);
  try {
    static_cast<void>(device().wrap_user_memory(memory.bytes()));
    FAIL() << "2 MiB pinned past a 1 MiB limit";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), ENOMEM) << e.what();
  }
  npu::Buffer half = device().wrap_user_memory(memory.bytes().first(kMiB / 2));
  EXPECT_THROW(static_cast<void>(device().allocate(kMiB)), std::system_error)
      << "host buffers count against the same limit";
  npu::Buffer rest = device().allocate(kMiB / 2);
  // Another file has its own budget.
  const npu::Device other = npu::Device::open(0);
  EXPECT_EQ(other.allocate(kMiB).size(), kMiB);
  // Freed memory is uncharged.
  { const npu::Buffer drop = std::move(rest); }
  EXPECT_EQ(device().allocate(kMiB / 2).size(), kMiB / 2);
}

}  // namespace
}  // namespace guest
