/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the guest load programs share (knpu-fault-matrix.c, knpu-soak.c):
 * raw knpu ioctls (TAP checks and xioctl from knpu-tap.h), batches of checked DMA_FILL jobs, and the
 * driver's contexts and page tables from debugfs for leak checks.
 */
#ifndef KNPU_LOAD_H
#define KNPU_LOAD_H

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "drm/knpu_accel.h"
#include "knpu-tap.h"

#define BATCH			16
#define PAGE			4096u

struct bo {
	uint32_t handle;
	uint64_t va;
	void *map;
};

/* A buffer of @size bytes with KNPU_BO_* @flags, mapped into the process. */
static inline int bo_new_flags(int fd, struct bo *bo, uint64_t size, uint32_t flags)
{
	struct drm_knpu_bo_create c = { .size = size, .flags = flags };
	struct drm_knpu_bo_info i = { 0 };
	int ret;

	ret = xioctl(fd, DRM_IOCTL_KNPU_BO_CREATE, &c);
	i.handle = c.handle;
	ret = ret ?: xioctl(fd, DRM_IOCTL_KNPU_BO_INFO, &i);
	if (ret)
		return ret;
	bo->handle = c.handle;
	bo->va = c.va;
	bo->map = mmap(NULL, i.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, i.mmap_offset);
	return bo->map == MAP_FAILED ? -errno : 0;
}

static inline int bo_new(int fd, struct bo *bo, uint64_t size)
{
	return bo_new_flags(fd, bo, size, 0);
}

static inline uint32_t queue_new(int fd)
{
	struct drm_knpu_queue_create q = { .priority = KNPU_QUEUE_PRIORITY_NORMAL };

	return xioctl(fd, DRM_IOCTL_KNPU_QUEUE_CREATE, &q) ? 0 : q.queue_id;
}

static inline uint32_t queue_resets(int fd, uint32_t q)
{
	struct drm_knpu_queue_status st = { .queue_id = q };

	return xioctl(fd, DRM_IOCTL_KNPU_QUEUE_STATUS, &st) ? ~0u : st.reset_count;
}

static inline int wait_job(int fd, uint32_t queue, uint64_t seqno, struct drm_knpu_wait *w)
{
	memset(w, 0, sizeof(*w));
	w->queue_id = queue;
	w->seqno = seqno;
	w->timeout_ns = now_ns() + 60000000000LL;
	return xioctl(fd, DRM_IOCTL_KNPU_WAIT, w);
}

/*
 * BATCH jobs on one queue: job j DMA_FILLs word j of the data buffer with
 * the batch's pattern + j (hw-spec 7.4), so every result is checked.
 */
struct batch {
	struct bo prog, args, data;
	uint32_t handles[3];
	uint32_t queue;
	uint64_t seqno[BATCH];
};

/* A batch on @queue whose data buffer has KNPU_BO_* @data_flags. */
static inline int batch_init_flags(int fd, struct batch *b, uint32_t queue, uint32_t data_flags)
{
	int ret = bo_new(fd, &b->prog, PAGE) ?: bo_new(fd, &b->args, PAGE) ?:
		  bo_new_flags(fd, &b->data, PAGE, data_flags);

	if (ret)
		return ret;
	b->queue = queue;
	b->handles[0] = b->prog.handle;
	b->handles[1] = b->args.handle;
	b->handles[2] = b->data.handle;
	for (int j = 0; j < BATCH; j++)
		((uint64_t *)b->args.map)[j] = b->data.va + 4 * j;
	return 0;
}

static inline int batch_init(int fd, struct batch *b, uint32_t queue)
{
	return batch_init_flags(fd, b, queue, 0);
}

/* A mapping holds its file open: unmapped, a closed file is released. */
static inline void batch_fini(struct batch *b)
{
	munmap(b->prog.map, PAGE);
	munmap(b->args.map, PAGE);
	munmap(b->data.map, PAGE);
}

/*
 * Program j (24 bytes at prog + 32 j): DMA_FILL slot 0, 4 bytes of @pattern + j.
 * Each job waits for binary syncobj @in_syncobj first, unless it is 0.
 */
