// Staging of argument tables: one read-only buffer per queue instead of a
// buffer per launch.
#pragma once

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
class ArgumentRing {
 public:
  static constexpr std::size_t kSlotBytes = 4096;
  static constexpr std::size_t kMaxSlots = 1024;

  ArgumentRing(std::shared_ptr<const DrmFile> file, std::size_t slots);

  // The job that used the next slot last (0: none).
  [[nodiscard]] std::uint64_t previous_job() const { return last_job_[next_]; }
  // Writes `table` into the next slot; returns its device address.
  std::uint64_t write(std::span<const std::uint64_t> table);
  // Records the job that uses the slot write() filled, and moves on.
  void commit(std::uint64_t sequence_number);
  // Replaces the buffer with one of twice the slots, all free (jobs that
  // use the old one keep it alive in the driver through their buffer list).
  // False, and nothing changed, at kMaxSlots.
  bool grow();

  [[nodiscard]] std::uint32_t handle() const { return buffer_.handle(); }
  [[nodiscard]] std::size_t slots() const { return last_job_.size(); }

 private:
  std::shared_ptr<const DrmFile> file_;
  Buffer buffer_;
  std::vector<std::uint64_t> last_job_;
  std::size_t next_ = 0;
};

}  // namespace npu::detail
