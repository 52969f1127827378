// RangeAllocator: first-fit allocation of aligned ranges inside one slab of
// `capacity` bytes, with coalescing on release. Not thread-safe (BufferPool
// locks around it). Pure bookkeeping: it never touches memory.
#pragma once

#include <cstdint>
#include <map>
#include <optional>

namespace npu::detail {

class RangeAllocator {
 public:
  explicit RangeAllocator(std::uint64_t capacity);

  // The offset of a free range of `size` bytes aligned to `alignment` (a
  // power of two), or nothing when no free range is large enough.
  [[nodiscard]] std::optional<std::uint64_t> allocate(std::uint64_t size, std::uint64_t alignment);
  // Returns [offset, offset + size), which allocate() handed out.
  void release(std::uint64_t offset, std::uint64_t size);

  [[nodiscard]] std::uint64_t capacity() const { return capacity_; }
  [[nodiscard]] std::uint64_t used() const { return used_; }
  [[nodiscard]] bool empty() const { return used_ == 0; }

 private:
  std::uint64_t capacity_;
  std::uint64_t used_ = 0;
  std::map<std::uint64_t, std::uint64_t> free_;  // offset -> length, disjoint, never adjacent
};

}  // namespace npu::detail
