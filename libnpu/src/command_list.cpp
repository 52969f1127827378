// Recording a command list (Queue::submit(const CommandList&) replays it).
#include "npu/command_list.hpp"

#include <fmt/format.h>

#include <stdexcept>

namespace npu {

CommandList& CommandList::launch(const Kernel& kernel, const KernelArguments& arguments) {
  if (arguments.layout() != kernel.arguments()) {
    throw std::invalid_argument(
        fmt::format("CommandList: the arguments are not those of kernel '{}'", kernel.name()));
  }
  static_cast<void>(arguments.table());  // every slot set, else the names of those that are not
  commands_.emplace_back(LaunchCommand{kernel, arguments});
  return *this;
}

CommandList& CommandList::launch(const Launch& launch) {
  return this->launch(launch.kernel(), launch.arguments());
}

CommandList& CommandList::copy(const Buffer& dst, const Buffer& src) {
  if (dst.size() < src.size()) {
    throw std::invalid_argument(
        fmt::format("copy: {} bytes do not fit a {}-byte destination", src.size(), dst.size()));
  }
  commands_.emplace_back(CopyCommand{dst, src});
  return *this;
}

CommandList& CommandList::fill(const Buffer& dst, std::uint32_t pattern) {
  commands_.emplace_back(FillCommand{dst, pattern});
  return *this;
}

}  // namespace npu
