/*
 * npu.h: the C API of libnpu, for runtimes in other languages. A thin layer
 * over the C++ API (docs/libnpu.md): the same objects behind opaque handles,
 * status codes instead of exceptions, and a per-thread message for the last
 * failure (npu_last_error()).
 *
 * Handles can be destroyed in any order: a buffer, queue, kernel or job
 * keeps what it needs of its device alive. Every function may be called
 * from any thread; one handle may be used by several threads at once except
 * that it must not be destroyed while in use.
 */
#ifndef NPU_NPU_H
#define NPU_NPU_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct npu_device npu_device;
typedef struct npu_buffer npu_buffer;
typedef struct npu_queue npu_queue;
typedef struct npu_kernel npu_kernel;
typedef struct npu_job npu_job;

/* What a call returns. A job that fails is not a failed call: see npu_job_wait(). */
typedef enum npu_status {
  NPU_SUCCESS = 0,
  NPU_ERROR_NOT_SUPPORTED = 1,
  NPU_ERROR_NO_PERMISSION = 2,
  NPU_ERROR_DEVICE_LOST = 3,
  NPU_ERROR_QUEUE_BANNED = 4,
  NPU_ERROR_TIMEOUT = 5,
  NPU_ERROR_OUT_OF_DEVICE_MEMORY = 6,
  NPU_ERROR_DEVICE_BUSY = 7,
  NPU_ERROR_INVALID_KERNEL = 8,
  NPU_ERROR_INVALID_ARGUMENT = 9,
  NPU_ERROR_OTHER = 10,
} npu_status;

/* A constant name for a status ("NPU_ERROR_QUEUE_BANNED"). */
const char* npu_status_name(npu_status status);
/* The message of this thread's last failed call ("" if none). */
const char* npu_last_error(void);

/* Devices: the visible knpu devices (KNPU_VISIBLE_DEVICES applies). */
npu_status npu_device_count(size_t* count);
npu_status npu_device_open(size_t index, npu_device** device);
void npu_device_close(npu_device* device);

typedef struct npu_device_info {
  char pci_address[32];    /* "0000:00:04.0" */
  char device_node[64];    /* "/dev/accel/accel0" */
  char driver_version[64]; /* "knpu 1.0.0" */
  uint32_t num_cores;
  uint32_t num_queues;
  uint64_t sram_size;   /* per core, bytes */
  uint64_t devmem_size; /* bytes */
  uint64_t ops;         /* bit n: opcode n executes */
  uint64_t dtypes;      /* bit n: data type n supported */
} npu_device_info;

npu_status npu_device_get_info(const npu_device* device, npu_device_info* info);

/* Buffers. */
#define NPU_BUFFER_DEVICE_MEMORY (1u << 0)    /* on-board memory instead of host memory */
#define NPU_BUFFER_DEVICE_READ_ONLY (1u << 1) /* jobs may only read it */

npu_status npu_buffer_create(npu_device* device, uint64_t size, uint32_t flags,
                             npu_buffer** buffer);
void npu_buffer_destroy(npu_buffer* buffer);
uint64_t npu_buffer_size(const npu_buffer* buffer);
uint64_t npu_buffer_device_address(const npu_buffer* buffer);
/* The buffer's bytes in the process (mapped on first use, until destroyed). */
npu_status npu_buffer_map(npu_buffer* buffer, void** data);
/* A buffer over page-aligned process memory, pinned until it is destroyed;
 * flags: 0 or NPU_BUFFER_DEVICE_READ_ONLY (docs/libnpu.md). */
npu_status npu_buffer_wrap_user_memory(npu_device* device, void* memory, uint64_t size,
                                       uint32_t flags, npu_buffer** buffer);
/* A new dma-buf file descriptor of a host-memory buffer, owned by the caller. */
npu_status npu_buffer_export_dma_buf(const npu_buffer* buffer, int* fd);
/* The buffer behind a dma-buf file descriptor; the caller keeps `fd`. */
npu_status npu_buffer_import_dma_buf(npu_device* device, int fd, npu_buffer** buffer);

/* Kernels: from a kernel binary file or from assembly text (docs/kernel-binary.md). */
npu_status npu_kernel_load_file(npu_device* device, const char* path, npu_kernel** kernel);
npu_status npu_kernel_load_assembly(npu_device* device, const char* source, npu_kernel** kernel);
void npu_kernel_destroy(npu_kernel* kernel);

/* Queues. */
typedef enum npu_queue_priority {
  NPU_QUEUE_PRIORITY_LOW = 0,
  NPU_QUEUE_PRIORITY_NORMAL = 1,
  NPU_QUEUE_PRIORITY_HIGH = 2,
  NPU_QUEUE_PRIORITY_REALTIME = 3, /* needs CAP_SYS_NICE */
} npu_queue_priority;

npu_status npu_queue_create(npu_device* device, npu_queue_priority priority, npu_queue** queue);
void npu_queue_destroy(npu_queue* queue);

/* One argument of a launch, by name: a buffer (plus an offset) or a scalar. */
typedef struct npu_argument {
  const char* name;
  const npu_buffer* buffer; /* NULL for a scalar */
  uint64_t value;           /* the scalar, or the offset into the buffer */
} npu_argument;

/* Submits `kernel` with every one of its arguments; returns at once. */
npu_status npu_launch(npu_queue* queue, const npu_kernel* kernel, const npu_argument* arguments,
                      size_t argument_count, npu_job** job);

typedef enum npu_job_status {
  NPU_JOB_OK = 0,       /* ran to completion */
  NPU_JOB_FAILED = 1,   /* ran and failed: error, error_address */
  NPU_JOB_CANCELED = 2, /* never ran: queue banned or device lost */
  NPU_JOB_TIMEOUT = 3,  /* not finished yet */
} npu_job_status;

typedef struct npu_job_result {
  npu_job_status status;
  uint32_t error;         /* KNPU_ERR_* of the uapi (0x08 MMU fault, ...) */
  uint64_t error_address; /* the faulting device address for MMU faults */
} npu_job_result;

/* Waits up to timeout_ns (negative: forever). NPU_SUCCESS whenever the
 * result is valid, also for failed, canceled and timed-out jobs. */
npu_status npu_job_wait(const npu_job* job, int64_t timeout_ns, npu_job_result* result);
void npu_job_release(npu_job* job);

#ifdef __cplusplus
}
#endif

#endif /* NPU_NPU_H */
