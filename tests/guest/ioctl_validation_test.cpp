// Every ioctl refuses what the uapi says it must: unknown flags and non-zero
// padding are EINVAL, unknown handles and queues ENOENT.
#include <drm/knpu_accel.h>
#include <xf86drm.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <thread>
#include <vector>

#include "guest_device.hpp"

namespace guest {
namespace {

constexpr std::uint32_t kUnknownFlag = 1U << 31;
constexpr std::uint32_t kNoSuchHandle = 0x7fff'fff0;
constexpr std::uint32_t kNoSuchQueue = 0x7fff'fff0;

class IoctlValidation : public DeviceTest {
 protected:
  void SetUp() override {
    DeviceTest::SetUp();
    buffer_.emplace(device().allocate(4096));
    queue_.emplace(device().create_queue());
    RawProgram nop = upload_words(device(), {0, 0, 0});
    program_va_ = nop.buffer.device_address();
    program_handle_ = nop.buffer.handle();
    program_.emplace(std::move(nop.buffer));
  }

  // 0 or the errno of the ioctl.
  int call(unsigned long request, void* argument) const {
    return drmIoctl(device().native_handle(), request, argument) == 0 ? 0 : errno;
  }

  drm_knpu_submit valid_submit() const {
    drm_knpu_submit submit{};
    submit.queue_id = queue_->id();
    submit.program_va = program_va_;
    submit.program_size = 12;
    submit.bo_handles = reinterpret_cast<std::uintptr_t>(&program_handle_);
    submit.bo_count = 1;
    return submit;
  }

