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
typedef struct npu_buffer_pool npu_buffer_pool;
typedef struct npu_queue npu_queue;
typedef struct npu_kernel npu_kernel;
typedef struct npu_job npu_job;
typedef struct npu_event npu_event;
typedef struct npu_timeline npu_timeline;

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
  NPU_ERROR_NO_DEVICE = 11,          /* no such visible device, index or PCI address */
  NPU_ERROR_OUT_OF_HOST_MEMORY = 12, /* the host ran out of memory (ENOMEM, allocation) */
  NPU_ERROR_CONTENTS_LOST = 13,      /* a reset cleared a device-memory buffer (ENODATA) */
} npu_status;

/* A constant name for a status ("NPU_ERROR_QUEUE_BANNED"). */
const char* npu_status_name(npu_status status);
/* The message of this thread's last failed call ("" if none). */
const char* npu_last_error(void);

/* Devices: the visible knpu devices (KNPU_VISIBLE_DEVICES applies). */
npu_status npu_device_count(size_t* count);
npu_status npu_device_open(size_t index, npu_device** device);
/* "0000:00:04.0" or "00:04.0" (KNPU_VISIBLE_DEVICES applies). */
npu_status npu_device_open_pci(const char* pci_address, npu_device** device);
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

/* Driver capabilities (npu_device_properties.capabilities). */
#define NPU_CAP_DEVICE_MEMORY (1ull << 0)
#define NPU_CAP_USERPTR (1ull << 1)
#define NPU_CAP_DMA_BUF (1ull << 2)
#define NPU_CAP_SYNC_FILE (1ull << 3)
#define NPU_CAP_TIMELINE_SYNCOBJ (1ull << 4)
#define NPU_CAP_JOB_TIMESTAMPS (1ull << 5) /* npu_job_get_times() */
#define NPU_CAP_SUBMIT_BATCH (1ull << 6)   /* many jobs per ioctl (C++ CommandList) */

/* Every parameter of the device, as read at open (docs/libnpu.md, Devices). */
typedef struct npu_device_properties {
  uint32_t uapi_version; /* major << 16 | minor */
  uint32_t device_id;
  uint32_t revision;
  uint32_t hw_version;
  uint32_t fw_version;
  uint32_t num_cores;
  uint32_t num_queues;
  uint32_t reserved; /* 0 */
  uint64_t sram_size;
  uint64_t devmem_size;
  uint64_t va_start;
  uint64_t va_size;
  uint64_t ops;          /* bit n: opcode n executes */
  uint64_t dtypes;       /* bit n: data type n supported */
  uint64_t capabilities; /* NPU_CAP_* */
  uint64_t serial;
} npu_device_properties;

npu_status npu_device_get_properties(const npu_device* device, npu_device_properties* properties);

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
/* A window [offset, offset + size) of `parent`, sharing its memory and keeping
 * it alive (parent may be destroyed first). */
npu_status npu_buffer_create_sub(const npu_buffer* parent, uint64_t offset, uint64_t size,
                                 npu_buffer** sub);
/* CPU copies through the mapping, at an offset; NPU_ERROR_INVALID_ARGUMENT
 * unless [offset, offset + size) lies inside the buffer. */
npu_status npu_buffer_write(const npu_buffer* buffer, uint64_t offset, const void* data,
                            uint64_t size);
npu_status npu_buffer_read(const npu_buffer* buffer, uint64_t offset, void* data, uint64_t size);
/* *lost = 1 when a device reset cleared the device memory of `buffer` (jobs
 * listing it then fail with NPU_ERROR_CONTENTS_LOST: destroy it and create a
 * new one), else 0. */
npu_status npu_buffer_contents_lost(const npu_buffer* buffer, int* lost);

/* A sub-allocator for many small buffers, carved from slabs of `slab_size`
 * bytes (0: 2 MiB) with the given NPU_BUFFER_* flags. A buffer from
 * npu_buffer_pool_allocate() is an ordinary npu_buffer (destroy it with
 * npu_buffer_destroy()); its range returns to the pool when it and every
 * job using it are gone. Buffers may outlive their pool. */
npu_status npu_buffer_pool_create(npu_device* device, uint32_t flags, uint64_t slab_size,
                                  npu_buffer_pool** pool);
void npu_buffer_pool_destroy(npu_buffer_pool* pool);
/* `alignment`: a power of two of at most 4096, or 0 for 256. */
npu_status npu_buffer_pool_allocate(npu_buffer_pool* pool, uint64_t size, uint64_t alignment,
                                    npu_buffer** buffer);
/* Releases the slabs that no buffer uses. */
void npu_buffer_pool_trim(npu_buffer_pool* pool);

