// libnpu as a runtime substrate, on the device: device-side copies in every
// direction, sub-buffers and buffers released while their jobs run, float
// arguments, launch objects, batches and command lists, recovery after a
// failed job while old handles live on, and objects of two opens kept apart.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <numeric>

#include "guest_device.hpp"
#include "npu/npu.hpp"

namespace guest {
namespace {

using namespace std::chrono_literals;

constexpr std::size_t kPage = 4096;

// A device address no buffer can have: below the driver's VA range.
std::uint64_t unmapped_address(const npu::DeviceProperties& properties) {
  return properties.va_start - 16 * kPage;
}

class Runtime : public DeviceTest {
 protected:
  // Bytes 0, 1, 2, ... (mod 251, so no page repeats another) into `buffer`.
  static void write_ramp(const npu::Buffer& buffer) {
    std::vector<std::byte> bytes(buffer.size());
    for (std::size_t i = 0; i < bytes.size(); ++i) {
      bytes[i] = static_cast<std::byte>(i % 251);
    }
    buffer.write(0, bytes);
  }
  static bool has_ramp(const npu::Buffer& buffer, std::size_t from = 0) {
    const std::span<const std::byte> bytes = buffer.map();
    for (std::size_t i = 0; i < bytes.size(); ++i) {
      if (bytes[i] != static_cast<std::byte>((from + i) % 251)) {
        return false;
      }
    }
    return true;
  }

