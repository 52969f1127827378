// Many threads submitting on one device at once: every job completes, none
// is lost, every byte lands where its job put it.
#include <atomic>
#include <chrono>
#include <thread>

#include "guest_device.hpp"

namespace guest {
namespace {

using namespace std::chrono_literals;

constexpr int kThreads = 8;
constexpr int kJobsPerThread = 40;
constexpr std::uint64_t kRegion = 256;

std::uint32_t pattern_of(int thread, int job) {
  return 0x5000'0000U | static_cast<std::uint32_t>(thread) << 16 | static_cast<std::uint32_t>(job);
}

class Concurrency : public DeviceTest {
 protected:
  // Thread `thread` fills region j of its buffer with pattern_of(thread, j),
  // waiting on every other job at once and on the rest at the end.
  void submit_all(int thread, npu::Queue& queue, const npu::Kernel& kernel,
                  const npu::Buffer& buffer) {
    try {
      submit_and_wait(thread, queue, kernel, buffer);
    } catch (const std::exception& e) {
      ++failed_;
      ADD_FAILURE() << "thread " << thread << ": " << e.what();
    }
  }

  void submit_and_wait(int thread, npu::Queue& queue, const npu::Kernel& kernel,
                       const npu::Buffer& buffer) {
    std::vector<npu::JobHandle> pending;
    for (int job = 0; job < kJobsPerThread; ++job) {
      npu::KernelArguments args = kernel.make_arguments();
      args.set("dst", buffer, static_cast<std::uint64_t>(job) * kRegion)
          .set("bytes", kRegion)
          .set("pattern", pattern_of(thread, job));
      npu::JobHandle handle = queue.submit(kernel, args);
      if (job % 2 == 0) {
        record(handle.wait(60s));
      } else {
        pending.push_back(std::move(handle));
      }
    }
    for (const npu::JobHandle& handle : pending) {
      record(handle.wait(60s));
    }
  }

  void record(const npu::JobResult& result) { (result.ok() ? succeeded_ : failed_)++; }

  void check_regions(std::vector<npu::Buffer>& buffers) {
    for (int thread = 0; thread < kThreads; ++thread) {
      const std::span<std::byte> bytes = buffers[static_cast<std::size_t>(thread)].map();
      for (int job = 0; job < kJobsPerThread; ++job) {
        const auto region = bytes.subspan(static_cast<std::size_t>(job) * kRegion, kRegion);
        EXPECT_EQ(first_mismatch(region, kRegion, pattern_of(thread, job)), -1)
            << "thread " << thread << " job " << job;
      }
    }
  }

  std::vector<npu::Buffer> allocate_buffers() {
    std::vector<npu::Buffer> buffers;
    for (int thread = 0; thread < kThreads; ++thread) {
      buffers.push_back(device().allocate(kRegion * kJobsPerThread));
    }
    return buffers;
  }

  std::atomic<int> succeeded_{0};
  std::atomic<int> failed_{0};
};

TEST_F(Concurrency, ThreadsShareQueues) {
  const npu::Kernel kernel = device().load_kernel(fill_kernel());
  std::vector<npu::Queue> queues;
  queues.push_back(device().create_queue());
  queues.push_back(device().create_queue(npu::QueuePriority::high));
  std::vector<npu::Buffer> buffers = allocate_buffers();
  {
    std::vector<std::jthread> threads;
    for (int thread = 0; thread < kThreads; ++thread) {
      threads.emplace_back([&, thread] {
        submit_all(thread, queues[static_cast<std::size_t>(thread) % queues.size()], kernel,
                   buffers[static_cast<std::size_t>(thread)]);
      });
    }
  }
  EXPECT_EQ(succeeded_, kThreads * kJobsPerThread);
  EXPECT_EQ(failed_, 0);
  for (const npu::Queue& queue : queues) {
    const npu::QueueStatus status = queue.status();
    EXPECT_EQ(status.state, npu::QueueState::active);
    EXPECT_EQ(status.completed_sequence_number,
              static_cast<std::uint64_t>(kThreads / 2 * kJobsPerThread));
  }
  check_regions(buffers);
}

TEST_F(Concurrency, ThreadsWithTheirOwnQueues) {
  const npu::Kernel kernel = device().load_kernel(fill_kernel());
  std::vector<npu::Buffer> buffers = allocate_buffers();
  {
    std::vector<std::jthread> threads;
    for (int thread = 0; thread < kThreads; ++thread) {
      threads.emplace_back([&, thread] {
        try {
          npu::Queue queue = device().create_queue();
          submit_all(thread, queue, kernel, buffers[static_cast<std::size_t>(thread)]);
        } catch (const std::system_error& e) {
          ++failed_;
          ADD_FAILURE() << "thread " << thread << ": " << e.what();
        }
      });
    }
  }
  EXPECT_EQ(succeeded_, kThreads * kJobsPerThread);
  EXPECT_EQ(failed_, 0);
  check_regions(buffers);
}

}  // namespace
}  // namespace guest
