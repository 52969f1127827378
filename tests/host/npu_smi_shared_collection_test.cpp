// The exporter's shared collection: scrapes that arrive while one collects
// share its result, a later scrape collects afresh, and a failed collection
// fails every scrape that shared it.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <latch>
#include <semaphore>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "shared_collection.hpp"

namespace {

using namespace std::chrono_literals;

// Waits (up to 30 s) until COLLECTION has handed its running collection to
// EXPECTED more callers.
bool wait_for_sharers(const npu_smi::SharedCollection<int>& collection, std::uint64_t expected) {
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (collection.shared() < expected) {
    if (std::chrono::steady_clock::now() > deadline) {
      return false;
    }
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

TEST(NpuSmiSharedCollection, CallersDuringACollectionShareIt) {
  std::atomic<int> runs{0};
  std::latch started(1);
  std::binary_semaphore release(0);
  npu_smi::SharedCollection<int> collection([&] {
    const int run = ++runs;
    if (run == 1) {
      started.count_down();
      release.acquire();
    }
    return run;
  });

  constexpr int kCallers = 8;
  std::vector<int> results(kCallers);
  std::vector<std::jthread> callers;
  callers.emplace_back([&] { results[0] = collection.get(); });
  started.wait();
  for (int i = 1; i < kCallers; ++i) {
    callers.emplace_back([&, i] { results[i] = collection.get(); });
  }
  const bool all_waiting = wait_for_sharers(collection, kCallers - 1);
  release.release();
  callers.clear();

  ASSERT_TRUE(all_waiting);
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(results, std::vector<int>(kCallers, 1));
  // Nothing is cached: the next call reads afresh.
  EXPECT_EQ(collection.get(), 2);
  EXPECT_EQ(collection.shared(), kCallers - 1);
}

TEST(NpuSmiSharedCollection, AFailedCollectionFailsItsSharersAndTheNextOneRuns) {
  std::atomic<int> runs{0};
  std::latch started(1);
  std::binary_semaphore release(0);
  npu_smi::SharedCollection<int> collection([&]() -> int {
    if (++runs == 1) {
      started.count_down();
      release.acquire();
      throw std::runtime_error("device lost");
    }
    return runs;
  });

  std::atomic<int> failures{0};
  const auto scrape = [&] {
    try {
      collection.get();
    } catch (const std::runtime_error& e) {
      failures += std::string(e.what()) == "device lost";
    }
  };
  std::vector<std::jthread> callers;
  callers.emplace_back(scrape);
  started.wait();
  callers.emplace_back(scrape);
  const bool sharer_waiting = wait_for_sharers(collection, 1);
  release.release();
  callers.clear();

  ASSERT_TRUE(sharer_waiting);
  EXPECT_EQ(failures, 2);
  EXPECT_EQ(collection.get(), 2);
}

}  // namespace
