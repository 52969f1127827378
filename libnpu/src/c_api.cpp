// The C API (npu/npu.h) over the C++ API: handles own C++ objects, every
// exception becomes a status and this thread's last error message.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include "npu/npu.h"
#include "npu/npu.hpp"

struct npu_device {
  npu::Device device;
};
struct npu_buffer {
  npu::Buffer buffer;
};
struct npu_buffer_pool {
  npu::BufferPool pool;
};
struct npu_queue {
  npu::Queue queue;
};
struct npu_kernel {
  npu::Kernel kernel;
};
struct npu_job {
  npu::JobHandle job;
};
struct npu_event {
  npu::Event event;
};
struct npu_timeline {
  npu::Timeline timeline;
};

namespace {

thread_local std::string last_error;

npu::BufferOptions buffer_options(uint32_t flags) {
  return {(flags & NPU_BUFFER_DEVICE_MEMORY) != 0 ? npu::MemoryPlacement::device
                                                  : npu::MemoryPlacement::host,
          (flags & NPU_BUFFER_DEVICE_READ_ONLY) != 0};
}

npu_status status_of(const std::error_code& code) {
  using npu::errc;
  const std::pair<errc, npu_status> table[] = {
      {errc::not_supported, NPU_ERROR_NOT_SUPPORTED},
      {errc::no_permission, NPU_ERROR_NO_PERMISSION},
      {errc::device_lost, NPU_ERROR_DEVICE_LOST},
      {errc::queue_banned, NPU_ERROR_QUEUE_BANNED},
      {errc::timeout, NPU_ERROR_TIMEOUT},
      {errc::out_of_device_memory, NPU_ERROR_OUT_OF_DEVICE_MEMORY},
      {errc::device_busy, NPU_ERROR_DEVICE_BUSY},
      {errc::invalid_kernel, NPU_ERROR_INVALID_KERNEL},
      {errc::invalid_argument, NPU_ERROR_INVALID_ARGUMENT},
      {errc::no_device, NPU_ERROR_NO_DEVICE},
      {errc::out_of_host_memory, NPU_ERROR_OUT_OF_HOST_MEMORY},
      {errc::contents_lost, NPU_ERROR_CONTENTS_LOST},
  };
  for (const auto& [condition, status] : table) {
    if (code == condition) {
      return status;
    }
  }
  return NPU_ERROR_OTHER;
}

npu_status fail(npu_status status, std::string message) {
  last_error = std::move(message);
  return status;
}

// Runs `body`, turning its exceptions into a status and a message.
template <class Body>
npu_status guarded(Body&& body) {
  try {
    body();
    last_error.clear();
    return NPU_SUCCESS;
  } catch (const npu::AssemblyError& e) {
    return fail(NPU_ERROR_INVALID_KERNEL, e.what());
  } catch (const std::system_error& e) {
    return fail(status_of(e.code()), e.what());
  } catch (const std::invalid_argument& e) {
    return fail(NPU_ERROR_INVALID_ARGUMENT, e.what());
  } catch (const std::out_of_range& e) {
    return fail(NPU_ERROR_INVALID_ARGUMENT, e.what());
  } catch (const std::bad_alloc&) {
    return fail(NPU_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
  } catch (const std::exception& e) {
    return fail(NPU_ERROR_OTHER, e.what());
  }
}

npu_status null_argument(const char* function) {
  return fail(NPU_ERROR_INVALID_ARGUMENT, fmt::format("{}: a required pointer is NULL", function));
}

template <std::size_t N>
void copy_text(char (&out)[N], const std::string& text) {
  const std::size_t length = std::min(text.size(), N - 1);
  std::memcpy(out, text.data(), length);
  out[length] = '\0';
}

npu::KernelArguments bind(const npu::Kernel& kernel, const npu_argument* arguments,
                          std::size_t count) {
  npu::KernelArguments bound = kernel.make_arguments();
  for (std::size_t i = 0; i < count; ++i) {
    const npu_argument& argument = arguments[i];
    if (argument.name == nullptr) {
      throw std::invalid_argument(fmt::format("npu_launch: argument {} has no name", i));
    }
    if (argument.buffer != nullptr) {
      bound.set(argument.name, argument.buffer->buffer, argument.value);
    } else {
      bound.set(argument.name, argument.value);
    }
  }
  return bound;
}

std::chrono::nanoseconds timeout_of(int64_t timeout_ns) {
  return timeout_ns < 0 ? std::chrono::nanoseconds::max() : std::chrono::nanoseconds(timeout_ns);
}

template <class T>
std::span<const T> span_of(const T* items, size_t count, const char* what) {
  if (items == nullptr && count != 0) {
    throw std::invalid_argument(fmt::format("{}: NULL with a count of {}", what, count));
  }
  return {items, count};
}

std::vector<npu::TimelinePoint> points_of(const npu_timeline_point* points, size_t count) {
  std::vector<npu::TimelinePoint> out;
  for (const npu_timeline_point& point : span_of(points, count, "timeline points")) {
    if (point.timeline == nullptr) {
      throw std::invalid_argument("a timeline point without a timeline");
    }
    out.push_back({point.timeline->timeline, point.point});
  }
  return out;
}

std::vector<npu::Event> events_of(const npu_event* const* events, size_t count) {
  std::vector<npu::Event> out;
  for (const npu_event* event : span_of(events, count, "events")) {
    if (event == nullptr) {
      throw std::invalid_argument("a NULL event");
    }
    out.push_back(event->event);
  }
  return out;
}

npu::SubmitOptions submit_options_of(const npu_submit_options* options) {
  if (options == nullptr) {
    return {};
  }
  return {events_of(options->wait_events, options->wait_event_count),
          events_of(options->signal_events, options->signal_event_count),
          points_of(options->wait_points, options->wait_point_count),
          points_of(options->signal_points, options->signal_point_count),
          options->wait_fence_fd,
          options->export_fence != 0};
}

npu::KernelArguments bind_typed(const npu::Kernel& kernel, const npu_launch_argument* arguments,
                                std::size_t count) {
  npu::KernelArguments bound = kernel.make_arguments();
  for (const npu_launch_argument& argument : span_of(arguments, count, "arguments")) {
    const std::uint32_t index =
        argument.name != nullptr ? bound.index_of(argument.name) : argument.index;
    switch (argument.type) {
      case NPU_LAUNCH_BUFFER:
        if (argument.buffer == nullptr) {
          throw std::invalid_argument(
              fmt::format("argument {}: NPU_LAUNCH_BUFFER without a buffer", index));
        }
        bound.set(index, argument.buffer->buffer, argument.value);
        break;
      case NPU_LAUNCH_INTEGER:
        bound.set(index, argument.value);
        break;
      case NPU_LAUNCH_FLOAT:
        bound.set(index, argument.float_value);
        break;
      default:
        throw std::invalid_argument(
            fmt::format("argument {}: unknown type {}", index, argument.type));
    }
  }
  return bound;
}

uint64_t monotonic_ns(std::chrono::steady_clock::time_point t) {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count());
}

npu_job_status job_status_of(npu::JobStatus status) {
  switch (status) {
    case npu::JobStatus::ok:
      return NPU_JOB_OK;
    case npu::JobStatus::failed:
      return NPU_JOB_FAILED;
    case npu::JobStatus::canceled:
      return NPU_JOB_CANCELED;
    case npu::JobStatus::timeout:
      return NPU_JOB_TIMEOUT;
  }
  return NPU_JOB_FAILED;
}

// The result of a job that has finished; ETIME (NPU_ERROR_TIMEOUT) if not yet.
npu::JobResult finished_result(const npu_job& job, const char* what) {
  npu::JobResult outcome = job.job.wait(std::chrono::nanoseconds::zero());
  if (outcome.status == npu::JobStatus::timeout) {
    throw std::system_error(ETIME, std::system_category(), std::string(what) + ": not finished");
  }
  return outcome;
}

}  // namespace

