// Buffer objects: create, query, map, close.
#include "npu/buffer.hpp"

#include <drm/knpu_accel.h>
#include <sys/mman.h>

#include <mutex>
#include <system_error>

#include "drm_file.hpp"

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
    NPU_IOCTL(*file_, DRM_IOCTL_KNPU_BO_CREATE, &create);
    handle_ = create.handle;
    device_address_ = create.va;
    try {
      drm_knpu_bo_info info{};
      info.handle = handle_;
      NPU_IOCTL(*file_, DRM_IOCTL_KNPU_BO_INFO, &info);
      size_ = info.size;
      mmap_offset_ = info.mmap_offset;
    } catch (...) {
      close_handle();
      throw;
    }
  }
  ~BufferObject() {
    mapping_.reset();
    close_handle();
  }
  BufferObject(const BufferObject&) = delete;
  BufferObject& operator=(const BufferObject&) = delete;

  std::span<std::byte> map() {
    std::call_once(mapped_,
                   [this] { mapping_ = std::make_unique<Mapping>(*file_, mmap_offset_, size_); });
    return mapping_->bytes();
  }

  [[nodiscard]] std::uint64_t size() const { return size_; }
  [[nodiscard]] std::uint64_t device_address() const { return device_address_; }
  [[nodiscard]] std::uint32_t handle() const { return handle_; }
  [[nodiscard]] const BufferOptions& options() const { return options_; }

 private:
  void close_handle() const {
    drm_gem_close close{};
    close.handle = handle_;
    static_cast<void>(file_->try_ioctl(DRM_IOCTL_GEM_CLOSE, &close));
  }

  std::shared_ptr<const DrmFile> file_;
  BufferOptions options_;
  std::uint32_t handle_ = 0;
  std::uint64_t size_ = 0;
  std::uint64_t device_address_ = 0;
  std::uint64_t mmap_offset_ = 0;
  std::once_flag mapped_;
  std::unique_ptr<Mapping> mapping_;
};

}  // namespace npu::detail

namespace npu {

Buffer::Buffer(std::shared_ptr<const detail::DrmFile> file, std::size_t size, BufferOptions options)
    : object_(std::make_unique<detail::BufferObject>(std::move(file), size, options)) {}
Buffer::Buffer(Buffer&&) noexcept = default;
Buffer& Buffer::operator=(Buffer&&) noexcept = default;
Buffer::~Buffer() = default;

std::uint64_t Buffer::size() const {
  return object_->size();
}
std::uint64_t Buffer::device_address() const {
  return object_->device_address();
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
std::span<std::byte> Buffer::map() {
  return object_->map();
}

}  // namespace npu
