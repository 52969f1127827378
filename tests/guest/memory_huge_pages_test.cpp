// Host-memory buffers on 2 MiB pages (knpu.ko's huge_pages, kernel/knpu_gemfs.c):
// a large buffer gets huge pages, and jobs copy every byte right between
// buffers on huge pages, at offsets and lengths that are not 2 MiB (nor 4 KiB)
// aligned, to and from process memory (userptr) and a dma-buf imported by
// another device, whose 4 KiB and 2 MiB mappings meet in one copy.
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <string>
#include <system_error>

#include "guest_device.hpp"
#include "process_memory.hpp"

namespace guest {
namespace {

using namespace std::chrono_literals;

constexpr std::size_t kPage = 4096;
constexpr std::size_t kHugePage = 2 << 20;

// The kernel's count of shmem memory on huge pages, bytes.
std::uint64_t shmem_huge_bytes() {
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  std::uint64_t kib = 0;
  while (meminfo >> key >> kib) {
    if (key == "ShmemHugePages:") {
      return kib * 1024;
    }
    meminfo.ignore(256, '\n');
  }
  throw std::runtime_error("/proc/meminfo has no ShmemHugePages");
}

// Switched off on purpose: knpu.ko loaded with huge_pages=0, or a kernel
// without transparent huge pages. A module without the parameter is not.
bool huge_pages_switched_off() {
  std::string value;
  std::ifstream("/sys/module/knpu/parameters/huge_pages") >> value;
  return value == "N" || !std::ifstream("/sys/kernel/mm/transparent_hugepage/enabled");
}

// Bytes whose position shows in them, so a shifted or stale copy shows.
void fill_positions(std::span<std::byte> bytes, std::uint32_t seed) {
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    bytes[i] = static_cast<std::byte>((i * 7 + i / 251 + seed) & 0xff);
  }
}

class HugePages : public DeviceTest {
 protected:
  void SetUp() override {
    DeviceTest::SetUp();
    copy_ = device().load_kernel(npu::assemble(R"(
.kernel copy
.arg buffer dst
.arg buffer src
.arg scalar bytes
    dma_copy @dst, @src, @bytes
)"));
  }

  // Copies `bytes` from `src` + `src_offset` to `dst` + `dst_offset` in one
  // job and checks every byte of `dst`: the copied ones equal the source's,
  // the others kept the `dst_seed` pattern they were filled with.
  void copy_and_check(const npu::Buffer& dst, std::size_t dst_offset, std::uint32_t dst_seed,
                      const npu::Buffer& src, std::size_t src_offset, std::size_t bytes) {
    npu::KernelArguments args = copy_->make_arguments();
    args.set("dst", dst, dst_offset).set("src", src, src_offset).set("bytes", bytes);
    npu::Queue queue = device().create_queue();
    ASSERT_TRUE(queue.submit(*copy_, args).wait(60s).ok());

    const auto in = src.map();
    const auto out = dst.map();
    std::vector<std::byte> expected(out.size());
    fill_positions(expected, dst_seed);
    std::copy_n(in.begin() + static_cast<std::ptrdiff_t>(src_offset), bytes,
                expected.begin() + static_cast<std::ptrdiff_t>(dst_offset));
    const auto mismatch = std::ranges::mismatch(out, expected);
    EXPECT_EQ(mismatch.in1, out.end())
        << bytes << " bytes from offset " << src_offset << " to " << dst_offset
        << ": first difference at destination byte " << (mismatch.in1 - out.begin());
  }

  std::optional<npu::Kernel> copy_;
};

TEST_F(HugePages, ALargeHostBufferGetsThem) {
  if (huge_pages_switched_off()) {
    GTEST_SKIP() << "knpu.ko loaded with huge_pages=0, or the kernel has no huge pages";
  }
  const std::uint64_t before = shmem_huge_bytes();
  const npu::Buffer buffer = device().allocate(8 * kHugePage);
  // The guest is fresh and mostly free: a 2 MiB block is there to be had.
  EXPECT_GE(shmem_huge_bytes(), before + kHugePage) << "no huge page for a 16 MiB buffer";
}

TEST_F(HugePages, CopiesAtUnalignedOffsetsAndLengths) {
  const std::size_t size = 3 * kHugePage + 5 * kPage;  // a huge-page part and a 4 KiB tail
  const npu::Buffer src = device().allocate(size);
  const npu::Buffer dst = device().allocate(size);
  fill_positions(src.map(), 3);
  struct Case {
    std::size_t src_offset, dst_offset, bytes;
  };
  for (const Case& c : {Case{0, 0, size}, Case{kPage + 7, 3, 2 * kHugePage + 13},
                        Case{kHugePage - 1, kHugePage + 1, kHugePage + 2},
                        Case{3 * kHugePage - 5, 11, 5 * kPage + 5}, Case{1, 2, 1}}) {
    fill_positions(dst.map(), 9);
    copy_and_check(dst, c.dst_offset, 9, src, c.src_offset, c.bytes);
  }
}

TEST_F(HugePages, CopiesToAndFromProcessMemory) {
  ASSERT_TRUE(device().properties().has(npu::Capability::userptr));
  const std::size_t size = 2 * kHugePage + 3 * kPage;
  const npu::Buffer host = device().allocate(size);
  ProcessMemory memory(size);
  const npu::Buffer user = device().wrap_user_memory(memory.bytes());

  fill_positions(host.map(), 5);
  fill_positions(memory.bytes(), 6);
  copy_and_check(user, kPage + 1, 6, host, kHugePage - 3, kHugePage + kPage);
  fill_positions(memory.bytes(), 7);
  fill_positions(host.map(), 8);
  copy_and_check(host, 5, 8, user, 3, size - 8);
}

TEST_F(HugePages, CopiesToAndFromADmaBufImportedByAnotherDevice) {
  ASSERT_TRUE(device().properties().has(npu::Capability::dma_buf));
  ASSERT_GE(npu::enumerate_devices().size(), 2U) << "the suite runs with two devices";
  const npu::Device second = npu::Device::open(1);
  const std::size_t size = 2 * kHugePage + kPage;
  const npu::Buffer exported = second.allocate(size);
  const int fd = exported.export_dma_buf();
  const npu::Buffer imported = device().import_dma_buf(fd);
  ::close(fd);
  const npu::Buffer local = device().allocate(size);

  fill_positions(exported.map(), 10);
  fill_positions(local.map(), 11);
  copy_and_check(local, 3, 11, imported, kPage - 1, size - kPage);
  fill_positions(local.map(), 12);
  copy_and_check(imported, kHugePage + 1, 10, local, 0, kHugePage - 1);
}

}  // namespace
}  // namespace guest