extern "C" {

const char* npu_status_name(npu_status status) {
  switch (status) {
    case NPU_SUCCESS:
      return "NPU_SUCCESS";
    case NPU_ERROR_NOT_SUPPORTED:
      return "NPU_ERROR_NOT_SUPPORTED";
    case NPU_ERROR_NO_PERMISSION:
      return "NPU_ERROR_NO_PERMISSION";
    case NPU_ERROR_DEVICE_LOST:
      return "NPU_ERROR_DEVICE_LOST";
    case NPU_ERROR_QUEUE_BANNED:
      return "NPU_ERROR_QUEUE_BANNED";
    case NPU_ERROR_TIMEOUT:
      return "NPU_ERROR_TIMEOUT";
    case NPU_ERROR_OUT_OF_DEVICE_MEMORY:
      return "NPU_ERROR_OUT_OF_DEVICE_MEMORY";
    case NPU_ERROR_DEVICE_BUSY:
      return "NPU_ERROR_DEVICE_BUSY";
    case NPU_ERROR_INVALID_KERNEL:
      return "NPU_ERROR_INVALID_KERNEL";
    case NPU_ERROR_INVALID_ARGUMENT:
      return "NPU_ERROR_INVALID_ARGUMENT";
    case NPU_ERROR_OTHER:
      return "NPU_ERROR_OTHER";
    case NPU_ERROR_NO_DEVICE:
      return "NPU_ERROR_NO_DEVICE";
    case NPU_ERROR_OUT_OF_HOST_MEMORY:
      return "NPU_ERROR_OUT_OF_HOST_MEMORY";
    case NPU_ERROR_CONTENTS_LOST:
      return "NPU_ERROR_CONTENTS_LOST";
  }
  return "NPU_ERROR_UNKNOWN_STATUS";
}

const char* npu_last_error(void) {
  return last_error.c_str();
}

npu_status npu_device_count(size_t* count) {
  if (count == nullptr) {
    return null_argument(__func__);
  }
  return guarded([&] { *count = npu::enumerate_devices().size(); });
}

npu_status npu_device_open(size_t index, npu_device** device) {
  if (device == nullptr) {
    return null_argument(__func__);
  }
  return guarded([&] { *device = new npu_device{npu::Device::open(index)}; });
}

npu_status npu_device_open_pci(const char* pci_address, npu_device** device) {
  if (pci_address == nullptr || device == nullptr) {
    return null_argument(__func__);
  }
  return guarded(
      [&] { *device = new npu_device{npu::Device::open(std::string_view(pci_address))}; });
}

npu_status npu_device_get_properties(const npu_device* device, npu_device_properties* properties) {
  if (device == nullptr || properties == nullptr) {
    return null_argument(__func__);
  }
  const npu::DeviceProperties& p = device->device.properties();
  *properties = {p.uapi_version,    p.device_id,          p.revision,     p.hw_version,
                 p.fw_version,      p.num_cores,          p.num_queues,   0,
                 p.sram_size,       p.devmem_size,        p.va_start,     p.va_size,
                 p.ops.to_ullong(), p.dtypes.to_ullong(), p.capabilities, p.serial};
  return NPU_SUCCESS;
}

void npu_device_close(npu_device* device) {
  delete device;
}

npu_status npu_device_get_info(const npu_device* device, npu_device_info* info) {
  if (device == nullptr || info == nullptr) {
    return null_argument(__func__);
  }
  return guarded([&] {
    const npu::DeviceProperties& p = device->device.properties();
    *info = {};
    copy_text(info->pci_address, device->device.info().pci_address);
    copy_text(info->device_node, device->device.info().device_node);
    copy_text(info->driver_version, device->device.driver_version().to_string());
    info->num_cores = p.num_cores;
    info->num_queues = p.num_queues;
    info->sram_size = p.sram_size;
    info->devmem_size = p.devmem_size;
    info->ops = p.ops.to_ullong();
    info->dtypes = p.dtypes.to_ullong();
  });
}

npu_status npu_buffer_create(npu_device* device, uint64_t size, uint32_t flags,
                             npu_buffer** buffer) {
  if (device == nullptr || buffer == nullptr) {
    return null_argument(__func__);
  }
  if ((flags & ~(NPU_BUFFER_DEVICE_MEMORY | NPU_BUFFER_DEVICE_READ_ONLY)) != 0) {
    return fail(NPU_ERROR_INVALID_ARGUMENT,
                fmt::format("npu_buffer_create: unknown flags {:#x}", flags));
  }
  return guarded(
      [&] { *buffer = new npu_buffer{device->device.allocate(size, buffer_options(flags))}; });
}

void npu_buffer_destroy(npu_buffer* buffer) {
  delete buffer;
}

uint64_t npu_buffer_size(const npu_buffer* buffer) {
  return buffer == nullptr ? 0 : buffer->buffer.size();
}

uint64_t npu_buffer_device_address(const npu_buffer* buffer) {
  return buffer == nullptr ? 0 : buffer->buffer.device_address();
}

npu_status npu_buffer_contents_lost(const npu_buffer* buffer, int* lost) {
  if (buffer == nullptr || lost == nullptr) {
    return null_argument(__func__);
  }
  return guarded([&] { *lost = buffer->buffer.contents_lost() ? 1 : 0; });
}

npu_status npu_buffer_map(npu_buffer* buffer, void** data) {
  if (buffer == nullptr || data == nullptr) {
    return null_argument(__func__);
  }
  return guarded([&] { *data = buffer->buffer.map().data(); });
}

npu_status npu_buffer_wrap_user_memory(npu_device* device, void* memory, uint64_t size,
                                       uint32_t flags, npu_buffer** buffer) {
  if (device == nullptr || memory == nullptr || buffer == nullptr) {
    return null_argument(__func__);
  }
  if ((flags & ~NPU_BUFFER_DEVICE_READ_ONLY) != 0) {
    return fail(NPU_ERROR_INVALID_ARGUMENT,
                fmt::format("npu_buffer_wrap_user_memory: flags {:#x}: only "
                            "NPU_BUFFER_DEVICE_READ_ONLY applies to user memory",
                            flags));
  }
  return guarded([&] {
    const std::span<std::byte> bytes(static_cast<std::byte*>(memory), size);
    const npu::BufferOptions options{.device_read_only =
                                         (flags & NPU_BUFFER_DEVICE_READ_ONLY) != 0};
    *buffer = new npu_buffer{device->device.wrap_user_memory(bytes, options)};
  });
}

npu_status npu_buffer_export_dma_buf(const npu_buffer* buffer, int* fd) {
  if (buffer == nullptr || fd == nullptr) {
    return null_argument(__func__);
  }
  return guarded([&] { *fd = buffer->buffer.export_dma_buf(); });
}

npu_status npu_buffer_import_dma_buf(npu_device* device, int fd, npu_buffer** buffer) {
  if (device == nullptr || buffer == nullptr) {
    return null_argument(__func__);
  }
  return guarded([&] { *buffer = new npu_buffer{device->device.import_dma_buf(fd)}; });
}

npu_status npu_buffer_create_sub(const npu_buffer* parent, uint64_t offset, uint64_t size,
                                 npu_buffer** sub) {
  if (parent == nullptr || sub == nullptr) {
    return null_argument(__func__);
  }
  return guarded([&] { *sub = new npu_buffer{parent->buffer.sub_buffer(offset, size)}; });
}

npu_status npu_buffer_pool_create(npu_device* device, uint32_t flags, uint64_t slab_size,
                                  npu_buffer_pool** pool) {
  if (device == nullptr || pool == nullptr) {
    return null_argument(__func__);
  }
  if ((flags & ~(NPU_BUFFER_DEVICE_MEMORY | NPU_BUFFER_DEVICE_READ_ONLY)) != 0) {
    return fail(NPU_ERROR_INVALID_ARGUMENT,
                fmt::format("npu_buffer_pool_create: unknown flags {:#x}", flags));
  }
  return guarded([&] {
    npu::BufferPoolOptions options;
    options.buffer = buffer_options(flags);
    if (slab_size != 0) {
      options.slab_size = static_cast<std::size_t>(slab_size);
    }
    *pool = new npu_buffer_pool{npu::BufferPool(device->device, options)};
  });
}

void npu_buffer_pool_destroy(npu_buffer_pool* pool) {
  delete pool;
}

npu_status npu_buffer_pool_allocate(npu_buffer_pool* pool, uint64_t size, uint64_t alignment,
                                    npu_buffer** buffer) {
  if (pool == nullptr || buffer == nullptr) {
    return null_argument(__func__);
  }
  return guarded([&] {
    *buffer = new npu_buffer{
        pool->pool.allocate(static_cast<std::size_t>(size), static_cast<std::size_t>(alignment))};
  });
}

void npu_buffer_pool_trim(npu_buffer_pool* pool) {
  if (pool != nullptr) {
    pool->pool.trim();
  }
}

npu_status npu_buffer_write(const npu_buffer* buffer, uint64_t offset, const void* data,
                            uint64_t size) {
  if (buffer == nullptr || (data == nullptr && size != 0)) {
    return null_argument(__func__);
  }
  return guarded([&] {
    buffer->buffer.write(offset, {static_cast<const std::byte*>(data), static_cast<size_t>(size)});
  });
}

npu_status npu_buffer_read(const npu_buffer* buffer, uint64_t offset, void* data, uint64_t size) {
  if (buffer == nullptr || (data == nullptr && size != 0)) {
    return null_argument(__func__);
  }
  return guarded([&] {
    buffer->buffer.read(offset, {static_cast<std::byte*>(data), static_cast<size_t>(size)});
  });
}

npu_status npu_kernel_load_file(npu_device* device, const char* path, npu_kernel** kernel) {
  if (device == nullptr || path == nullptr || kernel == nullptr) {
    return null_argument(__func__);
  }
  return guarded(
      [&] { *kernel = new npu_kernel{device->device.load_kernel(npu::read_kernel_file(path))}; });
}

npu_status npu_kernel_load_assembly(npu_device* device, const char* source, npu_kernel** kernel) {
  if (device == nullptr || source == nullptr || kernel == nullptr) {
    return null_argument(__func__);
  }
  return guarded(
      [&] { *kernel = new npu_kernel{device->device.load_kernel(npu::assemble(source))}; });
}

npu_status npu_kernel_load_memory(npu_device* device, const void* data, size_t size,
                                  npu_kernel** kernel) {
  if (device == nullptr || data == nullptr || kernel == nullptr) {
    return null_argument(__func__);
  }
  return guarded([&] {
    const std::span<const std::byte> bytes(static_cast<const std::byte*>(data), size);
    *kernel = new npu_kernel{device->device.load_kernel(npu::parse_kernel_binary(bytes))};
  });
}

void npu_kernel_destroy(npu_kernel* kernel) {
  delete kernel;
}

size_t npu_kernel_argument_count(const npu_kernel* kernel) {
  return kernel == nullptr ? 0 : kernel->kernel.arguments().size();
}

npu_status npu_kernel_get_argument(const npu_kernel* kernel, size_t index,
                                   npu_argument_info* info) {
  if (kernel == nullptr || info == nullptr) {
    return null_argument(__func__);
  }
  const npu::ArgumentLayout& layout = kernel->kernel.arguments();
  if (index >= layout.size()) {
    return fail(NPU_ERROR_INVALID_ARGUMENT,
                fmt::format("{}: argument {} of {}", __func__, index, layout.size()));
  }
  const npu::ArgumentSlot& slot = layout[index];
  *info = {slot.name.c_str(),
           static_cast<uint32_t>(slot.kind),
           static_cast<uint32_t>(slot.info.scalar),
           static_cast<uint32_t>(slot.info.access),
           slot.info.dtype,
           slot.info.alignment,
           0,
           slot.info.size};
  return NPU_SUCCESS;
}

npu_status npu_queue_create(npu_device* device, npu_queue_priority priority, npu_queue** queue) {
  if (device == nullptr || queue == nullptr) {
    return null_argument(__func__);
  }
  if (priority < NPU_QUEUE_PRIORITY_LOW || priority > NPU_QUEUE_PRIORITY_REALTIME) {
    return fail(NPU_ERROR_INVALID_ARGUMENT,
                fmt::format("npu_queue_create: priority {}", static_cast<int>(priority)));
  }
  return guarded([&] {
    *queue = new npu_queue{device->device.create_queue(static_cast<npu::QueuePriority>(priority))};
  });
}

void npu_queue_destroy(npu_queue* queue) {
  delete queue;
}

npu_status npu_queue_get_status(const npu_queue* queue, npu_queue_status* status) {
  if (queue == nullptr || status == nullptr) {
    return null_argument(__func__);
  }
  return guarded([&] {
    const npu::QueueStatus s = queue->queue.status();
    *status = {s.state == npu::QueueState::banned ? 1U : 0U,
               static_cast<uint32_t>(s.error),
               s.error_sequence_number,
               s.error_address,
               s.completed_sequence_number,
               s.reset_count,
               0};
  });
}

npu_status npu_queue_recover(npu_queue* queue, int* recovered) {
  if (queue == nullptr || recovered == nullptr) {
    return null_argument(__func__);
  }
  return guarded([&] { *recovered = queue->queue.recover() ? 1 : 0; });
}

npu_status npu_event_create(npu_device* device, npu_event** event) {
  if (device == nullptr || event == nullptr) {
    return null_argument(__func__);
  }
  return guarded([&] { *event = new npu_event{device->device.create_event()}; });
}

void npu_event_destroy(npu_event* event) {
  delete event;
}

npu_status npu_event_wait(const npu_event* event, int64_t timeout_ns, int* signaled) {
  if (event == nullptr || signaled == nullptr) {
    return null_argument(__func__);
  }
  return guarded([&] { *signaled = event->event.wait(timeout_of(timeout_ns)) ? 1 : 0; });
}

npu_status npu_event_signal(const npu_event* event) {
  if (event == nullptr) {
    return null_argument(__func__);
  }
  return guarded([&] { event->event.signal(); });
}

npu_status npu_event_reset(const npu_event* event) {
  if (event == nullptr) {
    return null_argument(__func__);
  }
  return guarded([&] { event->event.reset(); });
}

npu_status npu_timeline_create(npu_device* device, npu_timeline** timeline) {
  if (device == nullptr || timeline == nullptr) {
    return null_argument(__func__);
  }
  return guarded([&] { *timeline = new npu_timeline{device->device.create_timeline()}; });
}

void npu_timeline_destroy(npu_timeline* timeline) {
  delete timeline;
}

npu_status npu_timeline_value(const npu_timeline* timeline, uint64_t* value) {
  if (timeline == nullptr || value == nullptr) {
    return null_argument(__func__);
  }
  return guarded([&] { *value = timeline->timeline.value(); });
}

npu_status npu_timeline_wait(const npu_timeline* timeline, uint64_t point, int64_t timeout_ns,
                             int* reached) {
  if (timeline == nullptr || reached == nullptr) {
    return null_argument(__func__);
  }
  return guarded(
      [&] { *reached = timeline->timeline.wait(point, timeout_of(timeout_ns)) ? 1 : 0; });
}

npu_status npu_timeline_signal(const npu_timeline* timeline, uint64_t point) {
  if (timeline == nullptr) {
    return null_argument(__func__);
  }
  return guarded([&] { timeline->timeline.signal(point); });
}

npu_submit_options npu_submit_options_default(void) {
  npu_submit_options options{};
  options.wait_fence_fd = -1;
  return options;
}

npu_status npu_launch(npu_queue* queue, const npu_kernel* kernel, const npu_argument* arguments,
                      size_t argument_count, npu_job** job) {
  if (queue == nullptr || kernel == nullptr || job == nullptr ||
      (arguments == nullptr && argument_count != 0)) {
    return null_argument(__func__);
  }
  return guarded([&] {
    const npu::KernelArguments bound = bind(kernel->kernel, arguments, argument_count);
    *job = new npu_job{queue->queue.submit(kernel->kernel, bound)};
  });
}

npu_status npu_launch_ex(npu_queue* queue, const npu_kernel* kernel,
                         const npu_launch_argument* arguments, size_t argument_count,
                         const npu_submit_options* options, npu_job** job) {
  if (queue == nullptr || kernel == nullptr || job == nullptr) {
    return null_argument(__func__);
  }
  return guarded([&] {
    const npu::KernelArguments bound = bind_typed(kernel->kernel, arguments, argument_count);
    *job = new npu_job{queue->queue.submit(kernel->kernel, bound, submit_options_of(options))};
  });
}

npu_status npu_queue_copy(npu_queue* queue, const npu_buffer* dst, const npu_buffer* src,
                          const npu_submit_options* options, npu_job** job) {
  if (queue == nullptr || dst == nullptr || src == nullptr || job == nullptr) {
    return null_argument(__func__);
  }
  return guarded([&] {
    *job = new npu_job{queue->queue.copy(dst->buffer, src->buffer, submit_options_of(options))};
  });
}

npu_status npu_queue_fill(npu_queue* queue, const npu_buffer* dst, uint32_t pattern,
                          const npu_submit_options* options, npu_job** job) {
  if (queue == nullptr || dst == nullptr || job == nullptr) {
    return null_argument(__func__);
  }
  return guarded([&] {
    *job = new npu_job{queue->queue.fill(dst->buffer, pattern, submit_options_of(options))};
  });
}

int npu_job_fence_fd(const npu_job* job) {
  return job == nullptr ? -1 : job->job.fence_fd();
}

npu_status npu_job_wait(const npu_job* job, int64_t timeout_ns, npu_job_result* result) {
  if (job == nullptr || result == nullptr) {
    return null_argument(__func__);
  }
  return guarded([&] {
    const npu::JobResult outcome = job->job.wait(timeout_of(timeout_ns));
    *result = {job_status_of(outcome.status), static_cast<std::uint32_t>(outcome.error),
               outcome.error_address};
  });
}

npu_status npu_job_get_fault(const npu_job* job, npu_job_fault* fault, char* text, size_t size) {
  if (job == nullptr || fault == nullptr) {
    return null_argument(__func__);
  }
  return guarded([&] {
    const npu::JobResult outcome = finished_result(*job, "npu_job_get_fault");
    *fault = {outcome.error_offset.value_or(NPU_JOB_FAULT_NONE),
              outcome.error_operand ? *outcome.error_operand : NPU_JOB_FAULT_NONE,
              outcome.error_info, 0};
    if (text != nullptr && size > 0) {
      const std::string description = npu::describe(outcome);
      const std::size_t length = std::min(description.size(), size - 1);
      std::copy_n(description.data(), length, text);
      text[length] = '\0';
    }
  });
}

npu_status npu_job_get_times(const npu_job* job, uint64_t* start_ns, uint64_t* end_ns) {
  if (job == nullptr || start_ns == nullptr || end_ns == nullptr) {
    return null_argument(__func__);
  }
  return guarded([&] {
    const npu::JobResult outcome = finished_result(*job, "npu_job_get_times");
    if (!outcome.device_times) {
      throw std::system_error(EOPNOTSUPP, std::system_category(),
                              "npu_job_get_times: the device did not time this job");
    }
    *start_ns = monotonic_ns(outcome.device_times->start);
    *end_ns = monotonic_ns(outcome.device_times->end);
  });
}

void npu_job_release(npu_job* job) {
  delete job;
}

npu_status npu_device_set_job_trace(npu_device* device, npu_job_trace_fn fn, void* user_data) {
  if (device == nullptr) {
    return null_argument(__func__);
  }
  return guarded([&] {
    if (fn == nullptr) {
      device->device.set_job_trace({});
      return;
    }
    device->device.set_job_trace([fn, user_data](const npu::JobTrace& trace) {
      const npu::JobResult& result = trace.result;
      const npu_job_trace record{trace.queue_id,
                                 0,
                                 trace.sequence_number,
                                 trace.kernel.c_str(),
                                 monotonic_ns(trace.submitted),
                                 result.device_times ? monotonic_ns(result.device_times->start) : 0,
                                 result.device_times ? monotonic_ns(result.device_times->end) : 0,
                                 {job_status_of(result.status),
                                  static_cast<std::uint32_t>(result.error), result.error_address}};
      fn(&record, user_data);
    });
  });
}

}  // extern "C"
