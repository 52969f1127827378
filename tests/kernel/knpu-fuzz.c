// SPDX-License-Identifier: GPL-2.0-only
/*
 * knpu-fuzz: an ioctl fuzzer that knows knpu's uapi (uapi/drm/knpu_accel.h),
 * run in the guest against knpu.ko and the device model.
 *
 *   knpu-fuzz [--seed S] [--calls N] [--threads T] [--procs P] [--files F]
 *             [--node /dev/accel/accel0]
 *
 * Each call builds a valid request (a buffer of a useful size, a submission
 * of a generated program with its buffers and fences, a wait on a seqno that
 * exists) and then, often, breaks it field by field: a word of the struct
 * becomes 0, ~0, a boundary, a random number or a handle of another file.
 * Handles come from every open file, so files see each other's GEM handles,
 * syncobjs and queue ids. Threads share the files and one of them now and
 * then closes a file and opens it again while the others submit on it.
 * Fences form random graphs: jobs wait on syncobjs (binary and timeline
 * points) and sync_files of other queues and files, syncobjs are signalled,
 * reset, transferred and exported by hand. Programs are valid-ish instruction
 * streams of every opcode (DMA, control, compute), with operands that are
 * mostly in range and sometimes not, over argument tables that point at this
 * file's buffers, at other files' VAs and at nothing.
 *
 * Afterwards the device must still run a job on a new file: a DMA_FILL whose
 * bytes are checked. The harness fails the run on any kernel splat.
 *
 * Reproducible: the seed is printed; worker t of process p draws from
 * seed + 1000 * p + t, so `--threads 1 --procs 1` replays a run call by call
 * (with more threads the order in which calls interleave is up to the
 * scheduler). Exit status: 0 when the device still works, 1 otherwise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "drm/knpu_accel.h"
#include "knpu-op-shapes.h"

#define MAX_FILES	8
#define MAX_BOS		32
#define MAX_QUEUES	4
#define MAX_SYNCOBJS	16
#define MAX_FENCE_FDS	8
#define PAGE		4096u
/* The per-file kit: a program buffer with a page per worker, an argument table, data. */
#define KIT_PROG_PAGES	16
#define KIT_DATA_SIZE	(64 * 1024)
#define KIT_SLOTS	16

struct rng {
	uint64_t s;
};

/* splitmix64: small, fast and good enough to pick fuzz values. */
static uint64_t rnd(struct rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint32_t below(struct rng *r, uint32_t n)
{
	return n ? (uint32_t)(rnd(r) % n) : 0;
}

/* true with probability 1/n */
static int one_in(struct rng *r, uint32_t n)
{
	return below(r, n) == 0;
}

struct bo_rec {
	uint32_t handle;
	uint32_t flags;
	uint64_t va, size;
};

struct kit {
	uint32_t prog, args, data, data2;	/* GEM handles */
	uint64_t prog_va, args_va, data_va, data2_va;
	uint32_t *prog_map;
	uint64_t *args_map;
};

/*
 * One open file of the device. @lock protects the bookkeeping (pools, fd,
 * kit pointers) and is held for reading while a worker writes into the kit's
 * mappings; the ioctls themselves run without it so that they race closes.
 */
struct file_rec {
	pthread_rwlock_t lock;
	int fd;
	struct kit kit;
	struct bo_rec bos[MAX_BOS];
	int nbos;
	uint32_t queues[MAX_QUEUES];
	uint64_t seqnos[MAX_QUEUES];
	int nqueues;
	uint32_t syncobjs[MAX_SYNCOBJS];
	uint64_t points[MAX_SYNCOBJS];
	int nsyncobjs;
};

static const char *node = "/dev/accel/accel0";
static struct file_rec files[MAX_FILES];
static int nfiles = 4;
static int nthreads = 4;
static uint64_t ncalls = 100000;
static uint64_t va_start, va_size;

enum action {
	A_GET_PARAM, A_BO_CREATE, A_BO_INFO, A_BO_USERPTR, A_GEM_CLOSE, A_MMAP,
	A_QUEUE_CREATE, A_QUEUE_DESTROY, A_SUBMIT, A_WAIT, A_QUEUE_STATUS,
	A_SYNCOBJ, A_PRIME, A_RAW, A_SUBMIT_BATCH, A_REOPEN, A_COUNT
};

static const char *const action_names[A_COUNT] = {
	"get_param", "bo_create", "bo_info", "bo_userptr", "gem_close", "mmap",
	"queue_create", "queue_destroy", "submit", "wait", "queue_status",
	"syncobj", "prime", "raw", "submit_batch", "reopen",
};

/* Relative frequency of each action; submits dominate. */
static const uint32_t action_weight[A_COUNT] = {
	[A_GET_PARAM] = 4, [A_BO_CREATE] = 6, [A_BO_INFO] = 4, [A_BO_USERPTR] = 2,
	[A_GEM_CLOSE] = 4, [A_MMAP] = 3, [A_QUEUE_CREATE] = 3, [A_QUEUE_DESTROY] = 1,
	[A_SUBMIT] = 30, [A_WAIT] = 10, [A_QUEUE_STATUS] = 4, [A_SYNCOBJ] = 12,
	[A_PRIME] = 3, [A_RAW] = 4, [A_SUBMIT_BATCH] = 6,
	[A_REOPEN] = 0 /* by count, see worker() */,
};

/* Counters, in memory shared by the fuzzing processes. */
struct stats {
	atomic_uint_fast64_t calls, accepted_submits, jobs_ok, jobs_failed, reopens;
	atomic_uint_fast64_t actions[A_COUNT];
};

static struct stats *stats;

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/*
 * A deadline at most 10 ms away: a broken timeout field could otherwise ask
 * for an endless wait (WAIT_FOR_SUBMIT on a syncobj nobody submits to),
 * which blocks the fuzzer, not the kernel.
 */
static void sane_deadline(__s64 *deadline)
{
	__s64 latest = now_ns() + 10000000;

	if (*deadline > latest)
		*deadline = latest;
}

/* One counted system call on the device or one of its objects. */
static int call(int fd, unsigned long req, void *arg)
{
	int ret;

	atomic_fetch_add_explicit(&stats->calls, 1, memory_order_relaxed);
	ret = ioctl(fd, req, arg);
	return ret == -1 ? -errno : ret;
}

/* Values that break things: boundaries of every field width. */
static uint64_t interesting(struct rng *r)
{
	static const uint64_t v[] = {
		0, 1, 2, 3, 4, 7, 8, 63, 64, 255, 256, 4095, 4096, 4097, 65535, 65536,
		1u << 20, (1u << 20) + 4, 0x7fffffff, 0x80000000, 0xfffffff8, 0xffffffff,
		0x100000000ULL, 1ULL << 39, 1ULL << 47, 1ULL << 48, 1ULL << 63,
		0x7fffffffffffffffULL, ~0ULL, ~0ULL - 7,
	};

	return v[below(r, sizeof(v) / sizeof(v[0]))];
}

static uint32_t any_handle(struct rng *r);

/*
 * Breaks a valid struct: up to three of its 32-bit words get a boundary, a
 * random number, a small number or a handle of some file. Half the calls go
 * through unchanged.
 */
static void mutate(struct rng *r, void *s, size_t size)
{
	uint32_t *w = s;
	size_t words = size / 4;
	int n;

	if (one_in(r, 2))
		return;
	for (n = 1 + below(r, 3); n > 0; n--) {
		size_t i = below(r, words);

		switch (below(r, 5)) {
		case 0:
			w[i] = (uint32_t)interesting(r);
			break;
		case 1:
			w[i] = (uint32_t)rnd(r);
			break;
		case 2:
			w[i] = below(r, 64);
			break;
		case 3:
			w[i] = any_handle(r);
			break;
		default:	/* a 64-bit field, when aligned */
			if ((i & 1) == 0 && i + 1 < words) {
				uint64_t v = interesting(r);

				memcpy(&w[i], &v, 8);
			} else {
				w[i] ^= 1u << below(r, 32);
			}
			break;
		}
	}
}

static struct file_rec *pick_file(struct rng *r)
{
	return &files[below(r, nfiles)];
}

static int file_fd(struct file_rec *f)
{
	int fd;

	pthread_rwlock_rdlock(&f->lock);
	fd = f->fd;
	pthread_rwlock_unlock(&f->lock);
	return fd;
}

/* A GEM handle, syncobj or queue id of any file, or a number near them. */
static uint32_t any_handle(struct rng *r)
{
	struct file_rec *f = pick_file(r);
	uint32_t h = below(r, 40);

	pthread_rwlock_rdlock(&f->lock);
	switch (below(r, 3)) {
	case 0:
		if (f->nbos)
			h = f->bos[below(r, f->nbos)].handle;
		break;
	case 1:
		if (f->nsyncobjs)
			h = f->syncobjs[below(r, f->nsyncobjs)];
		break;
	default:
		if (f->nqueues)
			h = f->queues[below(r, f->nqueues)];
		break;
	}
	pthread_rwlock_unlock(&f->lock);
	return h;
}

/* ---- the kit: buffers every submission can use ---------------------------- */

static int bo_create(int fd, uint64_t size, uint32_t flags, uint32_t *handle, uint64_t *va)
{
	struct drm_knpu_bo_create c = { .size = size, .flags = flags };
	int ret = call(fd, DRM_IOCTL_KNPU_BO_CREATE, &c);

	*handle = c.handle;
	*va = c.va;
	return ret;
}

static void *bo_map(int fd, uint32_t handle, uint64_t size)
{
	struct drm_knpu_bo_info i = { .handle = handle };
	void *p;

	if (call(fd, DRM_IOCTL_KNPU_BO_INFO, &i))
		return NULL;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, i.mmap_offset);
	return p == MAP_FAILED ? NULL : p;
}

