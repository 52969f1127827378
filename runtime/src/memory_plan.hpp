// Liveness-based buffer planning: intermediate tensors share one arena, a
// tensor's bytes reused once its last reader has run.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "lowering.hpp"

namespace npu::onnx_runtime {

// A tensor's life: from the instruction that first touches it to the last
// one, both included (an instruction's output never shares bytes with its
// inputs, as the ISA requires).
struct Lifetime {
  std::string tensor;
  std::uint64_t bytes = 0;
  std::size_t first = 0;
  std::size_t last = 0;
};

struct MemoryPlan {
  std::map<std::string, std::uint64_t> offsets;
  std::uint64_t size = 0;       // the arena
  std::uint64_t unplanned = 0;  // the sum of the tensors' sizes (no reuse)
};

// Every tensor is aligned to this many bytes (the largest element and a
// cache line).
inline constexpr std::uint64_t kTensorAlignment = 64;

std::vector<Lifetime> activation_lifetimes(const Program& program);

// Places the tensors so that no two that are alive at the same time overlap:
// largest first, each at the lowest offset free for its whole life.
MemoryPlan plan_memory(const std::vector<Lifetime>& lifetimes);

}  // namespace npu::onnx_runtime
