// Buffer: a GEM buffer object in host or device memory, mapped into the
// device address space at device_address() and, on demand, into the process.
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

// What a job's argument table and BO list need to know about a buffer.
struct BufferBinding {
  std::uint32_t handle = 0;
  std::uint64_t device_address = 0;
  std::uint64_t size = 0;
};

// Owns the buffer object: the destructor unmaps it from the process and
// closes its handle (a job still using it keeps the memory alive in the
// driver). Move-only. map() may be called from several threads at once;
// reading and writing the mapped bytes is the caller's to synchronise.
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
  Buffer(Buffer&&) noexcept;
  Buffer& operator=(Buffer&&) noexcept;
  ~Buffer();

  [[nodiscard]] std::uint64_t size() const;
  [[nodiscard]] std::uint64_t device_address() const;
  [[nodiscard]] std::uint32_t handle() const;
  [[nodiscard]] const BufferOptions& options() const;
  [[nodiscard]] BufferBinding binding() const;

  // The buffer's bytes in the process; mapped on the first call, unmapped by
  // the destructor. A user-memory buffer returns the memory it wraps.
  [[nodiscard]] std::span<std::byte> map();

  // A new dma-buf file descriptor of the buffer (close-on-exec), owned by the
  // caller, for Device::import_dma_buf() in another process or on another
  // device. Host-memory buffers only: device-memory and user-memory buffers
  // throw errc::not_supported.
  [[nodiscard]] int export_dma_buf() const;

  template <class T>
  [[nodiscard]] std::span<T> map_as() {
    const std::span<std::byte> bytes = map();
    return {reinterpret_cast<T*>(bytes.data()), bytes.size() / sizeof(T)};
  }

 private:
  std::unique_ptr<detail::BufferObject> object_;
};

}  // namespace npu
