// Jobs that fail: a fault stops only its queue, reports the address, bans
// the queue; malformed programs fail with the device's error code.
#include <chrono>
#include <optional>
#include <string>

#include "guest_device.hpp"

namespace guest {
namespace {

using namespace std::chrono_literals;

constexpr std::uint32_t kPattern = 0x0BAD'F00D;
constexpr std::uint64_t kPage = 4096;

// A device address no buffer can have: below the driver's VA range.
std::uint64_t unmapped_address(const npu::DeviceProperties& properties) {
  return properties.va_start - 16 * kPage;
}

class JobFailure : public DeviceTest {
 protected:
  // Runs `words` with an argument table of `slots` on a new queue.
  npu::JobResult run_raw(const std::vector<std::uint32_t>& words,
                         const std::vector<std::uint64_t>& slots,
                         const std::vector<std::uint32_t>& extra_handles = {}) {
    const RawProgram program = upload_words(device(), words);
    npu::Buffer table = device().allocate(kPage);
    std::ranges::copy(slots, table.map_as<std::uint64_t>().begin());
    npu::RawJob job{program.buffer.device_address(),
                    program.size,
                    table.device_address(),
                    static_cast<std::uint32_t>(slots.size() * 8),
                    {program.buffer.handle(), table.handle()}};
    job.buffer_handles.insert(job.buffer_handles.end(), extra_handles.begin(), extra_handles.end());
    npu::Queue queue = device().create_queue();
    return queue.submit(job).wait(30s);
  }

  npu::KernelArguments fill_arguments(const npu::Kernel& kernel, const npu::Buffer& dst) {
    npu::KernelArguments args = kernel.make_arguments();
    args.set("dst", dst).set("bytes", kPage).set("pattern", kPattern);
    return args;
  }
};

TEST_F(JobFailure, UnmappedAddressFaultsAndBansOnlyThatQueue) {
  const npu::Kernel kernel = device().load_kernel(fill_kernel());
  npu::Buffer real = device().allocate(kPage);
  const std::uint64_t unmapped = unmapped_address(device().properties());
  npu::Queue faulting = device().create_queue();
  npu::Queue bystander = device().create_queue();

  npu::KernelArguments bad = kernel.make_arguments();
  bad.set("dst", npu::BufferBinding{real.handle(), unmapped, kPage})
      .set("bytes", kPage)
      .set("pattern", kPattern);
  const npu::JobHandle job = faulting.submit(kernel, bad);
  const npu::JobResult result = job.wait(30s);
  EXPECT_EQ(result.status, npu::JobStatus::failed);
  EXPECT_EQ(result.error, npu::JobError::mmu_fault) << npu::to_string(result.error);
  EXPECT_EQ(result.error_address, unmapped);

  const npu::QueueStatus status = faulting.status();
  EXPECT_EQ(status.state, npu::QueueState::banned);
  EXPECT_EQ(status.error, npu::JobError::mmu_fault);
  EXPECT_EQ(status.error_sequence_number, job.sequence_number());
  EXPECT_EQ(status.error_address, unmapped);

  try {
    faulting.submit(kernel, fill_arguments(kernel, real));
    FAIL() << "a banned queue accepted a job";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), std::error_code(ECANCELED, std::system_category())) << e.what();
    EXPECT_EQ(e.code(), npu::errc::queue_banned);
    EXPECT_NE(std::string(e.what()).find("DRM_IOCTL_KNPU_SUBMIT"), std::string::npos) << e.what();
  }

  EXPECT_TRUE(bystander.submit(kernel, fill_arguments(kernel, real)).wait(30s).ok());
  npu::Queue fresh = device().create_queue();
  EXPECT_TRUE(fresh.submit(kernel, fill_arguments(kernel, real)).wait(30s).ok());
  EXPECT_EQ(first_mismatch(real.map(), kPage, kPattern), -1);
}

// Every buffer is followed by unmapped device VA: a job that runs one byte
// past a buffer faults there instead of writing into its neighbour.
TEST_F(JobFailure, RunningPastABufferFaultsAtItsEnd) {
  const npu::Kernel kernel = device().load_kernel(fill_kernel());
  npu::Buffer first = device().allocate(kPage);
  npu::Buffer neighbour = device().allocate(kPage);
  npu::Queue queue = device().create_queue();

  npu::KernelArguments overrun = kernel.make_arguments();
  overrun.set("dst", first).set("bytes", kPage + 1).set("pattern", kPattern);
  const npu::JobResult result = queue.submit(kernel, overrun).wait(30s);
  EXPECT_EQ(result.status, npu::JobStatus::failed);
  EXPECT_EQ(result.error, npu::JobError::mmu_fault) << npu::to_string(result.error);
  EXPECT_EQ(result.error_address, first.device_address() + kPage);
  for (const std::byte b : neighbour.map_as<std::byte>())
    ASSERT_EQ(b, std::byte{0}) << "the overrun wrote into the next buffer";
}

