// DRM_IOCTL_KNPU_SUBMIT_BATCH on the device: entries go in in array order
// with their own seqnos and fences, a refused entry stops the batch there,
// and malformed headers are refused before anything is submitted.
#include <drm/knpu_accel.h>
#include <poll.h>
#include <unistd.h>
#include <xf86drm.h>

#include <cerrno>
#include <cstring>
#include <list>

#include "guest_device.hpp"
#include "npu/npu.hpp"

namespace guest {
namespace {

constexpr std::uint32_t kNoSuchHandle = 0x7fff'fff0;
constexpr std::uint64_t kRegion = 1024;  // bytes each job fills

// CLOCK_MONOTONIC now plus `seconds`, for WAIT's absolute deadline.
std::int64_t deadline_in(int seconds) {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (now.tv_sec + seconds) * 1'000'000'000LL + now.tv_nsec;
}

class SubmitBatch : public DeviceTest {
 protected:
  void SetUp() override {
    DeviceTest::SetUp();
    kernel_.emplace(device().load_kernel(fill_kernel()));
    queue_.emplace(device().create_queue());
    target_.emplace(device().allocate(4 * kRegion));
  }

  // 0 or the errno of the ioctl.
  int call(unsigned long request, void* argument) const {
    return drmIoctl(device().native_handle(), request, argument) == 0 ? 0 : errno;
  }

  // A SUBMIT of the fill kernel over `regions` regions of the target from
  // region `first` on with `pattern`; its argument table gets a buffer of
  // its own.
  drm_knpu_submit fill_entry(std::uint64_t first, std::uint32_t pattern,
                             std::uint64_t regions = 1) {
    npu::KernelArguments arguments = kernel_->make_arguments();
    arguments.set("dst", target_->sub_buffer(first * kRegion, regions * kRegion))
        .set("bytes", regions * kRegion)
        .set("pattern", std::uint64_t{pattern});
    const std::vector<std::uint64_t> table = arguments.table();
    const npu::Buffer& table_buffer = tables_.emplace_back(device().allocate(4096));
    std::memcpy(table_buffer.map().data(), table.data(), table.size() * sizeof(std::uint64_t));
    std::vector<std::uint32_t>& handles = handles_.emplace_back(arguments.buffer_handles());
    handles.push_back(kernel_->program_handle());
    handles.push_back(table_buffer.handle());
    drm_knpu_submit submit{};
    submit.queue_id = queue_->id();
    submit.program_va = kernel_->program_address();
    submit.program_size = kernel_->program_size();
    submit.args_va = table_buffer.device_address();
    submit.args_size = static_cast<std::uint32_t>(table.size() * sizeof(std::uint64_t));
    submit.bo_handles = reinterpret_cast<std::uintptr_t>(handles.data());
    submit.bo_count = static_cast<std::uint32_t>(handles.size());
    return submit;
  }

  drm_knpu_submit_batch batch_of(std::vector<drm_knpu_submit>& entries) const {
    drm_knpu_submit_batch batch{};
    batch.submits = reinterpret_cast<std::uintptr_t>(entries.data());
    batch.count = static_cast<std::uint32_t>(entries.size());
    batch.stride = sizeof(drm_knpu_submit);
    return batch;
  }

  // 0 or the errno of WAIT for `seqno`; the job's status in `status`.
  int wait(std::uint64_t seqno, std::uint32_t& status) const {
    drm_knpu_wait request{};
    request.queue_id = queue_->id();
    request.seqno = seqno;
    request.timeout_ns = deadline_in(30);
    const int error = call(DRM_IOCTL_KNPU_WAIT, &request);
    status = request.status;
    return error;
  }

