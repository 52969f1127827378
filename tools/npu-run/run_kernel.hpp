// npu-run KERNEL: run a kernel binary once with buffers and scalars from the
// command line and tensors from files, report the job's status, dump buffers
// and write outputs to files.
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
  std::vector<InputSpec> inputs;
  std::vector<OutputSpec> outputs;
  std::vector<std::string> dumps;
  std::chrono::milliseconds timeout{30'000};
};

// Exit status: 0 the job succeeded (and its outputs are written), 1 it
// failed, was canceled or timed out (no output is written).
// Throws for errors before the job runs (bad kernel, arguments, device).
int run_kernel(const RunOptions& options);

}  // namespace npu_run
