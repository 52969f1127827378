// SPDX-License-Identifier: GPL-2.0-only
/*
 * knpu-soak: 8 processes x 4 queues of mixed jobs for a bounded time
 * (issue 10, section 5), through knpu.ko's raw ioctls, in the guest.
 *
 *   knpu-soak SECONDS [NODE]
 *
 * Each process repeats a round over its own 4 queues:
 *   queue 0  a batch of DMA_FILL jobs; its last job signals timeline point
 *            2r of the process's syncobj (round r)
 *   queue 1  a job that adds 1 to a semaphore (SEM_SIGNAL ADD) in a buffer
 *            queue 2's jobs use too; it signals timeline point 2r + 1
 *   queue 2  waits on both timeline points, then SEM_WAITs for the
 *            semaphore to reach r and DMA_FILLs its word
 *   queue 3  a batch of DMA_FILL jobs that waits on timeline point 2r
 * and checks: every submit's seqno is the queue's previous one + 1 and every
 * one completes OK (none lost, none twice), every result word is right, the
 * semaphore counts every round, and the client's fdinfo shows its buffers
 * (drm-total-system) at the start and the end. The device's jobs_completed
 * (sysfs) grows by exactly the number of jobs the processes accounted for. At the end: every process exited
 * cleanly, the driver's contexts and page-table pages are back to their
 * count before the soak, and this process has the files it had.
 *
 * Prints TAP; exits non-zero on a failure.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdarg.h>
#include <sys/wait.h>

#include "knpu-load.h"

#define PROCESSES	8
#define QUEUES		4

struct result {
	long rounds, jobs, bad;
	char why[200];
};

static void __attribute__((format(printf, 2, 3))) fail(struct result *r, const char *fmt, ...)
{
	va_list ap;

	r->bad++;
	if (r->why[0])
		return;
	va_start(ap, fmt);
	vsnprintf(r->why, sizeof(r->why), fmt, ap);
	va_end(ap);
}

static uint32_t syncobj_new(int fd)
{
	struct drm_syncobj_create c = { 0 };

	return xioctl(fd, DRM_IOCTL_SYNCOBJ_CREATE, &c) ? 0 : c.handle;
}

/* One job from a program at @prog_off of @b's program buffer. */
static int submit_one(int fd, struct batch *b, uint32_t prog_off, uint32_t prog_size,
		      uint32_t args_off, struct drm_knpu_sync *in, uint32_t nin,
		      struct drm_knpu_sync *out, uint64_t *seqno)
{
	struct drm_knpu_submit s = {
		.queue_id = b->queue,
		.program_va = b->prog.va + prog_off, .program_size = prog_size,
		.args_va = b->args.va + args_off, .args_size = 16,
		.bo_handles = (uintptr_t)b->handles, .bo_count = 3,
		.in_sync_count = nin, .in_syncs = (uintptr_t)in,
		.out_sync_count = out ? 1 : 0, .out_syncs = (uintptr_t)out,
	};
	int ret = xioctl(fd, DRM_IOCTL_KNPU_SUBMIT, &s);

	*seqno = s.seqno;
	return ret;
}

/* Waits for @seqno on @b's queue; it must be OK and the queue's next. */
static void account(int fd, struct batch *b, uint64_t *expected, uint64_t seqno,
		    struct result *r)
{
	struct drm_knpu_wait w;

	r->jobs++;
	if (seqno != *expected)
		fail(r, "seqno %ld where %ld was next", (long)seqno, (long)*expected);
	*expected = seqno + 1;
	if (wait_job(fd, b->queue, seqno, &w) || w.status != KNPU_JOB_OK)
		fail(r, "seqno %ld: status %u, error %u at 0x%llx, pc 0x%x", (long)seqno,
		     w.status, w.error, (unsigned long long)w.error_addr, w.error_pc);
}

/* The client's drm-total-system in fdinfo, in bytes (-1 when missing). */
static long long fdinfo_total_system(int fd)
{
	char path[64], line[128], unit[8] = "";
	unsigned long long v;
	long long bytes = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "drm-total-system: %llu %7s", &v, unit) >= 1)
			bytes = v << (!strcmp(unit, "KiB") ? 10 : !strcmp(unit, "MiB") ? 20 : 0);
	if (f)
		fclose(f);
	return bytes;
}

