// Files and processes are isolated: a job sees only its own file's address
// space, and many processes submitting at once lose no completion.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

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
