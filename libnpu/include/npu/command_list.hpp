// CommandList: launches, copies and fills recorded once and submitted, as an
// ordered batch, to a queue as often as needed (like a CUDA graph or an
// intel/linux-npu-driver command list, on one queue).
//
//   npu::CommandList step;
//   step.copy(staging_in, host_in).launch(layer1).launch(layer2).copy(host_out, staging_out);
//   for (;;) { queue.submit(step).wait(); }
#pragma once

#include <cstdint>
#include <variant>
#include <vector>

#include "npu/buffer.hpp"
#include "npu/kernel.hpp"
#include "npu/kernel_arguments.hpp"
#include "npu/launch.hpp"

namespace npu {

// A plain value; one thread at a time. Records hold their kernels and
// buffers (shared), so a list can be replayed after the caller let go of
// them. Arguments are checked (every slot set) when recorded.
class CommandList {
 public:
  CommandList& launch(const Kernel& kernel, const KernelArguments& arguments);
  CommandList& launch(const Launch& launch);
  // As Queue::copy() and Queue::fill() (checked when recorded).
  CommandList& copy(const Buffer& dst, const Buffer& src);
  CommandList& fill(const Buffer& dst, std::uint32_t pattern);

  [[nodiscard]] std::size_t size() const { return commands_.size(); }
  [[nodiscard]] bool empty() const { return commands_.empty(); }
  void clear() { commands_.clear(); }

 private:
  friend class Queue;

  struct LaunchCommand {
    Kernel kernel;
    KernelArguments arguments;
  };
  struct CopyCommand {
    Buffer dst;
    Buffer src;
  };
  struct FillCommand {
    Buffer dst;
    std::uint32_t pattern;
  };
  using Command = std::variant<LaunchCommand, CopyCommand, FillCommand>;

  std::vector<Command> commands_;
};

}  // namespace npu
