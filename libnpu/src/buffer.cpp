// Buffer objects: create (host or device memory), wrap user memory, import
// and export dma-bufs, query, map, close; sub-buffers.
#include "npu/buffer.hpp"

#include <drm/knpu_accel.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <system_error>

#include "drm_file.hpp"
#include "npu/errors.hpp"

namespace npu::detail {

// A process mapping of a buffer object, unmapped on destruction.
class Mapping {
 public:
  Mapping() = default;
  Mapping(const DrmFile& file, std::uint64_t offset, std::size_t size) : size_(size) {
    void* address = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, file.fd(),
                           static_cast<off_t>(offset));
    if (address == MAP_FAILED) {
      throw std::system_error(errno, std::system_category(), "mmap of a buffer object");
    }
    bytes_ = static_cast<std::byte*>(address);
  }
  ~Mapping() {
    if (bytes_ != nullptr) {
      ::munmap(bytes_, size_);
    }
  }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;

  [[nodiscard]] std::span<std::byte> bytes() const { return {bytes_, size_}; }

 private:
  std::byte* bytes_ = nullptr;
  std::size_t size_ = 0;
};

class BufferObject {
 public:
  BufferObject(std::shared_ptr<const DrmFile> file, std::size_t size, BufferOptions options)
      : file_(std::move(file)), options_(options) {
    drm_knpu_bo_create create{};
    create.size = size;
    create.flags = (options.placement == MemoryPlacement::device ? KNPU_BO_DEVMEM : 0U) |
                   (options.device_read_only ? KNPU_BO_DEV_READONLY : 0U);
    const int error = file_->try_ioctl(DRM_IOCTL_KNPU_BO_CREATE, &create);
    if (error == ENOMEM && options.placement == MemoryPlacement::device) {
      // The driver's ENOMEM for device memory: the on-board memory is full.
      throw std::system_error(
          static_cast<int>(errc::out_of_device_memory), error_category(),
          fmt::format("DRM_IOCTL_KNPU_BO_CREATE: {} bytes of device memory", size));
    }
    if (error != 0) {
      throw ioctl_error("DRM_IOCTL_KNPU_BO_CREATE", error);
    }
    handle_ = create.handle;
    query_or_close();
  }

  BufferObject(std::shared_ptr<const DrmFile> file, std::span<std::byte> memory,
               BufferOptions options)
      : file_(std::move(file)), options_(options), user_memory_(memory) {
    if (options.placement != MemoryPlacement::host) {
      throw std::invalid_argument("user memory is host memory");
    }
    drm_knpu_bo_userptr userptr{};
    userptr.user_ptr = reinterpret_cast<std::uintptr_t>(memory.data());
    userptr.size = memory.size();
    userptr.flags = options.device_read_only ? KNPU_BO_DEV_READONLY : 0U;
    NPU_IOCTL(*file_, DRM_IOCTL_KNPU_BO_USERPTR, &userptr);
    handle_ = userptr.handle;
    query_or_close();
  }

  BufferObject(std::shared_ptr<const DrmFile> file, int dma_buf_fd) : file_(std::move(file)) {
    drm_prime_handle prime{};
    prime.fd = dma_buf_fd;
    NPU_IOCTL(*file_, DRM_IOCTL_PRIME_FD_TO_HANDLE, &prime);
    handle_ = prime.handle;
    query_or_close();
    options_.device_read_only = (flags_ & KNPU_BO_DEV_READONLY) != 0;
  }
  ~BufferObject() {
    mapping_.reset();
    close_handle();
  }
  BufferObject(const BufferObject&) = delete;
  BufferObject& operator=(const BufferObject&) = delete;

  std::span<std::byte> map() const {
    if (!user_memory_.empty()) {
      return user_memory_;
    }
    std::call_once(mapped_,
                   [this] { mapping_ = std::make_unique<Mapping>(*file_, mmap_offset_, size_); });
    return mapping_->bytes();
  }

  // Asked each time: a device reset can clear device memory at any point.
  [[nodiscard]] bool contents_lost() const {
    drm_knpu_bo_info info{};
    info.handle = handle_;
    NPU_IOCTL(*file_, DRM_IOCTL_KNPU_BO_INFO, &info);
    return (info.state & KNPU_BO_STATE_CONTENTS_LOST) != 0;
  }

  [[nodiscard]] int export_dma_buf() const {
    drm_prime_handle prime{};
    prime.handle = handle_;
    prime.flags = static_cast<std::uint32_t>(DRM_CLOEXEC | DRM_RDWR);
    NPU_IOCTL(*file_, DRM_IOCTL_PRIME_HANDLE_TO_FD, &prime);
    return prime.fd;
  }