static inline int batch_submit_after(int fd, struct batch *b, uint32_t pattern,
				     uint32_t in_syncobj)
{
	struct drm_knpu_sync in = { .handle = in_syncobj };

	memset(b->data.map, 0, PAGE);
	for (int j = 0; j < BATCH; j++) {
		uint32_t *p = (uint32_t *)b->prog.map + 8 * j;
		struct drm_knpu_submit s = {
			.queue_id = b->queue,
			.program_va = b->prog.va + 32 * j, .program_size = 24,
			.args_va = b->args.va + 8 * j, .args_size = 8,
			.bo_handles = (uintptr_t)b->handles, .bo_count = 3,
			.in_syncs = (uintptr_t)&in, .in_sync_count = in_syncobj ? 1 : 0,
		};
		int ret;

		p[0] = 0x02 | 3u << 16;
		p[1] = 0;
		p[2] = 0x1;
		p[3] = 0;
		p[4] = 4;
		p[5] = pattern + j;
		ret = xioctl(fd, DRM_IOCTL_KNPU_SUBMIT, &s);
		if (ret)
			return ret;
		b->seqno[j] = s.seqno;
	}
	return 0;
}

static inline int batch_submit(int fd, struct batch *b, uint32_t pattern)
{
	return batch_submit_after(fd, b, pattern, 0);
}

/* Jobs of the batch that completed OK with their word right. */
static inline int batch_check(int fd, struct batch *b, uint32_t pattern, char *why, size_t len)
{
	struct drm_knpu_wait w;
	int good = 0;

	for (int j = 0; j < BATCH; j++) {
		int ret = wait_job(fd, b->queue, b->seqno[j], &w);
		uint32_t word = ((volatile uint32_t *)b->data.map)[j];

		if (!ret && w.status == KNPU_JOB_OK && word == pattern + j)
			good++;
		else if (!why[0])
			snprintf(why, len, "queue %u seqno %llu: wait %d status %u error 0x%x word 0x%x",
				 b->queue, (unsigned long long)b->seqno[j], ret, w.status, w.error,
				 word);
	}
	return good;
}

/* The PCI address of the device behind accel node @node, in @bdf. */
static inline int node_bdf(const char *node, char *bdf, size_t len)
{
	char link[256], path[128];
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/class/accel/%s/device", strrchr(node, '/') + 1);
	n = readlink(path, link, sizeof(link) - 1);
	if (n <= 0)
		return -ENOENT;
	link[n] = 0;
	snprintf(bdf, len, "%s", strrchr(link, '/') + 1);
	return 0;
}

/* The driver's contexts (one per open file) and their page-table pages. */
static inline void contexts(const char *node, int *files, long *pt_pages)
{
	char path[128], line[256], bdf[64];
	FILE *f = NULL;
	long pages;

	*files = 0;
	*pt_pages = 0;
	/* DRM's debugfs directory is named after the device. */
	if (!node_bdf(node, bdf, sizeof(bdf))) {
		snprintf(path, sizeof(path), "/sys/kernel/debug/accel/%s/contexts", bdf);
		f = fopen(path, "r");
	}
	if (!f) {
		*files = -1;
		return;
	}
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "asid %*u: page-table pages %ld", &pages) == 1) {
			(*files)++;
			*pt_pages += pages;
		}
	fclose(f);
}

/* After the load's files closed: contexts and page tables as before it. */
static inline void check_no_leak(const char *node, int files0, long pages0)
{
	int64_t deadline = now_ns() + 10000000000LL;
	int files;
	long pages;

	do {
		contexts(node, &files, &pages);
		if (files == files0 && pages == pages0)
			break;
		usleep(50000);
	} while (now_ns() < deadline);
	CHECK(files == files0 && pages == pages0,
	      "no leak: %d contexts with %ld page-table pages, as before the load (%d, %ld)",
	      files, pages, files0, pages0);
}

#endif /* KNPU_LOAD_H */
