/*
 * A runtime in C11 on the C API alone: device properties, a kernel with a
 * float argument bound by name and introspected, buffer writes and reads at
 * offsets, a sub-buffer copied by the device and signalling an event, a
 * fill, queue status, and a bad kernel binary from memory. Prints what
 * failed and exits 1, or prints "c11 program: ok" and exits 0. Run in the
 * guest by tests/guest/c_api_test.cpp.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "npu/npu.h"

#define CHECK(call)                                                                                \
  do {                                                                                             \
    npu_status status_ = (call);                                                                   \
    if (status_ != NPU_SUCCESS) {                                                                  \
      fprintf(stderr, "%s:%d: %s: %s (%s)\n", __FILE__, __LINE__, #call, npu_status_name(status_), \
              npu_last_error());                                                                   \
      return 1;                                                                                    \
    }                                                                                              \
  } while (0)
#define EXPECT(condition)                                                      \
  do {                                                                         \
    if (!(condition)) {                                                        \
      fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__, #condition); \
      return 1;                                                                \
    }                                                                          \
  } while (0)

static const char norm_source[] =
    ".kernel norm\n"
    ".arg buffer in\n"
    ".arg buffer out\n"
    ".arg buffer gamma\n"
    ".arg scalar rows\n"
    ".arg scalar cols\n"
    ".arg scalar eps\n"
    "    rmsnorm.fp32 @in, @out, @gamma, @rows, @cols, @eps\n";

enum { kCols = 8, kPage = 4096, kRmsnormOpcode = 0x17, kFp32 = 1 };

/* rmsnorm of a row of 0.5 with eps 0.75 is 0.5 everywhere. A device that
 * does not execute RMSNORM fp32 refuses the kernel at load. */
static int float_argument(npu_device* device, const npu_device_properties* properties,
                          npu_queue* queue) {
  npu_kernel* kernel;
  npu_argument_info info;
  npu_buffer *in, *out, *gamma;
  npu_job* job;
  npu_job_result result;
  float values[kCols];
  size_t i;

  const npu_status loaded = npu_kernel_load_assembly(device, norm_source, &kernel);
  if ((properties->ops & (1ull << kRmsnormOpcode)) == 0 ||
      (properties->dtypes & (1ull << kFp32)) == 0) {
    EXPECT(loaded == NPU_ERROR_NOT_SUPPORTED);
    printf("c11 program: the device does not execute RMSNORM fp32: float launch not run\n");
    return 0;
  }
  CHECK(loaded);
  EXPECT(npu_kernel_argument_count(kernel) == 6);
  CHECK(npu_kernel_get_argument(kernel, 5, &info));
  EXPECT(strcmp(info.name, "eps") == 0 && info.kind == NPU_ARGUMENT_SCALAR);
  EXPECT(info.scalar == NPU_SCALAR_FLOAT32);
  CHECK(npu_buffer_create(device, sizeof(values), 0, &in));
  CHECK(npu_buffer_create(device, sizeof(values), 0, &out));
  CHECK(npu_buffer_create(device, sizeof(values), 0, &gamma));
  for (i = 0; i < kCols; ++i) {
    values[i] = 0.5f;
  }
  CHECK(npu_buffer_write(in, 0, values, sizeof(values)));
  for (i = 0; i < kCols; ++i) {
    values[i] = 1.0f;
  }
  CHECK(npu_buffer_write(gamma, 0, values, sizeof(values)));
  {
    const npu_launch_argument arguments[] = {
        {"in", 0, NPU_LAUNCH_BUFFER, in, 0, 0.0f, 0},
        {"out", 0, NPU_LAUNCH_BUFFER, out, 0, 0.0f, 0},
        {"gamma", 0, NPU_LAUNCH_BUFFER, gamma, 0, 0.0f, 0},
        {NULL, 3, NPU_LAUNCH_INTEGER, NULL, 1, 0.0f, 0},
        {"cols", 0, NPU_LAUNCH_INTEGER, NULL, kCols, 0.0f, 0},
        {"eps", 0, NPU_LAUNCH_FLOAT, NULL, 0, 0.75f, 0},
    };
    const npu_launch_argument integer_for_float = {"eps", 0, NPU_LAUNCH_INTEGER, NULL, 1, 0.0f, 0};
    EXPECT(npu_launch_ex(queue, kernel, &integer_for_float, 1, NULL, &job) ==
           NPU_ERROR_INVALID_ARGUMENT);
    CHECK(npu_launch_ex(queue, kernel, arguments, 6, NULL, &job));
  }
  CHECK(npu_job_wait(job, -1, &result));
  EXPECT(result.status == NPU_JOB_OK);
  CHECK(npu_buffer_read(out, 0, values, sizeof(values)));
  for (i = 0; i < kCols; ++i) {
    EXPECT(fabsf(values[i] - 0.5f) < 1e-6f);
  }
  npu_job_release(job);
  npu_buffer_destroy(in);
  npu_buffer_destroy(out);
  npu_buffer_destroy(gamma);
  npu_kernel_destroy(kernel);
  return 0;
}

