#include "memory_plan.hpp"

#include <algorithm>

namespace npu::onnx_runtime {
namespace {

std::uint64_t align_up(std::uint64_t value) {
  return (value + kTensorAlignment - 1) / kTensorAlignment * kTensorAlignment;
}

}  // namespace

std::vector<Lifetime> activation_lifetimes(const Program& program) {
  std::map<std::string, Lifetime> lives;
  for (std::size_t i = 0; i < program.instructions.size(); ++i) {
    for (const TensorRef& ref : program.instructions[i].operands) {
      const auto size = program.activations.find(ref.tensor);
      if (size == program.activations.end()) {
        continue;  // a weight, a graph input or output
      }
      auto [it, fresh] = lives.try_emplace(ref.tensor, Lifetime{ref.tensor, size->second, i, i});
      it->second.last = i;
    }
  }
  std::vector<Lifetime> result;
  for (auto& [name, life] : lives) {
    result.push_back(std::move(life));
  }
  return result;
}

MemoryPlan plan_memory(const std::vector<Lifetime>& lifetimes) {
  std::vector<const Lifetime*> order;
  for (const Lifetime& life : lifetimes) {
    order.push_back(&life);
  }
  std::ranges::stable_sort(
      order, [](const Lifetime* a, const Lifetime* b) { return a->bytes > b->bytes; });
  MemoryPlan plan;
  struct Placed {
    const Lifetime* life;
    std::uint64_t offset;
    std::uint64_t end;
  };
  std::vector<Placed> placed;
  for (const Lifetime* life : order) {
    const std::uint64_t bytes = align_up(life->bytes);
    plan.unplanned += bytes;
    // The placed tensors alive at the same time, by offset.
    std::vector<const Placed*> overlapping;
    for (const Placed& p : placed) {
      if (p.life->first <= life->last && life->first <= p.life->last) {
        overlapping.push_back(&p);
      }
    }
    std::ranges::sort(overlapping,
                      [](const Placed* a, const Placed* b) { return a->offset < b->offset; });
    std::uint64_t offset = 0;
    for (const Placed* p : overlapping) {
      if (offset + bytes <= p->offset) {
        break;
      }
      offset = std::max(offset, p->end);
    }
    placed.push_back({life, offset, offset + bytes});
    plan.offsets[life->tensor] = offset;
    plan.size = std::max(plan.size, offset + bytes);
  }
  return plan;
}

}  // namespace npu::onnx_runtime