/* The device's count of completed jobs (sysfs jobs_completed). */
static long long jobs_completed(const char *node)
{
	char path[128];
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/class/accel/%s/device/jobs_completed",
		 strrchr(node, '/') + 1);
	f = fopen(path, "r");
	if (f && fscanf(f, "%lld", &v) != 1)
		v = -1;
	if (f)
		fclose(f);
	return v;
}

static void soak_process(const char *node, int id, int64_t until, struct result *r)
{
	int fd = open(node, O_RDWR | O_CLOEXEC);
	struct batch b[QUEUES];
	uint64_t next[QUEUES] = { 1, 1, 1, 1 };
	uint32_t tl, *p;
	struct drm_knpu_sync in[2], out;
	uint64_t *sem;

	tl = fd >= 0 ? syncobj_new(fd) : 0;
	for (int q = 0; q < QUEUES; q++) {
		uint32_t queue = fd >= 0 ? queue_new(fd) : 0;

		if (!queue || batch_init(fd, &b[q], queue) || !tl) {
			fail(r, "process %d: setup of queue %d failed", id, q);
			_exit(1);
		}
	}
	/*
	 * The semaphore lives in the second half of queue 2's data page, which
	 * queue 1's jobs use too (one file, one address space); slot BATCH of
	 * both argument tables points at it, slot BATCH + 1 of queue 2's at
	 * the word its fill writes.
	 */
	b[1].handles[2] = b[2].data.handle;
	sem = (uint64_t *)((char *)b[2].data.map + PAGE / 2);
	((uint64_t *)b[1].args.map)[BATCH] = b[2].data.va + PAGE / 2;
	((uint64_t *)b[2].args.map)[BATCH] = b[2].data.va + PAGE / 2;
	((uint64_t *)b[2].args.map)[BATCH + 1] = b[2].data.va;
	*sem = 0;
	/* Its buffers, and only those, in fdinfo: at the start and at the end. */
	if (fdinfo_total_system(fd) != QUEUES * 3 * PAGE)
		fail(r, "fdinfo drm-total-system %lld bytes, %u expected",
		     fdinfo_total_system(fd), QUEUES * 3 * PAGE);

	for (uint64_t round = 1; now_ns() < until; round++) {
		uint32_t pattern = (uint32_t)id << 24 | (uint32_t)(round & 0xffff) << 8;
		uint64_t s0[BATCH], s3[BATCH], s1, s2;
		int ret;

		/* Queue 0: a batch, its last job signals point 2 round. */
		memset(b[0].data.map, 0, PAGE);
		p = b[0].prog.map;
		for (int j = 0; j < BATCH; j++) {
			p[8 * j] = 0x02 | 3u << 16;
			p[8 * j + 1] = 0;
			p[8 * j + 2] = 0x1;
			p[8 * j + 3] = 0;
			p[8 * j + 4] = 4;
			p[8 * j + 5] = pattern + j;
			out = (struct drm_knpu_sync){ .handle = tl, .point = 2 * round };
			ret = submit_one(fd, &b[0], 32 * j, 24, 8 * j, NULL, 0,
					 j == BATCH - 1 ? &out : NULL, &s0[j]);
			if (ret)
				fail(r, "queue 0 submit: %d (round %ld)", ret, round);
		}

		/* Queue 1: SEM_SIGNAL ADD 1, signals point 2 round + 1. */
		p = b[1].prog.map;
		p[0] = 0x09 | 2u << 16;
		p[1] = 0x1;
		p[2] = 0x1;
		p[3] = 0;
		p[4] = 1;
		out = (struct drm_knpu_sync){ .handle = tl, .point = 2 * round + 1 };
		ret = submit_one(fd, &b[1], 0, 20, 8 * BATCH, NULL, 0, &out, &s1);
		if (ret)
			fail(r, "queue 1 submit: %d (round %ld)", ret, round);

		/* Queue 2: after both points, SEM_WAIT >= round, then fill. */
		memset(b[2].data.map, 0, PAGE / 2);
		p = b[2].prog.map;
		p[0] = 0x0a | 2u << 16;
		p[1] = 0;
		p[2] = 0x1;
		p[3] = 0;
		p[4] = (uint32_t)round;
		p[5] = 0x02 | 3u << 16;
		p[6] = 0;
		p[7] = 0x1;
		p[8] = 1;
		p[9] = 4;
		p[10] = pattern | 0xee;
		in[0] = (struct drm_knpu_sync){ .handle = tl, .point = 2 * round };
		in[1] = (struct drm_knpu_sync){ .handle = tl, .point = 2 * round + 1 };
		ret = submit_one(fd, &b[2], 0, 44, 8 * BATCH, in, 2, NULL, &s2);
		if (ret)
			fail(r, "queue 2 submit: %d (round %ld)", ret, round);

		/* Queue 3: a batch behind point 2 round. */
		memset(b[3].data.map, 0, PAGE);
		p = b[3].prog.map;
		for (int j = 0; j < BATCH; j++) {
			memcpy(p + 8 * j, (uint32_t *)b[0].prog.map + 8 * j, 24);
			p[8 * j + 5] = ~(pattern + j);
			ret = submit_one(fd, &b[3], 32 * j, 24, 8 * j, in, 1, NULL, &s3[j]);
			if (ret)
				fail(r, "queue 3 submit: %d (round %ld)", ret, round);
		}

		for (int j = 0; j < BATCH; j++) {
			account(fd, &b[0], &next[0], s0[j], r);
			account(fd, &b[3], &next[3], s3[j], r);
			if (((uint32_t *)b[0].data.map)[j] != pattern + j ||
			    ((uint32_t *)b[3].data.map)[j] != ~(pattern + j))
				fail(r, "round %ld: word %d wrong", round, j);
		}
		account(fd, &b[1], &next[1], s1, r);
		account(fd, &b[2], &next[2], s2, r);
		if (*sem != round)
			fail(r, "semaphore %ld after round %ld", *sem, round);
		if (((uint32_t *)b[2].data.map)[0] != (pattern | 0xee))
			fail(r, "round %ld: the job behind the semaphore wrote 0x%x", round,
			     ((uint32_t *)b[2].data.map)[0]);
		r->rounds++;
		if (r->bad)
			break;
	}
	if (fdinfo_total_system(fd) != QUEUES * 3 * PAGE)
		fail(r, "fdinfo drm-total-system %lld bytes after the soak, %u expected",
		     fdinfo_total_system(fd), QUEUES * 3 * PAGE);
	_exit(r->bad ? 1 : 0);
}

