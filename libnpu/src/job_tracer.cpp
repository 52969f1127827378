#include "job_tracer.hpp"

#include <utility>

namespace npu::detail {

void JobTracer::set(JobTraceCallback callback) {
  callback_.store(callback ? std::make_shared<const JobTraceCallback>(std::move(callback))
                           : nullptr);
}

void JobTracer::report(const JobTrace& trace) const noexcept {
  // A copy, so the callback stays alive while a set() on another thread
  // replaces it.
  if (const std::shared_ptr<const JobTraceCallback> callback = callback_.load()) {
    (*callback)(trace);
  }
}

}  // namespace npu::detail