/* Bytes [kPage, kPage + 100) of a ramp, through a sub-buffer whose parent is
 * gone, copied by the device; the copy signals an event the host waits for. */
static int sub_buffer_copy(npu_device* device, npu_queue* queue) {
  unsigned char ramp[2 * kPage], out[100];
  npu_buffer *src, *sub, *dst;
  npu_event* copied;
  npu_job *copy, *fill;
  npu_job_result result;
  npu_submit_options options = npu_submit_options_default();
  const npu_event* signal[1];
  int signaled = 0;
  size_t i;

  for (i = 0; i < sizeof(ramp); ++i) {
    ramp[i] = (unsigned char)(i % 251);
  }
  CHECK(npu_buffer_create(device, sizeof(ramp), 0, &src));
  CHECK(npu_buffer_write(src, 0, ramp, sizeof(ramp)));
  CHECK(npu_buffer_create_sub(src, kPage, 100, &sub));
  npu_buffer_destroy(src);
  EXPECT(npu_buffer_size(sub) == 100);
  CHECK(npu_buffer_create(device, kPage, 0, &dst));
  CHECK(npu_event_create(device, &copied));
  signal[0] = copied;
  options.signal_events = signal;
  options.signal_event_count = 1;
  CHECK(npu_queue_fill(queue, dst, 0xffffffffu, NULL, &fill));
  CHECK(npu_queue_copy(queue, dst, sub, &options, &copy));
  CHECK(npu_event_wait(copied, -1, &signaled));
  EXPECT(signaled == 1);
  CHECK(npu_job_wait(copy, 0, &result));
  EXPECT(result.status == NPU_JOB_OK);
  CHECK(npu_buffer_read(dst, 0, out, sizeof(out)));
  EXPECT(memcmp(out, ramp + kPage, sizeof(out)) == 0);
  CHECK(npu_buffer_read(dst, 100, out, 1));
  EXPECT(out[0] == 0xff);
  EXPECT(npu_buffer_read(dst, kPage, out, 1) == NPU_ERROR_INVALID_ARGUMENT);
  npu_job_release(copy);
  npu_job_release(fill);
  npu_event_destroy(copied);
  npu_buffer_destroy(sub);
  npu_buffer_destroy(dst);
  return 0;
}

int main(void) {
  npu_device* device;
  npu_device_properties properties;
  npu_queue* queue;
  npu_queue_status status;
  npu_kernel* kernel = NULL;
  const unsigned char garbage[64] = {0};
  int recovered = 1;

  CHECK(npu_device_open(0, &device));
  CHECK(npu_device_get_properties(device, &properties));
  EXPECT(properties.num_queues > 0 && properties.va_size > 0);
  CHECK(npu_queue_create(device, NPU_QUEUE_PRIORITY_NORMAL, &queue));
  if (float_argument(device, &properties, queue) != 0 || sub_buffer_copy(device, queue) != 0) {
    return 1;
  }
  CHECK(npu_queue_get_status(queue, &status));
  EXPECT(status.banned == 0 && status.completed_seqno >= 2);
  CHECK(npu_queue_recover(queue, &recovered));
  EXPECT(recovered == 0);
  EXPECT(npu_kernel_load_memory(device, garbage, sizeof(garbage), &kernel) ==
         NPU_ERROR_INVALID_KERNEL);
  EXPECT(kernel == NULL);
  npu_queue_destroy(queue);
  npu_device_close(device);
  printf("c11 program: ok\n");
  return 0;
}
