/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What every in-guest ioctl test program shares (knpu-smoke.c and, through
 * knpu-load.h, knpu-fault-matrix.c and knpu-soak.c): TAP checks, an ioctl
 * that retries EINTR/EAGAIN and returns -errno, and CLOCK_MONOTONIC in ns.
 */
#ifndef KNPU_TAP_H
#define KNPU_TAP_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <time.h>

static int failures, count;

#define CHECK(cond, ...)						\
	do {								\
		count++;						\
		if (cond) {						\
			printf("ok %d - ", count);			\
		} else {						\
			failures++;					\
			printf("not ok %d - ", count);			\
		}							\
		printf(__VA_ARGS__);					\
		printf("\n");						\
		fflush(stdout);						\
	} while (0)

/* A check that could not be made this run, and why. */
#define SKIP(...)							\
	do {								\
		count++;						\
		printf("ok %d - ", count);				\
		printf(__VA_ARGS__);					\
		printf("\n");						\
		fflush(stdout);						\
	} while (0)

static inline int xioctl(int fd, unsigned long req, void *arg)
{
	int ret;

	do {
		ret = ioctl(fd, req, arg);
	} while (ret == -1 && (errno == EINTR || errno == EAGAIN));
	return ret == -1 ? -errno : 0;
}

static inline int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

#endif /* KNPU_TAP_H */
