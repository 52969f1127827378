// BufferPool: slabs of one placement, each with a RangeAllocator; every
// allocation holds a lease that gives its range back when the last copy of
// the Buffer is gone.
#include "npu/buffer_pool.hpp"

#include <fmt/format.h>

#include <bit>
#include <list>
#include <mutex>
#include <stdexcept>

#include "npu/device.hpp"
#include "range_allocator.hpp"

namespace npu {

namespace {

constexpr std::size_t max_alignment = 4096;  // slabs start on a page

void check_alignment(std::size_t alignment, const char* what) {
  if (!std::has_single_bit(alignment) || alignment > max_alignment) {
    throw std::invalid_argument(fmt::format("{}: alignment {} is not a power of two of at most {}",
                                            what, alignment, max_alignment));
  }
}

}  // namespace

struct BufferPool::Slab {
  Buffer buffer;
  detail::RangeAllocator ranges;
  std::size_t allocations = 0;
};

struct BufferPool::State {
  State(const Device& device_, BufferPoolOptions options_) : device(device_), options(options_) {}

  Device device;
  const BufferPoolOptions options;
  mutable std::mutex mutex;  // guards slabs and every slab's ranges
  std::list<Slab> slabs;     // a list: leases point at their slab
};

namespace {

// Gives an allocation's range back to its slab.
class SlabLease {
 public:
  SlabLease(std::shared_ptr<BufferPool::State> state, BufferPool::Slab& slab, std::uint64_t offset,
            std::uint64_t size)
      : state_(std::move(state)), slab_(slab), offset_(offset), size_(size) {}
  ~SlabLease() {
    const std::lock_guard lock(state_->mutex);
    slab_.ranges.release(offset_, size_);
    --slab_.allocations;
  }
  SlabLease(const SlabLease&) = delete;
  SlabLease& operator=(const SlabLease&) = delete;

 private:
  std::shared_ptr<BufferPool::State> state_;
  BufferPool::Slab& slab_;
  std::uint64_t offset_;
  std::uint64_t size_;
};

}  // namespace

Buffer BufferPool::carve(const std::shared_ptr<State>& state, Slab& slab, std::uint64_t offset,
                         std::uint64_t size) {
  ++slab.allocations;
  auto lease = std::make_shared<const SlabLease>(state, slab, offset, size);
  return Buffer(slab.buffer.object_, offset, size, std::move(lease));
}

BufferPool::BufferPool(const Device& device, BufferPoolOptions options) {
  if (options.slab_size == 0) {
    throw std::invalid_argument("BufferPool: the slab size must be at least one byte");
  }
  check_alignment(options.alignment, "BufferPool");
  state_ = std::make_shared<State>(device, options);
}

BufferPool::~BufferPool() = default;
BufferPool::BufferPool(BufferPool&&) noexcept = default;
BufferPool& BufferPool::operator=(BufferPool&&) noexcept = default;

Buffer BufferPool::allocate(std::size_t size, std::size_t alignment) {
  if (size == 0) {
    throw std::invalid_argument("BufferPool::allocate: a buffer needs at least one byte");
  }
  alignment = alignment == 0 ? state_->options.alignment : alignment;
  check_alignment(alignment, "BufferPool::allocate");
  if (size > state_->options.slab_size) {
    return state_->device.allocate(size, state_->options.buffer);
  }
  const std::lock_guard lock(state_->mutex);
  for (Slab& slab : state_->slabs) {
    if (const auto offset = slab.ranges.allocate(size, alignment)) {
      return carve(state_, slab, *offset, size);
    }
  }
  Buffer buffer = state_->device.allocate(state_->options.slab_size, state_->options.buffer);
  const std::uint64_t capacity = buffer.size();
  Slab& slab =
      state_->slabs.emplace_back(Slab{std::move(buffer), detail::RangeAllocator(capacity)});
  return carve(state_, slab, *slab.ranges.allocate(size, alignment), size);
}

BufferPoolStatistics BufferPool::statistics() const {
  const std::lock_guard lock(state_->mutex);
  BufferPoolStatistics statistics;
  for (const Slab& slab : state_->slabs) {
    ++statistics.slabs;
    statistics.reserved_bytes += slab.ranges.capacity();
    statistics.used_bytes += slab.ranges.used();
    statistics.allocations += slab.allocations;
  }
  return statistics;
}

const BufferPoolOptions& BufferPool::options() const {
  return state_->options;
}

void BufferPool::trim() {
  const std::lock_guard lock(state_->mutex);
  state_->slabs.remove_if([](const Slab& slab) { return slab.allocations == 0; });
}

}  // namespace npu
