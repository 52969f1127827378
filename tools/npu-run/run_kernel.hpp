// npu-run KERNEL: run a kernel binary once with buffers and scalars from the
// command line, report the job's status and dump buffers.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "launch_options.hpp"

namespace npu_run {

struct RunOptions {
  std::string kernel_path;
  std::size_t device_index = 0;
  std::vector<BufferSpec> buffers;
  std::vector<ScalarSpec> scalars;
  std::vector<FillSpec> fills;
  std::vector<std::string> dumps;
  std::chrono::milliseconds timeout{30'000};
};

// Exit status: 0 the job succeeded, 1 it failed, was canceled or timed out.
// Throws for errors before the job runs (bad kernel, arguments, device).
int run_kernel(const RunOptions& options);

}  // namespace npu_run
