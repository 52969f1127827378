// Argument tables and buffer lists from typed arguments.
#include "npu/kernel_arguments.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <stdexcept>

namespace npu {

KernelArguments::KernelArguments(ArgumentLayout layout)
    : layout_(std::move(layout)), values_(layout_.size()), handles_(layout_.size(), 0) {}

KernelArguments::KernelArguments(ArgumentLayout layout, std::vector<bool> value_slots)
    : KernelArguments(std::move(layout)) {
  if (value_slots.size() != layout_.size()) {
    throw std::invalid_argument("KernelArguments: value_slots does not match the layout");
  }
  value_slots_ = std::move(value_slots);
}

std::uint32_t KernelArguments::slot_of(std::string_view name, SlotKind kind) const {
  const std::optional<std::uint32_t> slot = layout_.find(name);
  if (!slot) {
    throw std::invalid_argument(fmt::format("the kernel has no argument '{}'", name));
  }
  if (layout_[*slot].kind != kind) {
    throw std::invalid_argument(fmt::format("argument '{}' is a {}, not a {}", name,
                                            kind == SlotKind::buffer ? "scalar" : "buffer",
                                            kind == SlotKind::buffer ? "buffer" : "scalar"));
  }
  return *slot;
}

KernelArguments& KernelArguments::set(std::string_view name, const Buffer& buffer,
                                      std::uint64_t offset) {
  return set(name, buffer.binding(), offset);
}

KernelArguments& KernelArguments::set(std::string_view name, const BufferBinding& buffer,
                                      std::uint64_t offset) {
  const std::uint32_t slot = slot_of(name, SlotKind::buffer);
  if (offset >= buffer.size) {
    throw std::invalid_argument(fmt::format(
        "argument '{}': offset {} is outside the {}-byte buffer", name, offset, buffer.size));
  }
  values_[slot] = buffer.device_address + offset;
  handles_[slot] = buffer.handle;
  return *this;
}

KernelArguments& KernelArguments::set(std::string_view name, std::uint64_t value) {
  constexpr std::uint64_t kLargestValue = 0xffff'ffff;
  const std::uint32_t slot = slot_of(name, SlotKind::scalar);
  if (!value_slots_.empty() && value_slots_[slot] && value > kLargestValue) {
    throw std::invalid_argument(fmt::format(
        "argument '{}': {} does not fit the 32-bit value operand it feeds", name, value));
  }
  values_[slot] = value;
  return *this;
}

std::vector<std::uint64_t> KernelArguments::table() const {
  std::vector<std::string_view> unset;
  std::vector<std::uint64_t> table;
  for (std::size_t slot = 0; slot < values_.size(); ++slot) {
    if (!values_[slot]) {
      unset.push_back(layout_[slot].name);
    }
    table.push_back(values_[slot].value_or(0));
  }
  if (!unset.empty()) {
    throw std::invalid_argument(fmt::format("arguments not set: {}", fmt::join(unset, ", ")));
  }
  return table;
}

std::vector<std::uint32_t> KernelArguments::buffer_handles() const {
  std::vector<std::uint32_t> handles;
  std::ranges::copy_if(handles_, std::back_inserter(handles),
                       [](std::uint32_t h) { return h != 0; });
  std::ranges::sort(handles);
  const auto [first, last] = std::ranges::unique(handles);
  handles.erase(first, last);
  return handles;
}

}  // namespace npu
