// Queue and JobHandle: submission with staged argument tables, batches,
// device-side copies, recovery after a ban, and waiting with results
// instead of exceptions.
#include "npu/queue.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <concepts>
#include <list>

#include "monotonic.hpp"
#include "npu/command_list.hpp"
#include "npu/errors.hpp"
#include "npu/launch.hpp"
#include "queue_object.hpp"
#include "resident_kernel.hpp"

namespace npu {
namespace {

// The largest DMA_COPY / DMA_FILL: its byte count is a 32-bit value operand.
constexpr std::uint64_t kMaxDmaBytes = 0x8000'0000;

void record(detail::JobState& state, detail::QueueObject::Submitted submitted) {
  state.sequence_number = submitted.sequence_number;
  state.fence = std::move(submitted.fence);
  state.argument_table = std::move(submitted.argument_table);
}

// `what` names the object in the error; formatted only then (this runs for
// every buffer of every launch).
template <std::invocable What>
void check_same_file(const detail::DrmFile* queue_file, const detail::DrmFile& file, What what) {
  if (queue_file != &file) {
    throw make_error(errc::invalid_argument,
                     fmt::format("{} belongs to another Device open than the queue (another "
                                 "file, another device address space)",
                                 what()));
  }
}

// One job to submit: a kernel and its arguments (owned by the caller).
struct PendingJob {
  const Kernel* kernel;
  std::shared_ptr<const detail::ResidentKernel> resident;
  const KernelArguments* arguments;
};

// The state a launch's JobHandle keeps and the job to submit; checks that
// its kernel and buffers belong to the queue's file.
std::pair<std::shared_ptr<detail::JobState>, detail::PreparedJob> prepare_launch(
    const std::shared_ptr<detail::QueueObject>& queue, const PendingJob& pending,
    const SubmitOptions& options) {
  const Kernel& kernel = *pending.kernel;
  const KernelArguments& arguments = *pending.arguments;
  auto state = std::make_shared<detail::JobState>();
  state->queue = queue;
  state->kernel = pending.resident;
  state->buffers = arguments.buffers();
  const detail::DrmFile* const file = queue->file().get();
  check_same_file(file, pending.resident->program.file(),
                  [&] { return fmt::format("kernel '{}'", kernel.name()); });
  for (const Buffer& buffer : state->buffers) {
    check_same_file(file, buffer.file(),
                    [&] { return fmt::format("a buffer given to kernel '{}'", kernel.name()); });
  }
  detail::PreparedJob job{
      RawJob{kernel.program_address(), kernel.program_size(), 0, 0, arguments.buffer_handles()},
      arguments.table(), options};
  job.job.buffer_handles.push_back(kernel.program_handle());
  return {std::move(state), std::move(job)};
}

// The jobs of a copy of src into the start of dst, in chunks the DMA
// engine takes; their arguments are added to `owned`.
void add_copy_jobs(detail::QueueObject& queue, const Buffer& dst, const Buffer& src,
                   std::list<KernelArguments>& owned, std::vector<PendingJob>& jobs,
                   std::shared_ptr<const detail::ResidentKernel> resident) {
  if (dst.size() < src.size()) {
    throw std::invalid_argument(
        fmt::format("copy: {} bytes do not fit a {}-byte destination", src.size(), dst.size()));
  }
  const Kernel& kernel = queue.copy_kernel_locked();
  for (std::uint64_t done = 0; done < src.size(); done += kMaxDmaBytes) {
    const std::uint64_t bytes = std::min(kMaxDmaBytes, src.size() - done);
    KernelArguments& arguments = owned.emplace_back(kernel.make_arguments());
    arguments.set(0U, dst.sub_buffer(done, bytes)).set(1U, src.sub_buffer(done, bytes));
    arguments.set(2U, bytes);
    jobs.push_back({&kernel, resident, &arguments});
  }
}

void add_fill_jobs(detail::QueueObject& queue, const Buffer& dst, std::uint32_t pattern,
                   std::list<KernelArguments>& owned, std::vector<PendingJob>& jobs,
                   std::shared_ptr<const detail::ResidentKernel> resident) {
  const Kernel& kernel = queue.fill_kernel_locked();
  for (std::uint64_t done = 0; done < dst.size(); done += kMaxDmaBytes) {
    const std::uint64_t bytes = std::min(kMaxDmaBytes, dst.size() - done);
    KernelArguments& arguments = owned.emplace_back(kernel.make_arguments());
    arguments.set(0U, dst.sub_buffer(done, bytes)).set(1U, bytes).set(2U, std::uint64_t{pattern});
    jobs.push_back({&kernel, resident, &arguments});
  }
}

// The options of job `index` of `count` in a batch: waits on the first,
// signals on the last.
SubmitOptions batch_options(std::size_t index, std::size_t count, const SubmitOptions& options) {
  SubmitOptions part;
  if (index == 0) {
    part.wait_for = options.wait_for;
    part.wait_for_points = options.wait_for_points;
    part.wait_fence_fd = options.wait_fence_fd;
  }
  if (index + 1 == count) {
    part.signal = options.signal;
    part.signal_points = options.signal_points;
    part.export_fence = options.export_fence;
  }
  return part;
}

// Submits `jobs` as one batch; the submissions lock of `queue` is held.
BatchHandle submit_all(const std::shared_ptr<detail::QueueObject>& queue,
                       const std::vector<PendingJob>& jobs, const SubmitOptions& options) {
  std::vector<std::shared_ptr<detail::JobState>> states;
  std::vector<detail::PreparedJob> prepared;
  states.reserve(jobs.size());
  prepared.reserve(jobs.size());
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    auto [state, job] = prepare_launch(queue, jobs[i], batch_options(i, jobs.size(), options));
    states.push_back(std::move(state));
    prepared.push_back(std::move(job));
  }
  std::vector<detail::QueueObject::Submitted> submitted = queue->submit_locked(prepared);
  BatchHandle batch;
  batch.jobs.reserve(jobs.size());
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    record(*states[i], std::move(submitted[i]));
    batch.jobs.emplace_back(std::move(states[i]));
  }
  return batch;
}

}  // namespace

