// SPDX-License-Identifier: GPL-2.0-only
/*
 * knpu-smoke: exercises knpu.ko through its raw ioctls, against the device,
 * in the guest. A driver bring-up check, independent of libnpu.
 *
 *   knpu-smoke basic [NODE]   params, buffers and mmap, queues, DMA_FILL jobs,
 *                             syncobj/sync_file fences, WAIT, validation, MMU
 *                             faults and bad opcodes banning their queue
 *   knpu-smoke hang [NODE]    a hung job (QMP fault injection) times out
 *   knpu-smoke stress [NODE]  threads x queues with sync_file chains, and
 *                             processes exiting with jobs in flight
 *   knpu-smoke faults [NODE [QOM-ID]]   injected MMU fault, uncorrectable error
 *   knpu-smoke surprise [NODE [QOM-ID]] the device falls off the bus, is removed
 *   knpu-smoke unplug [NODE]  PCI remove with the file open and a job in flight
 *
 * Prints TAP; exits non-zero on a failure. The ioctl fuzzer is knpu-fuzz.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <dirent.h>
#include <linux/netlink.h>
#include <linux/sync_file.h>
#include <sys/socket.h>

#include "drm/knpu_accel.h"
#include "knpu-qmp.h"
#include "knpu-tap.h"

static int fd;
static uint64_t param(uint32_t p)
{
	struct drm_knpu_get_param a = { .param = p };

	if (xioctl(fd, DRM_IOCTL_KNPU_GET_PARAM, &a))
		return ~0ULL;
	return a.value;
}

struct bo {
	uint32_t handle;
	uint64_t va, size;
	void *map;
};

static int bo_new(struct bo *bo, uint64_t size, uint32_t flags)
{
	struct drm_knpu_bo_create c = { .size = size, .flags = flags };
	struct drm_knpu_bo_info i = { 0 };
	int ret;

	ret = xioctl(fd, DRM_IOCTL_KNPU_BO_CREATE, &c);
	if (ret)
		return ret;
	i.handle = c.handle;
	ret = xioctl(fd, DRM_IOCTL_KNPU_BO_INFO, &i);
	if (ret)
		return ret;
	bo->handle = c.handle;
	bo->va = c.va;
	bo->size = i.size;
	bo->map = mmap(NULL, i.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, i.mmap_offset);
	return bo->map == MAP_FAILED ? -errno : 0;
}

static int last_err;

static uint32_t queue_new(uint32_t prio)
{
	struct drm_knpu_queue_create q = { .priority = prio };

	last_err = xioctl(fd, DRM_IOCTL_KNPU_QUEUE_CREATE, &q);
	return last_err ? 0 : q.queue_id;
}

/* DMA_FILL (hw-spec 7.4): dst from slot @slot, @bytes bytes of @pattern. */
static int emit_fill(uint32_t *p, uint32_t slot, uint32_t bytes, uint32_t pattern)
{
	p[0] = 0x02 | 3u << 16;
	p[1] = 0;
	p[2] = 0x1;
	p[3] = slot;
	p[4] = bytes;
	p[5] = pattern;
	return 6;
}

static int submit(uint32_t queue, struct bo *prog, uint32_t prog_bytes, struct bo *args,
		  uint32_t args_bytes, uint32_t *handles, uint32_t nh, uint32_t syncobj,
		  uint64_t *seqno)
{
	struct drm_knpu_sync out = { .handle = syncobj };
	struct drm_knpu_submit s = {
		.queue_id = queue,
		.program_va = prog->va,
		.program_size = prog_bytes,
		.args_va = args->va,
		.args_size = args_bytes,
		.bo_handles = (uintptr_t)handles,
		.bo_count = nh,
		.out_sync_count = syncobj ? 1 : 0,
		.out_syncs = (uintptr_t)&out,
	};
	int ret = xioctl(fd, DRM_IOCTL_KNPU_SUBMIT, &s);

	if (!ret && seqno)
		*seqno = s.seqno;
	return ret;
}

static int wait_job(uint32_t queue, uint64_t seqno, struct drm_knpu_wait *w)
{
	memset(w, 0, sizeof(*w));
	w->queue_id = queue;
	w->seqno = seqno;
	w->timeout_ns = now_ns() + 10000000000LL;
	return xioctl(fd, DRM_IOCTL_KNPU_WAIT, w);
}