/* Kernels: from a kernel binary file or from assembly text (docs/kernel-binary.md). */
npu_status npu_kernel_load_file(npu_device* device, const char* path, npu_kernel** kernel);
npu_status npu_kernel_load_assembly(npu_device* device, const char* source, npu_kernel** kernel);
/* From a kernel binary in memory (the bytes of a .knpu file). */
npu_status npu_kernel_load_memory(npu_device* device, const void* data, size_t size,
                                  npu_kernel** kernel);
void npu_kernel_destroy(npu_kernel* kernel);

/* Argument introspection. */
typedef enum npu_argument_kind {
  NPU_ARGUMENT_BUFFER = 0,
  NPU_ARGUMENT_SCALAR = 1,
} npu_argument_kind;
typedef enum npu_scalar_kind {
  NPU_SCALAR_UNSPECIFIED = 0,
  NPU_SCALAR_INTEGER = 1, /* set with .value */
  NPU_SCALAR_FLOAT32 = 2, /* set with .float_value and NPU_LAUNCH_FLOAT */
} npu_scalar_kind;

typedef struct npu_argument_info {
  const char* name; /* valid while the kernel lives */
  uint32_t kind;    /* npu_argument_kind */
  uint32_t scalar;  /* npu_scalar_kind (scalars) */
  uint32_t access;  /* 0 not said, 1 read, 2 write, 3 read-write (buffers) */
  uint32_t dtype;   /* the elements' data type, 0 none */
  uint32_t alignment;
  uint32_t reserved; /* 0 */
  uint64_t size;     /* minimum buffer size, 0 not said */
} npu_argument_info;

size_t npu_kernel_argument_count(const npu_kernel* kernel);
npu_status npu_kernel_get_argument(const npu_kernel* kernel, size_t index, npu_argument_info* info);

/* Queues. */
typedef enum npu_queue_priority {
  NPU_QUEUE_PRIORITY_LOW = 0,
  NPU_QUEUE_PRIORITY_NORMAL = 1,
  NPU_QUEUE_PRIORITY_HIGH = 2,
  NPU_QUEUE_PRIORITY_REALTIME = 3, /* needs CAP_SYS_NICE */
} npu_queue_priority;

npu_status npu_queue_create(npu_device* device, npu_queue_priority priority, npu_queue** queue);
void npu_queue_destroy(npu_queue* queue);

typedef struct npu_queue_status {
  uint32_t banned;      /* 1 after a failed job: submissions fail until recovered */
  uint32_t error;       /* KNPU_ERR_* of the job that banned it */
  uint64_t error_seqno; /* that job's sequence number */
  uint64_t error_address;
  uint64_t completed_seqno;
  uint32_t reset_count;
  uint32_t reserved; /* 0 */
} npu_queue_status;

npu_status npu_queue_get_status(const npu_queue* queue, npu_queue_status* status);
/* A banned queue gets a fresh hardware queue (*recovered = 1); earlier jobs
 * keep their results. *recovered = 0 if it was not banned. */
npu_status npu_queue_recover(npu_queue* queue, int* recovered);

/* Events and timelines (DRM syncobjs): dependencies between queues. */
npu_status npu_event_create(npu_device* device, npu_event** event);
void npu_event_destroy(npu_event* event);
/* *signaled = 1 if signaled within timeout_ns (negative: forever), else 0. */
npu_status npu_event_wait(const npu_event* event, int64_t timeout_ns, int* signaled);
npu_status npu_event_signal(const npu_event* event);
npu_status npu_event_reset(const npu_event* event);

npu_status npu_timeline_create(npu_device* device, npu_timeline** timeline);
void npu_timeline_destroy(npu_timeline* timeline);
npu_status npu_timeline_value(const npu_timeline* timeline, uint64_t* value);
npu_status npu_timeline_wait(const npu_timeline* timeline, uint64_t point, int64_t timeout_ns,
                             int* reached);
npu_status npu_timeline_signal(const npu_timeline* timeline, uint64_t point);

typedef struct npu_timeline_point {
  const npu_timeline* timeline;
  uint64_t point;
} npu_timeline_point;

/* What a submission waits for and signals; NULL options: none. */
typedef struct npu_submit_options {
  const npu_event* const* wait_events;
  size_t wait_event_count;
  const npu_event* const* signal_events;
  size_t signal_event_count;
  const npu_timeline_point* wait_points;
  size_t wait_point_count;
  const npu_timeline_point* signal_points;
  size_t signal_point_count;
  int wait_fence_fd; /* a sync_file to wait for, -1 none (not taken over) */
  int export_fence;  /* 1: the job gets a sync_file, npu_job_fence_fd() */
} npu_submit_options;

/* Options with nothing to wait for or signal. */
npu_submit_options npu_submit_options_default(void);