static int kit_init(int fd, struct kit *k)
{
	memset(k, 0, sizeof(*k));
	if (bo_create(fd, KIT_PROG_PAGES * PAGE, 0, &k->prog, &k->prog_va) ||
	    bo_create(fd, PAGE, 0, &k->args, &k->args_va) ||
	    bo_create(fd, KIT_DATA_SIZE, 0, &k->data, &k->data_va) ||
	    bo_create(fd, KIT_DATA_SIZE, KNPU_BO_DEV_READONLY, &k->data2, &k->data2_va))
		return -1;
	k->prog_map = bo_map(fd, k->prog, KIT_PROG_PAGES * PAGE);
	k->args_map = bo_map(fd, k->args, PAGE);
	return k->prog_map && k->args_map ? 0 : -1;
}

static void kit_unmap(struct kit *k)
{
	if (k->prog_map)
		munmap(k->prog_map, KIT_PROG_PAGES * PAGE);
	if (k->args_map)
		munmap(k->args_map, PAGE);
}

static int file_open(struct file_rec *f)
{
	int fd = open(node, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	f->fd = fd;
	f->nbos = 0;
	f->nqueues = 0;
	f->nsyncobjs = 0;
	if (kit_init(fd, &f->kit)) {
		fprintf(stderr, "knpu-fuzz: cannot set up a file's buffers\n");
		return -ENOMEM;
	}
	return 0;
}

/*
 * Closes a file and opens it again, while other workers may be inside an
 * ioctl on it: the kernel keeps the file until they return, then releases
 * its queues, jobs, buffers and address space.
 */
static void file_reopen(struct file_rec *f)
{
	struct kit old;
	int old_fd;

	pthread_rwlock_wrlock(&f->lock);
	old = f->kit;
	old_fd = f->fd;
	if (file_open(f)) {
		f->fd = old_fd;
		f->kit = old;
		pthread_rwlock_unlock(&f->lock);
		return;
	}
	pthread_rwlock_unlock(&f->lock);
	atomic_fetch_add_explicit(&stats->calls, 1, memory_order_relaxed);
	close(old_fd);
	kit_unmap(&old);
	atomic_fetch_add(&stats->reopens, 1);
}

/* ---- pools ------------------------------------------------------------------ */

static void pool_add_bo(struct file_rec *f, int fd, uint32_t handle, uint64_t va, uint64_t size,
			uint32_t flags)
{
	struct drm_gem_close gc = { 0 };

	pthread_rwlock_wrlock(&f->lock);
	if (f->fd == fd && f->nbos < MAX_BOS) {
		f->bos[f->nbos++] = (struct bo_rec){ handle, flags, va, size };
		handle = 0;
	}
	pthread_rwlock_unlock(&f->lock);
	if (handle) {	/* no room (or the file was reopened): do not leak it */
		gc.handle = handle;
		call(fd, DRM_IOCTL_GEM_CLOSE, &gc);
	}
}

static void pool_add_queue(struct file_rec *f, int fd, uint32_t id)
{
	struct drm_knpu_queue_destroy d = { .queue_id = id };

	pthread_rwlock_wrlock(&f->lock);
	if (f->fd == fd && f->nqueues < MAX_QUEUES) {
		f->seqnos[f->nqueues] = 0;
		f->queues[f->nqueues++] = id;
		id = 0;
	}
	pthread_rwlock_unlock(&f->lock);
	if (id)
		call(fd, DRM_IOCTL_KNPU_QUEUE_DESTROY, &d);
}

static void pool_add_syncobj(struct file_rec *f, int fd, uint32_t handle)
{
	struct drm_syncobj_destroy d = { .handle = handle };

	pthread_rwlock_wrlock(&f->lock);
	if (f->fd == fd && f->nsyncobjs < MAX_SYNCOBJS) {
		f->points[f->nsyncobjs] = 0;
		f->syncobjs[f->nsyncobjs++] = handle;
		handle = 0;
	}
	pthread_rwlock_unlock(&f->lock);
	if (handle)
		call(fd, DRM_IOCTL_SYNCOBJ_DESTROY, &d);
}

/* Removes entry @i of an array of @n elements of @size bytes by moving the last into it. */
static void remove_at(void *array, int *n, int i, size_t size)
{
	char *a = array;

	(*n)--;
	if (i != *n)
		memcpy(a + i * size, a + *n * size, size);
}

/* ---- programs --------------------------------------------------------------- */

/*
 * The generator follows each opcode's operand kinds (knpu-op-shapes.h) most of
 * the time, so that the device's checks further in are reached.
 */
static uint32_t pick_dtype(struct rng *r, uint8_t mask)
{
	int tries;

	if (one_in(r, 32))
		return below(r, 256);
	for (tries = 0; tries < 8; tries++) {
		uint32_t d = below(r, 6);

		if (mask & (1u << d))
			return d;
	}
	return 0;
}

/* A value operand: mostly a small count or stride so compute stays cheap. */
static uint32_t small_value(struct rng *r)
{
	if (one_in(r, 16))
		return (uint32_t)interesting(r);
	if (one_in(r, 8))
		return 0;
	return 1 + below(r, one_in(r, 4) ? 64 : 8);
}

static uint32_t float_bits(struct rng *r)
{
	static const uint32_t v[] = {
		0x3f800000 /* 1.0 */, 0x3c23d70a /* 0.01 */, 0x00000000, 0x7f800000 /* inf */,
		0x7fc00000 /* nan */, 0xbf800000 /* -1.0 */, 0x3a83126f /* 0.001 */,
	};

	return one_in(r, 8) ? (uint32_t)rnd(r) : v[below(r, sizeof(v) / sizeof(v[0]))];
}

/*
 * Appends one instruction at @p (room for @room words); returns the words
 * written. @nslots is the number of argument slots the job passes.
 */
static unsigned int gen_instruction(struct rng *r, uint32_t *p, unsigned int room,
				    unsigned int nslots)
{
	const struct op_shape *s = &shapes[below(r, NSHAPES)];
	unsigned int nops = strlen(s->operands), i;
	uint32_t opcode = s->opcode, flags, argmask = 0;

	if (one_in(r, 64))
		opcode = below(r, 64);	/* defined or not */
	if (one_in(r, 64))
		nops = below(r, 24);
	if (3 + nops > room)
		return 0;
	flags = s->flags_mask ? (uint32_t)rnd(r) & s->flags_mask : 0;
	if (opcode == 0x10 || opcode == 0x11) {
		/* ACT: mostly defined values (0-8, v1.5), sometimes 9 */
		flags &= ~0xf0u;
		flags |= below(r, 10) << 4;
	}
	if (one_in(r, 64))
		flags = (uint32_t)rnd(r);
	for (i = 0; i < nops; i++) {
		char kind = i < strlen(s->operands) ? s->operands[i] : 'V';
		uint32_t v;

		switch (kind) {
		case 'A':
			argmask |= 1u << i;
			v = one_in(r, 32) ? nslots + below(r, 4) : below(r, nslots);
			break;
		case 'O':	/* bias: an argument with the BIAS flag, else 0 */
			if (flags & 4) {
				argmask |= 1u << i;
				v = below(r, nslots);
			} else {
				v = 0;
			}
			break;
		case 'S':
			if (flags & 0x200) {
				argmask |= 1u << i;
				v = below(r, nslots);
			} else {
				v = float_bits(r);
			}
			break;
		case 'F':
			v = float_bits(r);
			break;
		default:
			if (one_in(r, 8)) {	/* a value from a scalar slot */
				argmask |= 1u << i;
				v = below(r, nslots);
			} else {
				v = small_value(r);
			}
			break;
		}
		p[3 + i] = v;
	}
	/*
	 * Mostly a SEM_WAIT for 0, which ends at once; one in 64 waits for a
	 * value that may never come and holds its queue until the job timeout.
	 */
	if (opcode == 0x0a && nops == 2 && !one_in(r, 64)) {
		p[3 + 1] = 0;
		argmask &= ~2u;
	}
	if (one_in(r, 64))
		argmask = (uint32_t)rnd(r);
	p[0] = opcode | pick_dtype(r, s->dtype_mask) << 8 | nops << 16;
	if (one_in(r, 128))
		p[0] |= 1u << (24 + below(r, 8));	/* reserved bits */
	p[1] = flags;
	p[2] = argmask;
	return 3 + nops;
}

/* The VA an argument slot holds: a kit buffer, a pooled one, another file's, or junk. */
static uint64_t slot_value(struct rng *r, struct file_rec *f)
{
	struct file_rec *other;
	uint64_t v = 0;

	switch (below(r, 10)) {
	case 0: case 1: case 2:
		return f->kit.data_va + (below(r, KIT_DATA_SIZE / 64) * 64 & ~(uint64_t)63);
	case 3:
		return f->kit.data2_va;
	case 4:
		if (f->nbos)
			return f->bos[below(r, f->nbos)].va;
		return f->kit.data_va;
	case 5:	/* an address of another file's space: must not reach its memory */
		other = pick_file(r);
		if (other != f && !pthread_rwlock_tryrdlock(&other->lock)) {
			v = other->nbos ? other->bos[below(r, other->nbos)].va : other->kit.data_va;
			pthread_rwlock_unlock(&other->lock);
		}
		return v;
	case 6:
		return va_start + (rnd(r) % (va_size ? va_size : 1) & ~(uint64_t)(PAGE - 1));
	case 7:
		return interesting(r);
	default:	/* a scalar */
		return small_value(r);
	}
}

/* ---- actions ---------------------------------------------------------------- */

static void do_get_param(struct rng *r)
{
	struct drm_knpu_get_param a = { .param = below(r, 20) };

	mutate(r, &a, sizeof(a));
	call(file_fd(pick_file(r)), DRM_IOCTL_KNPU_GET_PARAM, &a);
}

static uint64_t bo_size(struct rng *r)
{
	switch (below(r, 8)) {
	case 0:
		return interesting(r);
	case 1:
		return 1 + below(r, 1u << 20);
	case 2:
		return (1 + below(r, 4)) * 1024 * 1024ULL;
	default:
		return 1 + below(r, 4 * PAGE);
	}
}

static void do_bo_create(struct rng *r)
{
	struct file_rec *f = pick_file(r);
	struct drm_knpu_bo_create c = { .size = bo_size(r) };
	int fd = file_fd(f);

	if (one_in(r, 4))
		c.flags |= KNPU_BO_DEVMEM;
	if (one_in(r, 4))
		c.flags |= KNPU_BO_DEV_READONLY;
	mutate(r, &c, sizeof(c));
	if (call(fd, DRM_IOCTL_KNPU_BO_CREATE, &c))
		return;
	if (c.size <= 1024 * 1024) {
		pool_add_bo(f, fd, c.handle, c.va, c.size, c.flags);
	} else {
		/* Large buffers are freed at once: the pool's memory stays bounded. */
		struct drm_gem_close gc = { .handle = c.handle };

		call(fd, DRM_IOCTL_GEM_CLOSE, &gc);
	}
}

static void do_bo_info(struct rng *r)
{
	struct drm_knpu_bo_info i = { .handle = any_handle(r) };

	mutate(r, &i, sizeof(i));
	call(file_fd(pick_file(r)), DRM_IOCTL_KNPU_BO_INFO, &i);
}

/*
 * Process memory wrapped in a buffer; the mapping is often gone again before
 * the buffer is (the pinned pages must stay valid for the device).
 */
static void do_bo_userptr(struct rng *r)
{
	struct file_rec *f = pick_file(r);
	size_t len = (1 + below(r, 4)) * PAGE;
	int prot = one_in(r, 4) ? PROT_READ : PROT_READ | PROT_WRITE;
	struct drm_knpu_bo_userptr u = { .size = len };
	void *mem = mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int fd = file_fd(f);

	if (mem == MAP_FAILED)
		return;
	u.user_ptr = (uintptr_t)mem;
	if (one_in(r, 3))
		u.flags = KNPU_BO_DEV_READONLY;
	mutate(r, &u, sizeof(u));
	if (call(fd, DRM_IOCTL_KNPU_BO_USERPTR, &u) == 0)
		pool_add_bo(f, fd, u.handle, u.va, u.size, u.flags);
	munmap(mem, len);
}

static void do_gem_close(struct rng *r)
{
	struct file_rec *f = pick_file(r);
	struct drm_gem_close gc = { .handle = any_handle(r) };
	int fd, i;

	pthread_rwlock_wrlock(&f->lock);
	fd = f->fd;
	if (f->nbos && !one_in(r, 4)) {
		i = below(r, f->nbos);
		gc.handle = f->bos[i].handle;
		remove_at(f->bos, &f->nbos, i, sizeof(f->bos[0]));
	}
	pthread_rwlock_unlock(&f->lock);
	call(fd, DRM_IOCTL_GEM_CLOSE, &gc);
}

/*
 * mmap a buffer through the offset BO_INFO returns, sometimes on another
 * file than the one that owns it (which must fail), and touch it.
 */
static void do_mmap(struct rng *r)
{
	struct drm_knpu_bo_info i = { .handle = any_handle(r) };
	struct file_rec *owner = pick_file(r), *mapper = one_in(r, 3) ? pick_file(r) : owner;
	int fd = file_fd(owner);
	size_t len;

	void *p;

	if (call(fd, DRM_IOCTL_KNPU_BO_INFO, &i))
		return;
	len = one_in(r, 8) ? i.size + PAGE : i.size;
	if (one_in(r, 8))
		i.mmap_offset += PAGE * below(r, 4);
	atomic_fetch_add_explicit(&stats->calls, 1, memory_order_relaxed);
	/*
	 * Through another file this fails, unless that file imported the same
	 * buffer (tests/guest/isolation_test.cpp checks the rule itself).
	 */
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, file_fd(mapper),
		 (off_t)i.mmap_offset);
	if (p == MAP_FAILED)
		return;
	/* Only the first page: a longer mapping than the buffer must not have been granted. */
	((volatile uint32_t *)p)[0] ^= 0;
	munmap(p, len);
}

