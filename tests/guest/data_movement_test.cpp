// Buffers and DMA jobs: fill a buffer, copy it through the device into
// another, check every byte.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <set>

#include "guest_device.hpp"

namespace guest {
namespace {

using namespace std::chrono_literals;

constexpr std::uint32_t kPattern = 0xA5C3'5A3C;
constexpr std::uint64_t kPage = 4096;

class DataMovement : public DeviceTest {};

TEST_F(DataMovement, BuffersAreMappedInTheDeviceAddressSpace) {
  const npu::DeviceProperties& p = device().properties();
  std::set<std::uint64_t> addresses;
  std::vector<npu::Buffer> buffers;
  for (std::uint64_t size : {1ULL, 4096ULL, 4097ULL, 3ULL << 20}) {
    npu::Buffer& buffer = buffers.emplace_back(device().allocate(size));
    EXPECT_EQ(buffer.size(), (size + kPage - 1) / kPage * kPage);
    EXPECT_GE(buffer.device_address(), p.va_start);
    EXPECT_LE(buffer.device_address() + buffer.size(), p.va_start + p.va_size);
    EXPECT_EQ(buffer.device_address() % kPage, 0U);
    EXPECT_TRUE(addresses.insert(buffer.device_address()).second);
    std::span<std::byte> bytes = buffer.map();
    ASSERT_EQ(bytes.size(), buffer.size());
    EXPECT_TRUE(std::ranges::all_of(bytes, [](std::byte b) { return b == std::byte{0}; }))
        << "a new buffer is zeroed";
  }
}

TEST_F(DataMovement, FillThenCopyEveryByte) {
  const npu::Kernel kernel = device().load_kernel(fill_copy_kernel());
  npu::Queue queue = device().create_queue();
  for (std::uint64_t bytes : {4ULL, 4096ULL, 4099ULL, 1ULL << 20, (2ULL << 20) + 1}) {
    npu::Buffer src = device().allocate(bytes);
    npu::Buffer dst = device().allocate(bytes);
    std::ranges::fill(dst.map(), std::byte{0x11});
    npu::KernelArguments args = kernel.make_arguments();
    args.set("dst", dst).set("src", src).set("bytes", bytes).set("pattern", kPattern);
    const npu::JobResult result = queue.submit(kernel, args).wait(30s);
    ASSERT_EQ(result.status, npu::JobStatus::ok) << npu::to_string(result.error);
    EXPECT_EQ(first_mismatch(src.map(), bytes, kPattern), -1) << bytes << " bytes, source";
    EXPECT_EQ(first_mismatch(dst.map(), bytes, kPattern), -1) << bytes << " bytes, destination";
    const auto tail = dst.map().subspan(bytes);
    EXPECT_TRUE(std::ranges::all_of(tail, [](std::byte b) { return b == std::byte{0x11}; }))
        << "the copy wrote past " << bytes << " bytes";
  }
}

TEST_F(DataMovement, ArgumentOffsetsAddressInsideABuffer) {
  const npu::Kernel kernel = device().load_kernel(fill_kernel());
  npu::Queue queue = device().create_queue();
  npu::Buffer buffer = device().allocate(3 * kPage);
  npu::KernelArguments args = kernel.make_arguments();
  args.set("dst", buffer, kPage + 8).set("bytes", kPage).set("pattern", kPattern);
  ASSERT_TRUE(queue.submit(kernel, args).wait(30s).ok());
  const std::span<std::byte> bytes = buffer.map();
  EXPECT_TRUE(std::all_of(bytes.begin(), bytes.begin() + kPage + 8,
                          [](std::byte b) { return b == std::byte{0}; }));
  EXPECT_EQ(first_mismatch(bytes.subspan(kPage + 8), kPage, kPattern), -1);
  EXPECT_TRUE(std::all_of(bytes.begin() + 2 * kPage + 8, bytes.end(),
                          [](std::byte b) { return b == std::byte{0}; }));
}

TEST_F(DataMovement, HostDataCopiedByTheDevice) {
  const npu::Kernel kernel = device().load_kernel(npu::assemble(R"(
.kernel copy
.arg buffer dst
.arg buffer src
.arg scalar bytes
    dma_copy @dst, @src, @bytes
)"));
  npu::Queue queue = device().create_queue();
  npu::Buffer src = device().allocate(64 * 1024);
  npu::Buffer dst = device().allocate(64 * 1024);
  std::span<std::byte> in = src.map();
  for (std::size_t i = 0; i < in.size(); ++i) {
    in[i] = static_cast<std::byte>((i * 7 + i / 251) & 0xff);
  }
  npu::KernelArguments args = kernel.make_arguments();
  args.set("dst", dst).set("src", src).set("bytes", in.size());
  ASSERT_TRUE(queue.submit(kernel, args).wait(30s).ok());
  EXPECT_TRUE(std::ranges::equal(dst.map(), src.map()));
}

TEST_F(DataMovement, DeviceMemoryFollowsTheCapability) {
  if (!device().properties().has(npu::Capability::device_memory)) {
    try {
      static_cast<void>(device().allocate(kPage, {.placement = npu::MemoryPlacement::device}));
      FAIL() << "device memory allocated without KNPU_CAP_DEVMEM";
    } catch (const std::system_error& e) {
      EXPECT_EQ(e.code(), npu::errc::not_supported) << e.what();
      EXPECT_NE(std::string(e.what()).find("DRM_IOCTL_KNPU_BO_CREATE"), std::string::npos);
    }
    return;
  }
  const npu::Kernel kernel = device().load_kernel(fill_copy_kernel());
  npu::Queue queue = device().create_queue();
  npu::Buffer src = device().allocate(1 << 20, {.placement = npu::MemoryPlacement::device});
  npu::Buffer dst = device().allocate(1 << 20);
  npu::KernelArguments args = kernel.make_arguments();
  args.set("dst", dst).set("src", src).set("bytes", 1 << 20).set("pattern", kPattern);
  ASSERT_TRUE(queue.submit(kernel, args).wait(30s).ok());
  EXPECT_EQ(first_mismatch(dst.map(), 1 << 20, kPattern), -1);
  EXPECT_EQ(first_mismatch(src.map(), 1 << 20, kPattern), -1);
}

TEST_F(DataMovement, ManyLaunchesInFlightReuseArgumentSlots) {
  const npu::Kernel kernel = device().load_kernel(fill_kernel());
  npu::Queue queue = device().create_queue();
  constexpr int kLaunches = 50;  // more than the queue's argument slots
  npu::Buffer buffer = device().allocate(kLaunches * 64);
  std::vector<npu::JobHandle> jobs;
  for (int i = 0; i < kLaunches; ++i) {
    npu::KernelArguments args = kernel.make_arguments();
    args.set("dst", buffer, static_cast<std::uint64_t>(i) * 64)
        .set("bytes", 64)
        .set("pattern", kPattern + i);
    jobs.push_back(queue.submit(kernel, args));
  }
  for (const npu::JobHandle& job : jobs) {
    EXPECT_TRUE(job.wait(30s).ok());
  }
  for (int i = 0; i < kLaunches; ++i) {
    EXPECT_EQ(
        first_mismatch(buffer.map().subspan(static_cast<std::size_t>(i) * 64), 64, kPattern + i),
        -1)
        << "launch " << i;
  }
}

TEST_F(DataMovement, SubmitNeverBlocksBehindAWaitingJob) {
  const npu::Kernel gate = device().load_kernel(npu::assemble(R"(
.kernel gate
.arg buffer semaphore
    sem_wait @semaphore, 1
)"));
  const npu::Kernel kernel = device().load_kernel(fill_kernel());
  npu::Queue queue = device().create_queue();
  npu::Buffer semaphore = device().allocate(kPage);
  constexpr int kLaunches = 40;  // more than the queue's argument slots
  npu::Buffer buffer = device().allocate(kLaunches * 64);

  npu::KernelArguments gate_args = gate.make_arguments();
  gate_args.set("semaphore", semaphore);
  const npu::JobHandle gate_job = queue.submit(gate, gate_args);
  auto submissions = std::async(std::launch::async, [&] {
    std::vector<npu::JobHandle> jobs;
    for (int i = 0; i < kLaunches; ++i) {
      npu::KernelArguments args = kernel.make_arguments();
      args.set("dst", buffer, static_cast<std::uint64_t>(i) * 64)
          .set("bytes", 64)
          .set("pattern", kPattern + i);
      jobs.push_back(queue.submit(kernel, args));
    }
    return jobs;
  });
  const bool submitted_while_gated = submissions.wait_for(20s) == std::future_status::ready;
  EXPECT_EQ(gate_job.wait(0ns).status, npu::JobStatus::timeout) << "the gate opened by itself";
  std::atomic_ref<std::uint64_t>(semaphore.map_as<std::uint64_t>()[0]).store(1);  // open the gate
  EXPECT_TRUE(submitted_while_gated) << "a submit waited for the gated job";
  EXPECT_TRUE(gate_job.wait(30s).ok());
  for (const npu::JobHandle& job : submissions.get()) {
    EXPECT_TRUE(job.wait(30s).ok());
  }
  for (int i = 0; i < kLaunches; ++i) {
    EXPECT_EQ(
        first_mismatch(buffer.map().subspan(static_cast<std::size_t>(i) * 64), 64, kPattern + i),
        -1)
        << "launch " << i;
  }
}

TEST_F(DataMovement, LargeArgumentTables) {
  npu::KernelBuilder b("many_arguments");
  auto dst = b.arg_buffer("dst");
  std::optional<npu::ScalarArg> last;
  for (int i = 0; i < 600; ++i) {  // 601 slots: more than one 4 KiB argument slot
    last = b.arg_scalar("s" + std::to_string(i));
  }
  b.dma_fill(dst, *last, kPattern);
  const npu::Kernel kernel = device().load_kernel(b.build());
  npu::Buffer buffer = device().allocate(kPage);
  npu::KernelArguments args = kernel.make_arguments();
  args.set("dst", buffer);
  for (int i = 0; i < 600; ++i) {
    args.set("s" + std::to_string(i), i == 599 ? 100 : 0);
  }
  npu::Queue queue = device().create_queue();
  ASSERT_TRUE(queue.submit(kernel, args).wait(30s).ok());
  EXPECT_EQ(first_mismatch(buffer.map(), 100, kPattern), -1);
  EXPECT_EQ(buffer.map()[100], std::byte{0});
}

TEST_F(DataMovement, JobsKeepTheirKernelAlive) {
  npu::Queue queue = device().create_queue();
  npu::Buffer dst = device().allocate(kPage);
  std::optional<npu::JobHandle> job;
  {
    const npu::Kernel kernel = device().load_kernel(fill_kernel());
    npu::KernelArguments args = kernel.make_arguments();
    args.set("dst", dst).set("bytes", kPage).set("pattern", kPattern);
    job = queue.submit(kernel, args);
  }
  EXPECT_TRUE(job->wait(30s).ok());
  EXPECT_EQ(first_mismatch(dst.map(), kPage, kPattern), -1);
}

TEST_F(DataMovement, FinishedJobsAnswerAPollAtOnce) {
  const npu::Kernel kernel = device().load_kernel(fill_kernel());
  npu::Queue queue = device().create_queue();
  npu::Buffer dst = device().allocate(kPage);
  npu::KernelArguments args = kernel.make_arguments();
  args.set("dst", dst).set("bytes", kPage).set("pattern", kPattern);
  const npu::JobHandle first = queue.submit(kernel, args);
  const npu::JobHandle second = queue.submit(kernel, args);
  EXPECT_EQ(second.sequence_number(), first.sequence_number() + 1);
  ASSERT_TRUE(second.wait(30s).ok());
  EXPECT_TRUE(first.wait(0ns).ok()) << "jobs of a queue complete in order";
  EXPECT_TRUE(second.wait(0ns).ok());
  const npu::QueueStatus status = queue.status();
  EXPECT_EQ(status.state, npu::QueueState::active);
  EXPECT_EQ(status.completed_sequence_number, second.sequence_number());
}

}  // namespace
}  // namespace guest