  // A job that waits until the first word of `gate` is 1 (the host opens it).
  npu::JobHandle gated(const npu::Queue& queue, const npu::Buffer& gate) {
    gate_kernel_ = device().load_kernel(npu::assemble(R"(
.kernel gate
.arg buffer gate
    sem_wait @gate, 1
)"));
    npu::KernelArguments args = gate_kernel_->make_arguments();
    args.set("gate", gate);
    return queue.submit(*gate_kernel_, args);
  }
  static void open(const npu::Buffer& gate) {
    std::atomic_ref<std::uint64_t>(gate.map_as<std::uint64_t>()[0]).store(1);
  }

  std::optional<npu::Kernel> gate_kernel_;
};

TEST_F(Runtime, WriteAndReadAtAnOffset) {
  const npu::Buffer buffer = device().allocate(kPage);
  const std::array<std::byte, 3> bytes{std::byte{1}, std::byte{2}, std::byte{3}};
  buffer.write(100, bytes);
  std::array<std::byte, 5> out{};
  buffer.read(99, out);
  EXPECT_EQ(out, (std::array<std::byte, 5>{std::byte{0}, std::byte{1}, std::byte{2}, std::byte{3},
                                           std::byte{0}}));
  EXPECT_THROW(buffer.write(kPage - 2, bytes), std::out_of_range);
  EXPECT_THROW(buffer.read(kPage, std::span(out).first(1)), std::out_of_range);
}

TEST_F(Runtime, CopiesBetweenHostBuffersAndSubBuffers) {
  const npu::Queue queue = device().create_queue();
  const npu::Buffer src = device().allocate(4 * kPage);
  const npu::Buffer dst = device().allocate(4 * kPage);
  write_ramp(src);
  ASSERT_TRUE(queue.copy(dst, src).wait(30s).ok());
  EXPECT_TRUE(has_ramp(dst));

  // A range of one into the middle of another, through sub-buffers.
  const npu::Buffer window = dst.sub_buffer(kPage + 8, 100);
  ASSERT_TRUE(queue.fill(dst, 0).wait(30s).ok());
  ASSERT_TRUE(queue.copy(window, src.sub_buffer(8, 100)).wait(30s).ok());
  EXPECT_EQ(window.device_address(), dst.device_address() + kPage + 8);
  EXPECT_TRUE(has_ramp(window, 8));
  EXPECT_EQ(dst.map()[kPage + 7], std::byte{0});
  EXPECT_EQ(dst.map()[kPage + 108], std::byte{0});
  EXPECT_THROW(static_cast<void>(queue.copy(window, src)), std::invalid_argument);
}

TEST_F(Runtime, CopiesBetweenHostAndDeviceMemory) {
  if (!device().properties().has(npu::Capability::device_memory)) {
    GTEST_SKIP() << "the driver has no device memory (Capability::device_memory)";
  }
  const npu::Queue queue = device().create_queue();
  const npu::Buffer host = device().allocate(2 * kPage);
  const npu::Buffer on_card =
      device().allocate(2 * kPage, {.placement = npu::MemoryPlacement::device});
  const npu::Buffer back = device().allocate(2 * kPage);
  write_ramp(host);
  ASSERT_TRUE(queue.copy(on_card, host).wait(30s).ok());
  ASSERT_TRUE(queue.copy(back, on_card).wait(30s).ok());
  EXPECT_TRUE(has_ramp(back));
}

TEST_F(Runtime, FillWritesThePatternEverywhere) {
  const npu::Queue queue = device().create_queue();
  const npu::Buffer buffer = device().allocate(3 * kPage);
  ASSERT_TRUE(queue.fill(buffer.sub_buffer(4, 3 * kPage - 8), 0xa1b2c3d4).wait(30s).ok());
  EXPECT_EQ(buffer.map()[3], std::byte{0});
  EXPECT_EQ(first_mismatch(buffer.map().subspan(4), 3 * kPage - 8, 0xa1b2c3d4), -1);
  EXPECT_EQ(buffer.map()[3 * kPage - 4], std::byte{0});
}

TEST_F(Runtime, BuffersReleasedWhileTheirJobWaitsStayValid) {
  const npu::Queue queue = device().create_queue();
  const npu::Buffer gate = device().allocate(kPage);
  const npu::JobHandle gate_job = gated(queue, gate);
  std::optional<npu::Buffer> src = device().allocate(2 * kPage);
  std::optional<npu::Buffer> dst = device().allocate(2 * kPage);
  write_ramp(*src);
  const npu::Buffer result = dst->sub_buffer(kPage, kPage);  // keeps dst's memory
  const std::uint32_t src_handle = src->handle();
  const npu::JobHandle copy = queue.copy(*dst, *src);
  src.reset();  // the caller lets go of both while the copy waits behind the gate
  dst.reset();
  // The copy still holds src: a new buffer does not get its handle (or an
  // argument table naming it would now name the new buffer).
  const npu::Buffer newcomer = device().allocate(kPage);
  EXPECT_NE(newcomer.handle(), src_handle);
  EXPECT_EQ(copy.wait(0ns).status, npu::JobStatus::timeout);
  open(gate);
  ASSERT_TRUE(gate_job.wait(30s).ok());
  ASSERT_TRUE(copy.wait(30s).ok());
  EXPECT_TRUE(has_ramp(result, kPage % 251));
}

TEST_F(Runtime, ArgumentsHoldTheirBuffers) {
  const npu::Kernel kernel = device().load_kernel(fill_kernel());
  npu::KernelArguments args = kernel.make_arguments();
  std::uint32_t handle = 0;
  {
    const npu::Buffer scratch = device().allocate(kPage);
    handle = scratch.handle();
    args.set("dst", scratch).set("bytes", kPage).set("pattern", 0x5a5a5a5a);
  }
  ASSERT_EQ(args.buffers().size(), 1U);
  EXPECT_EQ(args.buffers()[0].handle(), handle);
  const npu::Queue queue = device().create_queue();
  ASSERT_TRUE(queue.submit(kernel, args).wait(30s).ok());
  EXPECT_EQ(first_mismatch(args.buffers()[0].map(), kPage, 0x5a5a5a5a), -1);
}

// A model's argument table names a few buffers from hundreds of slots: a
// job keeps each buffer object once, but each pool allocation (a lease of
// its own on a shared slab) still as itself.
TEST_F(Runtime, ArgumentsHoldEachBufferOnceAndEachPoolAllocation) {
  const npu::Kernel kernel = device().load_kernel(fill_copy_kernel());
  npu::KernelArguments args = kernel.make_arguments();
  const npu::Buffer both = device().allocate(2 * kPage);
  args.set("src", both).set("dst", both, kPage).set("bytes", kPage).set("pattern", 0x3c3c3c3c);
  EXPECT_EQ(args.buffers().size(), 1U);
  args.set("dst", both.sub_buffer(kPage, kPage));
  EXPECT_EQ(args.buffers().size(), 1U) << "a sub-buffer is its buffer's object";
  npu::BufferPool pool(device());
  std::uint64_t dst_address = 0;
  {
    const npu::Buffer src = pool.allocate(kPage);
    const npu::Buffer dst = pool.allocate(kPage);
    ASSERT_EQ(src.handle(), dst.handle()) << "one slab";
    dst_address = dst.device_address();
    args.set("src", src).set("dst", dst);
  }
  ASSERT_EQ(args.buffers().size(), 2U);
  const npu::Queue queue = device().create_queue();
  const npu::JobHandle job = queue.submit(kernel, args);
  args.set("src", both).set("dst", both, kPage);  // the arguments let go of both allocations
  EXPECT_NE(pool.allocate(kPage).device_address(), dst_address) << "the job still holds it";
  ASSERT_TRUE(job.wait(30s).ok());
}

TEST_F(Runtime, FloatArgumentsReachTheDevice) {
  // rmsnorm of a row of 0.5: 0.5 / sqrt(0.25 + eps). With eps = 0.75 that is
  // 0.5; an eps that arrived as 0 (a float truncated to an integer) gives 1.
  npu::KernelBuilder b("norm");
  const auto in = b.arg_buffer("in");
  const auto out = b.arg_buffer("out");
  const auto gamma = b.arg_buffer("gamma");
  const auto rows = b.arg_scalar("rows");
  const auto cols = b.arg_scalar("cols");
  const auto eps = b.arg_scalar("eps");
  b.rmsnorm(npu::isa::DataType::fp32, in, out, gamma, rows, cols, eps);
  const npu::KernelImage image = b.build();
  const npu::DeviceProperties& properties = device().properties();
  if (!properties.supports(npu::isa::Opcode::rmsnorm) ||
      !properties.supports(npu::isa::DataType::fp32)) {
    // Refused at load, not a failed job and a banned queue at the launch.
    try {
      static_cast<void>(device().load_kernel(image));
      ADD_FAILURE() << "loaded a kernel the device cannot run";
    } catch (const npu::KernelFormatError& e) {
      EXPECT_EQ(e.code(), npu::KernelErrc::unsupported_by_device) << e.what();
      EXPECT_EQ(e.code(), npu::errc::not_supported) << e.what();
    }
    GTEST_SKIP() << "the device does not execute RMSNORM fp32, the one float-operand kernel here";
  }
  const npu::Kernel kernel = device().load_kernel(image);
  EXPECT_EQ(kernel.arguments()[5].info.scalar, npu::ScalarKind::float32);
  EXPECT_EQ(kernel.arguments()[3].info.scalar, npu::ScalarKind::integer);

  constexpr std::size_t kCols = 8;
  const npu::Buffer input = device().allocate(kCols * 4);
  const npu::Buffer output = device().allocate(kCols * 4);
  const npu::Buffer ones = device().allocate(kCols * 4);
  std::ranges::fill(input.map_as<float>().first(kCols), 0.5F);
  std::ranges::fill(ones.map_as<float>().first(kCols), 1.0F);
  npu::Launch launch(kernel);
  launch.set("in", input).set("out", output).set("gamma", ones).set("rows", 1).set("cols", kCols);
  launch.set("eps", 0.75F);
  EXPECT_THROW(launch.set("eps", 1), std::invalid_argument);
  const npu::Queue queue = device().create_queue();
  ASSERT_TRUE(queue.submit(launch).wait(30s).ok());
  for (std::size_t i = 0; i < kCols; ++i) {
    EXPECT_NEAR(output.map_as<float>()[i], 0.5F, 1e-6) << i;
  }
}

TEST_F(Runtime, ALaunchObjectIsReusedWithOneSlotChanged) {
  const npu::Kernel kernel = device().load_kernel(fill_kernel());
  const npu::Buffer buffer = device().allocate(64 * 64);
  npu::Launch launch(kernel);
  const std::uint32_t pattern = launch.index_of("pattern");
  launch.set("bytes", 64);
  const npu::Queue queue = device().create_queue();
  std::vector<npu::JobHandle> jobs;
  for (std::uint32_t i = 0; i < 64; ++i) {
    launch.set("dst", buffer, std::uint64_t{i} * 64).set(pattern, std::uint64_t{0x01010101U * i});
    jobs.push_back(queue.submit(launch));
  }
  for (const npu::JobHandle& job : jobs) {
    ASSERT_TRUE(job.wait(30s).ok());
  }
  for (std::uint32_t i = 0; i < 64; ++i) {
    EXPECT_EQ(first_mismatch(buffer.map().subspan(i * 64), 64, 0x01010101U * i), -1) << i;
  }
}

TEST_F(Runtime, ACommandListReplaysInOrder) {
  const npu::Kernel kernel = device().load_kernel(fill_kernel());
  const npu::Buffer a = device().allocate(kPage);
  const npu::Buffer b = device().allocate(kPage);
  const npu::Buffer c = device().allocate(kPage);
  npu::Launch fill_a(kernel);
  fill_a.set("dst", a).set("bytes", kPage).set("pattern", 0x11223344);
  npu::CommandList list;
  list.launch(fill_a).copy(b, a).fill(a, 0).copy(c, b);  // only ordered execution gives c == b
  EXPECT_EQ(list.size(), 4U);
  const npu::Queue queue = device().create_queue();
  for (int replay = 0; replay < 3; ++replay) {
    c.write(0, std::vector<std::byte>(kPage));
    const npu::BatchHandle batch = queue.submit(list);
    ASSERT_EQ(batch.jobs.size(), 4U);
    ASSERT_TRUE(batch.wait(30s).ok()) << replay;
    EXPECT_EQ(first_mismatch(c.map(), kPage, 0x11223344), -1) << replay;
    EXPECT_EQ(first_mismatch(a.map(), kPage, 0), -1) << replay;
  }
}

TEST_F(Runtime, ABatchSignalsItsEventAfterItsLastJob) {
  const npu::Queue first = device().create_queue();
  const npu::Queue second = device().create_queue();
  const npu::Buffer a = device().allocate(kPage);
  const npu::Buffer b = device().allocate(kPage);
  npu::CommandList produce;
  produce.fill(a, 0x77777777).copy(b, a);
  npu::CommandList consume;
  consume.copy(a, b);
  const npu::Event done = device().create_event();
  const npu::BatchHandle produced = first.submit(produce, {.signal = {done}});
  const npu::BatchHandle consumed = second.submit(consume, {.wait_for = {done}});
  ASSERT_TRUE(produced.wait(30s).ok());
  ASSERT_TRUE(consumed.wait(30s).ok());
  EXPECT_EQ(first_mismatch(a.map(), kPage, 0x77777777), -1);
}

TEST_F(Runtime, TheArgumentRingGrowsInsteadOfMakingTables) {
  const npu::Queue queue = device().create_queue({.argument_slots = 2});
  const npu::Buffer gate = device().allocate(kPage);
  const npu::JobHandle gate_job = gated(queue, gate);
  const npu::Kernel kernel = device().load_kernel(fill_kernel());
  const npu::Buffer buffer = device().allocate(kPage);
  npu::Launch launch(kernel);
  launch.set("bytes", 64);
  EXPECT_EQ(queue.argument_slots(), 2U);
  std::vector<npu::JobHandle> jobs;
  for (std::uint32_t i = 0; i < 20; ++i) {  // all behind the gate: every slot busy
    launch.set("dst", buffer, std::uint64_t{i} * 64).set("pattern", std::uint64_t{i + 1});
    jobs.push_back(queue.submit(launch));
  }
  EXPECT_EQ(queue.argument_slots(), 16U) << "2 slots, doubled whenever every one was busy";
  open(gate);
  ASSERT_TRUE(gate_job.wait(30s).ok());
  for (std::uint32_t i = 0; i < 20; ++i) {
    ASSERT_TRUE(jobs[i].wait(30s).ok());
    EXPECT_EQ(first_mismatch(buffer.map().subspan(i * 64), 64, i + 1), -1) << i;
  }
}

// A list of more launches than the ring has slots, every one kept waiting
// behind a gate (whose table takes the first slot): the batch submits what
// it staged whenever the next slot is still in use, 1, 4, 8 and 16 jobs,
// the ring doubling each time, and the last 11 at the end. A staged table
// overwritten by a later one would fill the wrong pattern.
TEST_F(Runtime, ACommandListLargerThanTheArgumentRingRuns) {
  const npu::Queue queue = device().create_queue({.argument_slots = 2});
  const npu::Buffer gate = device().allocate(kPage);
  const npu::JobHandle gate_job = gated(queue, gate);
  const npu::Kernel kernel = device().load_kernel(fill_kernel());
  const npu::Buffer buffer = device().allocate(kPage);
  constexpr std::uint32_t kJobs = 40;
  npu::Launch launch(kernel);
  launch.set("bytes", 64);
  npu::CommandList list;
  for (std::uint32_t i = 0; i < kJobs; ++i) {
    list.launch(
        launch.set("dst", buffer, std::uint64_t{i} * 64).set("pattern", std::uint64_t{i + 1}));
  }
  const npu::BatchHandle batch = queue.submit(list);
  ASSERT_EQ(batch.jobs.size(), kJobs);
  for (std::uint32_t i = 1; i < kJobs; ++i) {
    EXPECT_EQ(batch.jobs[i].sequence_number(), batch.jobs[0].sequence_number() + i) << i;
  }
  EXPECT_EQ(queue.argument_slots(), 32U) << "2 slots, doubled at each flush";
  open(gate);
  ASSERT_TRUE(gate_job.wait(30s).ok());
  ASSERT_TRUE(batch.wait(30s).ok());
  for (std::uint32_t i = 0; i < kJobs; ++i) {
    EXPECT_EQ(first_mismatch(buffer.map().subspan(i * 64), 64, i + 1), -1) << i;
  }
}

// The driver refuses the second launch (a buffer handle the file does not
// have): the first is in flight, the third never submitted, and the queue
// and its argument ring go on working.
TEST_F(Runtime, ARefusedLaunchStopsACommandListThere) {
  const npu::Kernel kernel = device().load_kernel(fill_kernel());
  const npu::Buffer a = device().allocate(kPage);
  const npu::Buffer b = device().allocate(kPage);
  constexpr std::uint32_t kNoSuchHandle = 0x7fff'fff0;
  npu::KernelArguments fill_a = kernel.make_arguments();
  fill_a.set("dst", a).set("bytes", kPage).set("pattern", 0x5a5a5a5a);
  npu::KernelArguments refused = kernel.make_arguments();
  refused.set("dst", npu::BufferBinding{kNoSuchHandle, b.device_address(), kPage})
      .set("bytes", kPage)
      .set("pattern", 1);
  npu::KernelArguments fill_b = kernel.make_arguments();
  fill_b.set("dst", b).set("bytes", kPage).set("pattern", 0x6b6b6b6b);
  npu::CommandList list;
  list.launch(kernel, fill_a).launch(kernel, refused).launch(kernel, fill_b);
  const npu::Queue queue = device().create_queue({.argument_slots = 2});
  try {
    static_cast<void>(queue.submit(list));
    ADD_FAILURE() << "the refused launch did not throw";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), ENOENT) << e.what();
  }
  const npu::JobHandle next = queue.submit(kernel, fill_b);
  EXPECT_EQ(next.sequence_number(), 2U) << "only the first launch went in";
  ASSERT_TRUE(next.wait(30s).ok());
  // Jobs of a queue finish in order: once this one has, the first has too.
  for (int again = 0; again < 3; ++again) {  // every slot of the ring reused
    ASSERT_TRUE(queue.submit(kernel, fill_b).wait(30s).ok()) << again;
  }
  EXPECT_EQ(first_mismatch(a.map(), kPage, 0x5a5a5a5a), -1) << "the first launch ran";
  EXPECT_EQ(queue.status().state, npu::QueueState::active);
}

TEST_F(Runtime, RecoverGivesABannedQueueAFreshOneWhileOldHandlesLive) {
  const npu::Kernel kernel = device().load_kernel(fill_kernel());
  const npu::Buffer buffer = device().allocate(kPage);
  npu::Queue queue = device().create_queue();
  const npu::Queue copy_of_queue = queue;
  EXPECT_FALSE(queue.recover()) << "an active queue needs no recovery";
  npu::KernelArguments good = kernel.make_arguments();
  good.set("dst", buffer).set("bytes", kPage).set("pattern", 0x01020304);
  npu::KernelArguments bad = kernel.make_arguments();
  const std::uint64_t unmapped = unmapped_address(device().properties());
  bad.set("dst", npu::BufferBinding{buffer.handle(), unmapped, kPage})
      .set("bytes", kPage)
      .set("pattern", 0);
  // All three wait behind a gate, so none is refused by a ban that came first.
  const npu::Buffer gate = device().allocate(kPage);
  const npu::JobHandle gate_job = gated(queue, gate);
  const npu::JobHandle before = queue.submit(kernel, good);
  const npu::JobHandle failed = queue.submit(kernel, bad);
  const npu::JobHandle behind = queue.submit(kernel, good);
  open(gate);
  ASSERT_EQ(failed.wait(30s).status, npu::JobStatus::failed);
  ASSERT_EQ(queue.status().state, npu::QueueState::banned);
  EXPECT_THROW(static_cast<void>(queue.submit(kernel, good)), std::system_error);

  ASSERT_TRUE(queue.recover());
  EXPECT_EQ(queue.status().state, npu::QueueState::active);
  EXPECT_EQ(copy_of_queue.id(), queue.id()) << "copies move on together";
  // The old handles still answer, from what the banned queue recorded.
  EXPECT_TRUE(gate_job.wait(0ns).ok());
  EXPECT_TRUE(before.wait(0ns).ok());
  const npu::JobResult failure = failed.wait(0ns);
  EXPECT_EQ(failure.status, npu::JobStatus::failed);
  EXPECT_EQ(failure.error, npu::JobError::mmu_fault) << npu::to_string(failure.error);
  EXPECT_EQ(failure.error_address, unmapped);
  EXPECT_EQ(behind.wait(0ns).status, npu::JobStatus::canceled);
  EXPECT_TRUE(copy_of_queue.submit(kernel, good).wait(30s).ok());
  EXPECT_FALSE(queue.recover());
}

TEST_F(Runtime, ObjectsOfAnotherOpenAreRefused) {
  const npu::Device other = npu::Device::open(0);
  const npu::Kernel kernel = device().load_kernel(fill_kernel());
  const npu::Buffer foreign = other.allocate(kPage);
  npu::KernelArguments args = kernel.make_arguments();
  args.set("dst", foreign).set("bytes", kPage).set("pattern", 1);
  const npu::Queue queue = device().create_queue();
  try {
    static_cast<void>(queue.submit(kernel, args));
    FAIL() << "a buffer of another open was submitted";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), npu::errc::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("another Device open"), std::string::npos) << e.what();
  }
  EXPECT_THROW(static_cast<void>(other.create_queue().submit(kernel, args)), std::system_error);
}

}  // namespace
}  // namespace guest