static void do_queue_create(struct rng *r)
{
	struct file_rec *f = pick_file(r);
	struct drm_knpu_queue_create c = { .priority = below(r, 4) };
	int fd = file_fd(f);

	mutate(r, &c, sizeof(c));
	if (call(fd, DRM_IOCTL_KNPU_QUEUE_CREATE, &c) == 0)
		pool_add_queue(f, fd, c.queue_id);
}

static void do_queue_destroy(struct rng *r)
{
	struct file_rec *f = pick_file(r);
	struct drm_knpu_queue_destroy d = { .queue_id = any_handle(r) };
	int fd, i;

	pthread_rwlock_wrlock(&f->lock);
	fd = f->fd;
	if (f->nqueues && !one_in(r, 4)) {
		i = below(r, f->nqueues);
		d.queue_id = f->queues[i];
		f->nqueues--;
		f->queues[i] = f->queues[f->nqueues];
		f->seqnos[i] = f->seqnos[f->nqueues];
	}
	pthread_rwlock_unlock(&f->lock);
	mutate(r, &d, sizeof(d));
	call(fd, DRM_IOCTL_KNPU_QUEUE_DESTROY, &d);
}

/* sync_files from earlier submissions of this worker: in-fences of later ones. */
struct worker {
	int id;
	struct rng rng;
	int fence_fds[MAX_FENCE_FDS];
	int nfence_fds;
};

