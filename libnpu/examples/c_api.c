/*
 * The C API example of docs/libnpu.md, built as C11 with the library so that
 * it stays true: a kernel from a file, a launch with a float argument by
 * name, a device-side copy that signals an event. Usage: c_api KERNEL.knpu
 * (a kernel with arguments dst, src, bytes, e.g. tools/examples/fill_copy.s).
 */
#include <stdio.h>

#include "npu/npu.h"

static int run(npu_device* device, const char* path) {
  npu_kernel* kernel;
  npu_queue* queue;
  npu_buffer *src, *dst, *head, *window;
  npu_event* copied;
  npu_job *job, *copy;
  npu_job_result result;
  npu_submit_options options = npu_submit_options_default();
  const npu_event* signal[1];
  int signaled = 0;

  if (npu_kernel_load_file(device, path, &kernel) != NPU_SUCCESS ||
      npu_queue_create(device, NPU_QUEUE_PRIORITY_NORMAL, &queue) != NPU_SUCCESS ||
      npu_buffer_create(device, 8192, 0, &src) != NPU_SUCCESS ||
      npu_buffer_create(device, 8192, 0, &dst) != NPU_SUCCESS ||
      npu_event_create(device, &copied) != NPU_SUCCESS) {
    fprintf(stderr, "%s\n", npu_last_error());
    return 1;
  }
  const npu_argument args[] = {{"dst", dst, 0}, {"src", src, 0}, {"bytes", NULL, 4096}};
  if (npu_launch(queue, kernel, args, 3, &job) != NPU_SUCCESS)
    fprintf(stderr, "%s\n", npu_last_error());
  npu_job_wait(job, -1, &result); /* result.status: NPU_JOB_OK, _FAILED, _CANCELED, _TIMEOUT */

  /* The first page of src into the second of dst, on the device, through
   * sub-buffers; the copy signals an event the host waits for. */
  npu_buffer_create_sub(src, 0, 4096, &head);
  npu_buffer_create_sub(dst, 4096, 4096, &window);
  signal[0] = copied;
  options.signal_events = signal;
  options.signal_event_count = 1;
  if (npu_queue_copy(queue, window, head, &options, &copy) == NPU_SUCCESS) {
    npu_event_wait(copied, -1, &signaled);
    npu_job_release(copy);
  }

  npu_job_release(job);
  npu_buffer_destroy(head);
  npu_buffer_destroy(window);
  npu_buffer_destroy(src);
  npu_buffer_destroy(dst);
  npu_event_destroy(copied);
  npu_queue_destroy(queue);
  npu_kernel_destroy(kernel);
  return result.status == NPU_JOB_OK && signaled ? 0 : 1;
}

int main(int argc, char** argv) {
  npu_device* device;
  int status;

  if (argc != 2) {
    fprintf(stderr, "usage: c_api KERNEL.knpu\n");
    return 2;
  }
  if (npu_device_open(0, &device) != NPU_SUCCESS) {
    fprintf(stderr, "%s: %s\n", npu_status_name(NPU_ERROR_NO_DEVICE), npu_last_error());
    return 2;
  }
  status = run(device, argv[1]);
  npu_device_close(device);
  return status;
}