JobHandle::JobHandle(std::shared_ptr<const detail::JobState> state) : state_(std::move(state)) {}

std::uint64_t JobHandle::sequence_number() const {
  return state_->sequence_number;
}
std::uint32_t JobHandle::queue_id() const {
  return state_->queue->id();
}
int JobHandle::fence_fd() const {
  return state_->fence ? state_->fence->get() : -1;
}

JobResult JobHandle::wait(std::chrono::nanoseconds timeout) const {
  return state_->result_of(
      state_->queue->wait(state_->sequence_number, detail::deadline_after(timeout)));
}

JobResult BatchHandle::wait(std::chrono::nanoseconds timeout) const {
  const std::int64_t deadline = detail::deadline_after(timeout);
  for (const JobHandle& job : jobs) {
    const std::int64_t left = deadline - detail::deadline_after(std::chrono::nanoseconds::zero());
    const JobResult result = job.wait(std::chrono::nanoseconds(std::max<std::int64_t>(left, 0)));
    if (!result.ok()) {
      return result;
    }
  }
  return {};
}

Queue::Queue(std::shared_ptr<const detail::DrmFile> file, QueuePriority priority)
    : Queue(std::move(file), QueueOptions{.priority = priority}) {}

Queue::Queue(std::shared_ptr<const detail::DrmFile> file, const QueueOptions& options)
    : slot_(std::make_shared<detail::QueueSlot>(
          std::make_shared<detail::QueueObject>(std::move(file), options))) {}

std::shared_ptr<detail::QueueObject> Queue::current() const {
  return slot_->current();
}

std::size_t Queue::argument_slots() const {
  const std::shared_ptr<detail::QueueObject> queue = current();
  const auto lock = queue->lock_submissions();
  return queue->argument_slots();
}

