// Staging of argument tables: one read-only buffer per queue instead of a
// buffer per launch.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "drm_file.hpp"
#include "npu/buffer.hpp"

namespace npu::detail {

// Writes an argument table little-endian, as the device reads it.
void store_table(std::span<std::byte> out, std::span<const std::uint64_t> table);

// Argument tables of up to kSlotBytes live in one read-only buffer of slots,
// used round robin; a slot is reused once the job that used it last has
// finished (the queue decides what to do while it has not: grow the ring).
// A table is staged before its job's sequence number is known (a batch
// stages all its tables before one ioctl submits them) and committed once
// it is.
class ArgumentRing {
 public:
  static constexpr std::size_t kSlotBytes = 4096;
  static constexpr std::size_t kMaxSlots = 1024;

  ArgumentRing(std::shared_ptr<const DrmFile> file, std::size_t slots);

  // Whether the next slot holds a staged table whose job is not submitted.
  [[nodiscard]] bool next_is_staged() const { return last_job_[next_] == kStaged; }
  // The job that used the next slot last (0: none); not while it is staged.
  [[nodiscard]] std::uint64_t previous_job() const { return last_job_[next_]; }
  // Writes `table` into the next slot and moves on; returns the slot.
  std::size_t stage(std::span<const std::uint64_t> table);
  [[nodiscard]] std::uint64_t address(std::size_t slot) const {
    return buffer_.device_address() + slot * kSlotBytes;
  }
  // Records the job that uses staged `slot`.
  void commit(std::size_t slot, std::uint64_t sequence_number) {
    last_job_[slot] = sequence_number;
  }
  // Frees every staged slot: their jobs were not submitted.
  void release_staged() { std::ranges::replace(last_job_, kStaged, std::uint64_t{0}); }
  // Replaces the buffer with one of twice the slots, all free (jobs that
  // use the old one keep it alive in the driver through their buffer list);
  // only while no table is staged. False, and nothing changed, at kMaxSlots.
  bool grow();

  [[nodiscard]] std::uint32_t handle() const { return buffer_.handle(); }
  [[nodiscard]] std::size_t slots() const { return last_job_.size(); }

 private:
  static constexpr std::uint64_t kStaged = ~std::uint64_t{0};

  std::shared_ptr<const DrmFile> file_;
  Buffer buffer_;
  std::vector<std::uint64_t> last_job_;
  std::size_t next_ = 0;
};

}  // namespace npu::detail
