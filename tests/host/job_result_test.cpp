// npu::describe(): a failed job's error, access, reason, address, and the
// failing instruction's index, mnemonic and source line from the line table.
#include <gtest/gtest.h>

#include "npu/assembly.hpp"
#include "npu/queue.hpp"

namespace {

constexpr const char* kSource = R"(.kernel steps
.arg buffer dst
.arg buffer src
    dma_fill @dst, 64, 0x01020304

    barrier
    dma_copy @dst, @src, 64
)";

npu::JobResult mmu_fault_at(std::uint32_t offset) {
  npu::JobResult result{npu::JobStatus::failed, npu::JobError::mmu_fault, 0x7000'0000};
  result.error_offset = offset;
  result.error_operand = 1;
  result.error_info = (1U << 12) | (1U << 8) | 1U;  // not present, read, operand 1
  return result;
}

TEST(JobResult, AssemblerRecordsLinesOnlyWhenAsked) {
  EXPECT_TRUE(npu::assemble(kSource).line_table.empty());
  const npu::KernelImage image = npu::assemble(kSource, {.line_table = true, .source_name = "s.s"});
  ASSERT_EQ(image.line_table.size(), 3U);
  EXPECT_EQ(image.line_table[0], (npu::LineEntry{0, 4}));
  EXPECT_EQ(image.line_table[1], (npu::LineEntry{24, 6}));
  EXPECT_EQ(image.line_table[2], (npu::LineEntry{36, 7}));
  EXPECT_EQ(image.source_name, "s.s");
}

TEST(JobResult, DescribeNamesInstructionLineAndOperand) {
  const npu::KernelImage image = npu::assemble(kSource, {.line_table = true});
  EXPECT_EQ(npu::describe(mmu_fault_at(36), &image),
            "MMU_FAULT (read, not present) at 0x70000000 in instruction 2 (dma_copy, line 7) at "
            "byte 0x24, operand 1");
  const npu::KernelImage no_lines = npu::assemble(kSource);
  EXPECT_EQ(npu::describe(mmu_fault_at(36), &no_lines),
            "MMU_FAULT (read, not present) at 0x70000000 in instruction 2 (dma_copy) at byte "
            "0x24, operand 1");
}

TEST(JobResult, DescribeWithoutTheProgramOrWithAnOffsetItDoesNotHave) {
  const npu::KernelImage image = npu::assemble(kSource);
  EXPECT_EQ(npu::describe(mmu_fault_at(36)),
            "MMU_FAULT (read, not present) at 0x70000000 in the instruction at byte 0x24, "
            "operand 1");
  EXPECT_NE(npu::describe(mmu_fault_at(40), &image).find("the instruction at byte 0x28"),
            std::string::npos)
      << "40 is inside dma_copy, not where an instruction starts";
  EXPECT_NE(npu::describe(mmu_fault_at(4096), &image).find("the instruction at byte 0x1000"),
            std::string::npos);
}

TEST(JobResult, DescribeOtherOutcomes) {
  EXPECT_EQ(npu::describe({}), "ok");
  EXPECT_EQ(npu::describe({npu::JobStatus::canceled, npu::JobError::device_lost, 0}),
            "canceled: DEVICE_LOST");
  EXPECT_EQ(npu::describe({npu::JobStatus::failed, npu::JobError::devmem_lost, 0}), "DEVMEM_LOST");
  EXPECT_EQ(npu::describe({npu::JobStatus::failed, npu::JobError::timeout, 0}), "TIMEOUT");
  npu::JobResult slot{npu::JobStatus::failed, npu::JobError::arg_index_invalid, 5};
  slot.error_offset = 0;
  EXPECT_EQ(npu::describe(slot), "ARG_INDEX_INVALID (slot 5) in the instruction at byte 0x0");
}

}  // namespace
