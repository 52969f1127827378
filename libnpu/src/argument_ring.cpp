#include "argument_ring.hpp"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cstring>

namespace npu::detail {

void store_table(std::span<std::byte> out, std::span<const std::uint64_t> table) {
  if constexpr (std::endian::native == std::endian::little) {
    std::memcpy(out.first(table.size_bytes()).data(), table.data(), table.size_bytes());
  } else {
    for (std::size_t i = 0; i < table.size(); ++i) {
      for (std::size_t b = 0; b < 8; ++b) {
        out[i * 8 + b] = static_cast<std::byte>((table[i] >> (8 * b)) & 0xff);
      }
    }
  }
}

ArgumentRing::ArgumentRing(std::shared_ptr<const DrmFile> file, std::size_t slots)
    : file_(std::move(file)),
      buffer_(file_, kSlotBytes * std::clamp<std::size_t>(slots, 1, kMaxSlots),
              {MemoryPlacement::host, true}),
      last_job_(std::clamp<std::size_t>(slots, 1, kMaxSlots), 0) {}

std::size_t ArgumentRing::stage(std::span<const std::uint64_t> table) {
  const std::size_t slot = next_;
  store_table(buffer_.map().subspan(slot * kSlotBytes, kSlotBytes), table);
  last_job_[slot] = kStaged;
  next_ = (next_ + 1) % last_job_.size();
  return slot;
}

bool ArgumentRing::grow() {
  assert(std::ranges::find(last_job_, kStaged) == last_job_.end());
  const std::size_t slots = last_job_.size() * 2;
  if (slots > kMaxSlots) {
    return false;
  }
  buffer_ = Buffer(file_, kSlotBytes * slots, {MemoryPlacement::host, true});
  last_job_.assign(slots, 0);
  next_ = 0;
  return true;
}

}  // namespace npu::detail
