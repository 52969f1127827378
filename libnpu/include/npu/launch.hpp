// Launch: a kernel with its arguments, kept between submissions, so a loop
// that launches it sets only what changes (by index, resolved once) and
// the submission reuses everything else.
//
//   npu::Launch gemm(kernel);
//   const std::uint32_t in = gemm.index_of("in");
//   gemm.set("weights", weights).set("alpha", 1.0F);
//   for (const npu::Buffer& batch : batches) {
//     gemm.set(in, batch);
//     queue.submit(gemm);
//   }
#pragma once

#include <cstdint>
#include <string_view>
#include <utility>

#include "npu/kernel.hpp"
#include "npu/kernel_arguments.hpp"

namespace npu {

// A plain value (copies are independent); one thread at a time.
class Launch {
 public:
  explicit Launch(Kernel kernel)
      : kernel_(std::move(kernel)), arguments_(kernel_.make_arguments()) {}

  [[nodiscard]] std::uint32_t index_of(std::string_view name) const {
    return arguments_.index_of(name);
  }
  // Any KernelArguments::set() overload, by name or index.
  template <class Slot, class... Values>
  Launch& set(Slot&& slot, Values&&... values) {
    arguments_.set(std::forward<Slot>(slot), std::forward<Values>(values)...);
    return *this;
  }

  [[nodiscard]] const Kernel& kernel() const { return kernel_; }
  [[nodiscard]] const KernelArguments& arguments() const { return arguments_; }
  [[nodiscard]] KernelArguments& arguments() { return arguments_; }

 private:
  Kernel kernel_;
  KernelArguments arguments_;
};

}  // namespace npu
