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

Buffer upload_constant(std::shared_ptr<const detail::DrmFile> file,
                       std::span<const std::byte> bytes) {
  Buffer buffer(std::move(file), bytes.size(), {MemoryPlacement::host, true});
  buffer.write(0, bytes);
  return buffer;
}

// The layout with each scalar's kind resolved, for the checks of set().
ArgumentLayout resolved_layout(const KernelImage& image) {
  ArgumentLayout layout = image.arguments;
  const std::vector<ScalarKind> kinds = scalar_kinds(image);
  for (std::size_t slot = 0; slot < layout.size(); ++slot) {
    if (layout[slot].kind == SlotKind::scalar) {
      ArgumentInfo info = layout[slot].info;
      info.scalar = kinds[slot];
      layout.set_info(slot, info);
    }
  }
  return layout;
}

std::shared_ptr<const detail::ResidentKernel> make_resident(
    const std::shared_ptr<const detail::DrmFile>& file, const KernelImage& image) {
  validate(image);
  std::vector<std::pair<std::uint32_t, Buffer>> constants;
  for (const ConstantData& data : image.constants) {
    constants.emplace_back(data.slot, upload_constant(file, data.bytes));
  }
  return std::make_shared<const detail::ResidentKernel>(detail::ResidentKernel{
      image.name, resolved_layout(image), value_slots(image),
      static_cast<std::uint32_t>(image.program.size() * 4), upload_program(file, image.program),
      std::move(constants), image.workspace_size});
}

}  // namespace

Kernel::Kernel(std::shared_ptr<const detail::DrmFile> file, const KernelImage& image)
    : resident_(make_resident(file, image)) {}

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

std::uint64_t Kernel::workspace_size() const {
  return resident_->workspace_size;
}

KernelArguments Kernel::make_arguments() const {
  KernelArguments arguments(resident_->arguments, resident_->value_slots);
  for (const auto& [slot, buffer] : resident_->constants) {
    arguments.set(slot, buffer);
  }
  return arguments;
}

}  // namespace npu
