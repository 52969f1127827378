// First-fit with splitting on allocate and coalescing on release.
#include "range_allocator.hpp"

#include <cassert>
#include <iterator>

namespace npu::detail {

RangeAllocator::RangeAllocator(std::uint64_t capacity) : capacity_(capacity) {
  if (capacity > 0) {
    free_.emplace(0, capacity);
  }
}

std::optional<std::uint64_t> RangeAllocator::allocate(std::uint64_t size, std::uint64_t alignment) {
  assert(size > 0 && alignment > 0 && (alignment & (alignment - 1)) == 0);
  for (auto it = free_.begin(); it != free_.end(); ++it) {
    const auto [start, length] = *it;
    const std::uint64_t aligned = (start + alignment - 1) & ~(alignment - 1);
    const std::uint64_t padding = aligned - start;
    if (padding >= length || length - padding < size) {
      continue;
    }
    const std::uint64_t tail = length - padding - size;
    free_.erase(it);
    if (padding > 0) {
      free_.emplace(start, padding);
    }
    if (tail > 0) {
      free_.emplace(aligned + size, tail);
    }
    used_ += size;
    return aligned;
  }
  return std::nullopt;
}

void RangeAllocator::release(std::uint64_t offset, std::uint64_t size) {
  assert(size <= used_ && offset + size <= capacity_);
  used_ -= size;
  auto next = free_.lower_bound(offset);
  std::uint64_t start = offset;
  std::uint64_t length = size;
  if (next != free_.begin()) {
    const auto previous = std::prev(next);
    if (previous->first + previous->second == offset) {
      start = previous->first;
      length += previous->second;
      free_.erase(previous);
    }
  }
  if (next != free_.end() && next->first == offset + size) {
    length += next->second;
    free_.erase(next);
  }
  free_.emplace(start, length);
}

}  // namespace npu::detail
