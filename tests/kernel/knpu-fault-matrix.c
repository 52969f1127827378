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
 *   aer-fatal      a fatal PCIe error (malformed TLP) reported through AER:
 *                  the guest's AER driver resets the link and runs knpu's
 *                  PCI error handlers; the same, except that the link reset
 *                  clears device memory: its buffers report their contents
 *                  lost and no job runs on them (the other resets keep it)
 *   aer-nonfatal   a non-fatal PCIe error (completion timeout): the error
 *                  handlers reset the device themselves; the same
 *   overheat       the device throttles: every job still completes
 *   surprise       OTHER-NODE falls off the bus: its job is lost
 *                  (KNPU_ERR_DEVICE_LOST or -ENODEV), the load runs on NODE
 *   reload         `rmmod knpu` is refused while files are open, the load is
 *                  unaffected; after they close, the module reloads
 *                  (KNPU_KO names the module file, KNPU_MODULE_PARAMS its
 *                  parameters)
 *   fences-rmmod   no load: fences of finished jobs (a sync_file, a syncobj
 *                  exported as one, a job that never ran) kept after their
 *                  file closed refuse `rmmod knpu` and still read; once
 *                  closed, the module reloads (fence_lifetime())
 *   fences-unbind  no load: the same fences kept across a PCI unbind of the
 *                  device still read; the device is bound again
 * and for each fault: every innocent job completes with the right result,
 * the device runs a job from a new file afterwards without a module reload,
 * and the driver's address spaces and page tables (debugfs contexts) are
 * back to where they were once the load's files are closed.
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
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/sync_file.h>

#include "knpu-load.h"
#include "knpu-qmp.h"

#define WORKERS			4
#define QUEUES_PER_WORKER	2

/*
 * A job on @queue that has completed: its sync_file (SUBMIT with
 * FENCE_FD_OUT) in *sync_fd and the syncobj it signalled, exported as a
 * sync_file, in *syncobj_fd.
 */
static int finished_sync_files(int fd, struct batch *b, int *sync_fd, int *syncobj_fd)
{
	struct drm_syncobj_create create = { 0 };
	struct drm_knpu_sync out = { 0 };
	struct drm_knpu_submit s = {
		.queue_id = b->queue,
		.program_va = b->prog.va, .program_size = 24,
		.args_va = b->args.va, .args_size = 8,
		.bo_handles = (uintptr_t)b->handles, .bo_count = 3,
		.out_syncs = (uintptr_t)&out, .out_sync_count = 1,
		.flags = KNPU_SUBMIT_FENCE_FD_OUT,
	};
	struct drm_syncobj_handle export = {
		.flags = DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE, .fd = -1,
	};
	struct drm_knpu_wait w;
	int ret;

	ret = xioctl(fd, DRM_IOCTL_SYNCOBJ_CREATE, &create);
	out.handle = create.handle;
	ret = ret ?: xioctl(fd, DRM_IOCTL_KNPU_SUBMIT, &s);
	ret = ret ?: wait_job(fd, b->queue, s.seqno, &w);
	export.handle = create.handle;
	ret = ret ?: xioctl(fd, DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD, &export);
	*sync_fd = ret ? ret : s.fence_fd;
	*syncobj_fd = ret ? ret : export.fd;
	return ret;
}

/*
 * The sync_file of a job that never runs: in a child, a job on a first
 * queue hangs (inject-hang-queue on hardware queue 0, the first one an idle
 * device binds) and a job on a second queue waits for it; the child is
 * killed, so its file is closed without waiting: the first queue is reset,
 * the second one's job is dropped by the scheduler, never run. Taken from
 * the child with pidfd_getfd(), it has signalled with an error on return.
 */
