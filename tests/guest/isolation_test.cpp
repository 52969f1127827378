// Files and processes are isolated: a job sees only its own file's address
// space (issue 10, section 4: guessed, stale, freed-and-reused and imported
// VAs; mmap offsets; ASID recycling), and many processes submitting at once
// lose no completion.
#include <drm/knpu_accel.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xf86drm.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <vector>

#include "guest_device.hpp"

namespace guest {
namespace {

using namespace std::chrono_literals;

constexpr std::uint64_t kPage = 4096;
constexpr std::byte kSecret{0x5e};

npu::KernelImage copy_kernel() {
  npu::KernelBuilder b("copy");
  auto dst = b.arg_buffer("dst");
  auto src = b.arg_buffer("src");
  auto bytes = b.arg_scalar("bytes");
  b.dma_copy(dst, src, bytes);
  return b.build();
}

TEST(Isolation, AJobCannotReadAnotherFilesBuffer) {
  const npu::Device owner = npu::Device::open(0);
  const npu::Device intruder = npu::Device::open(0);  // a second file: its own address space
  npu::Buffer secret = owner.allocate(kPage);
  std::ranges::fill(secret.map(), kSecret);

  npu::Buffer loot = intruder.allocate(kPage);
  const npu::Kernel kernel = intruder.load_kernel(copy_kernel());
  npu::KernelArguments args = kernel.make_arguments();
  args.set("dst", loot)
      .set("src", npu::BufferBinding{loot.handle(), secret.device_address(), kPage})
      .set("bytes", kPage);
  npu::Queue queue = intruder.create_queue();
  const npu::JobResult result = queue.submit(kernel, args).wait(30s);
  if (result.status == npu::JobStatus::failed) {
    EXPECT_EQ(result.error, npu::JobError::mmu_fault) << npu::to_string(result.error);
  } else {
    // The address exists in the intruder's space too, but names its own memory.
    ASSERT_TRUE(result.ok());
    EXPECT_EQ(std::ranges::count(loot.map(), kSecret), 0) << "read another file's buffer";
  }
}

constexpr std::uint32_t kIntruderPattern = 0xbad0'bad0;

// One job of `device` on a queue of its own (a faulting job bans its queue):
// copies `bytes` from any VA into `dst`.
npu::JobResult copy_from(const npu::Device& device, const npu::Buffer& dst, std::uint64_t va,
                         std::uint64_t bytes) {
  const npu::Kernel kernel = device.load_kernel(copy_kernel());
  npu::KernelArguments args = kernel.make_arguments();
  args.set("dst", dst).set("src", npu::BufferBinding{dst.handle(), va, bytes}).set("bytes", bytes);
  npu::Queue queue = device.create_queue();
  return queue.submit(kernel, args).wait(30s);
}

// One job of `device` filling `bytes` at any VA with kIntruderPattern; `own`
// is a buffer of the device's file for the BO list.
npu::JobResult fill_at(const npu::Device& device, const npu::Buffer& own, std::uint64_t va,
                       std::uint64_t bytes) {
  const npu::Kernel kernel = device.load_kernel(fill_kernel());
  npu::KernelArguments args = kernel.make_arguments();
  args.set("dst", npu::BufferBinding{own.handle(), va, bytes})
      .set("bytes", bytes)
      .set("pattern", kIntruderPattern);
  npu::Queue queue = device.create_queue();
  return queue.submit(kernel, args).wait(30s);
}

// A job aimed at memory that is not its file's either faults or, where the
// address exists in its own space, touched only its own memory.
void expect_fault_or_own(const npu::JobResult& result, const char* what, std::uint64_t va) {
  if (!result.ok()) {
    EXPECT_EQ(result.status, npu::JobStatus::failed) << what << std::hex << " at 0x" << va;
    EXPECT_EQ(result.error, npu::JobError::mmu_fault)
        << what << ": " << npu::to_string(result.error) << std::hex << " at 0x" << va;
  }
}

bool all_secret(const npu::Buffer& buffer) {
  return std::ranges::all_of(buffer.map(), [](std::byte b) { return b == kSecret; });
}

// The other file's VAs themselves and guesses around them and across the
// whole range the driver hands out: none reaches the victim's memory, for
// reading or for writing.
TEST(Isolation, GuessedVasNeverReachAnotherFilesBuffers) {
  const npu::Device victim = npu::Device::open(0);
  const npu::Device intruder = npu::Device::open(0);
  std::vector<npu::Buffer> secrets;
  for (const std::uint64_t size : {kPage, 4 * kPage, 16 * kPage}) {
    secrets.push_back(victim.allocate(size));
    std::ranges::fill(secrets.back().map(), kSecret);
  }
  npu::Buffer loot = intruder.allocate(kPage);
  std::vector<std::uint64_t> guesses;
  for (const npu::Buffer& secret : secrets) {
    const std::uint64_t va = secret.device_address();
    for (const std::uint64_t guess : {va, va + kPage, va + secret.size() - kPage, va - kPage}) {
      guesses.push_back(guess);
    }
  }
  const std::uint64_t va_start = victim.properties().va_start;
  for (std::uint64_t i = 0; i < 8; ++i) {
    guesses.push_back(va_start + i * 0x10'0000);  // every MiB of the start of the range
  }
  for (const std::uint64_t va : guesses) {
    std::ranges::fill(loot.map(), std::byte{0});
    const npu::JobResult read = copy_from(intruder, loot, va, kPage);
    expect_fault_or_own(read, "read", va);
    EXPECT_EQ(std::ranges::count(loot.map(), kSecret), 0) << "read the victim's bytes at " << va;
    expect_fault_or_own(fill_at(intruder, loot, va, kPage), "write", va);
  }
  for (const npu::Buffer& secret : secrets) {
    EXPECT_TRUE(all_secret(secret)) << "the intruder changed the victim's buffer";
  }
}

// A VA whose buffer was freed, after its translation was used (the TLB must
// be invalidated before the pages go), no longer reaches those pages once
// another file has them: it faults, or names a new buffer of its own file
// (loading the jobs' kernels allocates, and may reuse the VA).
TEST(Isolation, StaleVasOfFreedBuffersFaultAfterThePagesAreReused) {
  const npu::Device first = npu::Device::open(0);
  const npu::Device second = npu::Device::open(0);
  npu::Buffer scratch = first.allocate(kPage);
  std::vector<std::uint64_t> stale;
  {
    std::vector<npu::Buffer> freed;
    for (int i = 0; i < 8; ++i) {
      freed.push_back(first.allocate(4 * kPage));
      stale.push_back(freed.back().device_address());
      // Warm the device's TLB with the translation about to go stale.
      ASSERT_TRUE(copy_from(first, scratch, stale.back(), kPage).ok());
    }
  }  // freed: unmapped from `first`, pages back to the system
  // The other file takes memory, likely the same pages, and fills it.
  std::vector<npu::Buffer> reused;
  for (int i = 0; i < 16; ++i) {
    reused.push_back(second.allocate(4 * kPage));
    std::ranges::fill(reused.back().map(), kSecret);
  }
  for (const std::uint64_t va : stale) {
    std::ranges::fill(scratch.map(), std::byte{0});
    const npu::JobResult read = copy_from(first, scratch, va, kPage);
    expect_fault_or_own(read, "read", va);
    EXPECT_EQ(std::ranges::count(scratch.map(), kSecret), 0);
    expect_fault_or_own(fill_at(first, scratch, va, kPage), "write", va);
  }
  for (const npu::Buffer& buffer : reused) {
    EXPECT_TRUE(all_secret(buffer)) << "a stale VA reached reused pages";
  }
}

// Another process imports a dma-buf of the victim's: the VA it got exists in
// its address space only.
TEST(Isolation, VasOfAnotherProcesssImportedDmaBufAreNotReachable) {
  const npu::Device victim = npu::Device::open(0);
  if (!victim.properties().has(npu::Capability::dma_buf)) {
    GTEST_SKIP() << "no dma-buf support";
  }
  npu::Buffer secret = victim.allocate(4 * kPage);
  std::ranges::fill(secret.map(), kSecret);
  const int dma_buf = secret.export_dma_buf();
  std::array<int, 2> to_parent{};
  std::array<int, 2> to_child{};
  ASSERT_EQ(pipe(to_parent.data()), 0);
  ASSERT_EQ(pipe(to_child.data()), 0);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::uint64_t va = 0;
    try {
      const npu::Device importer = npu::Device::open(0);
      const npu::Buffer imported = importer.import_dma_buf(dma_buf);
      va = imported.device_address();
      char done = 0;
      if (write(to_parent[1], &va, sizeof(va)) != sizeof(va) || read(to_child[0], &done, 1) != 1) {
        _exit(1);
      }
    } catch (const std::exception&) {
      _exit(2);
    }
    _exit(0);
  }
  close(dma_buf);
  std::uint64_t imported_va = 0;
  ASSERT_EQ(read(to_parent[0], &imported_va, sizeof(imported_va)),
            static_cast<ssize_t>(sizeof(imported_va)));
  const npu::Device intruder = npu::Device::open(0);
  npu::Buffer loot = intruder.allocate(kPage);
  for (const std::uint64_t va : {imported_va, imported_va + kPage}) {
    const npu::JobResult read = copy_from(intruder, loot, va, kPage);
    expect_fault_or_own(read, "read", va);
    EXPECT_EQ(std::ranges::count(loot.map(), kSecret), 0) << "read the imported buffer";
    expect_fault_or_own(fill_at(intruder, loot, va, kPage), "write", va);
  }
  EXPECT_TRUE(all_secret(secret)) << "the intruder wrote the imported buffer";
  const char done = 1;
  ASSERT_EQ(write(to_child[1], &done, 1), 1);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "importer status " << status;
  for (const int fd : {to_parent[0], to_parent[1], to_child[0], to_child[1]}) {
    close(fd);
  }
}

// A buffer's mmap offset works on its own file only: another file (here in
// another process too) cannot map it.
TEST(Isolation, MmapOffsetsOfAnotherFileDoNotMap) {
  const npu::Device victim = npu::Device::open(0);
  npu::Buffer secret = victim.allocate(kPage);
  std::ranges::fill(secret.map(), kSecret);
  drm_knpu_bo_info info{};
  info.handle = secret.handle();
  ASSERT_EQ(drmIoctl(victim.native_handle(), DRM_IOCTL_KNPU_BO_INFO, &info), 0);

  const npu::Device intruder = npu::Device::open(0);
  void* map = mmap(nullptr, kPage, PROT_READ | PROT_WRITE, MAP_SHARED, intruder.native_handle(),
                   static_cast<off_t>(info.mmap_offset));
  EXPECT_EQ(map, MAP_FAILED) << "mapped another file's buffer";
  if (map != MAP_FAILED) {
    munmap(map, kPage);
  }
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    try {
      const npu::Device other = npu::Device::open(0);
      void* child_map = mmap(nullptr, kPage, PROT_READ, MAP_SHARED, other.native_handle(),
                             static_cast<off_t>(info.mmap_offset));
      _exit(child_map == MAP_FAILED ? 0 : 1);
    } catch (const std::exception&) {
      _exit(2);
    }
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << "another process mapped the buffer, status " << status;
  EXPECT_TRUE(all_secret(secret));
}

// Every ASID taken: the next open fails with a clear error. Files closed and
// opened again get recycled ASIDs, and a recycled ASID carries no
// translation of its former file: the old VA faults, or names the new
// file's own (zeroed) buffer.
TEST(Isolation, RecycledAsidsCarryNoStaleTranslations) {
  std::vector<std::unique_ptr<npu::Device>> files;
  std::vector<std::optional<npu::Buffer>> buffers;
  std::vector<std::uint64_t> vas;
  for (;;) {
    try {
      files.push_back(std::make_unique<npu::Device>(npu::Device::open(0)));
    } catch (const std::system_error& e) {
      EXPECT_EQ(e.code(), npu::errc::device_busy) << e.what();
      break;
    }
    ASSERT_LE(files.size(), 256U) << "no limit on open files";
  }
  ASSERT_GE(files.size(), 2U);
  std::printf("# %zu files open, the next open failed: every ASID taken\n", files.size());
  // Each file's buffer holds its own pattern; a job uses its translation.
  for (std::size_t i = 0; i < files.size(); ++i) {
    buffers.emplace_back(files[i]->allocate(kPage));
    const auto pattern = static_cast<std::byte>(0x10 + i);
    std::ranges::fill(buffers.back()->map(), pattern);
    vas.push_back(buffers.back()->device_address());
    npu::Buffer dst = files[i]->allocate(kPage);
    ASSERT_TRUE(copy_from(*files[i], dst, vas.back(), kPage).ok());
    ASSERT_EQ(std::ranges::count(dst.map(), pattern), static_cast<std::ptrdiff_t>(kPage));
  }
  constexpr std::size_t kRecycled = 8;
  for (std::size_t i = 0; i < kRecycled; ++i) {
    buffers[i].reset();  // a buffer keeps its file open
    files[i].reset();
  }
  for (std::size_t i = 0; i < kRecycled; ++i) {
    const npu::Device fresh = npu::Device::open(0);
    npu::Buffer dst = fresh.allocate(kPage);
    const auto old_pattern = static_cast<std::byte>(0x10 + i);
    const npu::JobResult read = copy_from(fresh, dst, vas[i], kPage);
    expect_fault_or_own(read, "read through a recycled ASID", vas[i]);
    EXPECT_EQ(std::ranges::count(dst.map(), old_pattern), 0)
        << "a recycled ASID read its former file's buffer";
  }
}

// In a child process: its own device file, `jobs` fill jobs, exit 0 only if
// every job completed and wrote its bytes.
int child_submits(int child, int jobs) {
  try {
    const npu::Device device = npu::Device::open(0);
    const npu::Kernel kernel = device.load_kernel(fill_kernel());
    npu::Queue queue = device.create_queue();
    npu::Buffer buffer = device.allocate(kPage);
    for (int job = 0; job < jobs; ++job) {
      const auto pattern = static_cast<std::uint32_t>(child << 16 | job);
      npu::KernelArguments args = kernel.make_arguments();
      args.set("dst", buffer).set("bytes", kPage).set("pattern", pattern);
      if (!queue.submit(kernel, args).wait(60s).ok() ||
          first_mismatch(buffer.map(), kPage, pattern) != -1) {
        return 1;
      }
    }
    return 0;
  } catch (const std::exception&) {
    return 2;
  }
}

TEST(Isolation, ManyProcessesAtOnce) {
  constexpr int kChildren = 4;
  constexpr int kJobs = 30;
  std::vector<pid_t> children;
  for (int child = 0; child < kChildren; ++child) {
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      _exit(child_submits(child, kJobs));
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << "child " << pid << " status " << status;
  }
}

}  // namespace
}  // namespace guest