static int test_basic(void)
{
	struct bo prog, args, data, ro;
	struct drm_knpu_wait w;
	uint32_t q, q2, handles[3];
	uint64_t seqno, *slots;
	uint32_t *code, *out;
	int ret, i, ok;

	CHECK(param(KNPU_PARAM_UAPI_VERSION) == (KNPU_UAPI_VERSION_MAJOR << 16 | KNPU_UAPI_VERSION_MINOR),
	      "uapi version 0x%llx", (unsigned long long)param(KNPU_PARAM_UAPI_VERSION));
	CHECK(param(KNPU_PARAM_DEVICE_ID) == 0x4b4e, "device id");
	CHECK(param(KNPU_PARAM_NUM_QUEUES) >= 1 && param(KNPU_PARAM_NUM_QUEUES) != ~0ULL,
	      "%llu queues, %llu cores", (unsigned long long)param(KNPU_PARAM_NUM_QUEUES),
	      (unsigned long long)param(KNPU_PARAM_NUM_CORES));
	CHECK(param(KNPU_PARAM_CLOCK_MHZ) > 0, "clock %llu MHz",
	      (unsigned long long)param(KNPU_PARAM_CLOCK_MHZ));
	{
		struct drm_knpu_get_param a = { .param = 9999 };

		CHECK(xioctl(fd, DRM_IOCTL_KNPU_GET_PARAM, &a) == -EINVAL, "unknown param is EINVAL");
		a.param = KNPU_PARAM_NUM_CORES;
		a.pad = 1;
		CHECK(xioctl(fd, DRM_IOCTL_KNPU_GET_PARAM, &a) == -EINVAL, "non-zero pad is EINVAL");
	}

	/* Buffers */
	CHECK(bo_new(&prog, 4096, 0) == 0, "program bo va 0x%llx", (unsigned long long)prog.va);
	CHECK(bo_new(&args, 100, 0) == 0 && args.size == 4096, "args bo rounded to a page");
	CHECK(bo_new(&data, 3 * 4096 + 1, 0) == 0 && data.size == 4 * 4096, "data bo 16 KiB");
	CHECK(bo_new(&ro, 4096, KNPU_BO_DEV_READONLY) == 0, "read-only bo");
	CHECK(data.va != prog.va && data.va >= param(KNPU_PARAM_VA_START), "distinct VAs");
	{
		struct drm_knpu_bo_create c = { .size = 4096, .flags = 1u << 7 };

		CHECK(xioctl(fd, DRM_IOCTL_KNPU_BO_CREATE, &c) == -EINVAL, "unknown bo flag is EINVAL");
		c.flags = KNPU_BO_DEVMEM;
		if (param(KNPU_PARAM_CAPS) & KNPU_CAP_DEVMEM)
			CHECK(xioctl(fd, DRM_IOCTL_KNPU_BO_CREATE, &c) == 0 && c.va, "devmem bo");
		else
			CHECK(xioctl(fd, DRM_IOCTL_KNPU_BO_CREATE, &c) == -EOPNOTSUPP,
			      "devmem is EOPNOTSUPP without KNPU_CAP_DEVMEM");
		c.flags = 0;
		c.size = 0;
		CHECK(xioctl(fd, DRM_IOCTL_KNPU_BO_CREATE, &c) == -EINVAL, "zero size is EINVAL");
		c.size = 1ULL << 39;
		CHECK(xioctl(fd, DRM_IOCTL_KNPU_BO_CREATE, &c) == -ENOMEM, "512 GiB is ENOMEM");
		c.size = 1ULL << 45;
		CHECK(xioctl(fd, DRM_IOCTL_KNPU_BO_CREATE, &c) == -ENOSPC, "32 TiB is ENOSPC");
	}
	ok = 1;
	for (i = 0; i < 4096; i++)
		ok &= ((uint32_t *)data.map)[i] == 0;
	CHECK(ok, "new buffer is zeroed");

	/* Queues */
	q = queue_new(KNPU_QUEUE_PRIORITY_NORMAL);
	CHECK(q != 0, "queue %u created", q);
	{
		struct drm_knpu_queue_create c = { .priority = 7 };

		CHECK(xioctl(fd, DRM_IOCTL_KNPU_QUEUE_CREATE, &c) == -EINVAL, "bad priority is EINVAL");
		c.priority = 0;
		c.flags = 1;
		CHECK(xioctl(fd, DRM_IOCTL_KNPU_QUEUE_CREATE, &c) == -EINVAL, "queue flags EINVAL");
	}

	/* A DMA_FILL job */
	code = prog.map;
	slots = args.map;
	slots[0] = data.va;
	emit_fill(code, 0, 4 * 4096, 0xa5a5a5a5);
	handles[0] = prog.handle;
	handles[1] = args.handle;
	handles[2] = data.handle;
	ret = submit(q, &prog, 24, &args, 8, handles, 3, 0, &seqno);
	CHECK(ret == 0 && seqno == 1, "submit fill: %d seqno %llu", ret, (unsigned long long)seqno);
	ret = wait_job(q, seqno, &w);
	CHECK(ret == 0 && w.status == KNPU_JOB_OK, "wait fill: %d status %u error 0x%x", ret,
	      w.status, w.error);
	out = data.map;
	CHECK(out[0] == 0xa5a5a5a5 && out[4 * 1024 - 1] == 0xa5a5a5a5, "fill result 0x%x 0x%x",
	      out[0], out[4 * 1024 - 1]);

	/* Many jobs, then wait for the last */
	for (i = 0; i < 100; i++) {
		emit_fill(code, 0, 4, i);
		ret = submit(q, &prog, 24, &args, 8, handles, 3, 0, &seqno);
		if (ret)
			break;
		if (wait_job(q, seqno, &w) || w.status != KNPU_JOB_OK)
			break;
	}
	CHECK(i == 100 && out[0] == 99, "100 jobs in order (%d, last %u)", i, out[0]);

	/* Out-fences: a syncobj and a sync_file */
	{
		struct drm_syncobj_create sc = { 0 };
		struct drm_syncobj_wait sw = { 0 };
		struct drm_knpu_sync outs = { 0 };
		struct drm_knpu_submit s = {
			.queue_id = q, .program_va = prog.va, .program_size = 24,
			.args_va = args.va, .args_size = 8,
			.bo_handles = (uintptr_t)handles, .bo_count = 3,
			.flags = KNPU_SUBMIT_FENCE_FD_OUT,
			.out_sync_count = 1, .out_syncs = (uintptr_t)&outs,
		};

		ret = xioctl(fd, DRM_IOCTL_SYNCOBJ_CREATE, &sc);
		outs.handle = sc.handle;
		emit_fill(code, 0, 4, 0x5eed);
		ret = ret ?: xioctl(fd, DRM_IOCTL_KNPU_SUBMIT, &s);
		CHECK(ret == 0 && s.fence_fd > 0, "submit with syncobj and sync_file (%d, fd %d)",
		      ret, s.fence_fd);
		sw.handles = (uintptr_t)&sc.handle;
		sw.count_handles = 1;
		sw.timeout_nsec = now_ns() + 10000000000LL;
		ret = xioctl(fd, DRM_IOCTL_SYNCOBJ_WAIT, &sw);
		CHECK(ret == 0 && out[0] == 0x5eed, "syncobj signalled (%d)", ret);
		if (s.fence_fd > 0)
			close(s.fence_fd);

		/* The same syncobj as an in-fence of the next job. */
		{
			struct drm_knpu_sync ins = { .handle = sc.handle };

			s.flags = 0;
			s.fence_fd = 0;
			s.out_sync_count = 0;
			s.in_sync_count = 1;
			s.in_syncs = (uintptr_t)&ins;
			emit_fill(code, 0, 4, 0xbeef);
			ret = xioctl(fd, DRM_IOCTL_KNPU_SUBMIT, &s);
			ret = ret ?: wait_job(q, s.seqno, &w);
			CHECK(ret == 0 && w.status == KNPU_JOB_OK && out[0] == 0xbeef,
			      "job with a syncobj in-fence (%d)", ret);
		}

		/* A timeline point. */
		{
			struct drm_syncobj_create tc = { 0 };
			struct drm_syncobj_timeline_wait tw = { 0 };
			struct drm_knpu_sync tp = { .point = 5 };
			uint64_t point = 5;

			ret = xioctl(fd, DRM_IOCTL_SYNCOBJ_CREATE, &tc);
			tp.handle = tc.handle;
			s.in_sync_count = 0;
			s.out_sync_count = 1;
			s.out_syncs = (uintptr_t)&tp;
			ret = ret ?: xioctl(fd, DRM_IOCTL_KNPU_SUBMIT, &s);
			tw.handles = (uintptr_t)&tc.handle;
			tw.points = (uintptr_t)&point;
			tw.count_handles = 1;
			tw.timeout_nsec = now_ns() + 10000000000LL;
			ret = ret ?: xioctl(fd, DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT, &tw);
			CHECK(ret == 0, "timeline point 5 signalled (%d)", ret);
		}
	}

	/* dma-buf export agrees with KNPU_CAP_DMABUF */
	{
		struct drm_prime_handle ph = { .handle = data.handle, .flags = DRM_CLOEXEC };
		int expect = param(KNPU_PARAM_CAPS) & KNPU_CAP_DMABUF ? 0 : -EOPNOTSUPP;

		ret = xioctl(fd, DRM_IOCTL_PRIME_HANDLE_TO_FD, &ph);
		CHECK(ret == expect, "PRIME export %d, as KNPU_CAP_DMABUF says (%d)", ret, expect);
		if (!ret)
			close(ph.fd);
	}

	/* fdinfo: standard DRM client usage keys */
	{
		char path[64], buf[4096];
		ssize_t n;
		int ffd;

		snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
		ffd = open(path, O_RDONLY);
		n = ffd >= 0 ? read(ffd, buf, sizeof(buf) - 1) : -1;
		if (ffd >= 0)
			close(ffd);
		buf[n > 0 ? n : 0] = 0;
		CHECK(strstr(buf, "drm-driver:\tknpu") && strstr(buf, "drm-client-id:") &&
		      strstr(buf, "drm-engine-npu:") && strstr(buf, "drm-total-system:") &&
		      strstr(buf, "drm-resident-system:") && strstr(buf, "drm-total-device:"),
		      "fdinfo has the DRM usage keys");
		if (!strstr(buf, "drm-engine-npu:"))
			printf("# %s\n", buf);
	}

	/* Validation */
	{
		struct drm_knpu_submit s = {
			.queue_id = q, .program_va = prog.va, .program_size = 6,
		};

		CHECK(xioctl(fd, DRM_IOCTL_KNPU_SUBMIT, &s) == -EINVAL, "unaligned program size");
		s.program_size = 24;
		s.flags = 1u << 9;
		CHECK(xioctl(fd, DRM_IOCTL_KNPU_SUBMIT, &s) == -EINVAL, "unknown submit flag");
		s.flags = 0;
		s.fence_fd = 3;
		CHECK(xioctl(fd, DRM_IOCTL_KNPU_SUBMIT, &s) == -EINVAL, "fence_fd without flag");
		s.fence_fd = 0;
		s.queue_id = 12345;
		CHECK(xioctl(fd, DRM_IOCTL_KNPU_SUBMIT, &s) == -ENOENT, "unknown queue is ENOENT");
		s.queue_id = q;
		s.bo_count = 1;
		s.bo_handles = (uintptr_t)(uint32_t[]){ 999 };
		CHECK(xioctl(fd, DRM_IOCTL_KNPU_SUBMIT, &s) == -ENOENT, "unknown bo is ENOENT");
		s.bo_count = 0;
		s.in_sync_count = 1;
		s.in_syncs = (uintptr_t)(struct drm_knpu_sync[]){ { .handle = 999 } };
		CHECK(xioctl(fd, DRM_IOCTL_KNPU_SUBMIT, &s) == -ENOENT, "unknown syncobj is ENOENT");
		memset(&w, 0, sizeof(w));
		w.queue_id = q;
		w.seqno = 1000000;
		CHECK(xioctl(fd, DRM_IOCTL_KNPU_WAIT, &w) == -EINVAL, "wait on future seqno EINVAL");
	}

	/* An MMU fault: DMA_FILL to an unmapped VA */
	q2 = queue_new(KNPU_QUEUE_PRIORITY_HIGH);
	slots[0] = 0x1000;
	emit_fill(code, 0, 4, 0);
	ret = submit(q2, &prog, 24, &args, 8, handles, 3, 0, &seqno);
	CHECK(ret == 0, "submit faulting job");
	ret = wait_job(q2, seqno, &w);
	CHECK(ret == 0 && w.status == KNPU_JOB_FAILED && w.error == KNPU_ERR_MMU_FAULT &&
	      w.error_addr == 0x1000, "fault reported: status %u error 0x%x addr 0x%llx",
	      w.status, w.error, (unsigned long long)w.error_addr);
	{
		struct drm_knpu_queue_status st = { .queue_id = q2 };

		ret = xioctl(fd, DRM_IOCTL_KNPU_QUEUE_STATUS, &st);
		CHECK(ret == 0 && st.state == KNPU_QUEUE_STATE_BANNED && st.error_seqno == seqno,
		      "queue banned: state %u error 0x%x seqno %llu", st.state, st.error,
		      (unsigned long long)st.error_seqno);
	}
	ret = submit(q2, &prog, 24, &args, 8, handles, 3, 0, &seqno);
	CHECK(ret == -ECANCELED, "submit to a banned queue is ECANCELED (%d)", ret);

	/* A write to a read-only buffer faults too. */
	{
		uint32_t q3 = queue_new(KNPU_QUEUE_PRIORITY_LOW);
		uint32_t h[3] = { prog.handle, args.handle, ro.handle };

		slots[0] = ro.va;
		ret = submit(q3, &prog, 24, &args, 8, h, 3, 0, &seqno);
		ret = ret ?: wait_job(q3, seqno, &w);
		CHECK(ret == 0 && w.status == KNPU_JOB_FAILED && w.error == KNPU_ERR_MMU_FAULT,
		      "write to read-only bo faults (status %u error 0x%x)", w.status, w.error);
	}

	/* The first queue was not affected */
	slots[0] = data.va;
	emit_fill(code, 0, 4, 0x12345678);
	ret = submit(q, &prog, 24, &args, 8, handles, 3, 0, &seqno);
	ret = ret ?: wait_job(q, seqno, &w);
	CHECK(ret == 0 && w.status == KNPU_JOB_OK && out[0] == 0x12345678,
	      "other queue still works");

	/* A bad opcode */
	code[0] = 0x7f;
	code[1] = 0;
	code[2] = 0;
	ret = submit(q, &prog, 12, &args, 8, handles, 3, 0, &seqno);
	ret = ret ?: wait_job(q, seqno, &w);
	CHECK(ret == 0 && w.status == KNPU_JOB_FAILED && w.error == KNPU_ERR_OPCODE_INVALID,
	      "bad opcode: status %u error 0x%x", w.status, w.error);

	{
		struct drm_knpu_queue_destroy d = { .queue_id = q };

		CHECK(xioctl(fd, DRM_IOCTL_KNPU_QUEUE_DESTROY, &d) == 0, "queue destroyed");
		CHECK(xioctl(fd, DRM_IOCTL_KNPU_QUEUE_DESTROY, &d) == -ENOENT, "destroyed queue ENOENT");
	}
	{
		int n = 0;

		while (queue_new(KNPU_QUEUE_PRIORITY_NORMAL))
			n++;
		CHECK(n > 0 && last_err == -EBUSY, "created %d more queues until EBUSY (%d)", n,
		      last_err);
	}

	return 0;
}

