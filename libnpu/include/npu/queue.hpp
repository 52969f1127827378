// Queue: a command queue of the device (one hardware queue while it exists),
// and JobHandle: a submitted job, waited on with a timeout.
//
// Thread safety: any number of threads may submit to one Queue and wait on
// any JobHandles at the same time (each call is one ioctl; the driver orders
// jobs of a queue in the order their submit calls reach it). Moving or
// destroying an object while another thread uses it is not safe, as for any
// C++ object.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "npu/event.hpp"
#include "npu/kernel.hpp"
#include "npu/kernel_arguments.hpp"
#include "npu/kernel_image.hpp"
#include "npu/timeline.hpp"

namespace npu {

class CommandList;
class Launch;
namespace detail {
class QueueObject;
class QueueSlot;
struct JobState;
}  // namespace detail

enum class QueuePriority : std::uint32_t { low = 0, normal = 1, high = 2, realtime = 3 };

// Why a job failed (KNPU_ERR_* of the uapi; the device's codes of hw-spec 7.6
// and the driver's own).
enum class JobError : std::uint32_t {
  none = 0x00,
  desc_invalid = 0x01,
  program_invalid = 0x02,
  opcode_invalid = 0x03,
  opcode_unsupported = 0x04,
  operand_invalid = 0x05,
  arg_index_invalid = 0x06,
  alignment = 0x07,
  mmu_fault = 0x08,
  bus_error = 0x09,
  uncorrectable = 0x0a,
  config_invalid = 0x0b,
  tail_invalid = 0x0c,
  timeout = 0x40,
  device_lost = 0x41,
  devmem_lost = 0x42,  // a reset cleared device memory the job uses
};

// "MMU_FAULT", or "0x3f" for codes this library does not know.
std::string to_string(JobError error);

enum class JobStatus : std::uint8_t {
  ok,        // ran to completion
  failed,    // ran and failed: see error and error_address
  canceled,  // never ran: its queue was banned or the device was lost
  timeout,   // not finished by the deadline (it may still finish later)
};

std::string_view to_string(JobStatus status);

struct JobResult {
  JobStatus status = JobStatus::ok;
  JobError error = JobError::none;
  // The faulting device address for MMU faults, else the device's error
  // address (hw-spec 7.6) or 0.
  std::uint64_t error_address = 0;
  // Where the device stopped a failed job, when it failed in an instruction
  // (drivers of uapi 1.1 and later): the byte offset of that instruction in
  // the program, and the operand involved when the device names one.
  std::optional<std::uint32_t> error_offset{};
  std::optional<std::uint8_t> error_operand{};
  // The device's Q_ERROR_INFO for the failure (hw-spec 7.6): access kind,
  // MMU fault reason, ASID; 0 when the device did not fail the job.
  std::uint32_t error_info = 0;
  // When a device core took the job and when it finished, on the host's
  // steady_clock (CLOCK_MONOTONIC): for a job that ran to completion, with
  // Capability::job_timestamps, among its queue's newest 256 completed jobs.
  struct Times {
    std::chrono::steady_clock::time_point start;
    std::chrono::steady_clock::time_point end;
  };
  std::optional<Times> device_times{};

  [[nodiscard]] bool ok() const { return status == JobStatus::ok; }
};

// What went wrong, for people: "MMU_FAULT (write, not present) at 0x10000
// in instruction 3 (dma_copy, line 7) at byte 0x24, operand 0". With the
// kernel's image the instruction is counted, named and given its source
// line; without it only the byte offset is known. "ok" for a job that ran.
std::string describe(const JobResult& result, const KernelImage* image = nullptr);

// A submitted job. Keeps its queue, its kernel and its argument table alive
// until the handle is gone. Copies refer to the same job.
class JobHandle {
 public:
  explicit JobHandle(std::shared_ptr<const detail::JobState> state);

  // Waits until the job finishes or `timeout` passes. Job failures are
  // results, not exceptions; a lost device is {canceled, device_lost}.
  [[nodiscard]] JobResult wait(
      std::chrono::nanoseconds timeout = std::chrono::nanoseconds::max()) const;
  [[nodiscard]] std::uint64_t sequence_number() const;
  [[nodiscard]] std::uint32_t queue_id() const;
  // The job's sync_file when submitted with export_fence, else -1. Owned by
  // the job (closed with its last handle): poll() it for POLLIN, or dup() it.
  [[nodiscard]] int fence_fd() const;

