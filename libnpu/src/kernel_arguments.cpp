// Argument tables and buffer lists from typed arguments.
#include "npu/kernel_arguments.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <bit>
#include <stdexcept>

namespace npu {
namespace {

std::string_view kind_name(SlotKind kind) {
  return kind == SlotKind::buffer ? "buffer" : "scalar";
}

}  // namespace

KernelArguments::KernelArguments(ArgumentLayout layout)
    : layout_(std::move(layout)),
      values_(layout_.size()),
      handles_(layout_.size(), 0),
      held_(layout_.size()) {}

KernelArguments::KernelArguments(ArgumentLayout layout, std::vector<bool> value_slots)
    : KernelArguments(std::move(layout)) {
  if (value_slots.size() != layout_.size()) {
    throw std::invalid_argument("KernelArguments: value_slots does not match the layout");
  }
  value_slots_ = std::move(value_slots);
}

std::uint32_t KernelArguments::index_of(std::string_view name) const {
  const std::optional<std::uint32_t> slot = layout_.find(name);
  if (!slot) {
    throw std::invalid_argument(fmt::format("the kernel has no argument '{}'", name));
  }
  return *slot;
}

void KernelArguments::check_slot(std::uint32_t index, SlotKind kind) const {
  if (index >= layout_.size()) {
    throw std::invalid_argument(
        fmt::format("argument index {}: the kernel has {} arguments", index, layout_.size()));
  }
  if (layout_[index].kind != kind) {
    throw std::invalid_argument(fmt::format("argument '{}' is a {}, not a {}", layout_[index].name,
                                            kind_name(layout_[index].kind), kind_name(kind)));
  }
}

void KernelArguments::bind(std::uint32_t index, const BufferBinding& buffer, std::uint64_t offset) {
  check_slot(index, SlotKind::buffer);
  if (offset >= buffer.size) {
    throw std::invalid_argument(
        fmt::format("argument '{}': offset {} is outside the {}-byte buffer", layout_[index].name,
                    offset, buffer.size));
  }
  values_[index] = buffer.device_address + offset;
  handles_[index] = buffer.handle;
  held_[index].reset();
}

KernelArguments& KernelArguments::set(std::string_view name, const Buffer& buffer,
                                      std::uint64_t offset) {
  return set(index_of(name), buffer, offset);
}

KernelArguments& KernelArguments::set(std::uint32_t index, const Buffer& buffer,
                                      std::uint64_t offset) {
  bind(index, buffer.binding(), offset);
  held_[index] = buffer;
  return *this;
}

KernelArguments& KernelArguments::set(std::string_view name, const BufferBinding& buffer,
                                      std::uint64_t offset) {
  bind(index_of(name), buffer, offset);
  return *this;
}

KernelArguments& KernelArguments::set(std::uint32_t index, const BufferBinding& buffer,
                                      std::uint64_t offset) {
  bind(index, buffer, offset);
  return *this;
}

KernelArguments& KernelArguments::set(std::string_view name, std::uint64_t value) {
  return set(index_of(name), value);
}

KernelArguments& KernelArguments::set(std::uint32_t index, std::uint64_t value) {
  constexpr std::uint64_t kLargestValue = 0xffff'ffff;
  check_slot(index, SlotKind::scalar);
  const ArgumentSlot& slot = layout_[index];
  if (slot.info.scalar == ScalarKind::float32) {
    throw std::invalid_argument(fmt::format(
        "argument '{}' is a float: set it with a float, not the integer {}", slot.name, value));
  }
  if (!value_slots_.empty() && value_slots_[index] && value > kLargestValue) {
    throw std::invalid_argument(fmt::format(
        "argument '{}': {} does not fit the 32-bit value operand it feeds", slot.name, value));
  }
  values_[index] = value;
  return *this;
}

KernelArguments& KernelArguments::set_float(std::uint32_t index, float value) {
  check_slot(index, SlotKind::scalar);
  const ArgumentSlot& slot = layout_[index];
  if (slot.info.scalar == ScalarKind::integer) {
    throw std::invalid_argument(fmt::format(
        "argument '{}' is an integer: set it with an integer, not the float {}", slot.name, value));
  }
  values_[index] = std::bit_cast<std::uint32_t>(value);
  return *this;
}

bool KernelArguments::complete() const {
  return std::ranges::all_of(values_, [](const auto& value) { return value.has_value(); });
}

std::vector<std::uint64_t> KernelArguments::table() const {
  std::vector<std::string_view> unset;
  std::vector<std::uint64_t> table;
  table.reserve(values_.size());
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

std::vector<Buffer> KernelArguments::buffers() const {
  // A compiled model's hundreds of slots name a handful of buffers: the
  // copies each submission would make of every slot's are what it needs
  // once (what keeps a buffer alive is its object and its pool lease).
  std::vector<Buffer> buffers;
  for (const std::optional<Buffer>& buffer : held_) {
    if (buffer && std::ranges::none_of(buffers, [&](const Buffer& kept) {
          return kept.object_ == buffer->object_ && kept.lease_ == buffer->lease_;
        })) {
      buffers.push_back(*buffer);
    }
  }
  return buffers;
}

}  // namespace npu