/* A job that fills 4 bytes of @data with @pattern; returns the submit result. */
struct fixture {
	struct bo prog, args, data;
	uint32_t handles[3];
};

static void fixture_init(struct fixture *f)
{
	if (bo_new(&f->prog, 4096, 0) || bo_new(&f->args, 4096, 0) || bo_new(&f->data, 4096, 0)) {
		printf("Bail out! cannot create buffers\n");
		exit(1);
	}
	((uint64_t *)f->args.map)[0] = f->data.va;
	emit_fill(f->prog.map, 0, 4, 0x600d);
	f->handles[0] = f->prog.handle;
	f->handles[1] = f->args.handle;
	f->handles[2] = f->data.handle;
}

static int fixture_submit(struct fixture *f, uint32_t queue, uint64_t *seqno)
{
	return submit(queue, &f->prog, 24, &f->args, 8, f->handles, 3, 0, seqno);
}

/*
 * A hung job (fault injection on hardware queue 0, the first one a fresh
 * device hands out): the driver's timeout (load knpu.ko with a short
 * job_timeout_ms) resets the queue and bans it; other queues go on.
 */
static int test_hang(void)
{
	struct drm_knpu_wait w;
	struct fixture f;
	uint64_t seqno;
	uint32_t q, q2;
	int64_t t0;
	int ret;

	fixture_init(&f);
	q = queue_new(KNPU_QUEUE_PRIORITY_NORMAL);
	CHECK(q && knpu_qom_set("knpu0", "inject-hang-queue", "0") == 0,
	      "hang armed on queue %u", q);
	t0 = now_ns();
	ret = fixture_submit(&f, q, &seqno);
	ret = ret ?: wait_job(q, seqno, &w);
	CHECK(ret == 0 && w.status == KNPU_JOB_FAILED && w.error == KNPU_ERR_TIMEOUT,
	      "hung job times out: %d status %u error 0x%x after %lld ms", ret, w.status,
	      w.error, (long long)(now_ns() - t0) / 1000000);
	ret = fixture_submit(&f, q, &seqno);
	CHECK(ret == -ECANCELED, "its queue is banned (%d)", ret);

	q2 = queue_new(KNPU_QUEUE_PRIORITY_NORMAL);
	ret = fixture_submit(&f, q2, &seqno);
	ret = ret ?: wait_job(q2, seqno, &w);
	CHECK(ret == 0 && w.status == KNPU_JOB_OK, "another queue runs jobs (%d, %u)", ret,
	      w.status);
	{
		struct drm_knpu_queue_destroy d = { .queue_id = q };

		CHECK(xioctl(fd, DRM_IOCTL_KNPU_QUEUE_DESTROY, &d) == 0, "banned queue destroyed");
	}
	/* The hardware queue it had is reset and usable again. */
	q = queue_new(KNPU_QUEUE_PRIORITY_NORMAL);
	ret = fixture_submit(&f, q, &seqno);
	ret = ret ?: wait_job(q, seqno, &w);
	CHECK(ret == 0 && w.status == KNPU_JOB_OK, "its hardware queue works again (%d, %u)",
	      ret, w.status);
	return 0;
}

