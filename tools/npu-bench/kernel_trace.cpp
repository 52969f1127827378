#include "kernel_trace.hpp"

#include <fstream>
#include <iterator>
#include <sstream>

namespace npu_bench {
namespace {

namespace fs = std::filesystem;

// Per CPU: room for every event of a few thousand round trips.
constexpr unsigned kBufferKiB = 4096;

fs::path tracefs_root() {
  for (const char* dir : {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"}) {
    if (fs::exists(fs::path(dir) / "trace")) {
      return dir;
    }
  }
  throw TraceUnavailable("tracefs is not mounted (/sys/kernel/tracing)");
}

void write_file(const fs::path& path, const std::string& value) {
  std::ofstream out(path);
  out << value << '\n';
  out.close();
  if (!out) {
    throw TraceUnavailable(path.string() + ": cannot write (root only)");
  }
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path);
  std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad()) {
    throw TraceUnavailable(path.string() + ": cannot read");
  }
  return text;
}

// trace_clock lists the clocks with the current one in brackets.
std::string current_clock(const std::string& clocks) {
  const std::size_t open = clocks.find('[');
  const std::size_t close = clocks.find(']', open);
  return open == std::string::npos || close == std::string::npos
             ? std::string("local")
             : clocks.substr(open + 1, close - open - 1);
}

}  // namespace

KernelTrace::KernelTrace(std::vector<std::string> events)
    : root_(tracefs_root()), events_(std::move(events)) {
  for (const std::string& event : events_) {
    if (!fs::exists(root_ / "events" / event / "enable")) {
      throw TraceUnavailable("no trace event " + event + " (an older knpu.ko?)");
    }
  }
  saved_clock_ = current_clock(read_file(root_ / "trace_clock"));
  write_file(root_ / "tracing_on", "0");
  write_file(root_ / "trace_clock", "mono");
  std::istringstream size(read_file(root_ / "buffer_size_kb"));
  if (unsigned kib = 0; !(size >> kib) || kib < kBufferKiB) {
    write_file(root_ / "buffer_size_kb", std::to_string(kBufferKiB));
  }
  for (const std::string& event : events_) {
    write_file(root_ / "events" / event / "enable", "1");
  }
}

KernelTrace::~KernelTrace() {
  try {
    write_file(root_ / "tracing_on", "0");
    for (const std::string& event : events_) {
      write_file(root_ / "events" / event / "enable", "0");
    }
    write_file(root_ / "trace_clock", saved_clock_);
  } catch (const TraceUnavailable&) {
    // Nothing more to do about it: the events stay on until the next session.
  }
}

void KernelTrace::start() {
  write_file(root_ / "trace", "");
  write_file(root_ / "tracing_on", "1");
}

std::string KernelTrace::stop() {
  write_file(root_ / "tracing_on", "0");
  return read_file(root_ / "trace");
}

}  // namespace npu_bench
