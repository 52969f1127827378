/*
 * LD_PRELOAD library for guest-npu-smi: knpu's GET_PARAM answers a uapi
 * major one above the loaded driver's, as a knpu.ko from a newer release
 * would, so npu-smi doctor's version check meets a real mismatch without a
 * second driver build. Every other ioctl passes through untouched.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdarg.h>
#include <sys/ioctl.h>

#include "drm/knpu_accel.h"

int ioctl(int fd, unsigned long request, ...)
{
	static int (*real_ioctl)(int, unsigned long, ...);
	struct drm_knpu_get_param *param;
	va_list args;
	void *arg;
	int ret;

	va_start(args, request);
	arg = va_arg(args, void *);
	va_end(args);
	if (!real_ioctl)
		*(void **)&real_ioctl = dlsym(RTLD_NEXT, "ioctl"); /* POSIX's dlsym() idiom */
	ret = real_ioctl(fd, request, arg);
	param = arg;
	if (ret == 0 && request == DRM_IOCTL_KNPU_GET_PARAM &&
	    param->param == KNPU_PARAM_UAPI_VERSION)
		param->value += 1u << 16;
	return ret;
}