// The device names the failing instruction and operand (uapi 1.1), and
// npu::describe() turns that into the instruction's index, mnemonic and line.
TEST_F(JobFailure, FailureNamesTheInstructionOperandAndLine) {
  const npu::KernelImage image = npu::assemble(R"(
.kernel three_steps
.arg buffer src
.arg buffer dst
.arg scalar bytes
    dma_fill @src, @bytes, 0x01020304
    barrier
    dma_copy @dst, @src, @bytes
)",
                                               {.line_table = true});
  const npu::Kernel kernel = device().load_kernel(image);
  npu::Buffer src = device().allocate(kPage);
  const std::uint64_t unmapped = unmapped_address(device().properties());
  npu::KernelArguments args = kernel.make_arguments();
  args.set("src", src)
      .set("dst", npu::BufferBinding{src.handle(), unmapped, kPage})
      .set("bytes", kPage);
  npu::Queue queue = device().create_queue();
  const npu::JobResult result = queue.submit(kernel, args).wait(30s);
  ASSERT_EQ(result.status, npu::JobStatus::failed);
  ASSERT_EQ(result.error, npu::JobError::mmu_fault) << npu::to_string(result.error);
  // dma_fill is 6 words, barrier 3: dma_copy starts at byte 36.
  ASSERT_TRUE(result.error_offset.has_value()) << "a uapi 1.1 driver reports Q_ERROR_PC";
  EXPECT_EQ(*result.error_offset, 36U);
  EXPECT_EQ(result.error_operand, std::optional<std::uint8_t>{0}) << "operand 0: dst";
  EXPECT_EQ((result.error_info >> 8) & 3U, 2U) << "a write";
  EXPECT_EQ((result.error_info >> 12) & 0xfU, 1U) << "not present";
  const std::string text = npu::describe(result, &image);
  EXPECT_NE(text.find("MMU_FAULT (write, not present)"), std::string::npos) << text;
  EXPECT_NE(text.find("instruction 2 (dma_copy, line 8) at byte 0x24, operand 0"),
            std::string::npos)
      << text;

  const npu::QueueStatus status = queue.status();
  EXPECT_EQ(status.error_offset, result.error_offset);
  EXPECT_EQ(status.error_info, result.error_info);

  // A failure outside any instruction (the driver's timeout, a bad
  // descriptor) has no offset; a job that ran has none either.
  npu::Queue healthy = device().create_queue();
  const npu::JobResult fine =
      healthy
          .submit(kernel,
                  kernel.make_arguments().set("src", src).set("dst", src).set("bytes", kPage))
          .wait(30s);
  EXPECT_TRUE(fine.ok());
  EXPECT_FALSE(fine.error_offset.has_value());
  EXPECT_EQ(npu::describe(fine), "ok");
}

TEST_F(JobFailure, JobsBehindAFailedJobAreCanceled) {
  const npu::Kernel kernel = device().load_kernel(fill_kernel());
  npu::Buffer real = device().allocate(kPage);
  npu::Queue queue = device().create_queue();
  npu::KernelArguments bad = kernel.make_arguments();
  bad.set("dst", npu::BufferBinding{real.handle(), unmapped_address(device().properties()), kPage})
      .set("bytes", kPage)
      .set("pattern", kPattern);
  const npu::JobHandle failing = queue.submit(kernel, bad);
  std::optional<npu::JobHandle> behind;
  try {
    behind = queue.submit(kernel, fill_arguments(kernel, real));
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), npu::errc::queue_banned) << "the ban came first: " << e.what();
  }
  EXPECT_EQ(failing.wait(30s).status, npu::JobStatus::failed);
  if (behind) {
    const npu::JobResult result = behind->wait(30s);
    EXPECT_EQ(result.status, npu::JobStatus::canceled);
    EXPECT_EQ(first_mismatch(real.map(), 1, kPattern), 0) << "a canceled job ran";
  }
}