static void keep_fence_fd(struct worker *w, int fd)
{
	if (w->nfence_fds == MAX_FENCE_FDS) {
		int i = below(&w->rng, MAX_FENCE_FDS);

		close(w->fence_fds[i]);
		w->fence_fds[i] = fd;
		return;
	}
	w->fence_fds[w->nfence_fds++] = fd;
}

static int pick_fence_fd(struct worker *w)
{
	return w->nfence_fds ? w->fence_fds[below(&w->rng, w->nfence_fds)] : -1;
}

/*
 * A syncobj of @f (or @foreign, a handle of any file) with a timeline point
 * that may or may not exist. Called with @f's lock held for writing.
 */
static struct drm_knpu_sync pick_sync(struct rng *r, struct file_rec *f, int out,
				      uint32_t foreign)
{
	struct drm_knpu_sync s = { .handle = foreign };
	int i;

	if (f->nsyncobjs && !one_in(r, 8)) {
		i = below(r, f->nsyncobjs);
		s.handle = f->syncobjs[i];
		if (one_in(r, 2)) {
			/* a timeline point: the next one for an out-sync, a past one for an in-sync */
			if (out)
				s.point = ++f->points[i];
			else
				s.point = f->points[i] ? 1 + below(r, f->points[i]) : 1;
		}
	}
	return s;
}

/* A submission and the arrays it points to. */
struct submit_req {
	struct drm_knpu_submit s;
	struct drm_knpu_sync ins[4], outs[4];
	uint32_t handles[12];
};

/*
 * A submission on @f: a generated program in this worker's page of the kit,
 * an argument table, the kit's buffers plus some pooled ones (of any file),
 * in- and out-syncobjs and sync_files; then the struct is broken field by
 * field half of the time. Returns the file's fd, or -1 when @f had no queue
 * (one is created instead).
 */