static int open_files(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	return n;
}

int main(int argc, char **argv)
{
	int seconds = argc > 1 ? atoi(argv[1]) : 10;
	const char *node = argc > 2 ? argv[2] : "/dev/accel/accel0";
	int files0 = open_files(), contexts0, exited = 0, status;
	long pages0, rounds = 0, jobs = 0, bad = 0;
	struct result *res;
	pid_t pid[PROCESSES];
	int64_t until = now_ns() + seconds * 1000000000LL;

	long long completed0 = jobs_completed(node);

	printf("TAP version 13\n# knpu-soak %d s on %s\n", seconds, node);
	contexts(node, &contexts0, &pages0);
	res = mmap(NULL, sizeof(*res) * PROCESSES, PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (res == MAP_FAILED) {
		printf("Bail out! mmap\n");
		return 1;
	}
	memset(res, 0, sizeof(*res) * PROCESSES);
	fflush(stdout);
	for (int i = 0; i < PROCESSES; i++) {
		pid[i] = fork();
		if (!pid[i])
			soak_process(node, i, until, &res[i]);
	}
	for (int i = 0; i < PROCESSES; i++) {
		waitpid(pid[i], &status, 0);
		exited += WIFEXITED(status) && WEXITSTATUS(status) == 0;
		rounds += res[i].rounds;
		jobs += res[i].jobs;
		bad += res[i].bad;
		if (res[i].why[0])
			printf("# process %d: %s\n", i, res[i].why);
		if (WIFSIGNALED(status))
			printf("# process %d: killed by signal %d after %ld rounds\n", i,
			       WTERMSIG(status), res[i].rounds);
	}
	CHECK(exited == PROCESSES && rounds >= PROCESSES && bad == 0,
	      "%d of %d processes clean: %ld rounds, %ld jobs each accounted for once, %ld bad",
	      exited, PROCESSES, rounds, jobs, bad);
	CHECK(completed0 >= 0 && jobs_completed(node) - completed0 == jobs,
	      "the device completed %lld jobs, the processes accounted for %ld",
	      jobs_completed(node) - completed0, jobs);
	check_no_leak(node, contexts0, pages0);
	CHECK(open_files() == files0, "open files %d, as before (%d)", open_files(), files0);
	printf("1..%d\n", count);
	printf("%d passed, %d failed\n", count - failures, failures);
	return failures ? 1 : 0;
}
