// Concurrent callers share one run of a collection: a caller that arrives
// while another is collecting waits for that result instead of starting its
// own. The exporter's scrape reads every process's fdinfo and each device's
// attributes, hundreds of opens (about half a second on the debug kernel),
// so eight scrapes at once would cost eight times that on the node's CPUs.
#pragma once

#include <cstdint>
#include <exception>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <utility>

namespace npu_smi {

template <class T>
class SharedCollection {
 public:
  explicit SharedCollection(std::function<T()> collect) : collect_(std::move(collect)) {}

  // The running collection's result, or a new collection's when none runs:
  // never one that ended before this call. Its exception, if it threw.
  T get() {
    std::promise<T> promise;
    std::shared_future<T> result;
    bool starts = false;
    {
      const std::lock_guard lock(mutex_);
      if (running_.valid()) {
        ++shared_;
      } else {
        running_ = promise.get_future().share();
        starts = true;
      }
      result = running_;
    }
    if (starts) {
      collect_into(promise);
    }
    return result.get();
  }

  // How many calls were given a collection another call started.
  std::uint64_t shared() const {
    const std::lock_guard lock(mutex_);
    return shared_;
  }

 private:
  void collect_into(std::promise<T>& promise) {
    std::exception_ptr error;
    std::optional<T> value;
    try {
      value.emplace(collect_());
    } catch (...) {
      error = std::current_exception();
    }
    {
      // Later callers start afresh; those already waiting get this result.
      const std::lock_guard lock(mutex_);
      running_ = {};
    }
    if (error) {
      promise.set_exception(error);
    } else {
      promise.set_value(std::move(*value));
    }
  }

  std::function<T()> collect_;
  mutable std::mutex mutex_;
  std::shared_future<T> running_;  // guarded by mutex_; valid while collecting
  std::uint64_t shared_ = 0;       // guarded by mutex_
};

}  // namespace npu_smi
