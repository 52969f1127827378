// SPDX-License-Identifier: GPL-2.0-only
/*
 * bar-remap-race: the harness's QEMU must survive a guest that changes the
 * memory map on one vCPU while another vCPU reads MMIO.
 *
 * One thread, on CPU 1, reads the constant ID register of one knpu device
 * through its sysfs resource0 mapping; another, on CPU 0, turns a second
 * device's memory decoding off and on through its config space. Each toggle
 * rebuilds QEMU's memory map. QEMU 7.2 as released switches every vCPU to
 * the new map at once but flushes their TLBs later, so a vCPU in the middle
 * of translated code could resolve a stale TLB entry against the new map and
 * read another region (a wrong value here, or QEMU's own assertion in the
 * region it landed in). Upstream fixed it in commit 0d58c660689f; the
 * harness's build has scripts/qemu/patches/tcg-commit-on-cpu.patch. Which
 * sections move depends on where the guest put the BARs, so the test runs
 * twice, each device reading once. Between toggles the toggling thread
 * waits for the reader to finish a block of reads, so that every toggle
 * lands in the middle of one and the reader is never starved of the lock.
 *
 * Usage: bar-remap-race [SECONDS_PER_PHASE] (default 5). Needs two knpu
 * devices without a driver (guest-run.sh --devices 2 --no-module) and root.
 * Exit 0: every read returned the ID; 1: a wrong value, or the reader stalled;
 * 2: setup failed.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define KNPU_VENDOR 0x1234
#define KNPU_DEVICE 0x4b4e
#define KNPU_ID_VALUE 0x55504e4bu
#define PCI_COMMAND_OFFSET 4
#define PCI_COMMAND_MEMORY 0x2
#define SYSFS_PCI "/sys/bus/pci/devices"
#define READS_PER_BLOCK 32
/* Fewer blocks than this in a phase: the reading vCPU stalled. */
#define MIN_BLOCKS 10
/* How long a toggle waits for the reader to finish a block first. */
#define PROGRESS_WAIT_S 0.002

struct reader {
	volatile const uint32_t *id_reg;
	atomic_bool stop;
	atomic_bool failed;
	atomic_ulong blocks;
	uint32_t wrong_value;
};

static unsigned read_hex(const char *dev, const char *file)
{
	char path[512], buf[32] = "";
	FILE *f;

	snprintf(path, sizeof(path), SYSFS_PCI "/%s/%s", dev, file);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	return (unsigned)strtoul(buf, NULL, 16);
}

/* The first two knpu devices' sysfs names, in directory order. */
static int find_devices(char names[2][64])
{
	DIR *d = opendir(SYSFS_PCI);
	struct dirent *e;
	int n = 0;

	if (!d)
		return 0;
	while (n < 2 && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (read_hex(e->d_name, "vendor") == KNPU_VENDOR &&
		    read_hex(e->d_name, "device") == KNPU_DEVICE)
			snprintf(names[n++], sizeof(names[0]), "%.63s", e->d_name);
	}
	closedir(d);
	return n;
}

static int pin_to_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

