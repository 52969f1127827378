// Kernel: a validated kernel image made resident in a device buffer, ready to
// be launched on any queue of its device.
#pragma once

#include <memory>
#include <string>

#include "npu/buffer.hpp"
#include "npu/kernel_arguments.hpp"
#include "npu/kernel_image.hpp"

namespace npu {

class Queue;
namespace detail {
struct ResidentKernel;
}

// Copies share the resident program; it is freed with the last copy and the
// last job that uses it. Immutable after construction, so safe to use from
// any number of threads.
class Kernel {
 public:
  // Validates the image (KernelFormatError) and uploads its program.
  Kernel(std::shared_ptr<const detail::DrmFile> file, const KernelImage& image);

  [[nodiscard]] const std::string& name() const;
  // The argument slots, each scalar's ArgumentInfo::scalar resolved (see
  // npu::scalar_kinds()): introspection for a runtime binding by name.
  [[nodiscard]] const ArgumentLayout& arguments() const;
  // Scratch bytes the kernel asks the caller for (format 1.1; 0: none).
  [[nodiscard]] std::uint64_t workspace_size() const;
  [[nodiscard]] std::uint64_t program_address() const;
  [[nodiscard]] std::uint32_t program_size() const;
  [[nodiscard]] std::uint32_t program_handle() const;
  // An argument list for this kernel: scalars checked against the operands
  // they feed, slots with constant data (format 1.1) already bound.
  [[nodiscard]] KernelArguments make_arguments() const;

 private:
  friend class Queue;  // a job keeps the resident program alive, in its own file

  std::shared_ptr<const detail::ResidentKernel> resident_;
};

}  // namespace npu
