// The device instructions of a lowered program, as its kernel holds them
// (decoded): what the host tests of the lowerings check.
#pragma once

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <vector>

#include "lowering.hpp"
#include "npu/isa.hpp"
#include "npu/kernel_builder.hpp"

namespace npu::onnx_runtime {

inline std::vector<isa::Instruction> instructions_of(const Program& program) {
  KernelBuilder builder("test");
  std::uint32_t slots = 0;
  for (const DeviceInstruction& instruction : program.instructions) {
    std::vector<BufferArg> args;
    for (std::size_t i = 0; i < instruction.operands.size(); ++i) {
      args.push_back(builder.arg_buffer(fmt::format("a{}", slots++)));
    }
    instruction.emit(builder, args);
  }
  const KernelImage image = builder.build();
  const isa::ProgramDecode decoded = isa::decode(image.program);
  EXPECT_FALSE(decoded.error);
  return decoded.instructions;
}

}  // namespace npu::onnx_runtime
