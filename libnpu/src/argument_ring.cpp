#include "argument_ring.hpp"

namespace npu::detail {

void store_table(std::span<std::byte> out, std::span<const std::uint64_t> table) {
  for (std::size_t i = 0; i < table.size(); ++i) {
    for (std::size_t b = 0; b < 8; ++b) {
      out[i * 8 + b] = static_cast<std::byte>((table[i] >> (8 * b)) & 0xff);
    }
  }
}

ArgumentRing::ArgumentRing(std::shared_ptr<const DrmFile> file)
    : buffer_(std::move(file), kSlotBytes * kSlots, {MemoryPlacement::host, true}) {}

std::uint64_t ArgumentRing::write(std::span<const std::uint64_t> table) {
  store_table(buffer_.map().subspan(next_ * kSlotBytes, kSlotBytes), table);
  return buffer_.device_address() + next_ * kSlotBytes;
}

void ArgumentRing::commit(std::uint64_t sequence_number) {
  last_job_[next_] = sequence_number;
  next_ = (next_ + 1) % kSlots;
}

}  // namespace npu::detail