static int make_submit(struct worker *w, struct file_rec *f, struct submit_req *q)
{
	struct rng *r = &w->rng;
	struct drm_knpu_submit *s = &q->s;
	uint32_t foreign[8];
	unsigned int nslots = 1 + below(r, KIT_SLOTS), words = 0, room, i, qi;
	uint32_t *code;
	int fd;

	memset(q, 0, sizeof(*q));
	/* Handles of any file, drawn before @f's lock is taken (any_handle() locks). */
	for (i = 0; i < 8; i++)
		foreign[i] = any_handle(r);
	pthread_rwlock_wrlock(&f->lock);
	fd = f->fd;
	if (!f->nqueues) {
		pthread_rwlock_unlock(&f->lock);
		do_queue_create(r);
		return -1;
	}
	qi = below(r, f->nqueues);
	s->queue_id = f->queues[qi];
	/* The program: a few instructions, in the worker's own page. */
	code = f->kit.prog_map + (w->id % KIT_PROG_PAGES) * (PAGE / 4);
	room = PAGE / 4;
	for (i = 1 + below(r, 6); i > 0; i--) {
		unsigned int n = gen_instruction(r, code + words, room - words, nslots);

		if (!n)
			break;
		words += n;
	}
	if (!words) {
		code[0] = 0;	/* NOP */
		code[1] = 0;
		code[2] = 0;
		words = 3;
	}
	/* The argument table: in the worker's own 256 bytes of the args page. */
	for (i = 0; i < nslots; i++)
		f->kit.args_map[(w->id % KIT_SLOTS) * KIT_SLOTS + i] = slot_value(r, f);
	s->program_va = f->kit.prog_va + (w->id % KIT_PROG_PAGES) * PAGE;
	s->program_size = words * 4;
	s->args_va = f->kit.args_va + (w->id % KIT_SLOTS) * KIT_SLOTS * 8;
	s->args_size = nslots * 8;
	q->handles[0] = f->kit.prog;
	q->handles[1] = f->kit.args;
	q->handles[2] = f->kit.data;
	q->handles[3] = f->kit.data2;
	s->bo_count = 4;
	while (s->bo_count < 12 && one_in(r, 2)) {
		q->handles[s->bo_count] = f->nbos && !one_in(r, 8) ?
			f->bos[below(r, f->nbos)].handle : foreign[s->bo_count - 4];
		s->bo_count++;
	}
	s->bo_handles = (uintptr_t)q->handles;
	while (s->in_sync_count < 4 && one_in(r, 3)) {
		q->ins[s->in_sync_count] = pick_sync(r, f, 0, foreign[s->in_sync_count]);
		s->in_sync_count++;
	}
	while (s->out_sync_count < 4 && one_in(r, 3)) {
		q->outs[s->out_sync_count] = pick_sync(r, f, 1, foreign[4 + s->out_sync_count]);
		s->out_sync_count++;
	}
	pthread_rwlock_unlock(&f->lock);
	s->in_syncs = (uintptr_t)q->ins;
	s->out_syncs = (uintptr_t)q->outs;
	if (one_in(r, 4) && w->nfence_fds) {
		s->flags |= KNPU_SUBMIT_FENCE_FD_IN;
		s->fence_fd = pick_fence_fd(w);
	}
	if (one_in(r, 4))
		s->flags |= KNPU_SUBMIT_FENCE_FD_OUT;
	if (one_in(r, 64))
		s->program_size = (uint32_t)interesting(r);
	mutate(r, s, sizeof(*s));
	return fd;
}

/*
 * Bookkeeping after submission @s on @f (file descriptor @fd) returned @ret:
 * a banned queue is replaced; an accepted job's fence fd is kept and its
 * seqno becomes one to wait for.
 */
static void note_submit(struct worker *w, struct file_rec *f, int fd,
			const struct drm_knpu_submit *s, int ret)
{
	unsigned int i;

	if (ret == -ECANCELED) {
		/* The queue is banned by an earlier failed job: replace it. */
		struct drm_knpu_queue_destroy d = { .queue_id = s->queue_id };

		pthread_rwlock_wrlock(&f->lock);
		for (i = 0; f->fd == fd && i < (unsigned int)f->nqueues; i++) {
			if (f->queues[i] == s->queue_id) {
				f->nqueues--;
				f->queues[i] = f->queues[f->nqueues];
				f->seqnos[i] = f->seqnos[f->nqueues];
				break;
			}
		}
		pthread_rwlock_unlock(&f->lock);
		call(fd, DRM_IOCTL_KNPU_QUEUE_DESTROY, &d);
		return;
	}
	if (ret)
		return;
	atomic_fetch_add(&stats->accepted_submits, 1);
	if (s->flags & KNPU_SUBMIT_FENCE_FD_OUT && s->fence_fd > 2)
		keep_fence_fd(w, s->fence_fd);
	pthread_rwlock_wrlock(&f->lock);
	for (i = 0; f->fd == fd && i < (unsigned int)f->nqueues; i++)
		if (f->queues[i] == s->queue_id && s->seqno > f->seqnos[i])
			f->seqnos[i] = s->seqno;
	pthread_rwlock_unlock(&f->lock);
}

static void do_submit(struct worker *w)
{
	struct file_rec *f = pick_file(&w->rng);
	struct submit_req q;
	int fd = make_submit(w, f, &q);

	if (fd >= 0)
		note_submit(w, f, fd, &q.s, call(fd, DRM_IOCTL_KNPU_SUBMIT, &q.s));
}

#define BATCH_MAX	8
/* A wider entry, as a newer userspace's drm_knpu_submit would be. */
#define BATCH_WIDE	(sizeof(struct drm_knpu_submit) + 16)

/*
 * A SUBMIT_BATCH of up to BATCH_MAX submissions as do_submit() makes them,
 * at the struct's own stride or a wider one (its tail zero, or now and then
 * not), its header broken now and then; then each submitted entry and the
 * failing one are accounted for as do_submit() does.
 */