  std::optional<npu::Buffer> buffer_;
  std::optional<npu::Buffer> program_;
  std::optional<npu::Queue> queue_;
  std::uint64_t program_va_ = 0;
  std::uint32_t program_handle_ = 0;
};

TEST_F(IoctlValidation, GetParam) {
  drm_knpu_get_param param{KNPU_PARAM_NUM_CORES, 0, 0};
  EXPECT_EQ(call(DRM_IOCTL_KNPU_GET_PARAM, &param), 0);
  param.pad = 1;
  EXPECT_EQ(call(DRM_IOCTL_KNPU_GET_PARAM, &param), EINVAL);
  drm_knpu_get_param unknown{999, 0, 0};
  EXPECT_EQ(call(DRM_IOCTL_KNPU_GET_PARAM, &unknown), EINVAL);
}

TEST_F(IoctlValidation, BoCreate) {
  drm_knpu_bo_create create{};
  create.size = 4096;
  create.flags = kUnknownFlag;
  EXPECT_EQ(call(DRM_IOCTL_KNPU_BO_CREATE, &create), EINVAL);
  create.flags = 0;
  create.size = 0;
  EXPECT_EQ(call(DRM_IOCTL_KNPU_BO_CREATE, &create), EINVAL);
}

TEST_F(IoctlValidation, BoInfo) {
  drm_knpu_bo_info info{};
  info.handle = buffer_->handle();
  EXPECT_EQ(call(DRM_IOCTL_KNPU_BO_INFO, &info), 0);
  EXPECT_EQ(info.va, buffer_->device_address());
  EXPECT_EQ(info.size, 4096U);
  info = {};
  info.handle = kNoSuchHandle;
  EXPECT_EQ(call(DRM_IOCTL_KNPU_BO_INFO, &info), ENOENT);
}

TEST_F(IoctlValidation, QueueCreateAndDestroy) {
  drm_knpu_queue_create create{};
  create.priority = KNPU_QUEUE_PRIORITY_NORMAL;
  create.flags = 1;
  EXPECT_EQ(call(DRM_IOCTL_KNPU_QUEUE_CREATE, &create), EINVAL);
  create.flags = 0;
  create.pad = 1;
  EXPECT_EQ(call(DRM_IOCTL_KNPU_QUEUE_CREATE, &create), EINVAL);
  create.pad = 0;
  create.priority = 4;
  EXPECT_EQ(call(DRM_IOCTL_KNPU_QUEUE_CREATE, &create), EINVAL);

  drm_knpu_queue_destroy destroy{kNoSuchQueue, 0};
  EXPECT_EQ(call(DRM_IOCTL_KNPU_QUEUE_DESTROY, &destroy), ENOENT);
  destroy = {queue_->id(), 1};
  EXPECT_EQ(call(DRM_IOCTL_KNPU_QUEUE_DESTROY, &destroy), EINVAL);
}

// A queue id is the lowest free one, so another thread can destroy a queue
// by its id while QUEUE_CREATE is still returning it. Found by knpu-fuzz on
// the debug kernel (KASAN: QUEUE_CREATE read the id from the freed queue);
// on that kernel a use-after-free here is a splat, which fails the run.
TEST_F(IoctlValidation, QueueDestroyedWhileItsCreateReturns) {
  constexpr int kFiles = 3;
  constexpr int kCreates = 3000;
  std::vector<npu::Device> files;
  for (int i = 0; i < kFiles; ++i) {
    files.push_back(npu::Device::open(0));
  }
  std::atomic<int> running{kFiles};
  std::atomic<int> created{0};
  // Per file, the id its creator got last: the lowest free one, so the id
  // the next create returns too.
  std::array<std::atomic<std::uint32_t>, kFiles> last_id{};
  std::vector<std::jthread> threads;
  for (int f = 0; f < kFiles; ++f) {
    const int fd = files[static_cast<std::size_t>(f)].native_handle();
    std::atomic<std::uint32_t>& last = last_id[static_cast<std::size_t>(f)];
    threads.emplace_back([fd, &last, &running, &created] {
      for (int i = 0; i < kCreates; ++i) {
        drm_knpu_queue_create create{};
        create.priority = KNPU_QUEUE_PRIORITY_NORMAL;
        if (drmIoctl(fd, DRM_IOCTL_KNPU_QUEUE_CREATE, &create) == 0) {
          ++created;
          last = create.queue_id;
          drm_knpu_queue_destroy destroy{create.queue_id, 0};
          drmIoctl(fd, DRM_IOCTL_KNPU_QUEUE_DESTROY, &destroy);  // ENOENT if the other won
        }
      }
      --running;
    });
    threads.emplace_back([fd, &last, &running] {
      while (running > 0) {
        drm_knpu_queue_destroy destroy{last.load(), 0};
        drmIoctl(fd, DRM_IOCTL_KNPU_QUEUE_DESTROY, &destroy);
      }
    });
  }
  threads.clear();
  EXPECT_EQ(created.load(), kFiles * kCreates);
  // The device still works for this test's own file.
  drm_knpu_queue_status status{};
  status.queue_id = queue_->id();
  EXPECT_EQ(call(DRM_IOCTL_KNPU_QUEUE_STATUS, &status), 0);
}

TEST_F(IoctlValidation, SubmitAcceptsTheValidBaseline) {
  drm_knpu_submit submit = valid_submit();
  ASSERT_EQ(call(DRM_IOCTL_KNPU_SUBMIT, &submit), 0);
  EXPECT_EQ(submit.seqno, 1U);
}

TEST_F(IoctlValidation, SubmitRefusesBadArguments) {
  const std::uint32_t bad_handle = kNoSuchHandle;
  const std::vector<std::pair<std::string_view, void (*)(drm_knpu_submit&)>> cases{
      {"unknown flag", [](drm_knpu_submit& s) { s.flags = kUnknownFlag; }},
      {"fence_fd without a flag", [](drm_knpu_submit& s) { s.fence_fd = 3; }},
      {"program_size 0", [](drm_knpu_submit& s) { s.program_size = 0; }},
      {"program_size not a multiple of 4", [](drm_knpu_submit& s) { s.program_size = 10; }},
      {"program_size above the maximum",
       [](drm_knpu_submit& s) { s.program_size = KNPU_MAX_PROGRAM_SIZE + 4; }},
      {"misaligned program", [](drm_knpu_submit& s) { s.program_va += 2; }},
      {"args_size not a multiple of 8", [](drm_knpu_submit& s) { s.args_size = 12; }},
      {"args_size above the maximum",
       [](drm_knpu_submit& s) { s.args_size = KNPU_MAX_ARGS_SIZE + 8; }},
      {"too many buffers", [](drm_knpu_submit& s) { s.bo_count = KNPU_MAX_SUBMIT_BOS + 1; }},
      {"too many in-syncs",
       [](drm_knpu_submit& s) { s.in_sync_count = KNPU_MAX_SUBMIT_SYNCS + 1; }},
  };
  for (const auto& [name, edit] : cases) {
    drm_knpu_submit submit = valid_submit();
    edit(submit);
    EXPECT_EQ(call(DRM_IOCTL_KNPU_SUBMIT, &submit), EINVAL) << name;
  }
  drm_knpu_submit unknown_queue = valid_submit();
  unknown_queue.queue_id = kNoSuchQueue;
  EXPECT_EQ(call(DRM_IOCTL_KNPU_SUBMIT, &unknown_queue), ENOENT);
  drm_knpu_submit unknown_buffer = valid_submit();
  unknown_buffer.bo_handles = reinterpret_cast<std::uintptr_t>(&bad_handle);
  EXPECT_EQ(call(DRM_IOCTL_KNPU_SUBMIT, &unknown_buffer), ENOENT);
}

TEST_F(IoctlValidation, Wait) {
  drm_knpu_submit submit = valid_submit();
  ASSERT_EQ(call(DRM_IOCTL_KNPU_SUBMIT, &submit), 0);
  drm_knpu_wait wait{};
  wait.queue_id = queue_->id();
  wait.seqno = submit.seqno;
  wait.timeout_ns = INT64_MAX;
  EXPECT_EQ(call(DRM_IOCTL_KNPU_WAIT, &wait), 0);
  EXPECT_EQ(wait.status, static_cast<std::uint32_t>(KNPU_JOB_OK));

  drm_knpu_wait flagged = wait;
  flagged.flags = 1;
  EXPECT_EQ(call(DRM_IOCTL_KNPU_WAIT, &flagged), EINVAL);
  drm_knpu_wait future = wait;
  future.seqno = submit.seqno + 100;
  EXPECT_EQ(call(DRM_IOCTL_KNPU_WAIT, &future), EINVAL);
  drm_knpu_wait unknown = wait;
  unknown.queue_id = kNoSuchQueue;
  EXPECT_EQ(call(DRM_IOCTL_KNPU_WAIT, &unknown), ENOENT);
}

TEST_F(IoctlValidation, QueueStatus) {
  drm_knpu_queue_status status{};
  status.queue_id = queue_->id();
  EXPECT_EQ(call(DRM_IOCTL_KNPU_QUEUE_STATUS, &status), 0);
  EXPECT_EQ(status.state, static_cast<std::uint32_t>(KNPU_QUEUE_STATE_ACTIVE));
  status.flags = 1;
  EXPECT_EQ(call(DRM_IOCTL_KNPU_QUEUE_STATUS, &status), EINVAL);
  status.flags = 0;
  status.pad = 1;
  EXPECT_EQ(call(DRM_IOCTL_KNPU_QUEUE_STATUS, &status), EINVAL);
  status = {};
  status.queue_id = kNoSuchQueue;
  EXPECT_EQ(call(DRM_IOCTL_KNPU_QUEUE_STATUS, &status), ENOENT);
}

// Found by knpu-fuzz: the DRM core's GET_UNIQUE and GET_MAGIC dereference
// the file's DRM master, which an accel file never has; on 6.12 either one
// oopsed the kernel from any process that can open the node. The driver
// refuses them (whatever the size and direction bits of the request, which
// the core ignores); libdrm's drmGetBusid() and drmGetMagic() then fail.
TEST_F(IoctlValidation, CoreIoctlsThatNeedAMasterAreRefused) {
  drm_unique unique{};
  EXPECT_EQ(call(DRM_IOCTL_GET_UNIQUE, &unique), EOPNOTSUPP);
  drm_auth auth{};
  EXPECT_EQ(call(DRM_IOCTL_GET_MAGIC, &auth), EOPNOTSUPP);
  std::array<std::uint64_t, 4> raw{};
  EXPECT_EQ(call(_IOC(_IOC_READ | _IOC_WRITE, DRM_IOCTL_BASE, 0x01, 8), raw.data()), EOPNOTSUPP);
  // The core ioctls accel clients use still work.
  drm_version version{};
  EXPECT_EQ(call(DRM_IOCTL_VERSION, &version), 0);
}

TEST_F(IoctlValidation, LibraryErrorsNameTheIoctl) {
  try {
    static_cast<void>(device().allocate(0));
    FAIL();
  } catch (const std::system_error& e) {
    EXPECT_STREQ(e.what(), "DRM_IOCTL_KNPU_BO_CREATE: Invalid argument");
    EXPECT_EQ(e.code(), npu::errc::invalid_argument);
  }
}

}  // namespace
}  // namespace guest
