// A session of the kernel's tracing (tracefs, root only): some events on,
// trace_clock "mono" (CLOCK_MONOTONIC, userspace's steady_clock), an empty
// buffer; the text of what was recorded. The previous clock comes back
// and the events go off when it ends.
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace npu_bench {

// tracefs is not mounted or not writable, or an event is not there.
class TraceUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class KernelTrace {
 public:
  // `events` as "system/event". Throws TraceUnavailable.
  explicit KernelTrace(std::vector<std::string> events);
  KernelTrace(const KernelTrace&) = delete;
  KernelTrace& operator=(const KernelTrace&) = delete;
  ~KernelTrace();

  void start();        // clears the buffer, records
  std::string stop();  // stops recording; the "trace" file

 private:
  std::filesystem::path root_;
  std::vector<std::string> events_;
  std::string saved_clock_;
};

}  // namespace npu_bench