TEST_F(JobFailure, UnknownOpcode) {
  const npu::JobResult result = run_raw({0x0000'007f, 0, 0}, {});
  EXPECT_EQ(result.status, npu::JobStatus::failed);
  EXPECT_EQ(result.error, npu::JobError::opcode_invalid) << npu::to_string(result.error);
}

TEST_F(JobFailure, ReservedBitsInWordZero) {
  EXPECT_EQ(run_raw({0x0100'0000, 0, 0}, {}).error, npu::JobError::program_invalid);
}

TEST_F(JobFailure, InstructionRunsPastTheProgram) {
  EXPECT_EQ(run_raw({0x0003'0002, 0, 0b011, 0}, {0, 4}).error, npu::JobError::program_invalid);
}

TEST_F(JobFailure, UndefinedFlagBits) {
  npu::Buffer dst = device().allocate(kPage);
  const npu::JobResult result =
      run_raw({0x0003'0002, 1, 0b001, 0, 4, 0}, {dst.device_address()}, {dst.handle()});
  EXPECT_EQ(result.error, npu::JobError::operand_invalid) << npu::to_string(result.error);
}

TEST_F(JobFailure, WrongOperandCount) {
  npu::Buffer dst = device().allocate(kPage);
  const npu::JobResult result =
      run_raw({0x0002'0002, 0, 0b01, 0, 4}, {dst.device_address()}, {dst.handle()});
  EXPECT_EQ(result.error, npu::JobError::operand_invalid) << npu::to_string(result.error);
}

TEST_F(JobFailure, AddressOperandWithoutArgmask) {
  npu::Buffer dst = device().allocate(kPage);
  const npu::JobResult result =
      run_raw({0x0003'0002, 0, 0, static_cast<std::uint32_t>(dst.device_address()), 4, 0}, {},
              {dst.handle()});
  EXPECT_EQ(result.error, npu::JobError::operand_invalid) << npu::to_string(result.error);
}

TEST_F(JobFailure, SlotIndexBeyondTheTable) {
  npu::Buffer dst = device().allocate(kPage);
  const npu::JobResult result =
      run_raw({0x0003'0002, 0, 0b001, 5, 4, 0}, {dst.device_address()}, {dst.handle()});
  EXPECT_EQ(result.error, npu::JobError::arg_index_invalid) << npu::to_string(result.error);
  EXPECT_EQ(result.error_address, 5U) << "hw-spec 7.6: the offending slot index";
}

TEST_F(JobFailure, MisalignedSemaphore) {
  npu::Buffer semaphore = device().allocate(kPage);
  const std::uint64_t misaligned = semaphore.device_address() + 4;
  const npu::JobResult result =
      run_raw({0x0002'0009, 0, 0b01, 0, 1}, {misaligned}, {semaphore.handle()});
  EXPECT_EQ(result.error, npu::JobError::alignment) << npu::to_string(result.error);
  EXPECT_EQ(result.error_address, misaligned);
}

TEST_F(JobFailure, UnsupportedOpcodeOrDtype) {
  if (device().properties().supports(npu::isa::Opcode::softmax) &&
      device().properties().supports(npu::isa::DataType::fp32)) {
    GTEST_SKIP() << "the device executes softmax.fp32";
  }
  npu::Buffer data = device().allocate(kPage);
  const npu::JobResult result =
      run_raw({0x0004'0115, 0, 0b0011, 0, 0, 1, 4}, {data.device_address()}, {data.handle()});
  EXPECT_EQ(result.error, npu::JobError::opcode_unsupported) << npu::to_string(result.error);
}

TEST_F(JobFailure, OversizedValueArgumentsAreCaughtBeforeTheDevice) {
  const npu::Kernel kernel = device().load_kernel(fill_kernel());
  npu::KernelArguments args = kernel.make_arguments();
  EXPECT_THROW(args.set("bytes", 1ULL << 32), std::invalid_argument);
}

TEST_F(JobFailure, LibraryRefusesMalformedKernelsBeforeTheDevice) {
  npu::KernelImage image = fill_kernel();
  image.program[0] |= 0x7f;  // opcode 0x7f
  try {
    static_cast<void>(device().load_kernel(image));
    FAIL();
  } catch (const npu::KernelFormatError& e) {
    EXPECT_EQ(e.code(), npu::errc::invalid_kernel);
    EXPECT_EQ(e.code(), npu::KernelErrc::invalid_instruction);
  }
}

}  // namespace
}  // namespace guest
