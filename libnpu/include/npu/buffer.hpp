// Buffer: a GEM buffer object in host or device memory, mapped into the
// device address space at device_address() and, on demand, into the process;
// or a sub-buffer, a window [offset, offset + size) of one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

namespace npu {

namespace detail {
class DrmFile;
class BufferObject;
}  // namespace detail

enum class MemoryPlacement : std::uint8_t {
  host,    // system memory the device reaches over PCIe
  device,  // on-board device memory (Device::properties().supports_device_memory())
};

struct BufferOptions {
  MemoryPlacement placement = MemoryPlacement::host;
  bool device_read_only = false;  // jobs may read but not write it
};

// What a job's argument table and BO list need to know about a buffer. A
// binding is a plain value: it does not keep the buffer alive.
struct BufferBinding {
  std::uint32_t handle = 0;
  std::uint64_t device_address = 0;
  std::uint64_t size = 0;
};

// A shared handle to a buffer object: copies, sub-buffers, KernelArguments
// and submitted jobs that use it all keep it alive, and the last one gone
// unmaps it from the process and closes its GEM handle. So a buffer released
// by its owner while a job still uses it stays valid until the job's handle
// is gone, and its handle is never reused under an argument table that
// still names it.
//
// map() may be called from several threads at once; reading and writing the
// mapped bytes is the caller's to synchronise with each other and with jobs
// (docs/libnpu.md, "Synchronisation").
//
// Besides Device::allocate(), a buffer can wrap process memory
// (Device::wrap_user_memory(), Capability::userptr) or a dma-buf another
// process or device exported (Device::import_dma_buf(), Capability::dma_buf).
// Allocating device memory when it is full throws errc::out_of_device_memory.
class Buffer {
 public:
  Buffer(std::shared_ptr<const detail::DrmFile> file, std::size_t size, BufferOptions options);
  // Pins `memory` (page-aligned address and size) for the buffer's life.
  Buffer(std::shared_ptr<const detail::DrmFile> file, std::span<std::byte> memory,
         BufferOptions options);
  // Imports the dma-buf `dma_buf_fd` (not consumed: the caller still closes it).
  Buffer(std::shared_ptr<const detail::DrmFile> file, int dma_buf_fd);

  // The size and device address of this buffer (of the window, for a sub-buffer).
  [[nodiscard]] std::uint64_t size() const { return size_; }
  [[nodiscard]] std::uint64_t device_address() const;
  // The GEM handle of the buffer object (the parent's, for a sub-buffer).
  [[nodiscard]] std::uint32_t handle() const;
  [[nodiscard]] const BufferOptions& options() const;
  [[nodiscard]] BufferBinding binding() const;
  // Where this buffer starts in its buffer object (0 unless a sub-buffer).
  [[nodiscard]] std::uint64_t offset() const { return offset_; }

  // A window of `size` bytes at `offset` of this buffer, sharing its memory
  // and keeping it alive; std::out_of_range unless it lies inside.
  [[nodiscard]] Buffer sub_buffer(std::uint64_t offset, std::uint64_t size) const;

  // A device reset cleared the device memory of this buffer (uapi 1.3; a
  // link reset does, soft resets and FLRs do not): jobs that list it fail
  // with JobError::devmem_lost or errc::contents_lost. Free it and create a
  // new one. Always false for host memory and on older drivers.
  [[nodiscard]] bool contents_lost() const;

  // The buffer's bytes in the process; mapped on the first call, unmapped
  // with the buffer object. A user-memory buffer returns the memory it wraps.
  [[nodiscard]] std::span<std::byte> map() const;

  // A new dma-buf file descriptor of the buffer object (the whole parent, for
  // a sub-buffer; close-on-exec), owned by the caller, for
  // Device::import_dma_buf() in another process or on another device.
  // Host-memory buffers only: device-memory and user-memory buffers throw
  // errc::not_supported.
  [[nodiscard]] int export_dma_buf() const;

  template <class T>
  [[nodiscard]] std::span<T> map_as() const {
    const std::span<std::byte> bytes = map();
    return {reinterpret_cast<T*>(bytes.data()), bytes.size() / sizeof(T)};
  }

  // Copies `bytes` into the buffer at `offset` / from it into `out`, through
  // the process mapping (the CPU does the copy; for a device-side copy see
  // Queue::copy). std::out_of_range unless the range lies inside.
  void write(std::uint64_t offset, std::span<const std::byte> bytes) const;
  void read(std::uint64_t offset, std::span<std::byte> out) const;

  // The open file this buffer belongs to (objects of different files must
  // not be mixed; libnpu checks and throws errc::invalid_argument).
  [[nodiscard]] const detail::DrmFile& file() const;
  // The buffer object, for what keeps it alive (arguments, jobs).
  [[nodiscard]] std::shared_ptr<const detail::BufferObject> object() const { return object_; }

 private:
  friend class BufferPool;
  friend class KernelArguments;  // keeps each buffer object and lease once

  Buffer(std::shared_ptr<detail::BufferObject> object, std::uint64_t offset, std::uint64_t size,
         std::shared_ptr<const void> lease);
  void check_range(std::uint64_t offset, std::uint64_t size, const char* what) const;

  std::shared_ptr<detail::BufferObject> object_;
  // What else the window keeps while any copy of it lives: a BufferPool
  // allocation's claim on its range of the slab.
  std::shared_ptr<const void> lease_;
  std::uint64_t offset_ = 0;
  std::uint64_t size_ = 0;
};

}  // namespace npu