#define STRESS_THREADS	4
#define STRESS_JOBS	300

struct stresser {
	struct fixture f;
	uint32_t queue;
	int id, errors;
	uint64_t last;
};

/*
 * One thread, one queue: jobs each writing their number, waited on in
 * batches; every 10th job depends on the previous one through a sync_file.
 */
static void *stress_fn(void *arg)
{
	struct stresser *st = arg;
	struct drm_knpu_wait w;
	uint64_t seqno = 0;
	int i, prev_fd = -1;

	for (i = 1; i <= STRESS_JOBS; i++) {
		struct drm_knpu_submit s = {
			.queue_id = st->queue, .program_va = st->f.prog.va, .program_size = 24,
			.args_va = st->f.args.va, .args_size = 8,
			.bo_handles = (uintptr_t)st->f.handles, .bo_count = 3,
		};

		/* The program is rewritten only once the previous job is done. */
		if (seqno && (wait_job(st->queue, seqno, &w) || w.status != KNPU_JOB_OK))
			st->errors++;
		emit_fill(st->f.prog.map, 0, 4, st->id << 16 | i);
		if (i % 10 == 0) {
			s.flags = KNPU_SUBMIT_FENCE_FD_OUT;
		} else if (prev_fd >= 0) {
			s.flags = KNPU_SUBMIT_FENCE_FD_IN;
			s.fence_fd = prev_fd;
		}
		if (xioctl(fd, DRM_IOCTL_KNPU_SUBMIT, &s)) {
			st->errors++;
			break;
		}
		if (prev_fd >= 0 && (s.flags & KNPU_SUBMIT_FENCE_FD_IN)) {
			close(prev_fd);
			prev_fd = -1;
		}
		if (s.flags & KNPU_SUBMIT_FENCE_FD_OUT)
			prev_fd = s.fence_fd;
		seqno = s.seqno;
	}
	if (wait_job(st->queue, seqno, &w) || w.status != KNPU_JOB_OK)
		st->errors++;
	if (prev_fd >= 0)
		close(prev_fd);
	st->last = ((volatile uint32_t *)st->f.data.map)[0];
	return NULL;
}

