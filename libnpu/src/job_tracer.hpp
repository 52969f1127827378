// Where a Device open keeps its JobTraceCallback (Device::set_job_trace):
// read on every job's first result, replaced at any time from any thread.
#pragma once

#include <atomic>
#include <memory>

#include "npu/job_trace.hpp"

namespace npu::detail {

class JobTracer {
 public:
  // An empty callback turns tracing off.
  void set(JobTraceCallback callback);
  [[nodiscard]] bool enabled() const { return callback_.load() != nullptr; }
  void report(const JobTrace& trace) const noexcept;

 private:
  std::atomic<std::shared_ptr<const JobTraceCallback>> callback_;
};

}  // namespace npu::detail