static void do_submit_batch(struct worker *w)
{
	struct rng *r = &w->rng;
	struct file_rec *f = pick_file(r);
	struct submit_req reqs[BATCH_MAX];
	unsigned char entries[BATCH_MAX * BATCH_WIDE] = { 0 };
	struct drm_knpu_submit_batch b = { .submits = (uintptr_t)entries };
	struct drm_knpu_submit s;
	unsigned int n = 1 + below(r, BATCH_MAX), i;
	int fd = -1, ret;

	b.stride = one_in(r, 4) ? BATCH_WIDE : sizeof(struct drm_knpu_submit);
	for (i = 0; i < n; i++) {
		fd = make_submit(w, f, &reqs[i]);
		if (fd < 0)
			return;
		memcpy(entries + i * b.stride, &reqs[i].s, sizeof(reqs[i].s));
	}
	if (b.stride == BATCH_WIDE && one_in(r, 8))
		entries[below(r, n) * b.stride + sizeof(s) + below(r, 16)] = 1;
	b.count = n;
	switch (below(r, 16)) {
	case 0: b.count = (uint32_t)interesting(r); break;
	case 1: b.stride = (uint32_t)interesting(r); break;
	case 2: b.pad = (uint32_t)rnd(r); break;
	case 3: b.submits = interesting(r); break;
	default: break;
	}
	ret = call(fd, DRM_IOCTL_KNPU_SUBMIT_BATCH, &b);
	if (b.count > n || b.stride < sizeof(s) || b.stride > BATCH_WIDE ||
	    b.submits != (uintptr_t)entries)
		return;	/* refused as a whole, nothing went in */
	for (i = 0; i < b.submitted && i < n; i++) {
		memcpy(&s, entries + i * b.stride, sizeof(s));
		note_submit(w, f, fd, &s, 0);
	}
	if (ret && i < n) {
		memcpy(&s, entries + i * b.stride, sizeof(s));
		note_submit(w, f, fd, &s, ret);
	}
}

static void do_wait(struct rng *r)
{
	struct file_rec *f = pick_file(r);
	struct drm_knpu_wait wt = { 0 };
	int fd, i, ret;

	pthread_rwlock_rdlock(&f->lock);
	fd = f->fd;
	if (f->nqueues) {
		i = below(r, f->nqueues);
		wt.queue_id = f->queues[i];
		wt.seqno = f->seqnos[i] ? 1 + below(r, f->seqnos[i]) : 1;
	}
	pthread_rwlock_unlock(&f->lock);
	/* Short deadlines: most polls, some sleeps of up to 2 ms. */
	wt.timeout_ns = one_in(r, 2) ? 0 : now_ns() + below(r, 2000000);
	mutate(r, &wt, sizeof(wt));
	sane_deadline(&wt.timeout_ns);
	ret = call(fd, DRM_IOCTL_KNPU_WAIT, &wt);
	if (ret == 0 && wt.status == KNPU_JOB_OK)
		atomic_fetch_add(&stats->jobs_ok, 1);
	else if (ret == 0)
		atomic_fetch_add(&stats->jobs_failed, 1);
}

static void do_queue_status(struct rng *r)
{
	struct file_rec *f = pick_file(r);
	struct drm_knpu_queue_status st = { .queue_id = any_handle(r) };

	mutate(r, &st, sizeof(st));
	call(file_fd(f), DRM_IOCTL_KNPU_QUEUE_STATUS, &st);
}

/*
 * The DRM core's syncobj array ioctls allocate count_handles entries with a
 * plain kmalloc: a huge count is an order-too-large WARN in the core (Debian
 * 6.12, not knpu's code; see docs/testing.md "Fuzzing"). Keep counts small.
 */
static void sane_count(uint32_t *count)
{
	if (*count > 64)
		*count %= 64;
}

/* The DRM core's syncobj ioctls on pooled syncobjs: the other half of fence graphs. */
static void do_syncobj(struct worker *w)
{
	struct rng *r = &w->rng;
	struct file_rec *f = pick_file(r);
	uint32_t h = any_handle(r), h2 = any_handle(r);
	uint64_t point = below(r, 8);
	int fd, i;

	pthread_rwlock_rdlock(&f->lock);
	fd = f->fd;
	if (f->nsyncobjs) {
		i = below(r, f->nsyncobjs);
		h = f->syncobjs[i];
		point = f->points[i] ? 1 + below(r, f->points[i] + 1) : 1;
		h2 = f->syncobjs[below(r, f->nsyncobjs)];
	}
	pthread_rwlock_unlock(&f->lock);

	switch (below(r, 10)) {
	case 0: {
		struct drm_syncobj_create c = { .flags = one_in(r, 2) ? DRM_SYNCOBJ_CREATE_SIGNALED : 0 };

		mutate(r, &c, sizeof(c));
		if (call(fd, DRM_IOCTL_SYNCOBJ_CREATE, &c) == 0)
			pool_add_syncobj(f, fd, c.handle);
		break;
	}
	case 1: {
		struct drm_syncobj_destroy d = { .handle = h };

		pthread_rwlock_wrlock(&f->lock);
		for (i = 0; f->fd == fd && i < f->nsyncobjs; i++) {
			if (f->syncobjs[i] == h) {
				f->nsyncobjs--;
				f->syncobjs[i] = f->syncobjs[f->nsyncobjs];
				f->points[i] = f->points[f->nsyncobjs];
				break;
			}
		}
		pthread_rwlock_unlock(&f->lock);
		mutate(r, &d, sizeof(d));
		call(fd, DRM_IOCTL_SYNCOBJ_DESTROY, &d);
		break;
	}
	case 2: {
		struct drm_syncobj_array a = { .handles = (uintptr_t)&h, .count_handles = 1 };

		mutate(r, &a, sizeof(a));
		sane_count(&a.count_handles);
		call(fd, one_in(r, 2) ? DRM_IOCTL_SYNCOBJ_SIGNAL : DRM_IOCTL_SYNCOBJ_RESET, &a);
		break;
	}
	case 3: {
		struct drm_syncobj_timeline_array a = {
			.handles = (uintptr_t)&h, .points = (uintptr_t)&point, .count_handles = 1,
		};

		mutate(r, &a, sizeof(a));
		sane_count(&a.count_handles);
		call(fd, one_in(r, 2) ? DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL : DRM_IOCTL_SYNCOBJ_QUERY,
		     &a);
		break;
	}
	case 4: {
		uint32_t hs[2] = { h, h2 };
		struct drm_syncobj_wait wt = {
			.handles = (uintptr_t)hs, .count_handles = 1 + below(r, 2),
			.timeout_nsec = now_ns() + below(r, 1000000),
			.flags = below(r, 4),	/* WAIT_ALL, WAIT_FOR_SUBMIT */
		};

		mutate(r, &wt, sizeof(wt));
		sane_count(&wt.count_handles);
		sane_deadline(&wt.timeout_nsec);
		call(fd, DRM_IOCTL_SYNCOBJ_WAIT, &wt);
		break;
	}
	case 5: {
		uint64_t points[2] = { point, point + 1 };
		uint32_t hs[2] = { h, h2 };
		struct drm_syncobj_timeline_wait wt = {
			.handles = (uintptr_t)hs, .points = (uintptr_t)points,
			.count_handles = 1 + below(r, 2),
			.timeout_nsec = now_ns() + below(r, 1000000), .flags = below(r, 8),
		};

		mutate(r, &wt, sizeof(wt));
		sane_count(&wt.count_handles);
		sane_deadline(&wt.timeout_nsec);
		call(fd, DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT, &wt);
		break;
	}
	case 6: {
		struct drm_syncobj_transfer t = {
			.src_handle = h, .dst_handle = h2, .src_point = point,
			.dst_point = one_in(r, 2) ? 0 : point + 1,
		};

		mutate(r, &t, sizeof(t));
		call(fd, DRM_IOCTL_SYNCOBJ_TRANSFER, &t);
		break;
	}
	case 7: {
		/* Export as a sync_file (a fence graph edge for later submits) or as a syncobj fd. */
		struct drm_syncobj_handle sh = {
			.handle = h,
			.flags = one_in(r, 2) ? DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE : 0,
		};

		mutate(r, &sh, sizeof(sh));
		if (call(fd, DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD, &sh) == 0 && sh.fd > 2)
			keep_fence_fd(w, sh.fd);
		break;
	}
	default: {
		/* Import a kept fd into a syncobj, as a sync_file or as a syncobj. */
		struct drm_syncobj_handle sh = {
			.fd = pick_fence_fd(w), .handle = one_in(r, 2) ? h : 0,
			.flags = one_in(r, 2) ? DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE : 0,
		};

		if (sh.flags && !sh.handle)
			sh.handle = h;
		mutate(r, &sh, sizeof(sh));
		if (call(fd, DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE, &sh) == 0 && !sh.flags)
			pool_add_syncobj(f, fd, sh.handle);
		break;
	}
	}
}