std::uint32_t Queue::id() const {
  return current()->id();
}
QueuePriority Queue::priority() const {
  return current()->options().priority;
}

JobHandle Queue::submit(const Kernel& kernel, const KernelArguments& arguments,
                        const SubmitOptions& options) const {
  const std::shared_ptr<detail::QueueObject> queue = current();
  const auto lock = queue->lock_submissions();
  return submit_all(queue, {{&kernel, kernel.resident_, &arguments}}, options).jobs.front();
}

JobHandle Queue::submit(const Launch& launch, const SubmitOptions& options) const {
  return submit(launch.kernel(), launch.arguments(), options);
}

JobHandle Queue::submit(const RawJob& job, const SubmitOptions& options) const {
  const std::shared_ptr<detail::QueueObject> queue = current();
  auto state = std::make_shared<detail::JobState>();
  state->queue = queue;
  const detail::PreparedJob prepared{job, {}, options};
  const auto lock = queue->lock_submissions();
  record(*state, std::move(queue->submit_locked({&prepared, 1}).front()));
  return JobHandle(std::move(state));
}

BatchHandle Queue::submit(const CommandList& list, const SubmitOptions& options) const {
  const std::shared_ptr<detail::QueueObject> queue = current();
  const auto lock = queue->lock_submissions();
  std::list<KernelArguments> owned;
  std::vector<PendingJob> jobs;
  for (const CommandList::Command& command : list.commands_) {
    if (const auto* launch = std::get_if<CommandList::LaunchCommand>(&command)) {
      jobs.push_back({&launch->kernel, launch->kernel.resident_, &launch->arguments});
    } else if (const auto* copy = std::get_if<CommandList::CopyCommand>(&command)) {
      add_copy_jobs(*queue, copy->dst, copy->src, owned, jobs,
                    queue->copy_kernel_locked().resident_);
    } else {
      const auto& fill = std::get<CommandList::FillCommand>(command);
      add_fill_jobs(*queue, fill.dst, fill.pattern, owned, jobs,
                    queue->fill_kernel_locked().resident_);
    }
  }
  return submit_all(queue, jobs, options);
}

JobHandle Queue::copy(const Buffer& dst, const Buffer& src, const SubmitOptions& options) const {
  const std::shared_ptr<detail::QueueObject> queue = current();
  const auto lock = queue->lock_submissions();
  std::list<KernelArguments> owned;
  std::vector<PendingJob> jobs;
  add_copy_jobs(*queue, dst, src, owned, jobs, queue->copy_kernel_locked().resident_);
  return submit_all(queue, jobs, options).jobs.back();
}

JobHandle Queue::fill(const Buffer& dst, std::uint32_t pattern,
                      const SubmitOptions& options) const {
  const std::shared_ptr<detail::QueueObject> queue = current();
  const auto lock = queue->lock_submissions();
  std::list<KernelArguments> owned;
  std::vector<PendingJob> jobs;
  add_fill_jobs(*queue, dst, pattern, owned, jobs, queue->fill_kernel_locked().resident_);
  return submit_all(queue, jobs, options).jobs.back();
}

bool Queue::recover() {
  const std::shared_ptr<detail::QueueObject> queue = current();
  if (queue->status().state != KNPU_QUEUE_STATE_BANNED) {
    return false;
  }
  slot_->replace(queue);
  return true;
}

QueueStatus Queue::status() const {
  const drm_knpu_queue_status status = current()->status();
  QueueStatus result{
      status.state == KNPU_QUEUE_STATE_BANNED ? QueueState::banned : QueueState::active,
      static_cast<JobError>(status.error),
      status.error_seqno,
      status.error_addr,
      status.completed_seqno,
      status.reset_count};
  if (status.error_pc != KNPU_ERROR_PC_NONE && result.state == QueueState::banned) {
    result.error_offset = status.error_pc;
    result.error_info = status.error_info;
  }
  return result;
}

}  // namespace npu