static void *read_id_loop(void *arg)
{
	struct reader *r = arg;

	if (pin_to_cpu(1))
		perror("sched_setaffinity(1)");
	while (!atomic_load_explicit(&r->stop, memory_order_relaxed)) {
		uint32_t v[READS_PER_BLOCK];

		/*
		 * Loads with no branch between them run in one translation block:
		 * when the first waits for the lock the toggling vCPU holds, the
		 * next ones still run on the TLB from before its map change.
		 */
#pragma GCC unroll 32
		for (int i = 0; i < READS_PER_BLOCK; i++)
			v[i] = *r->id_reg;
		for (int i = 0; i < READS_PER_BLOCK; i++) {
			if (v[i] != KNPU_ID_VALUE) {
				r->wrong_value = v[i];
				atomic_store(&r->failed, true);
				return NULL;
			}
		}
		atomic_fetch_add_explicit(&r->blocks, 1, memory_order_relaxed);
	}
	return NULL;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int write_command(int fd, uint16_t cmd)
{
	return pwrite(fd, &cmd, sizeof(cmd), PCI_COMMAND_OFFSET) == sizeof(cmd) ? 0 : -1;
}

/*
 * The toggling vCPU could hold the lock the reader's loads need almost all the
 * time; waiting for the reader to finish a block between toggles makes every
 * toggle land while the reader is in the middle of one.
 */
static void wait_for_progress(struct reader *r, double wait_s)
{
	unsigned long seen = atomic_load_explicit(&r->blocks, memory_order_relaxed);
	double end = now_s() + wait_s;

	while (atomic_load_explicit(&r->blocks, memory_order_relaxed) == seen && now_s() < end)
		;
}

/* Toggles memory decoding until @seconds pass or the reader fails; returns the count. */
static long toggle_memory(int config_fd, uint16_t cmd, struct reader *r, double seconds)
{
	double end = now_s() + seconds;
	long toggles = 0;

	while (now_s() < end && !atomic_load(&r->failed)) {
		if (write_command(config_fd, cmd & ~PCI_COMMAND_MEMORY) ||
		    write_command(config_fd, cmd | PCI_COMMAND_MEMORY))
			return -1;
		toggles++;
		wait_for_progress(r, PROGRESS_WAIT_S);
	}
	return toggles;
}

static int run_phase(const char *read_dev, const char *toggled_dev, double seconds)
{
	struct reader r = { 0 };
	char path[512];
	pthread_t thread;
	unsigned long long reads;
	uint16_t cmd;
	long toggles;
	void *bar;
	int bar_fd, config_fd;

	snprintf(path, sizeof(path), SYSFS_PCI "/%s/resource0", read_dev);
	bar_fd = open(path, O_RDWR | O_SYNC);
	if (bar_fd < 0) {
		fprintf(stderr, "open %s: %s\n", path, strerror(errno));
		return 2;
	}
	bar = mmap(NULL, 4096, PROT_READ, MAP_SHARED, bar_fd, 0);
	close(bar_fd);
	if (bar == MAP_FAILED) {
		fprintf(stderr, "mmap %s: %s\n", path, strerror(errno));
		return 2;
	}
	snprintf(path, sizeof(path), SYSFS_PCI "/%s/config", toggled_dev);
	config_fd = open(path, O_RDWR);
	if (config_fd < 0 || pread(config_fd, &cmd, sizeof(cmd), PCI_COMMAND_OFFSET) != sizeof(cmd)) {
		fprintf(stderr, "config of %s: %s\n", toggled_dev, strerror(errno));
		return 2;
	}
	r.id_reg = bar;
	if (*r.id_reg != KNPU_ID_VALUE) {
		fprintf(stderr, "%s: ID reads 0x%08x before the test\n", read_dev, *r.id_reg);
		return 2;
	}
	if (pthread_create(&thread, NULL, read_id_loop, &r)) {
		fprintf(stderr, "pthread_create failed\n");
		return 2;
	}
	toggles = toggle_memory(config_fd, cmd, &r, seconds);
	atomic_store(&r.stop, true);
	pthread_join(thread, NULL);
	write_command(config_fd, cmd);
	close(config_fd);
	munmap(bar, 4096);
	if (toggles < 0) {
		fprintf(stderr, "config write to %s: %s\n", toggled_dev, strerror(errno));
		return 2;
	}
	reads = atomic_load(&r.blocks) * READS_PER_BLOCK;
	if (atomic_load(&r.failed)) {
		printf("not ok: %s's ID read 0x%08x (want 0x%08x) after %llu right reads, %ld toggles of %s's memory decoding\n",
		       read_dev, r.wrong_value, KNPU_ID_VALUE, reads, toggles, toggled_dev);
		return 1;
	}
	if (atomic_load(&r.blocks) < MIN_BLOCKS) {
		printf("not ok: %s's ID read only %llu times in %.1f s while %s's memory decoding toggled %ld times: the reading vCPU stalled\n",
		       read_dev, reads, seconds, toggled_dev, toggles);
		return 1;
	}
	printf("ok: %s's ID read right %llu times while %s's memory decoding toggled %ld times\n",
	       read_dev, reads, toggled_dev, toggles);
	return 0;
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 5;
	char devs[2][64];
	int rc;

	if (seconds <= 0) {
		fprintf(stderr, "usage: %s [SECONDS_PER_PHASE]\n", argv[0]);
		return 2;
	}
	if (find_devices(devs) != 2) {
		fprintf(stderr, "needs two knpu devices\n");
		return 2;
	}
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2) {
		fprintf(stderr, "needs two vCPUs\n");
		return 2;
	}
	if (pin_to_cpu(0))
		perror("sched_setaffinity(0)");
	rc = run_phase(devs[0], devs[1], seconds);
	if (rc == 0)
		rc = run_phase(devs[1], devs[0], seconds);
	return rc;
}