/* Processes that open the device, run a job and exit without cleaning up. */
static int churn(int rounds)
{
	int i, status, bad = 0;

	for (i = 0; i < rounds; i++) {
		pid_t pid = fork();

		if (pid == 0) {
			struct fixture f;
			uint32_t q;
			uint64_t seqno;

			close(fd);
			fd = open(getenv("KNPU_SMOKE_NODE"), O_RDWR);
			if (fd < 0)
				_exit(2);
			fixture_init(&f);
			q = queue_new(KNPU_QUEUE_PRIORITY_LOW);
			/* Exit with the job possibly still running. */
			_exit(q && !fixture_submit(&f, q, &seqno) ? 0 : 3);
		}
		if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
		    WEXITSTATUS(status))
			bad++;
	}
	return bad;
}

static int test_stress(const char *node)
{
	struct stresser st[STRESS_THREADS];
	pthread_t thr[STRESS_THREADS];
	int i, bad;
	int64_t t0 = now_ns();

	setenv("KNPU_SMOKE_NODE", node, 1);
	for (i = 0; i < STRESS_THREADS; i++) {
		memset(&st[i], 0, sizeof(st[i]));
		st[i].id = i + 1;
		fixture_init(&st[i].f);
		st[i].queue = queue_new(i % 3);
		pthread_create(&thr[i], NULL, stress_fn, &st[i]);
	}
	bad = churn(20);
	for (i = 0; i < STRESS_THREADS; i++) {
		pthread_join(thr[i], NULL);
		CHECK(st[i].errors == 0 && st[i].last == ((uint64_t)st[i].id << 16 | STRESS_JOBS),
		      "thread %d: %d jobs, %d errors, last 0x%llx", i, STRESS_JOBS, st[i].errors,
		      (unsigned long long)st[i].last);
	}
	CHECK(bad == 0, "20 processes exited with jobs in flight (%d failed)", bad);
	printf("# %d jobs in %lld ms\n", STRESS_THREADS * STRESS_JOBS,
	       (long long)(now_ns() - t0) / 1000000);
	return 0;
}

/*
 * Device faults (QMP fault injection): an injected MMU fault, then an
 * uncorrectable error that stops the device until it is reset (the module
 * reload that follows in smoke-guest.sh does that).
 */
static int test_faults(const char *qdev)
{
	struct drm_knpu_wait w;
	struct fixture f;
	uint64_t seqno;
	uint32_t q;
	int ret;

	fixture_init(&f);
	q = queue_new(KNPU_QUEUE_PRIORITY_NORMAL);
	CHECK(q && knpu_qom_set(qdev, "inject-mmu-fault-queue", "0") == 0,
	      "MMU fault armed on queue %u", q);
	ret = fixture_submit(&f, q, &seqno);
	ret = ret ?: wait_job(q, seqno, &w);
	CHECK(ret == 0 && w.status == KNPU_JOB_FAILED && w.error == KNPU_ERR_MMU_FAULT &&
	      w.error_addr == f.prog.va, "injected fault at the program: status %u error 0x%x addr 0x%llx",
	      w.status, w.error, (unsigned long long)w.error_addr);

	q = queue_new(KNPU_QUEUE_PRIORITY_NORMAL);
	CHECK(q && knpu_qom_set(qdev, "inject-uncorrectable", "true") == 0,
	      "uncorrectable error injected");
	ret = fixture_submit(&f, q, &seqno);
	ret = ret ?: wait_job(q, seqno, &w);
	CHECK(ret == 0 && w.status == KNPU_JOB_OK,
	      "the driver reset the device, a job runs: status %u error 0x%x", w.status, w.error);
	return 0;
}

/*
 * The device falls off the bus (QMP), then is removed: nothing may hang and
 * the kernel log must stay free of splats.
 */
/* Writes "1" to the PCI device's sysfs attribute @attr (remove, reset). */
static int pci_write_1(const char *node, const char *attr)
{
	char link[256], path[512];
	ssize_t n;
	int sfd, ret;

	snprintf(path, sizeof(path), "/sys/class/accel/%s/device", strrchr(node, '/') + 1);
	n = readlink(path, link, sizeof(link) - 1);
	if (n <= 0)
		return -ENOENT;
	link[n] = 0;
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/%s", strrchr(link, '/') + 1, attr);
	sfd = open(path, O_WRONLY);
	ret = sfd >= 0 && write(sfd, "1", 1) == 1 ? 0 : -errno;
	if (sfd >= 0)
		close(sfd);
	return ret;
}

static int remove_device(const char *node)
{
	return pci_write_1(node, "remove");
}

