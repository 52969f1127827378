// SPDX-License-Identifier: GPL-2.0-only
/*
 * knpu-fault-matrix: one device fault while 4 processes run jobs on 8 queues
 * (issue 10, section 3), through knpu.ko's raw ioctls, in the guest.
 *
 *   knpu-fault-matrix FAULT NODE QOM-ID [OTHER-NODE OTHER-QOM-ID]
 *
 * FAULT is one of
 *   hang           a job on the guilty queue never completes: it fails with
 *                  KNPU_ERR_TIMEOUT (load knpu.ko with a short job_timeout_ms)
 *   mmu            the guilty job fails with KNPU_ERR_MMU_FAULT at its program
 *   uncorrectable  device-fatal error: the driver resets the device and runs
 *                  the interrupted jobs again; every queue counts one reset
 *   flr            a function-level reset from sysfs: the same
 *   overheat       the device throttles: every job still completes
 *   surprise       OTHER-NODE falls off the bus: its job is lost
 *                  (KNPU_ERR_DEVICE_LOST or -ENODEV), the load runs on NODE
 *   reload         `rmmod knpu` is refused while files are open, the load is
 *                  unaffected; after they close, the module reloads
 *                  (KNPU_KO names the module file, KNPU_MODULE_PARAMS its
 *                  parameters)
 *   fences         not a fault of the matrix: the reproducer of an open bug,
 *                  a sync_file kept across a module reload (fence_lifetime())
 * and for each: every innocent job completes with the right result, the
 * device runs a job from a new file afterwards without a module reload, and
 * the driver's address spaces and page tables (debugfs contexts) are back to
 * where they were once the load's files are closed.
 *
 * Prints TAP; exits non-zero on a failure.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/sync_file.h>

#include "drm/knpu_accel.h"

#define WORKERS			4
#define QUEUES_PER_WORKER	2
#define BATCH			16
#define PAGE			4096u

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

static int xioctl(int fd, unsigned long req, void *arg)
{
	int ret;

	do {
		ret = ioctl(fd, req, arg);
	} while (ret == -1 && (errno == EINTR || errno == EAGAIN));
	return ret == -1 ? -errno : 0;
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

struct bo {
	uint32_t handle;
	uint64_t va;
	void *map;
};

static int bo_new(int fd, struct bo *bo, uint64_t size)
{
	struct drm_knpu_bo_create c = { .size = size };
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

static uint32_t queue_new(int fd)
{
	struct drm_knpu_queue_create q = { .priority = KNPU_QUEUE_PRIORITY_NORMAL };

	return xioctl(fd, DRM_IOCTL_KNPU_QUEUE_CREATE, &q) ? 0 : q.queue_id;
}

static uint32_t queue_resets(int fd, uint32_t q)
{
	struct drm_knpu_queue_status st = { .queue_id = q };

	return xioctl(fd, DRM_IOCTL_KNPU_QUEUE_STATUS, &st) ? ~0u : st.reset_count;
}

static int wait_job(int fd, uint32_t queue, uint64_t seqno, struct drm_knpu_wait *w)
{
	memset(w, 0, sizeof(*w));
	w->queue_id = queue;
	w->seqno = seqno;
	w->timeout_ns = now_ns() + 60000000000LL;
	return xioctl(fd, DRM_IOCTL_KNPU_WAIT, w);
}

/* Runs a QMP command on the QEMU running this guest (tests/harness). */
static int qmp(const char *fmt, const char *qdev, const char *value)
{
	const char *tool = getenv("KNPU_QMP");
	char cmd[512], buf[600];

	if (!tool)
		return -1;
	snprintf(cmd, sizeof(cmd), fmt, qdev, value);
	snprintf(buf, sizeof(buf), "%s %s >/dev/null", tool, cmd);
	return system(buf);
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

static int batch_init(int fd, struct batch *b, uint32_t queue)
{
	int ret = bo_new(fd, &b->prog, PAGE) ?: bo_new(fd, &b->args, PAGE) ?:
		  bo_new(fd, &b->data, PAGE);

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

/* A mapping holds its file open: unmapped, a closed file is released. */
static void batch_fini(struct batch *b)
{
	munmap(b->prog.map, PAGE);
	munmap(b->args.map, PAGE);
	munmap(b->data.map, PAGE);
}

/* Program j (24 bytes at prog + 32 j): DMA_FILL slot 0, 4 bytes of @pattern + j. */
static int batch_submit(int fd, struct batch *b, uint32_t pattern)
{
	memset(b->data.map, 0, PAGE);
	for (int j = 0; j < BATCH; j++) {
		uint32_t *p = (uint32_t *)b->prog.map + 8 * j;
		struct drm_knpu_submit s = {
			.queue_id = b->queue,
			.program_va = b->prog.va + 32 * j, .program_size = 24,
			.args_va = b->args.va + 8 * j, .args_size = 8,
			.bo_handles = (uintptr_t)b->handles, .bo_count = 3,
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

/* Jobs of the batch that completed OK with their word right. */
static int batch_check(int fd, struct batch *b, uint32_t pattern, char *why, size_t len)
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

/* A sync_file for one job on @queue that has completed (SUBMIT with FENCE_FD_OUT). */
static int finished_sync_file(int fd, struct batch *b)
{
	struct drm_knpu_submit s = {
		.queue_id = b->queue,
		.program_va = b->prog.va, .program_size = 24,
		.args_va = b->args.va, .args_size = 8,
		.bo_handles = (uintptr_t)b->handles, .bo_count = 3,
		.flags = KNPU_SUBMIT_FENCE_FD_OUT,
	};
	struct drm_knpu_wait w;
	int ret;

	ret = xioctl(fd, DRM_IOCTL_KNPU_SUBMIT, &s);
	ret = ret ?: wait_job(fd, b->queue, s.seqno, &w);
	return ret ?: s.fence_fd;
}

/*
 * A sync_file whose driver went away (device removed, module reloaded) is
 * still a signalled fence: its info reads and it closes without touching
 * what the driver freed.
 */
static void check_sync_file_after(int sync_fd, const char *what)
{
	struct sync_fence_info fi = { 0 };
	struct sync_file_info info = { .num_fences = 1, .sync_fence_info = (uintptr_t)&fi };
	int ret = sync_fd < 0 ? sync_fd : xioctl(sync_fd, SYNC_IOC_FILE_INFO, &info);

	bool names = !strcmp(fi.driver_name, "drm_sched") && !strncmp(fi.obj_name, "knpu-q", 6);

	CHECK(!ret && info.status == 1 && fi.status == 1 && names,
	      "a sync_file kept across the %s: signalled, names %s (%d status %d)", what,
	      names ? "intact" : "garbage", ret, fi.status);
	if (sync_fd >= 0)
		close(sync_fd);
}

/* What a worker reports through shared memory. */
struct report {
	int ready;
	long jobs, good;
	char why[160];
};

struct shared {
	volatile int stop;
	struct report r[WORKERS];
};

/* A worker: its own file, 2 queues, batches until told to stop. */
static void worker(const char *node, int id, struct shared *sh)
{
	struct report *r = &sh->r[id];
	struct batch b[QUEUES_PER_WORKER];
	int fd = open(node, O_RDWR | O_CLOEXEC);
	uint32_t round = 0;

	for (int q = 0; q < QUEUES_PER_WORKER; q++) {
		uint32_t queue = fd >= 0 ? queue_new(fd) : 0;

		if (!queue || batch_init(fd, &b[q], queue)) {
			snprintf(r->why, sizeof(r->why), "worker %d: setup of queue %d failed", id, q);
			r->ready = -1;
			_exit(1);
		}
	}
	r->ready = 1;
	while (!sh->stop) {
		for (int q = 0; q < QUEUES_PER_WORKER; q++) {
			uint32_t pattern = (uint32_t)id << 28 | (uint32_t)q << 24 | (round & 0xfff) << 8;
			int ret = batch_submit(fd, &b[q], pattern);

			if (ret) {
				snprintf(r->why, sizeof(r->why), "worker %d: submit on queue %u: %d",
					 id, b[q].queue, ret);
				_exit(1);
			}
		}
		for (int q = 0; q < QUEUES_PER_WORKER; q++) {
			uint32_t pattern = (uint32_t)id << 28 | (uint32_t)q << 24 | (round & 0xfff) << 8;

			r->good += batch_check(fd, &b[q], pattern, r->why, sizeof(r->why));
			r->jobs += BATCH;
		}
		round++;
	}
	_exit(0);
}

struct load {
	struct shared *sh;
	pid_t pid[WORKERS];
};

static int load_start(struct load *l, const char *node)
{
	int64_t deadline = now_ns() + 60000000000LL;

	l->sh = mmap(NULL, sizeof(*l->sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		     -1, 0);
	if (l->sh == MAP_FAILED)
		return -errno;
	memset(l->sh, 0, sizeof(*l->sh));
	fflush(stdout);
	for (int i = 0; i < WORKERS; i++) {
		l->pid[i] = fork();
		if (!l->pid[i])
			worker(node, i, l->sh);
	}
	/* Running: every worker has its queues and a first batch done. */
	for (int i = 0; i < WORKERS; i++)
		while ((l->sh->r[i].ready == 0 || l->sh->r[i].jobs == 0) && now_ns() < deadline) {
			if (l->sh->r[i].ready < 0)
				return -EIO;
			usleep(10000);
		}
	return now_ns() < deadline ? 0 : -ETIMEDOUT;
}

/* Lets the load run a little longer, stops it; every job must be good. */
static void load_finish(struct load *l, const char *what)
{
	long jobs = 0, good = 0;
	int exited = 0, status;

	usleep(300000);
	l->sh->stop = 1;
	for (int i = 0; i < WORKERS; i++) {
		waitpid(l->pid[i], &status, 0);
		exited += WIFEXITED(status) && WEXITSTATUS(status) == 0;
		jobs += l->sh->r[i].jobs;
		good += l->sh->r[i].good;
	}
	CHECK(exited == WORKERS && jobs > 0 && good == jobs,
	      "%s: %d of %d workers done, %ld of %ld innocent jobs OK with the right result%s%s",
	      what, exited, WORKERS, good, jobs, good == jobs ? "" : ", first bad: ",
	      good == jobs ? "" : l->sh->r[0].why[0] ? l->sh->r[0].why :
				  l->sh->r[1].why[0] ? l->sh->r[1].why :
				  l->sh->r[2].why[0] ? l->sh->r[2].why : l->sh->r[3].why);
	munmap(l->sh, sizeof(*l->sh));
}

/* The PCI address of the device behind accel node @node, in @bdf. */
static int node_bdf(const char *node, char *bdf, size_t len)
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
static void contexts(const char *node, int *files, long *pt_pages)
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
static void check_no_leak(const char *node, int files0, long pages0)
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

/* A new file, a new queue, one batch: the device works. */
static void check_device_works(const char *node, const char *what)
{
	int fd = open(node, O_RDWR | O_CLOEXEC);
	struct batch b;
	char why[160] = "";
	int ret = fd < 0 ? -errno : 0;
	uint32_t q = ret ? 0 : queue_new(fd);

	bool mapped;

	ret = ret ?: q ? batch_init(fd, &b, q) : -EIO;
	mapped = !ret;
	ret = ret ?: batch_submit(fd, &b, 0x5a000000);
	CHECK(!ret && batch_check(fd, &b, 0x5a000000, why, sizeof(why)) == BATCH,
	      "%s: a new file runs %d jobs (%d) %s", what, BATCH, ret, why);
	if (mapped)
		batch_fini(&b);
	if (fd >= 0)
		close(fd);
}

/* Writes "1" to the PCI function's sysfs attribute @attr (reset, remove). */
static int pci_write_1(const char *node, const char *attr)
{
	char path[512], bdf[64];
	int sfd, ret;

	if (node_bdf(node, bdf, sizeof(bdf)))
		return -ENOENT;
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/%s", bdf, attr);
	sfd = open(path, O_WRONLY);
	ret = sfd >= 0 && write(sfd, "1", 1) == 1 ? 0 : -errno;
	if (sfd >= 0)
		close(sfd);
	return ret;
}

/* The guilty job: one batch of which the first job takes the fault. */
static void guilty_queue_fault(int fd, struct batch *g, const char *qdev, const char *prop,
			       uint32_t error)
{
	struct drm_knpu_wait w;
	int ret;

	ret = qmp("qom-set %s %s 0", qdev, prop);
	ret = ret ?: batch_submit(fd, g, 0x66000000);
	ret = ret ?: wait_job(fd, g->queue, g->seqno[0], &w);
	CHECK(!ret && w.status == KNPU_JOB_FAILED && w.error == error,
	      "%s: the guilty job fails with error 0x%x (%d status %u error 0x%x)", prop, error,
	      ret, w.status, w.error);
	ret = wait_job(fd, g->queue, g->seqno[BATCH - 1], &w);
	CHECK(!ret && w.status == KNPU_JOB_CANCELED,
	      "the jobs behind it are canceled (%d status %u error 0x%x)", ret, w.status, w.error);
}

/* A device-wide event during the load: every queue, ours too, counts one reset. */
static void device_reset(int fd, struct batch *g, const char *node, const char *qdev,
			 const char *how)
{
	char why[160] = "";
	int ret;

	ret = batch_submit(fd, g, 0x77000000);
	if (!ret && !strcmp(how, "uncorrectable"))
		ret = qmp("qom-set %s inject-uncorrectable %s", qdev, "true");
	else if (!ret)
		ret = pci_write_1(node, "reset");
	CHECK(!ret, "%s during the load (%d)", how, ret);
	CHECK(batch_check(fd, g, 0x77000000, why, sizeof(why)) == BATCH,
	      "our jobs across the reset all complete %s", why);
	CHECK(queue_resets(fd, g->queue) == 1, "reset_count %u", queue_resets(fd, g->queue));
}

static void overheat(int fd, struct batch *g, const char *qdev)
{
	char why[160] = "";
	int ret;

	ret = qmp("qom-set %s inject-overheat %s", qdev, "true");
	ret = ret ?: batch_submit(fd, g, 0x0f000000);
	CHECK(!ret && batch_check(fd, g, 0x0f000000, why, sizeof(why)) == BATCH,
	      "throttled: jobs complete (%d) %s", ret, why);
	CHECK(qmp("qom-set %s inject-overheat %s", qdev, "false") == 0, "cooled down");
}

/* The other device falls off the bus with a job on it, then is removed. */
static void surprise(const char *other, const char *other_qdev)
{
	int fd = open(other, O_RDWR | O_CLOEXEC);
	struct drm_knpu_wait w = { 0 };
	struct batch b;
	uint32_t q = fd >= 0 ? queue_new(fd) : 0;
	int ret = q ? batch_init(fd, &b, q) : -ENODEV;
	bool mapped = !ret;


	ret = ret ?: qmp("qom-set %s inject-surprise-removal %s", other_qdev, "true");
	CHECK(!ret, "%s fell off the bus", other_qdev);
	ret = batch_submit(fd, &b, 0x0d000000);
	ret = ret ?: wait_job(fd, b.queue, b.seqno[0], &w);
	CHECK(ret == -ENODEV || (!ret && w.status == KNPU_JOB_CANCELED &&
				 w.error == KNPU_ERR_DEVICE_LOST),
	      "its job is lost: %d status %u error 0x%x", ret, w.status, w.error);
	CHECK(pci_write_1(other, "remove") == 0, "the dead device is removed");
	if (mapped)
		batch_fini(&b);
	if (fd >= 0)
		close(fd);
}

static int run_modprobe(const char *what)
{
	char cmd[512];
	const char *ko = getenv("KNPU_KO");
	const char *params = getenv("KNPU_MODULE_PARAMS");

	if (!strcmp(what, "rmmod"))
		return system("rmmod knpu");
	if (!ko)
		return -1;
	snprintf(cmd, sizeof(cmd), "insmod %s %s", ko, params ? params : "");
	return system(cmd);
}

/*
 * The reproducer of an open bug (not in the matrix): a sync_file kept across
 * a module reload. SYNC_IOC_FILE_INFO reads the drm_sched fence's timeline
 * name from the scheduler knpu.ko freed (garbage on Debian's kernel, a KASAN
 * use-after-free on the debug kernel), and closing it runs the hardware
 * fence's ops from the unloaded module. 6.12's dma-fence has no way for a
 * driver to detach a signalled fence (upstream added it in 6.17).
 */
static int fence_lifetime(const char *node)
{
	int fd = open(node, O_RDWR | O_CLOEXEC), sync_fd = -EIO;
	struct batch b;
	uint32_t q = fd >= 0 ? queue_new(fd) : 0;

	if (q && !batch_init(fd, &b, q)) {
		sync_fd = finished_sync_file(fd, &b);
		batch_fini(&b);
	}
	if (fd >= 0)
		close(fd);
	CHECK(run_modprobe("rmmod") == 0 && run_modprobe("insmod") == 0,
	      "the module reloads with a sync_file open");
	check_sync_file_after(sync_fd, "module reload");
	printf("1..%d\n", count);
	return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	const char *fault = argc > 1 ? argv[1] : "";
	const char *node = argc > 2 ? argv[2] : "/dev/accel/accel0";
	const char *qdev = argc > 3 ? argv[3] : "knpu0";
	const char *other = argc > 4 ? argv[4] : "/dev/accel/accel1";
	const char *other_qdev = argc > 5 ? argv[5] : "knpu1";
	struct batch g;
	struct load l;
	int fd, files0, ret;
	long pages0;
	uint32_t gq;

	printf("TAP version 13\n# knpu-fault-matrix %s on %s\n", fault, node);
	if (!strcmp(fault, "fences"))
		return fence_lifetime(node);
	fd = open(node, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		printf("Bail out! open %s: %s\n", node, strerror(errno));
		return 1;
	}
	/* The guilty queue first: on an idle device it gets hardware queue 0. */
	gq = queue_new(fd);
	if (!gq || batch_init(fd, &g, gq)) {
		printf("Bail out! guilty queue\n");
		return 1;
	}
	contexts(node, &files0, &pages0);
	ret = load_start(&l, node);
	CHECK(!ret, "%d processes run jobs on %d queues (%d)", WORKERS,
	      WORKERS * QUEUES_PER_WORKER, ret);

	if (!strcmp(fault, "hang")) {
		guilty_queue_fault(fd, &g, qdev, "inject-hang-queue", KNPU_ERR_TIMEOUT);
	} else if (!strcmp(fault, "mmu")) {
		guilty_queue_fault(fd, &g, qdev, "inject-mmu-fault-queue", KNPU_ERR_MMU_FAULT);
	} else if (!strcmp(fault, "uncorrectable") || !strcmp(fault, "flr")) {
		device_reset(fd, &g, node, qdev, fault);
	} else if (!strcmp(fault, "overheat")) {
		overheat(fd, &g, qdev);
	} else if (!strcmp(fault, "surprise")) {
		surprise(other, other_qdev);
	} else if (!strcmp(fault, "reload")) {
		CHECK(run_modprobe("rmmod") != 0, "rmmod knpu is refused while files are open");
	} else {
		printf("Bail out! unknown fault '%s'\n", fault);
		l.sh->stop = 1;
		return 1;
	}
	load_finish(&l, fault);
	check_no_leak(node, files0, pages0);
	batch_fini(&g);
	close(fd);
	if (!strcmp(fault, "reload")) {
		CHECK(run_modprobe("rmmod") == 0 && run_modprobe("insmod") == 0,
		      "with every file closed the module reloads");
		for (int i = 0; i < 50 && access(node, F_OK); i++)
			usleep(100000);
	}
	check_device_works(node, fault);

	printf("1..%d\n", count);
	printf("%d passed, %d failed\n", count - failures, failures);
	return failures || !count ? 1 : 0;
}
