#pragma once

#include <sys/mman.h>

#include <cerrno>
#include <cstddef>
#include <span>
#include <system_error>

namespace guest {

// Anonymous memory of this process, unmapped when it goes: what userptr
// buffers wrap and what the tests copy from and to.
class ProcessMemory {
 public:
  explicit ProcessMemory(std::size_t size, int protection = PROT_READ | PROT_WRITE) : size_(size) {
    void* address = ::mmap(nullptr, size, protection, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (address == MAP_FAILED) {
      throw std::system_error(errno, std::system_category(), "mmap");
    }
    bytes_ = static_cast<std::byte*>(address);
  }
  ~ProcessMemory() { ::munmap(bytes_, size_); }
  ProcessMemory(const ProcessMemory&) = delete;
  ProcessMemory& operator=(const ProcessMemory&) = delete;

  [[nodiscard]] std::span<std::byte> bytes() const { return {bytes_, size_}; }

 private:
  std::byte* bytes_;
  std::size_t size_;
};

}  // namespace guest