static int test_surprise(const char *node, const char *qdev)
{
	struct drm_knpu_queue_create qc = { .priority = KNPU_QUEUE_PRIORITY_NORMAL };
	struct drm_knpu_wait w;
	struct fixture f;
	uint64_t seqno;
	uint32_t q;
	int ret;

	fixture_init(&f);
	q = queue_new(KNPU_QUEUE_PRIORITY_NORMAL);
	CHECK(q && knpu_qom_set(qdev, "inject-surprise-removal", "true") == 0,
	      "device %s fell off the bus", qdev);
	ret = fixture_submit(&f, q, &seqno);
	ret = ret ?: wait_job(q, seqno, &w);
	CHECK(ret == -ENODEV || (ret == 0 && w.status == KNPU_JOB_CANCELED &&
				 w.error == KNPU_ERR_DEVICE_LOST),
	      "a job on the dead device is lost: %d status %u error 0x%x", ret, w.status, w.error);
	ret = xioctl(fd, DRM_IOCTL_KNPU_QUEUE_CREATE, &qc);
	CHECK(ret == -ENODEV, "the device is lost: ioctls fail with ENODEV (%d)", ret);
	CHECK(remove_device(node) == 0, "the dead device is removed");
	CHECK(xioctl(fd, DRM_IOCTL_KNPU_QUEUE_CREATE, &qc) == -ENODEV, "then ioctls fail with ENODEV");
	return 0;
}


static void queue_destroy(uint32_t q)
{
	struct drm_knpu_queue_destroy d = { .queue_id = q };

	xioctl(fd, DRM_IOCTL_KNPU_QUEUE_DESTROY, &d);
}

static uint32_t queue_resets(uint32_t q)
{
	struct drm_knpu_queue_status st = { .queue_id = q };

	return xioctl(fd, DRM_IOCTL_KNPU_QUEUE_STATUS, &st) ? ~0u : st.reset_count;
}

#define LOAD_JOBS	64
#define LOAD_PATTERN	0x10ad0000u

/* LOAD_JOBS jobs, job i writes LOAD_PATTERN + i to word i of its data buffer. */
struct load {
	struct bo prog, args, data;
	uint32_t handles[3];
	uint32_t queue;
	uint64_t first, last;
};

static void load_init(struct load *l)
{
	if (bo_new(&l->prog, 4096 * LOAD_JOBS, 0) || bo_new(&l->args, 4096, 0) ||
	    bo_new(&l->data, 4096, 0)) {
		printf("Bail out! cannot create buffers\n");
		exit(1);
	}
	for (int i = 0; i < LOAD_JOBS; i++) {
		((uint64_t *)l->args.map)[i] = l->data.va + 4 * i;
		emit_fill((uint32_t *)l->prog.map + 1024 * i, 0, 4, LOAD_PATTERN + i);
	}
	l->handles[0] = l->prog.handle;
	l->handles[1] = l->args.handle;
	l->handles[2] = l->data.handle;
}

static int load_submit(struct load *l, uint32_t queue)
{
	memset(l->data.map, 0, 4096);
	l->queue = queue;
	for (int i = 0; i < LOAD_JOBS; i++) {
		struct drm_knpu_submit s = {
			.queue_id = queue,
			.program_va = l->prog.va + 4096 * i, .program_size = 24,
			.args_va = l->args.va + 8 * i, .args_size = 8,
			.bo_handles = (uintptr_t)l->handles, .bo_count = 3,
		};
		int ret = xioctl(fd, DRM_IOCTL_KNPU_SUBMIT, &s);

		if (ret)
			return ret;
		if (!i)
			l->first = s.seqno;
		l->last = s.seqno;
	}
	return 0;
}

/* Every job of the load completed and wrote its word. */
static int load_check(struct load *l, const char *what)
{
	struct drm_knpu_wait w;
	int ok = 0, right = 0;

	for (uint64_t seqno = l->first; seqno <= l->last; seqno++)
		ok += wait_job(l->queue, seqno, &w) == 0 && w.status == KNPU_JOB_OK;
	for (int i = 0; i < LOAD_JOBS; i++)
		right += ((volatile uint32_t *)l->data.map)[i] == LOAD_PATTERN + i;
	CHECK(ok == LOAD_JOBS && right == LOAD_JOBS, "%s: %d of %d jobs OK, %d results right",
	      what, ok, LOAD_JOBS, right);
	return ok == LOAD_JOBS && right == LOAD_JOBS;
}

/* A queue's hang resets that queue only: another queue's jobs all complete. */
static void recovery_hang(struct fixture *f, struct load *l)
{
	struct drm_knpu_wait w;
	uint32_t qh, qi;
	uint64_t seqno;
	int ret;

	qh = queue_new(KNPU_QUEUE_PRIORITY_NORMAL);
	qi = queue_new(KNPU_QUEUE_PRIORITY_NORMAL);
	CHECK(qh && qi && knpu_qom_set("knpu0", "inject-hang-queue", "0") == 0, "hang armed");
	ret = fixture_submit(f, qh, &seqno);
	ret = ret ?: load_submit(l, qi);
	CHECK(ret == 0, "hung job and %d jobs on another queue submitted (%d)", LOAD_JOBS, ret);
	load_check(l, "innocent queue during a hang");
	ret = wait_job(qh, seqno, &w);
	CHECK(ret == 0 && w.status == KNPU_JOB_FAILED && w.error == KNPU_ERR_TIMEOUT,
	      "hung job times out: status %u error 0x%x", w.status, w.error);
	CHECK(queue_resets(qi) == 0, "a queue hang is no device reset (reset_count %u)",
	      queue_resets(qi));
	queue_destroy(qh);
	queue_destroy(qi);
}

/* A socket that receives the kernel's uevents. */
static int uevent_socket(void)
{
	struct sockaddr_nl addr = { .nl_family = AF_NETLINK, .nl_groups = 1 };
	int s = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT);

	if (s >= 0 && bind(s, (struct sockaddr *)&addr, sizeof(addr))) {
		close(s);
		s = -1;
	}
	return s;
}

/* Whether a uevent received on @s so far carries @key. */
static int uevent_seen(int s, const char *key)
{
	char buf[4096];
	ssize_t n;

	while ((n = recv(s, buf, sizeof(buf) - 1, MSG_DONTWAIT)) > 0) {
		buf[n] = 0;
		/* NUL-separated KEY=value strings after the header. */
		for (char *p = buf; p < buf + n; p += strlen(p) + 1)
			if (!strcmp(p, key))
				return 1;
	}
	return 0;
}

