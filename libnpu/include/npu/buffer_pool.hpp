// BufferPool: a sub-allocator for many small tensors. It carves buffers out
// of a few large buffer objects (slabs), so a runtime with thousands of
// tensors does not pay two ioctls and a page for each.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "npu/buffer.hpp"

namespace npu {

class Device;

struct BufferPoolOptions {
  BufferOptions buffer{};                        // placement and access of every slab
  std::size_t slab_size = std::size_t{2} << 20;  // bytes per slab buffer object
  std::size_t alignment = 256;                   // default alignment of allocations
};

struct BufferPoolStatistics {
  std::size_t slabs = 0;             // buffer objects the pool holds
  std::uint64_t reserved_bytes = 0;  // their total size
  std::uint64_t used_bytes = 0;      // bytes handed out and not yet returned
  std::size_t allocations = 0;       // live allocations carved from slabs
};

// allocate() returns an ordinary Buffer: a window of a slab (handle() is the
// slab's, device_address() the window's). Its range returns to the pool when
// the last copy of it is gone, including the copies that KernelArguments,
// command lists and in-flight jobs hold, so a range is never handed out
// again while a job may still use it. A request larger than the slab size
// gets a buffer object of its own.
//
// All member functions may be called from any number of threads at once.
// Allocations may outlive the pool object: the slabs stay until the last
// allocation of each is gone.
class BufferPool {
 public:
  explicit BufferPool(const Device& device, BufferPoolOptions options = {});
  ~BufferPool();
  BufferPool(BufferPool&&) noexcept;
  BufferPool& operator=(BufferPool&&) noexcept;
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  // `size` bytes (at least 1) aligned to `alignment` (a power of two, at
  // most 4096; 0: the pool's default). std::invalid_argument for a bad size
  // or alignment; errc::out_of_device_memory (device placement) or an
  // ioctl error when a new slab cannot be created.
  [[nodiscard]] Buffer allocate(std::size_t size, std::size_t alignment = 0);

  [[nodiscard]] BufferPoolStatistics statistics() const;
  [[nodiscard]] const BufferPoolOptions& options() const;

  // Releases the slabs no allocation uses.
  void trim();

  struct Slab;
  struct State;

 private:
  // Hands out [offset, offset + size) of `slab` as a Buffer holding a lease
  // on the range; the caller holds the pool's lock.
  static Buffer carve(const std::shared_ptr<State>& state, Slab& slab, std::uint64_t offset,
                      std::uint64_t size);

  std::shared_ptr<State> state_;
};

}  // namespace npu
