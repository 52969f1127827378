// The typed argument list of one launch: fills the kernel's argument table
// (buffer addresses and scalars) and computes the job's buffer list.
//
//   npu::KernelArguments args = kernel.make_arguments();
//   const std::uint32_t dst = args.index_of("dst");  // resolve a name once
//   args.set(dst, dst_buffer).set("bytes", 4096).set("alpha", 0.5F);
#pragma once

#include <concepts>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "npu/buffer.hpp"
#include "npu/kernel_image.hpp"

namespace npu {

// A plain value: copies are independent; one thread at a time. Buffers set
// with a Buffer are held (shared) until they are replaced or the arguments
// are gone, so a job never runs with a table that names a closed buffer.
class KernelArguments {
 public:
  explicit KernelArguments(ArgumentLayout layout);
  // With `value_slots` (see npu::value_slots()), scalars that feed 32-bit
  // value operands are checked when set, before the device would fail the job.
  KernelArguments(ArgumentLayout layout, std::vector<bool> value_slots);

  // The slot of argument `name`; std::invalid_argument if there is none.
  // Resolve names once and set by index in a launch loop.
  [[nodiscard]] std::uint32_t index_of(std::string_view name) const;

  // A buffer slot: the buffer's device address plus `offset` (< its size).
  KernelArguments& set(std::string_view name, const Buffer& buffer, std::uint64_t offset = 0);
  KernelArguments& set(std::uint32_t index, const Buffer& buffer, std::uint64_t offset = 0);
  // By binding (a plain value: the caller keeps the buffer alive).
  KernelArguments& set(std::string_view name, const BufferBinding& buffer,
                       std::uint64_t offset = 0);
  KernelArguments& set(std::uint32_t index, const BufferBinding& buffer, std::uint64_t offset = 0);
  // An integer scalar slot; std::invalid_argument when it feeds a value
  // operand and is 2^32 or more, or when the slot holds a float.
  KernelArguments& set(std::string_view name, std::uint64_t value);
  KernelArguments& set(std::uint32_t index, std::uint64_t value);
  // A float scalar slot: the binary32 value in the slot's low 32 bits;
  // std::invalid_argument when the slot holds an integer.
  template <std::floating_point F>
  KernelArguments& set(std::string_view name, F value) {
    return set_float(index_of(name), static_cast<float>(value));
  }
  template <std::floating_point F>
  KernelArguments& set(std::uint32_t index, F value) {
    return set_float(index, static_cast<float>(value));
  }

  [[nodiscard]] const ArgumentLayout& layout() const { return layout_; }
  // True once every slot has been set.
  [[nodiscard]] bool complete() const;
  // The argument table, slot by slot; std::invalid_argument naming the
  // slots that were never set.
  [[nodiscard]] std::vector<std::uint64_t> table() const;
  // The handles of the buffers bound to slots, sorted and without duplicates.
  [[nodiscard]] std::vector<std::uint32_t> buffer_handles() const;
  // The buffers bound to slots with set(..., const Buffer&), which a job
  // keeps alive while it runs: one for each buffer object (and BufferPool
  // allocation) however many slots name it.
  [[nodiscard]] std::vector<Buffer> buffers() const;

 private:
  KernelArguments& set_float(std::uint32_t index, float value);
  void check_slot(std::uint32_t index, SlotKind kind) const;
  void bind(std::uint32_t index, const BufferBinding& buffer, std::uint64_t offset);

  ArgumentLayout layout_;
  std::vector<std::optional<std::uint64_t>> values_;
  std::vector<std::uint32_t> handles_;       // per slot, 0 for scalars
  std::vector<std::optional<Buffer>> held_;  // per slot: the buffer set by Buffer
  std::vector<bool> value_slots_;            // per slot, or empty: not checked
};

}  // namespace npu
