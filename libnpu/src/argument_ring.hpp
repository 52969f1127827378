// Staging of argument tables: one read-only buffer per queue instead of a
// buffer per launch.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>

#include "drm_file.hpp"
#include "npu/buffer.hpp"

namespace npu::detail {

// Writes an argument table little-endian, as the device reads it.
void store_table(std::span<std::byte> out, std::span<const std::uint64_t> table);

// Argument tables of up to kSlotBytes live in one read-only buffer of
// kSlots slots, used round robin; a slot is reused once the job that used it
// last has finished (the queue decides what to do while it has not).
class ArgumentRing {
 public:
  static constexpr std::size_t kSlotBytes = 4096;
  static constexpr std::size_t kSlots = 16;

  explicit ArgumentRing(std::shared_ptr<const DrmFile> file);

  // The slot to use next and the job that used it last (0: none).
  [[nodiscard]] std::uint64_t previous_job() const { return last_job_[next_]; }
  // Writes `table` into the next slot; returns its device address.
  std::uint64_t write(std::span<const std::uint64_t> table);
  // Records the job that uses the slot write() filled, and moves on.
  void commit(std::uint64_t sequence_number);
  [[nodiscard]] std::uint32_t handle() const { return buffer_.handle(); }

 private:
  Buffer buffer_;
  std::array<std::uint64_t, kSlots> last_job_{};
  std::size_t next_ = 0;
};

}  // namespace npu::detail