static int unrun_sync_file(const char *node, const char *qdev)
{
	int report[2], child_fd = -1, sync_fd = -EIO, pidfd;
	struct pollfd pfd = { .events = POLLIN };
	pid_t pid;

	if (pipe(report))
		return -errno;
	fflush(stdout);
	pid = fork();
	if (!pid) {
		int fd = open(node, O_RDWR | O_CLOEXEC), ret = fd < 0 ? -errno : 0;
		uint32_t q1 = ret ? 0 : queue_new(fd), q2 = q1 ? queue_new(fd) : 0;
		struct drm_knpu_submit s = { .program_size = 24, .args_size = 8, .bo_count = 3,
					     .flags = KNPU_SUBMIT_FENCE_FD_OUT };
		char why[160] = "";
		struct batch b;

		/* A batch on the second queue writes the program the two jobs run. */
		ret = q2 ? batch_init(fd, &b, q2) : -EIO;
		ret = ret ?: batch_submit(fd, &b, 0x4d000000);
		if (!ret && batch_check(fd, &b, 0x4d000000, why, sizeof(why)) != BATCH)
			ret = -EIO;
		ret = ret ?: knpu_qom_set(qdev, "inject-hang-queue", "0");
		if (!ret) {
			s.program_va = b.prog.va;
			s.args_va = b.args.va;
			s.bo_handles = (uintptr_t)b.handles;
		}
		s.queue_id = q1;
		ret = ret ?: xioctl(fd, DRM_IOCTL_KNPU_SUBMIT, &s);
		s.queue_id = q2;
		s.flags |= KNPU_SUBMIT_FENCE_FD_IN;
		ret = ret ?: xioctl(fd, DRM_IOCTL_KNPU_SUBMIT, &s);
		child_fd = ret ? ret : s.fence_fd;
		if (write(report[1], &child_fd, sizeof(child_fd)) != sizeof(child_fd))
			_exit(1);
		pause();
		_exit(0);
	}
	if (pid > 0 && read(report[0], &child_fd, sizeof(child_fd)) == sizeof(child_fd) &&
	    child_fd >= 0) {
		pidfd = syscall(SYS_pidfd_open, pid, 0);
		sync_fd = pidfd < 0 ? -errno : syscall(SYS_pidfd_getfd, pidfd, child_fd, 0);
		if (pidfd >= 0)
			close(pidfd);
	}
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	close(report[0]);
	close(report[1]);
	pfd.fd = sync_fd;
	CHECK(sync_fd >= 0 && poll(&pfd, 1, 30000) == 1,
	      "the job behind a hung one, its file killed, is dropped (%d %d)", child_fd, sync_fd);
	return sync_fd;
}

/*
 * A sync_file whose device or module is gone (unbound, removal attempted)
 * is still a signalled fence: its info reads, names intact. @error: it
 * signalled with an error (a job that never ran).
 */