static int devcoredumps(void)
{
	DIR *d = opendir("/sys/class/devcoredump");
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)))
		n += !strncmp(e->d_name, "devcd", 5);
	if (d)
		closedir(d);
	return n;
}

/* A device-fatal error or an FLR during load: the jobs run again, all complete. */
static void recovery_reset(struct load *l, const char *node, const char *how)
{
	uint32_t q = queue_new(KNPU_QUEUE_PRIORITY_NORMAL);
	int uevents = uevent_socket(), dumps = devcoredumps();
	char what[96];
	int ret;

	ret = q ? load_submit(l, q) : last_err;
	if (!ret && !strcmp(how, "uncorrectable"))
		ret = knpu_qom_set("knpu0", "inject-uncorrectable", "true");
	else if (!ret)
		ret = pci_write_1(node, "reset");
	CHECK(ret == 0, "%s during %d jobs (%d)", how, LOAD_JOBS, ret);
	snprintf(what, sizeof(what), "jobs across the %s reset", how);
	load_check(l, what);
	CHECK(queue_resets(q) == 1, "reset_count %u after the %s", queue_resets(q), how);
	CHECK(uevent_seen(uevents, "KNPU_RESET=1"), "a KNPU_RESET=1 uevent");
	CHECK(devcoredumps() > dumps || devcoredumps() > 0, "a devcoredump of the device (%d)",
	      devcoredumps());
	if (uevents >= 0)
		close(uevents);
	ret = load_submit(l, q);
	CHECK(ret == 0, "the device takes jobs after the %s (%d)", how, ret);
	load_check(l, "the device after the reset");
	queue_destroy(q);
}

/*
 * A process with hundreds of jobs queued behind a hung one is killed: it
 * exits without waiting for them, and its hardware queue is free again.
 */
