// dma-buf sharing: a host buffer exported by one file and imported by another
// process or another device, with a job on each side, every byte checked,
// and the exporter's fences honoured by the importer's jobs.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>

#include "guest_device.hpp"

namespace guest {
namespace {

using namespace std::chrono_literals;

constexpr std::uint32_t kPattern = 0xC0FF'EE11;
constexpr std::uint32_t kOtherPattern = 0x1357'9BDF;
constexpr std::uint64_t kBytes = (2 << 20) + 3 * 4096 + 100;

// A dma-buf file descriptor, closed on destruction.
class DmaBuf {
 public:
  explicit DmaBuf(int fd) : fd_(fd) {}
  ~DmaBuf() { ::close(fd_); }
  DmaBuf(const DmaBuf&) = delete;
  DmaBuf& operator=(const DmaBuf&) = delete;
  [[nodiscard]] int fd() const { return fd_; }

 private:
  int fd_;
};

class DmaBufSharing : public DeviceTest {
 protected:
  void SetUp() override {
    DeviceTest::SetUp();
    ASSERT_TRUE(device().properties().has(npu::Capability::dma_buf));
  }

  // Fills `buffer` on `device` and waits; true when the job succeeded.
  static bool fill(const npu::Device& device, npu::Buffer& buffer, std::uint32_t pattern) {
    const npu::Kernel kernel = device.load_kernel(fill_kernel());
    npu::Queue queue = device.create_queue();
    npu::KernelArguments args = kernel.make_arguments();
    args.set("dst", buffer).set("bytes", kBytes).set("pattern", pattern);
    return queue.submit(kernel, args).wait(60s).ok();
  }

  static npu::KernelImage copy_kernel() {
    return npu::assemble(R"(
.kernel copy
.arg buffer dst
.arg buffer src
.arg scalar bytes
    dma_copy @dst, @src, @bytes
)");
  }
};

TEST_F(DmaBufSharing, BetweenTwoProcesses) {
  npu::Buffer shared = device().allocate(kBytes);
  const DmaBuf dma_buf(shared.export_dma_buf());

  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // Another process, another file and address space: import, fill.
    int status = 1;
    try {
      const npu::Device other = npu::Device::open(0);
      npu::Buffer imported = other.import_dma_buf(dma_buf.fd());
      if (imported.size() == shared.size() && fill(other, imported, kPattern)) {
        status = first_mismatch(imported.map(), kBytes, kPattern) == -1 ? 0 : 2;
      }
    } catch (...) {
      status = 3;
    }
    ::_exit(status);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0) << "the importing process failed";

  // The exporter sees the importer's writes, and its own jobs read them.
  EXPECT_EQ(first_mismatch(shared.map(), kBytes, kPattern), -1);
  const npu::Kernel copy = device().load_kernel(copy_kernel());
  npu::Queue queue = device().create_queue();
  npu::Buffer out = device().allocate(kBytes);
  npu::KernelArguments args = copy.make_arguments();
  args.set("dst", out).set("src", shared).set("bytes", kBytes);
  ASSERT_TRUE(queue.submit(copy, args).wait(60s).ok());
  EXPECT_EQ(first_mismatch(out.map(), kBytes, kPattern), -1);
}

TEST_F(DmaBufSharing, BetweenTwoDevices) {
  ASSERT_GE(npu::enumerate_devices().size(), 2U) << "the suite runs with two devices";
  const npu::Device second = npu::Device::open(1);
  npu::Buffer shared = device().allocate(kBytes);
  npu::Buffer imported = [&] {
    const DmaBuf dma_buf(shared.export_dma_buf());
    return second.import_dma_buf(dma_buf.fd());
  }();
  EXPECT_EQ(imported.size(), shared.size());

  // A job on the second device writes, one on the first copies it out.
  ASSERT_TRUE(fill(second, imported, kOtherPattern));
  const npu::Kernel copy = device().load_kernel(copy_kernel());
  npu::Queue queue = device().create_queue();
  npu::Buffer out = device().allocate(kBytes);
  npu::KernelArguments args = copy.make_arguments();
  args.set("dst", out).set("src", shared).set("bytes", kBytes);
  ASSERT_TRUE(queue.submit(copy, args).wait(60s).ok());
  EXPECT_EQ(first_mismatch(out.map(), kBytes, kOtherPattern), -1);
  EXPECT_EQ(first_mismatch(imported.map(), kBytes, kOtherPattern), -1);
}

// The importer's job reads the buffer while the exporter's job that writes
// it waits on a gate: the reservation object makes the reader wait too.
TEST_F(DmaBufSharing, ImporterWaitsForTheExportersJob) {
  ASSERT_GE(npu::enumerate_devices().size(), 2U) << "the suite runs with two devices";
  const npu::Device second = npu::Device::open(1);
  const npu::Kernel producer = device().load_kernel(npu::assemble(R"(
.kernel producer
.arg buffer gate
.arg buffer dst
.arg scalar bytes
.arg scalar pattern
    sem_wait @gate, 1
    dma_fill @dst, @bytes, @pattern
)"));
  const npu::Kernel consumer = second.load_kernel(copy_kernel());
  npu::Queue producer_queue = device().create_queue();
  npu::Queue consumer_queue = second.create_queue();
  npu::Buffer gate = device().allocate(4096);
  npu::Buffer shared = device().allocate(kBytes);
  npu::Buffer out = second.allocate(kBytes);
  npu::Buffer imported = [&] {
    const DmaBuf dma_buf(shared.export_dma_buf());
    return second.import_dma_buf(dma_buf.fd());
  }();

  npu::KernelArguments produce = producer.make_arguments();
  produce.set("gate", gate).set("dst", shared).set("bytes", kBytes).set("pattern", kPattern);
  const npu::JobHandle written = producer_queue.submit(producer, produce);
  npu::KernelArguments consume = consumer.make_arguments();
  consume.set("dst", out).set("src", imported).set("bytes", kBytes);
  const npu::JobHandle read = consumer_queue.submit(consumer, consume);

  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(read.wait(0ns).status, npu::JobStatus::timeout)
      << "the importer's job ran before the exporter's job wrote the buffer";
  std::atomic_ref<std::uint64_t>(gate.map_as<std::uint64_t>()[0]).store(1);
  ASSERT_TRUE(written.wait(60s).ok());
  ASSERT_TRUE(read.wait(60s).ok());
  EXPECT_EQ(first_mismatch(out.map(), kBytes, kPattern), -1);
}

TEST_F(DmaBufSharing, UserMemoryIsNotExported) {
  std::vector<std::byte> storage(3 * 4096);
  auto* aligned = reinterpret_cast<std::byte*>(
      (reinterpret_cast<std::uintptr_t>(storage.data()) + 4095) & ~std::uintptr_t{4095});
  npu::Buffer buffer = device().wrap_user_memory({aligned, 4096});
  try {
    static_cast<void>(buffer.export_dma_buf());
    FAIL() << "a process's own pages exported";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), npu::errc::not_supported) << e.what();
  }
}

TEST_F(DmaBufSharing, ExportedBufferOutlivesItsHandle) {
  std::optional<npu::Buffer> original(device().allocate(kBytes));
  ASSERT_TRUE(fill(device(), *original, kPattern));
  const DmaBuf dma_buf(original->export_dma_buf());
  original.reset();
  const npu::Device other = npu::Device::open(0);
  npu::Buffer imported = other.import_dma_buf(dma_buf.fd());
  EXPECT_EQ(first_mismatch(imported.map(), kBytes, kPattern), -1);
}

}  // namespace
}  // namespace guest