 private:
  std::shared_ptr<const detail::JobState> state_;
};

enum class QueueState : std::uint8_t { active, banned };

struct QueueStatus {
  QueueState state = QueueState::active;
  JobError error = JobError::none;  // of the job that banned the queue
  std::uint64_t error_sequence_number = 0;
  std::uint64_t error_address = 0;
  std::uint64_t completed_sequence_number = 0;
  std::uint32_t reset_count = 0;
  // As JobResult::error_offset and ::error_info, for the job that banned it.
  std::optional<std::uint32_t> error_offset{};
  std::uint32_t error_info = 0;
};

// A job given by device addresses: for programs that are not Kernels (tests
// of the device's own checks, hand-made programs). Every buffer the program
// touches must be listed.
struct RawJob {
  std::uint64_t program_address = 0;
  std::uint32_t program_size = 0;
  std::uint64_t arguments_address = 0;
  std::uint32_t arguments_size = 0;
  std::vector<std::uint32_t> buffer_handles;
};

// Dependencies and signals of one submission (DRM syncobjs in the driver).
struct SubmitOptions {
  // The job starts only once all of these are signaled. Each must have a job
  // that signals it submitted already, or have been signaled by the host.
  std::vector<Event> wait_for{};
  // Signaled when the job finishes (whatever its outcome).
  std::vector<Event> signal{};
  // Timeline points to wait for and to reach, likewise.
  std::vector<TimelinePoint> wait_for_points{};
  std::vector<TimelinePoint> signal_points{};
  // A sync_file the job waits for (-1: none); libnpu does not take it over.
  int wait_fence_fd = -1;
  // Give the job a sync_file of its own (JobHandle::fence_fd()), to poll()
  // or to pass to another device or process.
  bool export_fence = false;
};

// The jobs of one batch or command-list replay, in submission order.
struct BatchHandle {
  std::vector<JobHandle> jobs;

  // Waits for every job (each within `timeout` of the call); the result of
  // the first job that did not finish ok, else ok. A job after a failed one
  // is canceled (the failure banned the queue), so the first is the cause.
  [[nodiscard]] JobResult wait(
      std::chrono::nanoseconds timeout = std::chrono::nanoseconds::max()) const;
};

struct QueueOptions {
  QueuePriority priority = QueuePriority::normal;
  // Slots of 4 KiB in the argument ring at first; it doubles (up to 1024
  // slots) when the next slot's job is still running. Size it to the
  // number of launches the runtime keeps in flight to never grow it.
  std::uint32_t argument_slots = 16;
};

// Copies refer to the same queue. The hardware queue is released when the
// last copy and the last of its JobHandles are gone; jobs already submitted
// still run to completion.
class Queue {
 public:
  Queue(std::shared_ptr<const detail::DrmFile> file, QueuePriority priority);
  Queue(std::shared_ptr<const detail::DrmFile> file, const QueueOptions& options);

  // Launches `kernel` with `arguments` (every slot set); never waits for
  // other jobs. The argument table is staged in one of the queue's 16
  // argument slots, or in a buffer of its own when it is larger than 4 KiB
  // or the slot's job from 16 launches earlier is still running. The buffer
  // list is the argument buffers plus the program and the table. Throws
  // std::system_error for ioctl errors (npu::errc::queue_banned after a
  // failed job).
  // Objects of another Device open (another file: another address space)
  // are refused with errc::invalid_argument.
  JobHandle submit(const Kernel& kernel, const KernelArguments& arguments,
                   const SubmitOptions& options = {}) const;
  JobHandle submit(const Launch& launch, const SubmitOptions& options = {}) const;
  JobHandle submit(const RawJob& job, const SubmitOptions& options = {}) const;
  // Submits every command of `list` in order, as one batch: nothing of
  // another thread's submissions to this queue comes between them; the
  // options' waits apply to the first job, its signals and exported fence
  // to the last. One SUBMIT_BATCH ioctl for up to 256 jobs where the
  // driver has it (Capability::submit_batch), else one SUBMIT per job; a
  // job the driver refuses throws, the jobs before it are in flight.
  // Replaying a list again costs no re-recording.
  BatchHandle submit(const CommandList& list, const SubmitOptions& options = {}) const;

  // Device-side copies and fills: DMA jobs on this queue, ordered with its
  // other jobs, between any two buffers of the device (host or device
  // memory, sub-buffers for ranges). copy() copies src.size() bytes to the
  // start of dst (std::invalid_argument if dst is smaller); fill() writes
  // `pattern` (little-endian, repeating) over all of dst. Copies of 4 GiB
  // and more are split into several jobs; the handle is the last one's.
  JobHandle copy(const Buffer& dst, const Buffer& src, const SubmitOptions& options = {}) const;
  JobHandle fill(const Buffer& dst, std::uint32_t pattern, const SubmitOptions& options = {}) const;

  // After a failed job banned the queue: gives this queue (and all its
  // copies) a fresh hardware queue and returns true; false if the queue was
  // not banned. JobHandles of earlier jobs stay valid and keep reporting
  // their results. id() changes.
  bool recover();

  [[nodiscard]] QueueStatus status() const;
  // Slots of the argument ring now (it grows while jobs hold every slot).
  [[nodiscard]] std::size_t argument_slots() const;
  [[nodiscard]] std::uint32_t id() const;
  [[nodiscard]] QueuePriority priority() const;

 private:
  friend class CommandList;
  [[nodiscard]] std::shared_ptr<detail::QueueObject> current() const;

  std::shared_ptr<detail::QueueSlot> slot_;
};

}  // namespace npu