/* PRIME export from one file and import into another: shared buffers across files. */
static void do_prime(struct rng *r)
{
	struct file_rec *from = pick_file(r), *to = pick_file(r);
	struct drm_prime_handle ex = { .handle = any_handle(r), .flags = DRM_CLOEXEC | DRM_RDWR };
	struct drm_prime_handle im = { 0 };
	int to_fd;

	mutate(r, &ex, sizeof(ex));
	if (call(file_fd(from), DRM_IOCTL_PRIME_HANDLE_TO_FD, &ex) || ex.fd < 3)
		return;
	im.fd = ex.fd;
	to_fd = file_fd(to);
	if (call(to_fd, DRM_IOCTL_PRIME_FD_TO_HANDLE, &im) == 0 && im.handle) {
		struct drm_knpu_bo_info i = { .handle = im.handle };

		if (call(to_fd, DRM_IOCTL_KNPU_BO_INFO, &i) == 0)
			pool_add_bo(to, to_fd, im.handle, i.va, i.size, i.flags);
	}
	close(ex.fd);
}

/*
 * Raw garbage: any driver or DRM core ioctl number (and a few past the
 * driver's), in any direction and size the encoding allows, on random bytes.
 */
static void do_raw(struct rng *r)
{
	static const unsigned long core[] = {
		DRM_IOCTL_VERSION, DRM_IOCTL_GET_CAP, DRM_IOCTL_SET_CLIENT_CAP,
		DRM_IOCTL_GEM_FLINK, DRM_IOCTL_GEM_OPEN, DRM_IOCTL_GET_UNIQUE,
		DRM_IOCTL_MODE_GETRESOURCES,
	};
	uint64_t buf[32];
	unsigned long req;
	unsigned int i, size;

	for (i = 0; i < 32; i++)
		buf[i] = one_in(r, 2) ? 0 : one_in(r, 2) ? below(r, 64) : rnd(r);
	buf[0] = any_handle(r);
	if (one_in(r, 3)) {
		req = core[below(r, sizeof(core) / sizeof(core[0]))];
		if (req == DRM_IOCTL_VERSION || req == DRM_IOCTL_GET_UNIQUE)
			memset(buf, 0, sizeof(buf));	/* its pointers would be random */
	} else {
		size = one_in(r, 2) ? 8 * (1 + below(r, 8)) : below(r, 256);
		req = _IOC(below(r, 4), DRM_IOCTL_BASE, DRM_COMMAND_BASE + below(r, 16), size);
	}
	call(file_fd(pick_file(r)), req, buf);
}

static enum action pick_action(struct rng *r)
{
	static uint32_t total;
	uint32_t x;
	int a;

	if (!total)
		for (a = 0; a < A_COUNT; a++)
			total += action_weight[a];
	x = below(r, total);
	for (a = 0; a < A_COUNT; a++) {
		if (x < action_weight[a])
			return a;
		x -= action_weight[a];
	}
	return A_SUBMIT;
}

static uint64_t calls_per_worker;

static void *worker(void *arg)
{
	struct worker *w = arg;
	struct rng *r = &w->rng;
	uint64_t n;
	int i;

	for (n = 0; n < calls_per_worker; n++) {
		enum action a = pick_action(r);

		/* About once every 4000 calls a file is closed under the others' feet. */
		if (one_in(r, 4000))
			a = A_REOPEN;
		atomic_fetch_add_explicit(&stats->actions[a], 1, memory_order_relaxed);
		/* Progress, so that a slow run is told from a stuck one. */
		if (w->id == 0 && calls_per_worker >= 10 && n % (calls_per_worker / 10) == 0)
			printf("# %" PRIu64 " calls so far\n", (uint64_t)stats->calls);
		switch (a) {
		case A_GET_PARAM: do_get_param(r); break;
		case A_BO_CREATE: do_bo_create(r); break;
		case A_BO_INFO: do_bo_info(r); break;
		case A_BO_USERPTR: do_bo_userptr(r); break;
		case A_GEM_CLOSE: do_gem_close(r); break;
		case A_MMAP: do_mmap(r); break;
		case A_QUEUE_CREATE: do_queue_create(r); break;
		case A_QUEUE_DESTROY: do_queue_destroy(r); break;
		case A_SUBMIT: do_submit(w); break;
		case A_WAIT: do_wait(r); break;
		case A_QUEUE_STATUS: do_queue_status(r); break;
		case A_SYNCOBJ: do_syncobj(w); break;
		case A_PRIME: do_prime(r); break;
		case A_RAW: do_raw(r); break;
		case A_SUBMIT_BATCH: do_submit_batch(w); break;
		default: file_reopen(pick_file(r)); break;
		}
	}
	for (i = 0; i < w->nfence_fds; i++)
		close(w->fence_fds[i]);
	return NULL;
}

/* ---- the check afterwards ------------------------------------------------------ */

/*
 * A new file, a DMA_FILL job over a whole page, every byte checked: the
 * device and the driver still work after the fuzzing.
 */