static void recovery_kill(const char *node, struct fixture *f)
{
	struct drm_knpu_wait w;
	int pipefd[2], status;
	uint64_t seqno;
	int64_t t0, ms;
	char c = 0;
	uint32_t q;
	pid_t pid;

	if (pipe(pipefd))
		return;
	pid = fork();
	if (!pid) {
		struct fixture cf;
		uint32_t cq;
		int i, ret = 0;

		fd = open(node, O_RDWR | O_CLOEXEC);
		fixture_init(&cf);
		cq = queue_new(KNPU_QUEUE_PRIORITY_NORMAL);
		if (!cq || knpu_qom_set("knpu0", "inject-hang-queue", "0"))
			_exit(1);
		for (i = 0; i < 300 && !ret; i++)
			ret = fixture_submit(&cf, cq, NULL);
		c = ret ? 'e' : 'r';
		if (write(pipefd[1], &c, 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	CHECK(read(pipefd[0], &c, 1) == 1 && c == 'r', "child queued 300 jobs behind a hang");
	usleep(100000);
	t0 = now_ns();
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	ms = (now_ns() - t0) / 1000000;
	/* knpu-smoke runs with job_timeout_ms=2000: it must not wait for that. */
	CHECK(WIFSIGNALED(status) && ms < 1500, "killed process exited in %lld ms",
	      (long long)ms);
	close(pipefd[0]);
	close(pipefd[1]);

	q = queue_new(KNPU_QUEUE_PRIORITY_NORMAL);
	CHECK(q && fixture_submit(f, q, &seqno) == 0 && wait_job(q, seqno, &w) == 0 &&
	      w.status == KNPU_JOB_OK, "its hardware queue runs jobs again (status %u)",
	      w.status);
	queue_destroy(q);
}

/* A sync_file's fence is still readable after its queue is destroyed. */
static void recovery_sync_file(struct fixture *f)
{
	struct sync_fence_info fi = { 0 };
	struct sync_file_info info = { 0 };
	struct drm_knpu_wait w;
	uint32_t q = queue_new(KNPU_QUEUE_PRIORITY_NORMAL);
	struct drm_knpu_submit s = {
		.queue_id = q, .program_va = f->prog.va, .program_size = 24,
		.args_va = f->args.va, .args_size = 8,
		.bo_handles = (uintptr_t)f->handles, .bo_count = 3,
		.flags = KNPU_SUBMIT_FENCE_FD_OUT,
	};
	int ret;

	ret = xioctl(fd, DRM_IOCTL_KNPU_SUBMIT, &s);
	ret = ret ?: wait_job(q, s.seqno, &w);
	queue_destroy(q);
	info.num_fences = 1;
	info.sync_fence_info = (uintptr_t)&fi;
	ret = ret ?: ioctl(s.fence_fd, SYNC_IOC_FILE_INFO, &info);
	CHECK(ret == 0 && info.status == 1 && fi.status == 1 &&
	      !strcmp(fi.driver_name, "drm_sched") && !strncmp(fi.obj_name, "knpu-q", 6),
	      "SYNC_IOC_FILE_INFO after QUEUE_DESTROY: %d status %d %s/%s", ret, fi.status,
	      fi.driver_name, fi.obj_name);
	close(s.fence_fd);
}

/* A wait on timeline point 2^32 + 1 waits for that point, not for point 1. */
static void recovery_timeline(struct fixture *f)
{
	const uint64_t far = (1ULL << 32) + 1, one = 1;
	struct drm_syncobj_create tl = { 0 }, bin = { 0 };
	struct drm_syncobj_timeline_array sig = { 0 };
	struct drm_syncobj_handle imp = { 0 };
	struct drm_syncobj_transfer tr = { 0 };
	struct drm_knpu_sync in = { 0 };
	struct drm_knpu_wait w;
	uint32_t qh = queue_new(KNPU_QUEUE_PRIORITY_NORMAL);
	uint32_t qi = queue_new(KNPU_QUEUE_PRIORITY_NORMAL);
	struct drm_knpu_submit h = {
		.queue_id = qh, .program_va = f->prog.va, .program_size = 24,
		.args_va = f->args.va, .args_size = 8,
		.bo_handles = (uintptr_t)f->handles, .bo_count = 3,
		.flags = KNPU_SUBMIT_FENCE_FD_OUT,
	};
	struct drm_knpu_submit b = h;
	int ret;

	/* Point 1 signalled; point 2^32 + 1 is a hung job's fence. */
	ret = knpu_qom_set("knpu0", "inject-hang-queue", "0");
	ret = ret ?: xioctl(fd, DRM_IOCTL_KNPU_SUBMIT, &h);
	ret = ret ?: xioctl(fd, DRM_IOCTL_SYNCOBJ_CREATE, &tl);
	ret = ret ?: xioctl(fd, DRM_IOCTL_SYNCOBJ_CREATE, &bin);
	sig.handles = (uintptr_t)&tl.handle;
	sig.points = (uintptr_t)&one;
	sig.count_handles = 1;
	ret = ret ?: xioctl(fd, DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL, &sig);
	imp.handle = bin.handle;
	imp.fd = h.fence_fd;
	imp.flags = DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE;
	ret = ret ?: xioctl(fd, DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE, &imp);
	tr.src_handle = bin.handle;
	tr.dst_handle = tl.handle;
	tr.dst_point = far;
	ret = ret ?: xioctl(fd, DRM_IOCTL_SYNCOBJ_TRANSFER, &tr);
	CHECK(ret == 0, "timeline: point 1 signalled, point 2^32+1 a hung job (%d)", ret);

	in.handle = tl.handle;
	in.point = far;
	b.queue_id = qi;
	b.flags = 0;
	b.in_sync_count = 1;
	b.in_syncs = (uintptr_t)&in;
	ret = xioctl(fd, DRM_IOCTL_KNPU_SUBMIT, &b);
	usleep(500000);
	memset(&w, 0, sizeof(w));
	w.queue_id = qi;
	w.seqno = b.seqno;
	CHECK(ret == 0 && xioctl(fd, DRM_IOCTL_KNPU_WAIT, &w) == -ETIME,
	      "a job waiting on point 2^32+1 has not run (%d)", ret);
	CHECK(wait_job(qi, b.seqno, &w) == 0, "it finishes once the hang is resolved (status %u)",
	      w.status);
	close(h.fence_fd);
	queue_destroy(qh);
	queue_destroy(qi);
}

static int test_recovery(const char *node)
{
	struct fixture f;
	struct load l;

	fixture_init(&f);
	load_init(&l);
	recovery_hang(&f, &l);
	recovery_reset(&l, node, "uncorrectable");
	recovery_reset(&l, node, "function");
	recovery_kill(node, &f);
	recovery_sync_file(&f);
	recovery_timeline(&f);
	return 0;
}

struct waiter {
	uint32_t queue;
	uint64_t seqno;
	struct drm_knpu_wait w;
	int ret;
};

static void *waiter_fn(void *arg)
{
	struct waiter *wt = arg;

	wt->ret = wait_job(wt->queue, wt->seqno, &wt->w);
	return NULL;
}

/*
 * The device is removed (PCI remove through sysfs) while a client has it
 * open, with a hung job in flight and a thread waiting on it.
 */
static int test_unplug(const char *node)
{
	char link[256], path[512], *bdf;
	struct drm_knpu_get_param gp = { .param = KNPU_PARAM_NUM_CORES };
	struct waiter wt = { 0 };
	struct fixture f;
	pthread_t thr;
	ssize_t n;
	int ret;

	snprintf(path, sizeof(path), "/sys/class/accel/%s/device", strrchr(node, '/') + 1);
	n = readlink(path, link, sizeof(link) - 1);
	if (n <= 0) {
		printf("Bail out! readlink %s\n", path);
		return 1;
	}
	link[n] = 0;
	bdf = strrchr(link, '/') + 1;

	fixture_init(&f);
	wt.queue = queue_new(KNPU_QUEUE_PRIORITY_NORMAL);
	CHECK(wt.queue && knpu_qom_set("knpu0", "inject-hang-queue", "0") == 0, "hang armed");
	ret = fixture_submit(&f, wt.queue, &wt.seqno);
	CHECK(ret == 0, "hung job submitted");
	pthread_create(&thr, NULL, waiter_fn, &wt);
	usleep(300000);

	CHECK(remove_device(node) == 0, "device %s removed with the file open", bdf);

	pthread_join(thr, NULL);
	CHECK(wt.ret == 0 && wt.w.status == KNPU_JOB_CANCELED &&
	      wt.w.error == KNPU_ERR_DEVICE_LOST,
	      "the waiter sees the job lost: %d status %u error 0x%x", wt.ret, wt.w.status,
	      wt.w.error);
	CHECK(xioctl(fd, DRM_IOCTL_KNPU_GET_PARAM, &gp) == -ENODEV, "ioctls fail with ENODEV");
	CHECK(((volatile uint32_t *)f.data.map)[0] == 0, "the CPU mapping stays readable");
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "basic";
	const char *path = argc > 2 ? argv[2] : "/dev/accel/accel0";
	const char *qdev = argc > 3 ? argv[3] : "knpu0";

	printf("TAP version 13\n# knpu-smoke %s on %s\n", mode, path);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		printf("Bail out! open %s: %s\n", path, strerror(errno));
		return 1;
	}

	if (!strcmp(mode, "basic"))
		test_basic();
	else if (!strcmp(mode, "hang"))
		test_hang();
	else if (!strcmp(mode, "stress"))
		test_stress(path);
	else if (!strcmp(mode, "faults"))
		test_faults(qdev);
	else if (!strcmp(mode, "recovery"))
		test_recovery(path);
	else if (!strcmp(mode, "surprise"))
		test_surprise(path, qdev);
	else if (!strcmp(mode, "unplug"))
		test_unplug(path);
	else
		printf("Bail out! unknown mode %s\n", mode);

	printf("1..%d\n", count);
	printf("%d passed, %d failed\n", count - failures, failures);
	close(fd);
	return failures || !count ? 1 : 0;
}