/* One argument of a launch, by name: a buffer (plus an offset) or a scalar. */
typedef struct npu_argument {
  const char* name;
  const npu_buffer* buffer; /* NULL for a scalar */
  uint64_t value;           /* the scalar, or the offset into the buffer */
} npu_argument;

/* Submits `kernel` with every one of its arguments; returns at once. */
npu_status npu_launch(npu_queue* queue, const npu_kernel* kernel, const npu_argument* arguments,
                      size_t argument_count, npu_job** job);

/* A typed argument, by name or (name NULL) by index. */
typedef enum npu_launch_argument_type {
  NPU_LAUNCH_BUFFER = 0,  /* buffer + value as the offset */
  NPU_LAUNCH_INTEGER = 1, /* value */
  NPU_LAUNCH_FLOAT = 2,   /* float_value, for NPU_SCALAR_FLOAT32 slots */
} npu_launch_argument_type;

typedef struct npu_launch_argument {
  const char* name; /* or NULL: by index */
  uint32_t index;
  uint32_t type; /* npu_launch_argument_type */
  const npu_buffer* buffer;
  uint64_t value;
  float float_value;
  uint32_t reserved; /* 0 */
} npu_launch_argument;

npu_status npu_launch_ex(npu_queue* queue, const npu_kernel* kernel,
                         const npu_launch_argument* arguments, size_t argument_count,
                         const npu_submit_options* options, npu_job** job);

/* Device-side DMA copies and fills on the queue (Queue::copy, Queue::fill):
 * all of src into the start of dst; pattern over all of dst. */
npu_status npu_queue_copy(npu_queue* queue, const npu_buffer* dst, const npu_buffer* src,
                          const npu_submit_options* options, npu_job** job);
npu_status npu_queue_fill(npu_queue* queue, const npu_buffer* dst, uint32_t pattern,
                          const npu_submit_options* options, npu_job** job);

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

#define NPU_JOB_FAULT_NONE 0xffffffffu
/* Where the device stopped a failed job (drivers of uapi 1.1 and later). */
typedef struct npu_job_fault {
  uint32_t offset;   /* byte offset of the failing instruction, or NPU_JOB_FAULT_NONE */
  uint32_t operand;  /* the operand involved, or NPU_JOB_FAULT_NONE */
  uint32_t info;     /* the device's Q_ERROR_INFO (hw-spec 7.6), 0 if none */
  uint32_t reserved; /* 0 */
} npu_job_fault;

/* The fault of a finished job (all NONE for a job that did not fail) and,
 * when `text` is not NULL, its description for people ("MMU_FAULT (write,
 * not present) at 0x1000 in the instruction at byte 0x24, operand 0"),
 * NUL-terminated and cut to `size` bytes. NPU_ERROR_TIMEOUT if the job has
 * not finished. */
npu_status npu_job_get_fault(const npu_job* job, npu_job_fault* fault, char* text, size_t size);

/* When a device core took a completed job and when it finished, in
 * CLOCK_MONOTONIC nanoseconds (NPU_CAP_JOB_TIMESTAMPS). NPU_ERROR_TIMEOUT if
 * the job has not finished; NPU_ERROR_NOT_SUPPORTED if the device did not
 * time it (no capability, a failed or canceled job, or older than its
 * queue's newest 256 completed jobs). */
npu_status npu_job_get_times(const npu_job* job, uint64_t* start_ns, uint64_t* end_ns);
void npu_job_release(npu_job* job);
/* The job's sync_file with export_fence, else -1; owned by the job. */
int npu_job_fence_fd(const npu_job* job);

/* Tracing: each job of a device open, reported once, when the library
 * learns how it ended (its first wait, or the release of its last handle
 * without a wait; NPU_JOB_TIMEOUT then means it was still running). */
typedef struct npu_job_trace {
  uint32_t queue_id;
  uint32_t reserved; /* 0 */
  uint64_t sequence_number;
  const char* kernel;    /* the kernel's name, "" for raw jobs; valid during the call */
  uint64_t submitted_ns; /* when the submission began, CLOCK_MONOTONIC */
  uint64_t start_ns;     /* device times as npu_job_get_times(), 0 when not timed */
  uint64_t end_ns;
  npu_job_result result;
} npu_job_trace;
typedef void (*npu_job_trace_fn)(const npu_job_trace* trace, void* user_data);
/* Calls fn(trace, user_data) for the jobs of this open (every npu_device of
 * it), on the thread that waits or releases; fn NULL stops tracing. fn must
 * not block for long. */
npu_status npu_device_set_job_trace(npu_device* device, npu_job_trace_fn fn, void* user_data);

#ifdef __cplusplus
}
#endif

#endif /* NPU_NPU_H */