static int device_still_works(void)
{
	struct drm_knpu_queue_create qc = { .priority = KNPU_QUEUE_PRIORITY_NORMAL };
	struct drm_knpu_wait wt = { 0 };
	struct drm_knpu_submit s = { 0 };
	struct kit k;
	uint32_t handles[3], *data;
	int fd = open(node, O_RDWR | O_CLOEXEC), ret, i;

	if (fd < 0 || kit_init(fd, &k) || ioctl(fd, DRM_IOCTL_KNPU_QUEUE_CREATE, &qc)) {
		printf("not ok - cannot set up the check: %s\n", strerror(errno));
		return 0;
	}
	data = bo_map(fd, k.data, KIT_DATA_SIZE);
	k.prog_map[0] = 0x02 | 3u << 16;	/* DMA_FILL dst=@0 bytes pattern */
	k.prog_map[1] = 0;
	k.prog_map[2] = 1;
	k.prog_map[3] = 0;
	k.prog_map[4] = PAGE;
	k.prog_map[5] = 0xc0ffee11;
	k.args_map[0] = k.data_va;
	handles[0] = k.prog;
	handles[1] = k.args;
	handles[2] = k.data;
	s.queue_id = qc.queue_id;
	s.program_va = k.prog_va;
	s.program_size = 24;
	s.args_va = k.args_va;
	s.args_size = 8;
	s.bo_handles = (uintptr_t)handles;
	s.bo_count = 3;
	ret = ioctl(fd, DRM_IOCTL_KNPU_SUBMIT, &s);
	wt.queue_id = qc.queue_id;
	wt.seqno = s.seqno;
	wt.timeout_ns = now_ns() + 30000000000LL;
	ret = ret ?: ioctl(fd, DRM_IOCTL_KNPU_WAIT, &wt);
	for (i = 0; !ret && data && i < (int)(PAGE / 4); i++)
		if (data[i] != 0xc0ffee11)
			break;
	if (ret || !data || wt.status != KNPU_JOB_OK || i != PAGE / 4) {
		printf("not ok - the device no longer runs a job (ret %d, status %u, error 0x%x, %d words)\n",
		       ret ? -errno : 0, wt.status, wt.error, i);
		return 0;
	}
	printf("ok - the device still runs a job: a 4 KiB DMA_FILL, every byte checked\n");
	kit_unmap(&k);
	close(fd);
	return 1;
}

static int fuzz_process(uint64_t seed, int proc)
{
	pthread_t tids[64];
	struct worker ws[64];
	int i;

	for (i = 0; i < nfiles; i++) {
		pthread_rwlock_init(&files[i].lock, NULL);
		if (file_open(&files[i])) {
			fprintf(stderr, "knpu-fuzz: cannot open %s\n", node);
			return 1;
		}
	}
	calls_per_worker = ncalls / (uint64_t)nthreads;
	for (i = 0; i < nthreads; i++) {
		ws[i] = (struct worker){ .id = proc * nthreads + i,
					 .rng = { seed + 1000ULL * proc + i } };
		pthread_create(&tids[i], NULL, worker, &ws[i]);
	}
	for (i = 0; i < nthreads; i++)
		pthread_join(tids[i], NULL);
	/* Closing the files releases every queue (waiting for its jobs), buffer and syncobj. */
	for (i = 0; i < nfiles; i++) {
		close(files[i].fd);
		kit_unmap(&files[i].kit);
	}
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: knpu-fuzz [--seed S] [--calls N] [--threads T] [--procs P] "
		"[--files F] [--node PATH]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seed", required_argument, NULL, 's' },
		{ "calls", required_argument, NULL, 'c' },
		{ "threads", required_argument, NULL, 't' },
		{ "procs", required_argument, NULL, 'p' },
		{ "files", required_argument, NULL, 'f' },
		{ "node", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t seed = (uint64_t)now_ns() ^ (uint64_t)getpid() << 32;
	int procs = 1, c, i, failed = 0, probe;
	int64_t start;
	double secs;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's': seed = strtoull(optarg, NULL, 0); break;
		case 'c': ncalls = strtoull(optarg, NULL, 0); break;
		case 't': nthreads = atoi(optarg); break;
		case 'p': procs = atoi(optarg); break;
		case 'f': nfiles = atoi(optarg); break;
		case 'n': node = optarg; break;
		default: usage();
		}
	}
	if (nthreads < 1 || nthreads > 64 || procs < 1 || procs > 64 || nfiles < 1 ||
	    nfiles > MAX_FILES || optind != argc)
		usage();
	setvbuf(stdout, NULL, _IOLBF, 0);
	stats = mmap(NULL, sizeof(*stats), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		     -1, 0);
	if (stats == MAP_FAILED)
		return 1;
	probe = open(node, O_RDWR | O_CLOEXEC);
	if (probe < 0) {
		printf("Bail out! open %s: %s\n", node, strerror(errno));
		return 1;
	}
	{
		struct drm_knpu_get_param p = { .param = KNPU_PARAM_VA_START };

		ioctl(probe, DRM_IOCTL_KNPU_GET_PARAM, &p);
		va_start = p.value;
		p.param = KNPU_PARAM_VA_SIZE;
		p.value = 0;
		ioctl(probe, DRM_IOCTL_KNPU_GET_PARAM, &p);
		va_size = p.value;
	}
	close(probe);
	printf("# knpu-fuzz --seed %" PRIu64 " --calls %" PRIu64
	       " --threads %d --procs %d --files %d --node %s\n",
	       seed, ncalls, nthreads, procs, nfiles, node);

	start = now_ns();
	ncalls /= (uint64_t)procs;
	if (procs == 1) {
		failed = fuzz_process(seed, 0);
	} else {
		pid_t pids[64];

		for (i = 0; i < procs; i++) {
			pids[i] = fork();
			if (pids[i] == 0)
				_exit(fuzz_process(seed, i));
		}
		for (i = 0; i < procs; i++) {
			int status = 0;

			waitpid(pids[i], &status, 0);
			if (!WIFEXITED(status) || WEXITSTATUS(status)) {
				printf("# process %d ended with status 0x%x\n", i, status);
				failed = 1;
			}
		}
	}
	secs = (double)(now_ns() - start) / 1e9;
	{
		uint64_t calls = stats->calls;

		printf("# %" PRIu64 " calls in %.1f s: %.0f calls/s (%d processes x %d threads, %d files each)\n",
		       calls, secs, (double)calls / secs, procs, nthreads, nfiles);
	}
	printf("# %" PRIu64 " submissions accepted, %" PRIu64 " waits saw a job done, %"
	       PRIu64 " saw it failed, %" PRIu64 " files reopened\n",
	       (uint64_t)stats->accepted_submits, (uint64_t)stats->jobs_ok,
	       (uint64_t)stats->jobs_failed, (uint64_t)stats->reopens);
	printf("#");
	for (i = 0; i < A_COUNT; i++)
		printf(" %s=%" PRIu64, action_names[i], (uint64_t)stats->actions[i]);
	printf("\n");
	if (!device_still_works())
		failed = 1;
	printf("# seed %" PRIu64 ": %s\n", seed, failed ? "FAILED" : "passed");
	return failed;
}