  [[nodiscard]] std::uint64_t size() const { return size_; }
  [[nodiscard]] std::uint64_t device_address() const { return device_address_; }
  [[nodiscard]] std::uint32_t handle() const { return handle_; }
  [[nodiscard]] const BufferOptions& options() const { return options_; }
  [[nodiscard]] const DrmFile& file() const { return *file_; }

 private:
  // Reads size, flags, VA and mmap offset of the new handle; closes it on failure.
  void query_or_close() {
    try {
      drm_knpu_bo_info info{};
      info.handle = handle_;
      NPU_IOCTL(*file_, DRM_IOCTL_KNPU_BO_INFO, &info);
      size_ = info.size;
      flags_ = info.flags;
      device_address_ = info.va;
      mmap_offset_ = info.mmap_offset;
    } catch (...) {
      close_handle();
      throw;
    }
  }

  void close_handle() const {
    drm_gem_close close{};
    close.handle = handle_;
    static_cast<void>(file_->try_ioctl(DRM_IOCTL_GEM_CLOSE, &close));
  }

  std::shared_ptr<const DrmFile> file_;
  BufferOptions options_;
  std::span<std::byte> user_memory_;
  std::uint32_t handle_ = 0;
  std::uint32_t flags_ = 0;
  std::uint64_t size_ = 0;
  std::uint64_t device_address_ = 0;
  std::uint64_t mmap_offset_ = 0;
  mutable std::once_flag mapped_;
  mutable std::unique_ptr<Mapping> mapping_;
};

}  // namespace npu::detail

namespace npu {

Buffer::Buffer(std::shared_ptr<const detail::DrmFile> file, std::size_t size, BufferOptions options)
    : object_(std::make_shared<detail::BufferObject>(std::move(file), size, options)),
      size_(object_->size()) {}

Buffer::Buffer(std::shared_ptr<const detail::DrmFile> file, std::span<std::byte> memory,
               BufferOptions options)
    : object_(std::make_shared<detail::BufferObject>(std::move(file), memory, options)),
      size_(object_->size()) {}

Buffer::Buffer(std::shared_ptr<const detail::DrmFile> file, int dma_buf_fd)
    : object_(std::make_shared<detail::BufferObject>(std::move(file), dma_buf_fd)),
      size_(object_->size()) {}

Buffer::Buffer(std::shared_ptr<detail::BufferObject> object, std::uint64_t offset,
               std::uint64_t size, std::shared_ptr<const void> lease)
    : object_(std::move(object)), lease_(std::move(lease)), offset_(offset), size_(size) {}

std::uint64_t Buffer::device_address() const {
  return object_->device_address() + offset_;
}
std::uint32_t Buffer::handle() const {
  return object_->handle();
}
const BufferOptions& Buffer::options() const {
  return object_->options();
}
BufferBinding Buffer::binding() const {
  return {handle(), device_address(), size()};
}
const detail::DrmFile& Buffer::file() const {
  return object_->file();
}
bool Buffer::contents_lost() const {
  return object_->contents_lost();
}

void Buffer::check_range(std::uint64_t offset, std::uint64_t size, const char* what) const {
  if (offset > size_ || size > size_ - offset) {
    throw std::out_of_range(fmt::format("{}: [{}, {}+{}) is outside the {}-byte buffer", what,
                                        offset, offset, size, size_));
  }
}

Buffer Buffer::sub_buffer(std::uint64_t offset, std::uint64_t size) const {
  check_range(offset, size, "sub_buffer");
  if (size == 0) {
    throw std::out_of_range("sub_buffer: a sub-buffer needs at least one byte");
  }
  return Buffer(object_, offset_ + offset, size, lease_);
}

std::span<std::byte> Buffer::map() const {
  return object_->map().subspan(offset_, size_);
}

int Buffer::export_dma_buf() const {
  return object_->export_dma_buf();
}

void Buffer::write(std::uint64_t offset, std::span<const std::byte> bytes) const {
  check_range(offset, bytes.size(), "Buffer::write");
  if (!bytes.empty()) {  // memcpy, not an element loop: this is every upload's copy
    std::memcpy(map().subspan(offset).data(), bytes.data(), bytes.size());
  }
}

void Buffer::read(std::uint64_t offset, std::span<std::byte> out) const {
  check_range(offset, out.size(), "Buffer::read");
  if (!out.empty()) {
    std::memcpy(out.data(), map().subspan(offset, out.size()).data(), out.size());
  }
}

}  // namespace npu
