/* A C program built with only `pkg-config --cflags --libs npu`. */
#include <drm/knpu_accel.h>
#include <npu/npu.h>
#include <stdio.h>

int main(void) {
  printf("%s %d\n", npu_status_name(NPU_ERROR_NO_DEVICE), KNPU_UAPI_VERSION_MAJOR);
  return 0;
}
