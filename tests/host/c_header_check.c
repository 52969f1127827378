/* npu.h is a C header: this file is compiled as C11 with every warning. */
#include "c_header_check.h"

#include "npu/npu.h"

int c_header_status_is_success(int status) {
  return (npu_status)status == NPU_SUCCESS;
}

size_t c_header_argument_size(void) {
  npu_argument argument = {"bytes", NULL, 4096};
  return sizeof(argument) + sizeof(npu_job_result) + sizeof(npu_device_info);
}
