// The C API (npu/npu.h) over the C++ API: handles own C++ objects, every
// exception becomes a status and this thread's last error message.
#include <fmt/format.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <span>
#include <string>

#include "npu/npu.h"
#include "npu/npu.hpp"

struct npu_device {
  npu::Device device;
};
struct npu_buffer {
  npu::Buffer buffer;
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

namespace {

thread_local std::string last_error;

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
  } catch (const std::bad_alloc&) {
    return fail(NPU_ERROR_OTHER, "out of host memory");
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
  return guarded([&] {
    const std::size_t count = npu::enumerate_devices().size();
    if (index >= count) {
      throw std::invalid_argument(
          fmt::format("npu_device_open: no visible device {} (there are {})", index, count));
    }
    *device = new npu_device{npu::Device::open(index)};
  });
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
  return guarded([&] {
    const npu::BufferOptions options{(flags & NPU_BUFFER_DEVICE_MEMORY) != 0
                                         ? npu::MemoryPlacement::device
                                         : npu::MemoryPlacement::host,
                                     (flags & NPU_BUFFER_DEVICE_READ_ONLY) != 0};
    *buffer = new npu_buffer{device->device.allocate(size, options)};
  });
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

void npu_kernel_destroy(npu_kernel* kernel) {
  delete kernel;
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

npu_status npu_job_wait(const npu_job* job, int64_t timeout_ns, npu_job_result* result) {
  if (job == nullptr || result == nullptr) {
    return null_argument(__func__);
  }
  return guarded([&] {
    const auto timeout =
        timeout_ns < 0 ? std::chrono::nanoseconds::max() : std::chrono::nanoseconds(timeout_ns);
    const npu::JobResult outcome = job->job.wait(timeout);
    *result = {job_status_of(outcome.status), static_cast<std::uint32_t>(outcome.error),
               outcome.error_address};
  });
}

void npu_job_release(npu_job* job) {
  delete job;
}

}  // extern "C"
