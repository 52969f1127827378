// Uploading a kernel's program into a read-only device buffer.
#include "npu/kernel.hpp"

#include <algorithm>

#include "byte_io.hpp"
#include "resident_kernel.hpp"

namespace npu {
namespace {

Buffer upload_program(std::shared_ptr<const detail::DrmFile> file,
                      std::span<const std::uint32_t> program) {
  Buffer buffer(std::move(file), program.size_bytes(), {MemoryPlacement::host, true});
  const std::span<std::byte> bytes = buffer.map();
  for (std::size_t i = 0; i < program.size(); ++i) {
    ByteWriter::put_u32(bytes.subspan(i * 4, 4), program[i]);
  }
  return buffer;
}

std::shared_ptr<const detail::ResidentKernel> make_resident(
    std::shared_ptr<const detail::DrmFile> file, const KernelImage& image) {
  validate(image);
  return std::make_shared<const detail::ResidentKernel>(
      detail::ResidentKernel{image.name, image.arguments, value_slots(image),
                             static_cast<std::uint32_t>(image.program.size() * 4),
                             upload_program(std::move(file), image.program)});
}

}  // namespace

Kernel::Kernel(std::shared_ptr<const detail::DrmFile> file, const KernelImage& image)
    : resident_(make_resident(std::move(file), image)) {}

const std::string& Kernel::name() const {
  return resident_->name;
}
const ArgumentLayout& Kernel::arguments() const {
  return resident_->arguments;
}
std::uint64_t Kernel::program_address() const {
  return resident_->program.device_address();
}
std::uint32_t Kernel::program_size() const {
  return resident_->program_size;
}
std::uint32_t Kernel::program_handle() const {
  return resident_->program.handle();
}

KernelArguments Kernel::make_arguments() const {
  return KernelArguments(resident_->arguments, resident_->value_slots);
}

}  // namespace npu
