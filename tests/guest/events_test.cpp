// Events: dependencies between queues and host-side signaling.
#include <poll.h>

#include <atomic>
#include <chrono>

#include "guest_device.hpp"

namespace guest {
namespace {

using namespace std::chrono_literals;

constexpr std::uint32_t kPattern = 0xC0FF'EE11;
constexpr std::uint64_t kBytes = 4096;

class Events : public DeviceTest {
 protected:
  void SetUp() override {
    DeviceTest::SetUp();
    producer_.emplace(device().load_kernel(npu::assemble(R"(
.kernel producer
.arg buffer gate
.arg buffer dst
.arg scalar bytes
.arg scalar pattern
    sem_wait @gate, 1
    dma_fill @dst, @bytes, @pattern
)")));
    consumer_.emplace(device().load_kernel(npu::assemble(R"(
.kernel consumer
.arg buffer dst
.arg buffer src
.arg scalar bytes
    dma_copy @dst, @src, @bytes
)")));
  }

  std::optional<npu::Kernel> producer_;
  std::optional<npu::Kernel> consumer_;
};

TEST_F(Events, AJobOnAnotherQueueWaitsForTheEvent) {
  npu::Buffer gate = device().allocate(kBytes);
  npu::Buffer shared = device().allocate(kBytes);
  npu::Buffer result = device().allocate(kBytes);
  npu::Queue producer_queue = device().create_queue();
  npu::Queue consumer_queue = device().create_queue();
  const npu::Event produced = device().create_event();

  npu::KernelArguments produce = producer_->make_arguments();
  produce.set("gate", gate).set("dst", shared).set("bytes", kBytes).set("pattern", kPattern);
  const npu::JobHandle producer =
      producer_queue.submit(*producer_, produce, {.signal = {produced}});
  npu::KernelArguments consume = consumer_->make_arguments();
  consume.set("dst", result).set("src", shared).set("bytes", kBytes);
  const npu::JobHandle consumer =
      consumer_queue.submit(*consumer_, consume, {.wait_for = {produced}});

  EXPECT_EQ(consumer.wait(500ms).status, npu::JobStatus::timeout)
      << "the consumer ran before its event";
  EXPECT_FALSE(produced.is_signaled());
  std::atomic_ref<std::uint64_t>(gate.map_as<std::uint64_t>()[0]).store(1);
  EXPECT_TRUE(producer.wait(30s).ok());
  EXPECT_TRUE(consumer.wait(30s).ok());
  EXPECT_TRUE(produced.is_signaled());
  EXPECT_EQ(first_mismatch(result.map(), kBytes, kPattern), -1)
      << "the consumer copied before the producer wrote";
}

TEST_F(Events, HostSignalAndReset) {
  const npu::Event event = device().create_event();
  EXPECT_FALSE(event.wait(10ms));
  event.signal();
  EXPECT_TRUE(event.is_signaled());

  npu::Buffer source = device().allocate(kBytes);
  npu::Buffer result = device().allocate(kBytes);
  std::ranges::fill(source.map(), std::byte{0x3c});
  npu::KernelArguments consume = consumer_->make_arguments();
  consume.set("dst", result).set("src", source).set("bytes", kBytes);
  npu::Queue queue = device().create_queue();
  EXPECT_TRUE(queue.submit(*consumer_, consume, {.wait_for = {event}}).wait(30s).ok());
  EXPECT_EQ(result.map()[kBytes - 1], std::byte{0x3c});

  event.reset();
  EXPECT_FALSE(event.is_signaled());
}

TEST_F(Events, AFailedJobStillSignals) {
  const npu::Event done = device().create_event();
  npu::Buffer small = device().allocate(kBytes);
  npu::KernelArguments overrun = consumer_->make_arguments();
  overrun.set("dst", small).set("src", small).set("bytes", 1U << 30);
  npu::Queue queue = device().create_queue();
  EXPECT_EQ(queue.submit(*consumer_, overrun, {.signal = {done}}).wait(30s).status,
            npu::JobStatus::failed);
  EXPECT_TRUE(done.wait(30s));
}

TEST_F(Events, WaitingForAnEventNobodySignalsIsRefused) {
  const npu::Event never = device().create_event();
  npu::Buffer buffer = device().allocate(kBytes);
  npu::KernelArguments consume = consumer_->make_arguments();
  consume.set("dst", buffer).set("src", buffer).set("bytes", kBytes);
  npu::Queue queue = device().create_queue();
  try {
    static_cast<void>(queue.submit(*consumer_, consume, {.wait_for = {never}}));
    FAIL() << "submitted a job waiting for an event without a fence";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), npu::errc::invalid_argument) << e.what();
  }
}

TEST_F(Events, SyncFilesExportAndImport) {
  if (!device().properties().has(npu::Capability::sync_file)) {
    GTEST_SKIP() << "the driver has no sync_file support";
  }
  npu::Buffer gate = device().allocate(kBytes);
  npu::Buffer shared = device().allocate(kBytes);
  npu::Buffer result = device().allocate(kBytes);
  npu::Queue producer_queue = device().create_queue();
  npu::Queue consumer_queue = device().create_queue();

  npu::KernelArguments produce = producer_->make_arguments();
  produce.set("gate", gate).set("dst", shared).set("bytes", kBytes).set("pattern", kPattern);
  const npu::JobHandle producer =
      producer_queue.submit(*producer_, produce, {.export_fence = true});
  ASSERT_GE(producer.fence_fd(), 0);
  pollfd fence{producer.fence_fd(), POLLIN, 0};
  EXPECT_EQ(poll(&fence, 1, 200), 0) << "the fence signaled before its job ran";

  npu::KernelArguments consume = consumer_->make_arguments();
  consume.set("dst", result).set("src", shared).set("bytes", kBytes);
  const npu::JobHandle consumer =
      consumer_queue.submit(*consumer_, consume, {.wait_fence_fd = producer.fence_fd()});
  EXPECT_EQ(consumer.fence_fd(), -1);
  EXPECT_EQ(consumer.wait(300ms).status, npu::JobStatus::timeout);

  std::atomic_ref<std::uint64_t>(gate.map_as<std::uint64_t>()[0]).store(1);
  EXPECT_EQ(poll(&fence, 1, 30'000), 1);
  EXPECT_TRUE(consumer.wait(30s).ok());
  EXPECT_EQ(first_mismatch(result.map(), kBytes, kPattern), -1);
}

TEST_F(Events, ATimelineOrdersAPipelineAcrossQueues) {
  if (!device().properties().has(npu::Capability::timeline_syncobj)) {
    GTEST_SKIP() << "the driver has no timeline syncobjs";
  }
  npu::Buffer gate = device().allocate(kBytes);
  npu::Buffer first = device().allocate(kBytes);
  npu::Buffer second = device().allocate(kBytes);
  npu::Queue queue_a = device().create_queue();
  npu::Queue queue_b = device().create_queue();
  const npu::Timeline steps = device().create_timeline();
  EXPECT_EQ(steps.value(), 0U);

  npu::KernelArguments produce = producer_->make_arguments();
  produce.set("gate", gate).set("dst", first).set("bytes", kBytes).set("pattern", kPattern);
  const npu::JobHandle stage1 =
      queue_a.submit(*producer_, produce, {.signal_points = {{steps, 1}}});
  npu::KernelArguments consume = consumer_->make_arguments();
  consume.set("dst", second).set("src", first).set("bytes", kBytes);
  const npu::JobHandle stage2 = queue_b.submit(
      *consumer_, consume, {.wait_for_points = {{steps, 1}}, .signal_points = {{steps, 2}}});

  EXPECT_FALSE(steps.wait(1, 300ms));
  EXPECT_EQ(stage2.wait(0ns).status, npu::JobStatus::timeout);
  std::atomic_ref<std::uint64_t>(gate.map_as<std::uint64_t>()[0]).store(1);
  EXPECT_TRUE(steps.wait(2, 30s));
  EXPECT_EQ(steps.value(), 2U);
  EXPECT_TRUE(stage1.wait(30s).ok());
  EXPECT_TRUE(stage2.wait(30s).ok());
  EXPECT_EQ(first_mismatch(second.map(), kBytes, kPattern), -1);

  steps.signal(5);
  EXPECT_EQ(steps.value(), 5U);
  EXPECT_TRUE(steps.wait(3, 0ns));
}

}  // namespace
}  // namespace guest