static void check_sync_file_after(int sync_fd, const char *which, const char *what, bool error)
{
	struct sync_fence_info fi = { 0 };
	struct sync_file_info info = { .num_fences = 1, .sync_fence_info = (uintptr_t)&fi };
	int ret = sync_fd < 0 ? sync_fd : xioctl(sync_fd, SYNC_IOC_FILE_INFO, &info);
	bool names = !strcmp(fi.driver_name, "drm_sched") && !strncmp(fi.obj_name, "knpu-q", 6);
	bool status = error ? info.status < 0 && fi.status < 0 : info.status == 1 && fi.status == 1;

	CHECK(!ret && status && names, "%s kept across %s: signalled%s, names %s (%d status %d)",
	      which, what, error ? " with an error" : "", names ? "intact" : "garbage", ret,
	      fi.status);
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

/*
 * The guilty job: the first of a batch takes the fault. The queue is banned
 * when it fails, so a submit after that is refused (-ECANCELED) and one that
 * came before is canceled.
 */
static void guilty_queue_fault(int fd, struct batch *g, const char *qdev, const char *prop,
			       uint32_t error)
{
	struct drm_knpu_wait w;
	int ret, submitted = 0;

	memset(g->seqno, 0, sizeof(g->seqno));
	ret = knpu_qom_set(qdev, prop, "0");
	ret = ret ?: batch_submit(fd, g, 0x66000000);
	while (submitted < BATCH && g->seqno[submitted])
		submitted++;
	if (ret == -ECANCELED && submitted > 0)
		ret = 0;
	ret = ret ?: wait_job(fd, g->queue, g->seqno[0], &w);
	CHECK(!ret && w.status == KNPU_JOB_FAILED && w.error == error,
	      "%s: the guilty job fails with error 0x%x (%d status %u error 0x%x)", prop, error,
	      ret, w.status, w.error);
	if (submitted > 1) {
		ret = wait_job(fd, g->queue, g->seqno[submitted - 1], &w);
		CHECK(!ret && w.status == KNPU_JOB_CANCELED,
		      "the %d jobs behind it are canceled (%d status %u error 0x%x)",
		      submitted - 1, ret, w.status, w.error);
	}
	CHECK(batch_submit(fd, g, 0x66000000) == -ECANCELED, "its queue is banned");
}

/*
 * A PCIe error QEMU reports through the device's AER capability to its root
 * port (HMP pcie_aer_inject_error): the guest's AER driver runs the PCI
 * error recovery, with a secondary bus reset for a fatal error. HMP answers
 * errors as text too: only "OK" means the error was injected.
 */
static int inject_aer(const char *qdev, const char *error)
{
	char json[256], answer[256] = "";
	int ret;

	snprintf(json, sizeof(json),
		 "{\"execute\": \"human-monitor-command\", \"arguments\": "
		 "{\"command-line\": \"pcie_aer_inject_error %s %s\"}}", qdev, error);
	ret = knpu_qmp(json, answer, sizeof(answer));
	if (ret || !strstr(answer, "\"return\": \"OK")) {
		printf("# pcie_aer_inject_error %s %s: %d %s\n", qdev, error, ret, answer);
		return -EIO;
	}
	return 0;
}

/* Raises the device-wide event @how: a device error, an FLR or a PCIe error. */
static int device_event(const char *node, const char *qdev, const char *how)
{
	if (!strcmp(how, "uncorrectable"))
		return knpu_qom_set(qdev, "inject-uncorrectable", "true");
	if (!strcmp(how, "aer-fatal"))
		return inject_aer(qdev, "MALF_TLP");
	if (!strcmp(how, "aer-nonfatal"))
		return inject_aer(qdev, "COMP_TIME");
	return pci_write_1(node, "reset");
}

/*
 * A job that waits until the CPU sets the semaphore word at the start of
 * @ctl (SEM_WAIT; its program and argument slot live in @ctl too), so it is
 * still on its queue when the device resets. @extra (0: none) is another
 * buffer it lists; @out_syncobj (0: none) receives its fence.
 */
static int submit_held(int fd, uint32_t queue, const struct bo *ctl, uint32_t extra,
		       uint32_t out_syncobj, uint64_t *seqno)
{
	uint32_t *prog = (uint32_t *)((char *)ctl->map + 0x100);
	uint32_t handles[2] = { ctl->handle, extra };
	struct drm_knpu_sync out = { .handle = out_syncobj };
	struct drm_knpu_submit s = {
		.queue_id = queue,
		.program_va = ctl->va + 0x100, .program_size = 20,
		.args_va = ctl->va + 0x80, .args_size = 8,
		.bo_handles = (uintptr_t)handles, .bo_count = extra ? 2 : 1,
		.out_syncs = (uintptr_t)&out, .out_sync_count = out_syncobj ? 1 : 0,
	};
	int ret;

	*(volatile uint64_t *)ctl->map = 0;
	*(uint64_t *)((char *)ctl->map + 0x80) = ctl->va;
	prog[0] = 0x0a | 2u << 16;	/* SEM_WAIT sem, 1 */
	prog[1] = 0;
	prog[2] = 0x1;
	prog[3] = 0;
	prog[4] = 1;
	ret = xioctl(fd, DRM_IOCTL_KNPU_SUBMIT, &s);
	*seqno = s.seqno;
	return ret;
}

static uint32_t bo_state(int fd, uint32_t handle)
{
	struct drm_knpu_bo_info i = { .handle = handle };

	return xioctl(fd, DRM_IOCTL_KNPU_BO_INFO, &i) ? ~0u : i.state;
}

/*
 * Device memory around a reset, with jobs held across it by a semaphore
 * the CPU sets afterwards:
 *   ring    a held job listing a device-memory buffer, a batch writing it
 *           behind: on the ring when the device resets
 *   sched   a batch writing device memory that waits for the host job:
 *           still in the scheduler
 *   host    the held job that one waits for, on host memory only
 * and a buffer in device memory holding a pattern.
 */
struct devmem_probe {
	struct bo ctl, kept;
	struct batch ring, sched;
	uint32_t host_queue, syncobj;
	uint64_t ring_held, host_held;
};

#define DEVMEM_PATTERN	0xd0d0d0d0u

static int devmem_probe_start(int fd, struct devmem_probe *p)
{
	struct drm_syncobj_create create = { 0 };
	uint32_t qr = queue_new(fd), qs = queue_new(fd);
	int ret;

	p->host_queue = queue_new(fd);
	if (!qr || !qs || !p->host_queue)
		return -EBUSY;
	ret = bo_new(fd, &p->ctl, PAGE) ?: bo_new_flags(fd, &p->kept, PAGE, KNPU_BO_DEVMEM) ?:
	      batch_init_flags(fd, &p->ring, qr, KNPU_BO_DEVMEM) ?:
	      batch_init_flags(fd, &p->sched, qs, KNPU_BO_DEVMEM) ?:
	      xioctl(fd, DRM_IOCTL_SYNCOBJ_CREATE, &create);
	if (ret)
		return ret;
	p->syncobj = create.handle;
	for (uint32_t i = 0; i < PAGE / 4; i++)
		((volatile uint32_t *)p->kept.map)[i] = DEVMEM_PATTERN ^ i;
	return submit_held(fd, p->host_queue, &p->ctl, 0, p->syncobj, &p->host_held) ?:
	       submit_held(fd, qr, &p->ctl, p->ring.data.handle, 0, &p->ring_held) ?:
	       batch_submit(fd, &p->ring, 0x7c000000) ?:
	       batch_submit_after(fd, &p->sched, 0x7d000000, p->syncobj);
}

static bool devmem_pattern_kept(const struct bo *kept)
{
	for (uint32_t i = 0; i < PAGE / 4; i++)
		if (((volatile uint32_t *)kept->map)[i] != (DEVMEM_PATTERN ^ i))
			return false;
	return true;
}

static bool job_ended(int fd, uint32_t queue, uint64_t seqno, uint32_t status, uint32_t error)
{
	struct drm_knpu_wait w;
	int ret = wait_job(fd, queue, seqno, &w);

	if (!ret && w.status == status && w.error == error)
		return true;
	printf("# queue %u seqno %llu: wait %d status %u error 0x%x, not %u 0x%x\n", queue,
	       (unsigned long long)seqno, ret, w.status, w.error, status, error);
	return false;
}

/* Job @first of the batch ended with @status and @error, the rest canceled. */
static bool batch_ended(int fd, struct batch *b, int first, uint32_t status, uint32_t error)
{
	bool ok = job_ended(fd, b->queue, b->seqno[first], status, error);

	for (int j = first + 1; j < BATCH && ok; j++)
		ok = job_ended(fd, b->queue, b->seqno[j], KNPU_JOB_CANCELED, 0);
	return ok;
}

/*
 * The held jobs were still waiting when the device reset. Not so when a hold
 * outlasted the job timeout first (a guest slowed down by KASAN and a loaded
 * host can take longer than that to deliver the fault): then they prove
 * nothing about the reset.
 */
static bool devmem_held_across_reset(int fd, struct devmem_probe *p)
{
	const uint64_t held[] = { p->host_held, p->ring_held };
	const uint32_t queues[] = { p->host_queue, p->ring.queue };
	struct drm_knpu_wait w;

	for (int i = 0; i < 2; i++) {
		if (!wait_job(fd, queues[i], held[i], &w) && w.status == KNPU_JOB_FAILED &&
		    w.error == KNPU_ERR_TIMEOUT)
			return false;
	}
	return true;
}

/*
 * A soft reset, an FLR and non-fatal recovery keep device memory: the
 * buffer keeps its pattern and the held jobs and the batches behind them
 * complete right. The link reset of a fatal error clears it (hw-spec 9):
 * the buffer says so, no job runs on the zeros (on the ring or in the
 * scheduler, each fails with KNPU_ERR_DEVMEM_LOST), the host-memory job
 * still completes, SUBMIT refuses the buffer, and a new one works.
 */
static void devmem_probe_check(int fd, struct devmem_probe *p, bool cleared)
{
	struct batch fresh;
	char why[160] = "";
	bool held;
	uint32_t q;
	int ret;

	*(volatile uint64_t *)p->ctl.map = 1;
	held = devmem_held_across_reset(fd, p);
	if (!held)
		SKIP("the held jobs # SKIP a hold outlasted the job timeout before the reset");
	else
		CHECK(job_ended(fd, p->host_queue, p->host_held, KNPU_JOB_OK, 0),
		      "the held host-memory job completes after the reset");
	if (!cleared) {
		CHECK(bo_state(fd, p->kept.handle) == 0 && devmem_pattern_kept(&p->kept),
		      "device memory kept its contents (state 0x%x)", bo_state(fd, p->kept.handle));
		if (held) {
			CHECK(job_ended(fd, p->ring.queue, p->ring_held, KNPU_JOB_OK, 0) &&
			      batch_check(fd, &p->ring, 0x7c000000, why, sizeof(why)) == BATCH,
			      "the held device-memory job and its queue complete %s", why);
			CHECK(batch_check(fd, &p->sched, 0x7d000000, why, sizeof(why)) == BATCH,
			      "jobs that waited in the scheduler write device memory %s", why);
		}
		return;
	}
	CHECK(bo_state(fd, p->kept.handle) == KNPU_BO_STATE_CONTENTS_LOST,
	      "a device-memory buffer reports its contents lost (state 0x%x)",
	      bo_state(fd, p->kept.handle));
	if (held) {
		CHECK(job_ended(fd, p->ring.queue, p->ring_held, KNPU_JOB_FAILED,
				KNPU_ERR_DEVMEM_LOST) &&
		      batch_ended(fd, &p->ring, 0, KNPU_JOB_CANCELED, 0),
		      "on the ring: the job using cleared device memory fails with DEVMEM_LOST, its queue is banned");
		CHECK(batch_ended(fd, &p->sched, 0, KNPU_JOB_FAILED, KNPU_ERR_DEVMEM_LOST),
		      "in the scheduler: the job using cleared device memory fails with DEVMEM_LOST");
	}
	q = queue_new(fd);
	p->ring.queue = q;
	ret = q ? batch_submit(fd, &p->ring, 0x7e000000) : -EIO;
	CHECK(ret == -ENODATA, "SUBMIT with a lost buffer is refused with -ENODATA (%d)", ret);
	q = queue_new(fd);
	ret = q ? batch_init_flags(fd, &fresh, q, KNPU_BO_DEVMEM) : -EIO;
	ret = ret ?: bo_state(fd, fresh.data.handle) ? -EIO : 0;
	ret = ret ?: batch_submit(fd, &fresh, 0x7f000000);
	CHECK(!ret && batch_check(fd, &fresh, 0x7f000000, why, sizeof(why)) == BATCH,
	      "a new device-memory buffer works (%d) %s", ret, why);
	if (q)
		batch_fini(&fresh);
}

static void devmem_probe_fini(struct devmem_probe *p)
{
	batch_fini(&p->ring);
	batch_fini(&p->sched);
	munmap(p->ctl.map, PAGE);
	munmap(p->kept.map, PAGE);
}

/*
 * @queue's reset count once a reset counted, or 0 after a minute: the PCI
 * error cases reset from the AER driver's worker, after the injection
 * returned and maybe after the batch submitted before it completed.
 */
static uint32_t queue_resets_once_reset(int fd, uint32_t queue)
{
	uint32_t resets = queue_resets(fd, queue);

	for (int i = 0; i < 600 && !resets; i++) {
		usleep(100000);
		resets = queue_resets(fd, queue);
	}
	return resets;
}

/* A device-wide event during the load: every queue, ours too, counts one reset. */
static void device_reset(int fd, struct batch *g, const char *node, const char *qdev,
			 const char *how)
{
	struct devmem_probe devmem = { 0 };
	char why[160] = "";
	uint32_t resets;
	int probe, ret;

	probe = devmem_probe_start(fd, &devmem);
	CHECK(!probe, "a device-memory buffer and jobs writing device memory (%d)", probe);
	ret = batch_submit(fd, g, 0x77000000);
	ret = ret ?: device_event(node, qdev, how);
	CHECK(!ret, "%s during the load (%d)", how, ret);
	CHECK(batch_check(fd, g, 0x77000000, why, sizeof(why)) == BATCH,
	      "our jobs across the reset all complete %s", why);
	resets = queue_resets_once_reset(fd, g->queue);
	CHECK(resets == 1, "reset_count %u", resets);
	if (!probe)
		devmem_probe_check(fd, &devmem, !strcmp(how, "aer-fatal"));
	devmem_probe_fini(&devmem);
}

static void overheat(int fd, struct batch *g, const char *qdev)
{
	char why[160] = "";
	int ret;

	ret = knpu_qom_set(qdev, "inject-overheat", "true");
	ret = ret ?: batch_submit(fd, g, 0x0f000000);
	CHECK(!ret && batch_check(fd, g, 0x0f000000, why, sizeof(why)) == BATCH,
	      "throttled: jobs complete (%d) %s", ret, why);
	CHECK(knpu_qom_set(qdev, "inject-overheat", "false") == 0, "cooled down");
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


	ret = ret ?: knpu_qom_set(other_qdev, "inject-surprise-removal", "true");
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
 * rmmod once the driver is idle: the last fences and jobs of closed files
 * drop their module references from a workqueue, a little after the close.
 */
static int rmmod_once_idle(void)
{
	for (int i = 0; i < 100; i++) {
		if (!system("rmmod knpu 2>/dev/null"))
			return 0;
		usleep(100000);
	}
	return run_modprobe("rmmod");
}

/*
 * The module's reference count once it settles at 0, or where it stayed:
 * fences and jobs let go of it from a workqueue, a little after the close.
 */
static long module_refs_once_idle(void)
{
	long refs = -1;

	for (int i = 0; i < 100 && refs; i++) {
		FILE *f = fopen("/sys/module/knpu/refcnt", "r");

		if (!f || fscanf(f, "%ld", &refs) != 1)
			refs = -1;
		if (f)
			fclose(f);
		if (refs)
			usleep(100000);
	}
	return refs;
}

/* Writes @bdf to the knpu PCI driver's sysfs attribute @attr (bind, unbind). */
static int pci_driver_write(const char *attr, const char *bdf)
{
	char path[128];
	int sfd, ret;

	snprintf(path, sizeof(path), "/sys/bus/pci/drivers/knpu/%s", attr);
	sfd = open(path, O_WRONLY);
	ret = sfd >= 0 && write(sfd, bdf, strlen(bdf)) == (ssize_t)strlen(bdf) ? 0 : -errno;
	if (sfd >= 0)
		close(sfd);
	return ret;
}

/*
 * Fences that outlive their file and then their device (@how "unbind") or,
 * as far as the driver allows it, their module (@how "rmmod"): a job's
 * finished fence names its scheduler (device memory) and holds the hardware
 * fence (module ops). 6.12's dma-fence cannot detach a signalled fence from
 * its driver, so the fences keep both: rmmod is refused while they live.
 * Without that, SYNC_IOC_FILE_INFO read the freed scheduler (an oops in
 * strnlen; with init_on_free=1, which fault-matrix.sh sets, every time).
 */
static int fence_lifetime(const char *node, const char *qdev, const char *how)
{
	bool unbind = !strcmp(how, "unbind");
	const char *what = unbind ? "a PCI unbind" : "an attempted rmmod";
	int unrun = unrun_sync_file(node, qdev);
	int fd = open(node, O_RDWR | O_CLOEXEC), sync_fd = -EIO, syncobj_fd = -EIO;
	uint32_t q = fd >= 0 ? queue_new(fd) : 0;
	char bdf[64] = "", why[160] = "";
	struct batch b;

	if (q && !batch_init(fd, &b, q)) {
		/* A batch first: it writes the program the kept job runs again. */
		if (!batch_submit(fd, &b, 0x3c000000) &&
		    batch_check(fd, &b, 0x3c000000, why, sizeof(why)) == BATCH)
			finished_sync_files(fd, &b, &sync_fd, &syncobj_fd);
		batch_fini(&b);
	}
	node_bdf(node, bdf, sizeof(bdf));
	if (fd >= 0)
		close(fd);

	if (unbind)
		CHECK(pci_driver_write("unbind", bdf) == 0, "%s unbound, its fences kept", bdf);
	else
		CHECK(run_modprobe("rmmod") != 0, "rmmod knpu is refused while its fences live");
	check_sync_file_after(sync_fd, "a sync_file", what, false);
	check_sync_file_after(syncobj_fd, "a syncobj exported as a sync_file", what, false);
	check_sync_file_after(unrun, "the sync_file of a job that never ran", what, true);
	for (int i = 0; i < 3; i++) {
		int kept[] = { sync_fd, syncobj_fd, unrun };

		if (kept[i] >= 0)
			close(kept[i]);
	}

	/* Then the unbound device is freed, and its node's minor with it. */
	CHECK(module_refs_once_idle() == 0, "closed, the fences let go of the module");
	if (unbind)
		CHECK(pci_driver_write("bind", bdf) == 0, "%s bound again", bdf);
	else
		CHECK(rmmod_once_idle() == 0 && run_modprobe("insmod") == 0,
		      "with the fences closed the module reloads");
	for (int i = 0; i < 50 && access(node, F_OK); i++)
		usleep(100000);
	check_device_works(node, how);

	printf("1..%d\n", count);
	printf("%d passed, %d failed\n", count - failures, failures);
	return failures || !count ? 1 : 0;
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
	if (!strncmp(fault, "fences-", 7))
		return fence_lifetime(node, qdev, fault + 7);
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
	} else if (!strcmp(fault, "uncorrectable") || !strcmp(fault, "flr") ||
		   !strncmp(fault, "aer-", 4)) {
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
		CHECK(rmmod_once_idle() == 0 && run_modprobe("insmod") == 0,
		      "with every file closed the module reloads");
		for (int i = 0; i < 50 && access(node, F_OK); i++)
			usleep(100000);
	}
	check_device_works(node, fault);

	printf("1..%d\n", count);
	printf("%d passed, %d failed\n", count - failures, failures);
	return failures || !count ? 1 : 0;
}
