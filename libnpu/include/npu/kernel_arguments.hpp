// The typed argument list of one launch: fills the kernel's argument table
// (buffer addresses and scalars) and computes the job's buffer list.
//
//   npu::KernelArguments args(kernel.arguments());
//   args.set("dst", dst_buffer).set("bytes", 4096);
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "npu/buffer.hpp"
#include "npu/kernel_image.hpp"

namespace npu {

class KernelArguments {
 public:
  explicit KernelArguments(ArgumentLayout layout);
  // With `value_slots` (see npu::value_slots()), scalars that feed 32-bit
  // value operands are checked when set, before the device would fail the job.
  KernelArguments(ArgumentLayout layout, std::vector<bool> value_slots);

  // A buffer slot: the buffer's device address plus `offset` (< its size).
  KernelArguments& set(std::string_view name, const Buffer& buffer, std::uint64_t offset = 0);
  KernelArguments& set(std::string_view name, const BufferBinding& buffer,
                       std::uint64_t offset = 0);
  // A scalar slot; std::invalid_argument when it feeds a value operand and
  // is 2^32 or more.
  KernelArguments& set(std::string_view name, std::uint64_t value);

  [[nodiscard]] const ArgumentLayout& layout() const { return layout_; }
  // The argument table, slot by slot; std::invalid_argument naming the
  // slots that were never set.
  [[nodiscard]] std::vector<std::uint64_t> table() const;
  // The handles of the buffers bound to slots, sorted and without duplicates.
  [[nodiscard]] std::vector<std::uint32_t> buffer_handles() const;

 private:
  std::uint32_t slot_of(std::string_view name, SlotKind kind) const;

  ArgumentLayout layout_;
  std::vector<std::optional<std::uint64_t>> values_;
  std::vector<std::uint32_t> handles_;  // per slot, 0 for scalars
  std::vector<bool> value_slots_;       // per slot, or empty: not checked
};

}  // namespace npu