  std::optional<npu::Kernel> kernel_;
  std::optional<npu::Queue> queue_;
  std::optional<npu::Buffer> target_;
  std::list<npu::Buffer> tables_;
  std::list<std::vector<std::uint32_t>> handles_;
};

TEST_F(SubmitBatch, TheDriverReportsIt) {
  EXPECT_TRUE(device().properties().has(npu::Capability::submit_batch));
  EXPECT_GE(device().properties().uapi_version, (1U << 16) | 2U);
}

// Later entries overwrite the start of what earlier ones filled: only
// in-order execution leaves 3 patterns side by side.
TEST_F(SubmitBatch, EntriesRunInOrderWithTheirOwnSeqnosAndFences) {
  drm_syncobj_create syncobj{};
  ASSERT_EQ(call(DRM_IOCTL_SYNCOBJ_CREATE, &syncobj), 0);
  const drm_knpu_sync signal{syncobj.handle, 0, 0};
  std::vector<drm_knpu_submit> entries{fill_entry(0, 0x11111111, 3), fill_entry(0, 0x22222222, 2),
                                       fill_entry(0, 0x33333333)};
  for (drm_knpu_submit& entry : entries) {
    entry.flags = KNPU_SUBMIT_FENCE_FD_OUT;
  }
  entries[2].out_syncs = reinterpret_cast<std::uintptr_t>(&signal);
  entries[2].out_sync_count = 1;
  drm_knpu_submit_batch batch = batch_of(entries);
  ASSERT_EQ(call(DRM_IOCTL_KNPU_SUBMIT_BATCH, &batch), 0);
  EXPECT_EQ(batch.submitted, 3U);
  for (std::size_t i = 1; i < entries.size(); ++i) {
    EXPECT_EQ(entries[i].seqno, entries[0].seqno + i) << i;
    EXPECT_GT(entries[i].fence_fd, 2) << i;
    EXPECT_NE(entries[i].fence_fd, entries[i - 1].fence_fd) << i;
  }
  std::uint32_t status = 0;
  ASSERT_EQ(wait(entries[2].seqno, status), 0);
  EXPECT_EQ(status, KNPU_JOB_OK);
  for (const drm_knpu_submit& entry : entries) {
    pollfd fence{entry.fence_fd, POLLIN, 0};
    EXPECT_EQ(poll(&fence, 1, 0), 1) << "the job's sync_file has signalled";
    close(entry.fence_fd);
  }
  drm_syncobj_wait signalled{};
  signalled.handles = reinterpret_cast<std::uintptr_t>(&syncobj.handle);
  signalled.count_handles = 1;
  EXPECT_EQ(call(DRM_IOCTL_SYNCOBJ_WAIT, &signalled), 0);
  const std::span<const std::byte> bytes = target_->map();
  EXPECT_EQ(first_mismatch(bytes, kRegion, 0x33333333), -1);
  EXPECT_EQ(first_mismatch(bytes.subspan(kRegion), kRegion, 0x22222222), -1);
  EXPECT_EQ(first_mismatch(bytes.subspan(2 * kRegion), kRegion, 0x11111111), -1);
  drm_syncobj_destroy destroy{syncobj.handle, 0};
  EXPECT_EQ(call(DRM_IOCTL_SYNCOBJ_DESTROY, &destroy), 0);
}

TEST_F(SubmitBatch, ARefusedEntryStopsTheBatchThere) {
  const std::uint32_t bad_handle = kNoSuchHandle;
  std::vector<drm_knpu_submit> entries{fill_entry(0, 0x44444444), fill_entry(1, 0x55555555),
                                       fill_entry(2, 0x66666666), fill_entry(3, 0x77777777)};
  entries[2].bo_handles = reinterpret_cast<std::uintptr_t>(&bad_handle);
  entries[2].bo_count = 1;
  drm_knpu_submit_batch batch = batch_of(entries);
  EXPECT_EQ(call(DRM_IOCTL_KNPU_SUBMIT_BATCH, &batch), ENOENT);
  ASSERT_EQ(batch.submitted, 2U);
  EXPECT_EQ(entries[1].seqno, entries[0].seqno + 1);
  EXPECT_EQ(entries[2].seqno, 0U) << "not submitted, not written back";
  EXPECT_EQ(entries[3].seqno, 0U);
  std::uint32_t status = 0;
  ASSERT_EQ(wait(entries[1].seqno, status), 0);
  EXPECT_EQ(status, KNPU_JOB_OK);
  EXPECT_EQ(wait(entries[1].seqno + 1, status), EINVAL) << "nothing after the refused entry";
  const std::span<const std::byte> bytes = target_->map();
  EXPECT_EQ(first_mismatch(bytes, kRegion, 0x44444444), -1);
  EXPECT_EQ(first_mismatch(bytes.subspan(kRegion), kRegion, 0x55555555), -1);
  EXPECT_EQ(first_mismatch(bytes.subspan(2 * kRegion), 2 * kRegion, 0), -1);
}

TEST_F(SubmitBatch, MalformedHeadersAreRefusedWholly) {
  std::vector<drm_knpu_submit> entries{fill_entry(0, 0x12345678)};
  const std::vector<std::pair<std::string_view, void (*)(drm_knpu_submit_batch&)>> cases{
      {"count 0", [](drm_knpu_submit_batch& b) { b.count = 0; }},
      {"count above the maximum",
       [](drm_knpu_submit_batch& b) { b.count = KNPU_MAX_BATCH_SUBMITS + 1; }},
      {"stride below uapi 1.0's struct",
       [](drm_knpu_submit_batch& b) { b.stride = KNPU_SUBMIT_SIZE_VER0 - 8; }},
      {"stride not a multiple of 8", [](drm_knpu_submit_batch& b) { b.stride += 4; }},
      {"stride above the maximum",
       [](drm_knpu_submit_batch& b) { b.stride = KNPU_MAX_BATCH_STRIDE + 8; }},
      {"non-zero pad", [](drm_knpu_submit_batch& b) { b.pad = 1; }},
  };
  for (const auto& [name, edit] : cases) {
    drm_knpu_submit_batch batch = batch_of(entries);
    edit(batch);
    batch.submitted = 99;
    EXPECT_EQ(call(DRM_IOCTL_KNPU_SUBMIT_BATCH, &batch), EINVAL) << name;
    EXPECT_EQ(batch.submitted, 0U) << name;
  }
  EXPECT_EQ(entries[0].seqno, 0U);
  drm_knpu_submit_batch batch = batch_of(entries);
  ASSERT_EQ(call(DRM_IOCTL_KNPU_SUBMIT_BATCH, &batch), 0);
  EXPECT_EQ(entries[0].seqno, 1U) << "the refused batches submitted nothing";
}

// A newer userspace's larger entries: the kernel reads what it knows, and
// refuses an entry whose unknown tail is not zero.
TEST_F(SubmitBatch, EntriesOfALargerStrideAreRead) {
  constexpr std::size_t kStride = sizeof(drm_knpu_submit) + 16;
  std::vector<std::byte> entries(2 * kStride);
  const drm_knpu_submit first = fill_entry(0, 0x0a0b0c0d);
  const drm_knpu_submit second = fill_entry(1, 0x01020304);
  std::memcpy(entries.data(), &first, sizeof(first));
  std::memcpy(entries.data() + kStride, &second, sizeof(second));
  entries[kStride + sizeof(drm_knpu_submit) + 3] = std::byte{1};
  drm_knpu_submit_batch batch{};
  batch.submits = reinterpret_cast<std::uintptr_t>(entries.data());
  batch.count = 2;
  batch.stride = kStride;
  EXPECT_EQ(call(DRM_IOCTL_KNPU_SUBMIT_BATCH, &batch), E2BIG);
  ASSERT_EQ(batch.submitted, 1U);
  drm_knpu_submit written{};
  std::memcpy(&written, entries.data(), sizeof(written));
  std::uint32_t status = 0;
  ASSERT_EQ(wait(written.seqno, status), 0);
  EXPECT_EQ(status, KNPU_JOB_OK);
  EXPECT_EQ(first_mismatch(target_->map(), kRegion, 0x0a0b0c0d), -1);
}

}  // namespace
}  // namespace guest
