// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * knpu-device-fuzz: fuzzes the KNPU device model (qemu-device/) from the
 * guest side, over QEMU's qtest protocol, without a guest kernel: what a
 * hostile or broken driver can do to the device (docs/hw-spec.md).
 *
 *   knpu-device-fuzz --qemu QEMU [--seed S] [--ops N] [--trace FILE]
 *                    [--answers FILE] [--engine deterministic|threads]
 *
 * QEMU (best built with ASan and UBSan: `make fuzz-device`) runs a q35
 * machine with one KNPU under -accel qtest. The fuzzer programs the PCI
 * BARs, then issues N qtest commands ("operations"): register writes of
 * every block with boundary and random values, rings and 64-byte descriptors,
 * four address spaces of page tables that it maps, unmaps, corrupts and
 * invalidates (or forgets to), generated programs of every opcode over
 * argument tables, doorbells, queue resets, resumes and reconfigurations,
 * soft resets, bus mastering switched off, guest writes racing the device,
 * virtual clock steps, and reads of the MSI-X pending bits (every vector
 * masked).
 *
 * What it checks:
 *  - QEMU never crashes (the sanitizers abort on a memory or UB error, and a
 *    dead QEMU ends the protocol) and never hangs (every command must be
 *    answered within a minute; afterwards every queue must stop on reset);
 *  - nothing is written outside the job's mappings: the page tables only
 *    map pages of a data area (RAM and device memory); guard areas of RAM
 *    and of device memory are filled with a canary and the tables, rings
 *    and argument tables are kept in a shadow copy; both are compared at
 *    checkpoints and at the end. Rings and page-table roots are also pointed
 *    at the guard area, fences only at a fence area;
 *  - the device still works at the end: after a soft reset a DMA_FILL job
 *    on a fresh queue completes and writes its bytes.
 *
 * The command stream is a function of the seed alone (no answer steers it),
 * so a finding replays from its seed; --trace writes every command, which
 * `QEMU ... -qtest stdio < FILE` replays without the fuzzer (the fuzzer
 * prints that command line). With "--engine deterministic" (the default
 * with --trace) the device runs with x-deterministic=on: its jobs run only
 * inside clock_step, so what it does, and every answer, is a function of
 * the command stream too. The fuzzer prints a digest of the answers (FNV-1a
 * of every answer line); --answers writes them.
 *
 * With "--engine threads" (the default without --trace) the device's
 * worker threads run the jobs, racing the commands as a real driver's
 * CPUs race the device: that interleaving is the host scheduler's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define QEMU_PACKED __attribute__((packed))
#include "knpu-hw.h"
#include "../../kernel/knpu-op-shapes.h"

/* Guest physical layout (256 MiB of RAM) */
#define BAR0		0xe0000000ull
#define BAR2		0xe1000000ull	/* 16 MiB of device memory */
#define BAR4		0xe2000000ull
#define DEVMEM_SIZE	(16ull << 20)
#define DEVMEM_DATA	(8ull << 20)	/* device memory below this is data, above is guard */
#define TABLES		0x01000000ull	/* page tables, rings, argument tables: shadowed */
#define TABLES_SIZE	(1ull << 20)
#define FENCES		0x01800000ull	/* the only place fences go */
#define FENCES_SIZE	0x1000ull
#define DATA		0x02000000ull	/* pages the page tables may map: two 2 MiB blocks */
#define DATA_SIZE	(4ull << 20)
#define GUARD		0x03000000ull	/* never mapped, canary */
#define GUARD_SIZE	(1ull << 20)
#define CANARY		0xa5		/* as a PTE: reserved bits set; as a descriptor: bad type */
#define ROM		0xfffff000ull	/* BIOS ROM: not writable RAM */

#define NUM_QUEUES	8
#define NUM_ASIDS	4		/* the ones the fuzzer builds tables for: 1..4 */
#define RING_ENTRIES	16
#define VA_BASE		0x100000000ull	/* 4 L2 entries of 2 MiB per address space */
#define VA_SPAN		(4 * KNPU_LARGE_PAGE_SIZE)

struct rng {
	uint64_t s;
};

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

static int one_in(struct rng *r, uint32_t n)
{
	return below(r, n) == 0;
}

/* ---- the qtest connection ---------------------------------------------------- */

static int qfd = -1;
static pid_t qemu_pid;
static FILE *trace, *answers;
static int deterministic;
static uint64_t answer_count, answer_digest = 0xcbf29ce484222325ull;	/* FNV-1a */
static uint64_t ops;
static char line[1 << 24];	/* the longest answer: a 4 MiB read in hex */
static size_t line_len, line_have;
static uint8_t shadow[TABLES_SIZE];

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("not ok - ");
	vprintf(fmt, ap);
	printf(" (after %" PRIu64 " operations)\n", ops);
	va_end(ap);
	if (qemu_pid > 0)
		kill(qemu_pid, SIGKILL);
	exit(1);
}

/* One answer line; a minute without one is a hang. */
static char *answer(void)
{
	for (;;) {
		char *nl = memchr(line, '\n', line_have);
		struct pollfd p = { .fd = qfd, .events = POLLIN };
		ssize_t n;

		if (nl && nl < line + line_have) {
			line_len = (size_t)(nl - line) + 1;
			*nl = 0;
			return line;
		}
		if (poll(&p, 1, 60000) != 1)
			die("QEMU hangs: no answer within 60 s");
		n = read(qfd, line + line_have, sizeof(line) - 1 - line_have);
		if (n <= 0)
			die("QEMU is gone (crash? its stderr has the report)");
		line_have += (size_t)n;
	}
}

/* Done with the answer answer() returned: count it in the digest. */
static void consume(void)
{
	size_t i;

	line[line_len - 1] = '\n';
	for (i = 0; i < line_len; i++)
		answer_digest = (answer_digest ^ (uint8_t)line[i]) * 0x100000001b3ull;
	answer_count++;
	if (answers)
		fwrite(line, 1, line_len, answers);
	memmove(line, line + line_len, line_have - line_len);
	line_have -= line_len;
}

/* Sends one command and returns the value of its "OK [value]" answer. */
static uint64_t cmd(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	uint64_t v = 0;
	char *a;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	buf[n++] = '\n';
	if (trace)
		fwrite(buf, 1, (size_t)n, trace);
	if (write(qfd, buf, (size_t)n) != n)
		die("QEMU is gone (write failed)");
	ops++;
	for (;;) {
		a = answer();
		if (!strncmp(a, "IRQ", 3)) {	/* asynchronous, not ours */
			consume();
			continue;
		}
		break;
	}
	if (strncmp(a, "OK", 2))
		die("QEMU refused '%.*s': %s", n - 1, buf, a);
	if (a[2] == ' ')
		v = strtoull(a + 3, NULL, 0);
	consume();
	return v;
}

static void wr(uint64_t reg, uint32_t v)
{
	cmd("writel 0x%" PRIx64 " 0x%x", BAR0 + reg, v);
}

static uint32_t rd(uint64_t reg)
{
	return (uint32_t)cmd("readl 0x%" PRIx64, BAR0 + reg);
}

static void qwr(unsigned int q, uint64_t reg, uint32_t v)
{
	wr(KNPU_REG_Q(q, reg), v);
}

static void mem_write(uint64_t addr, const void *data, size_t len)
{
	static char hex[2 * 4096 + 64];
	const uint8_t *b = data;
	size_t i, n;

	while (len) {
		n = len > 4096 ? 4096 : len;
		for (i = 0; i < n; i++)
			sprintf(hex + 2 * i, "%02x", b[i]);
		hex[2 * n] = 0;
		/* cmd() takes a short format: send the long line directly. */
		{
			char head[64];
			int hl = snprintf(head, sizeof(head), "write 0x%" PRIx64 " 0x%zx 0x", addr, n);

			if (trace) {
				fwrite(head, 1, (size_t)hl, trace);
				fprintf(trace, "%s\n", hex);
			}
			if (write(qfd, head, (size_t)hl) != hl ||
			    write(qfd, hex, 2 * n) != (ssize_t)(2 * n) || write(qfd, "\n", 1) != 1)
				die("QEMU is gone (write failed)");
			ops++;
			if (strncmp(answer(), "OK", 2))
				die("QEMU refused a memory write: %s", line);
			consume();
		}
		if (addr >= TABLES && addr + n <= TABLES + TABLES_SIZE)
			memcpy(shadow + (addr - TABLES), b, n);
		addr += n;
		b += n;
		len -= n;
	}
}

static void mem_write64(uint64_t addr, uint64_t v)
{
	mem_write(addr, &v, 8);
}

static unsigned int hexval(char c)
{
	return c <= '9' ? (unsigned int)(c - '0') : (unsigned int)((c | 0x20) - 'a' + 10);
}

/* Reads guest memory (RAM or device memory through BAR2) into @out. */
static void mem_read(uint64_t addr, uint8_t *out, size_t len)
{
	while (len) {
		size_t n = len > (1u << 20) ? (1u << 20) : len, i;
		char *a, *h;

		if (trace)
			fprintf(trace, "read 0x%" PRIx64 " 0x%zx\n", addr, n);
		if (dprintf(qfd, "read 0x%" PRIx64 " 0x%zx\n", addr, n) < 0)
			die("QEMU is gone (write failed)");
		ops++;
		a = answer();
		if (strncmp(a, "OK 0x", 5) || strlen(a) != 5 + 2 * n)
			die("bad answer to read: %.40s", a);
		h = a + 5;
		for (i = 0; i < n; i++)
			out[i] = (uint8_t)(hexval(h[2 * i]) << 4 | hexval(h[2 * i + 1]));
		consume();
		addr += n;
		out += n;
		len -= n;
	}
}

/* ---- PCI --------------------------------------------------------------------- */

static uint32_t bdf_base;

static uint32_t cfg_read(uint32_t reg)
{
	cmd("outl 0xcf8 0x%x", bdf_base | reg);
	return (uint32_t)cmd("inl 0xcfc");
}

static void cfg_write(uint32_t reg, uint32_t v)
{
	cmd("outl 0xcf8 0x%x", bdf_base | reg);
	cmd("outl 0xcfc 0x%x", v);
}

/* MSI-X enable and function mask, in the dword at the capability. */
#define MSIX_ENABLE	(1u << 31)
#define MSIX_MASKALL	(1u << 30)
#define MSIX_PBA	(BAR4 + 2048)	/* the pending bits (qemu-device/knpu-irq.c) */

static uint32_t msix_cap;

static void pci_setup(void)
{
	uint32_t cap;
	int dev;

	for (dev = 0; dev < 32; dev++) {
		bdf_base = 0x80000000u | (uint32_t)dev << 11;
		if (cfg_read(0) == (KNPU_DEVICE_ID << 16 | KNPU_VENDOR_ID))
			break;
	}
	if (dev == 32)
		die("no KNPU on bus 0");
	cfg_write(0x10, (uint32_t)BAR0);
	cfg_write(0x18, (uint32_t)BAR2);
	cfg_write(0x1c, 0);
	cfg_write(0x20, (uint32_t)BAR4);
	cfg_write(0x04, 0x6);	/* memory space, bus master */
	if (rd(KNPU_REG_ID) != KNPU_ID_VALUE)
		die("BAR0 does not answer with the ID register");
	/*
	 * MSI-X on, every vector masked: the device's interrupts show as
	 * pending bits, which the operations read (when they are set is part
	 * of what must replay).
	 */
	for (cap = cfg_read(0x34) & 0xfc; cap; cap = cfg_read(cap) >> 8 & 0xfc)
		if ((cfg_read(cap) & 0xff) == 0x11)
			break;
	if (!cap)
		die("no MSI-X capability");
	msix_cap = cap;
	cfg_write(msix_cap, MSIX_ENABLE | MSIX_MASKALL);
}

/* ---- page tables ------------------------------------------------------------- */

/*
 * Per address space a = 1..NUM_ASIDS: an L0, L1 and L2 table and four L3
 * tables covering VA_BASE .. VA_BASE + 8 MiB, all in TABLES. Leaves only ever
 * point into DATA or the data half of device memory.
 */
struct space {
	uint64_t l0, l1, l2, l3[4];
	uint64_t l2_entry[4];	/* what the L2 entries hold now: an L3 table or a block */
};

static struct space spaces[NUM_ASIDS + 1];
static uint64_t tables_next = TABLES;

static uint64_t tables_alloc(uint64_t size, uint64_t align)
{
	uint64_t a = (tables_next + align - 1) & ~(align - 1);

	tables_next = a + size;
	if (tables_next > TABLES + TABLES_SIZE)
		die("fuzzer bug: TABLES exhausted");
	return a;
}

static uint64_t table_entry(uint64_t table)
{
	return table | KNPU_PTE_VALID;
}

static void set_l2_entry(unsigned int a, unsigned int i, uint64_t e)
{
	mem_write64(spaces[a].l2 + 8 * (((VA_BASE >> 21) & 511) + i), e);
	spaces[a].l2_entry[i] = e;
}

/* A read-write leaf: a DATA page or a page of the data half of device memory. */
static uint64_t good_leaf(struct rng *r)
{
	uint64_t flags = KNPU_PTE_VALID | KNPU_PTE_READ | KNPU_PTE_WRITE;

	if (one_in(r, 4))
		return 4096ull * below(r, DEVMEM_DATA / 4096) | flags | KNPU_PTE_DEVMEM;
	return (DATA + 4096ull * below(r, DATA_SIZE / 4096)) | flags;
}

/* A leaf as op_map() writes one: read-write mostly, now and then broken. */
static uint64_t leaf(struct rng *r)
{
	uint64_t e = good_leaf(r);

	if (e & KNPU_PTE_DEVMEM && one_in(r, 16))	/* past the end: PTE_INVALID */
		e = (DEVMEM_SIZE + 4096 * below(r, 16)) | (e & 0xfff);
	if (one_in(r, 6))
		e &= ~KNPU_PTE_WRITE;
	if (one_in(r, 12))
		e &= ~KNPU_PTE_READ;
	if (one_in(r, 32))
		e |= 1ull << (52 + below(r, 12));	/* reserved */
	return e;
}

/*
 * The tables of every space, each of its pages mapped read-write to start with
 * (as a driver's address space is, so that jobs find their tensors); op_map()
 * then changes them.
 */
static void tables_build(struct rng *r)
{
	uint64_t l3[512];
	unsigned int a, i, j;

	for (a = 1; a <= NUM_ASIDS; a++) {
		struct space *s = &spaces[a];

		s->l0 = tables_alloc(4096, 4096);
		s->l1 = tables_alloc(4096, 4096);
		s->l2 = tables_alloc(4096, 4096);
		mem_write64(s->l0 + 8 * ((VA_BASE >> 39) & 511), table_entry(s->l1));
		mem_write64(s->l1 + 8 * ((VA_BASE >> 30) & 511), table_entry(s->l2));
		for (i = 0; i < 4; i++) {
			s->l3[i] = tables_alloc(4096, 4096);
			for (j = 0; j < 512; j++)
				l3[j] = good_leaf(r);
			mem_write(s->l3[i], l3, sizeof(l3));
			set_l2_entry(a, i, table_entry(s->l3[i]));
		}
	}
}

static void map_page(struct rng *r, unsigned int a, unsigned int page)
{
	mem_write64(spaces[a].l3[page / 512] + 8 * (page % 512), leaf(r));
}

/* ---- rings and jobs ---------------------------------------------------------- */

struct queue {
	uint64_t ring;
	uint32_t tail;
	uint32_t asid;
};

static struct queue queues[NUM_QUEUES];

/* A ring base: the queue's own ring, the guard area, ROM, a BAR, or junk. */
static uint64_t ring_target(struct rng *r, unsigned int q)
{
	switch (below(r, 12)) {
	case 0: return GUARD + 64 * below(r, GUARD_SIZE / 64);
	case 1: return ROM & ~63ull;
	case 2: return BAR0;
	case 3: return BAR2 + 4096;
	case 4: return rnd(r) & ~63ull & ~(1ull << 63);
	case 5: return queues[q].ring + 8;	/* misaligned */
	default: return queues[q].ring;
	}
}

static uint64_t fence_target(struct rng *r, unsigned int q)
{
	switch (below(r, 10)) {
	case 0: return 0;
	case 1: return ROM;
	case 2: return BAR0 + 0x38;	/* a register: DMA into the device's own BAR */
	case 3: return BAR2;
	case 4: return FENCES + 8 * q + 4;	/* misaligned */
	default: return FENCES + 8 * q;
	}
}

static uint64_t root_target(struct rng *r, unsigned int a)
{
	switch (below(r, 10)) {
	case 0: return GUARD + 4096 * below(r, GUARD_SIZE / 4096);
	case 1: return BAR0;
	case 2: return ROM;
	case 3: return 0;
	default: return spaces[1 + (a - 1) % NUM_ASIDS].l0;
	}
}

static void set_root(struct rng *r, unsigned int a)
{
	uint64_t root = a >= 1 && a <= NUM_ASIDS && !one_in(r, 8) ? spaces[a].l0 : root_target(r, a);

	wr(KNPU_REG_AS_ROOT_HI(a), (uint32_t)(root >> 32));
	wr(KNPU_REG_AS_ROOT_LO(a), (uint32_t)root | (one_in(r, 16) ? 0 : 1));
}

static void queue_config(struct rng *r, unsigned int q)
{
	uint64_t ring = one_in(r, 10) ? ring_target(r, q) : queues[q].ring;
	uint64_t fence = fence_target(r, q);
	uint32_t size = one_in(r, 16) ? (uint32_t)rnd(r) % 8192 : RING_ENTRIES;

	queues[q].asid = one_in(r, 16) ? below(r, 70) : 1 + below(r, NUM_ASIDS);
	qwr(q, KNPU_Q_CTRL, KNPU_Q_CTRL_RESET);
	qwr(q, KNPU_Q_RING_BASE_LO, (uint32_t)ring);
	qwr(q, KNPU_Q_RING_BASE_HI, (uint32_t)(ring >> 32));
	qwr(q, KNPU_Q_RING_SIZE, size);
	qwr(q, KNPU_Q_CONFIG, queues[q].asid | below(r, 4) << 16);
	qwr(q, KNPU_Q_FENCE_ADDR_LO, (uint32_t)fence);
	qwr(q, KNPU_Q_FENCE_ADDR_HI, (uint32_t)(fence >> 32));
	qwr(q, KNPU_Q_CTRL, KNPU_Q_CTRL_ENABLE);
	queues[q].tail = 0;
}

static void device_init(struct rng *r)
{
	unsigned int a, q;

	wr(KNPU_REG_EVENT_STATUS, ~0u);
	wr(KNPU_REG_MMU_CTRL, 1);
	for (a = 1; a <= NUM_ASIDS; a++) {
		wr(KNPU_REG_AS_ROOT_HI(a), (uint32_t)(spaces[a].l0 >> 32));
		wr(KNPU_REG_AS_ROOT_LO(a), (uint32_t)spaces[a].l0 | 1);
	}
	wr(KNPU_REG_DEV_CTRL, 1);
	for (q = 0; q < NUM_QUEUES; q++)
		queue_config(r, q);
}


static uint64_t interesting(struct rng *r)
{
	static const uint64_t v[] = {
		0, 1, 2, 3, 4, 7, 8, 63, 64, 255, 256, 4095, 4096, 4097, 65535, 65536,
		1u << 20, 0x7fffffff, 0x80000000, 0xfffffff8, 0xffffffff, 0x100000000ULL,
		1ULL << 47, 1ULL << 48, 1ULL << 63, ~0ULL,
	};

	return v[below(r, sizeof(v) / sizeof(v[0]))];
}

static uint32_t small_value(struct rng *r)
{
	if (one_in(r, 16))
		return (uint32_t)interesting(r);
	return one_in(r, 8) ? 0 : 1 + below(r, one_in(r, 4) ? 64 : 8);
}

static uint32_t float_bits(struct rng *r)
{
	static const uint32_t v[] = { 0x3f800000, 0x3c23d70a, 0, 0x7f800000, 0x7fc00000, 0xbf800000 };

	return one_in(r, 8) ? (uint32_t)rnd(r) : v[below(r, 6)];
}

/* ---- well-formed instructions ------------------------------------------------ */

/*
 * Random values fail an instruction's first checks almost always (OPERAND_INVALID
 * before any byte moves), which leaves staging, the engine and the write-back
 * unfuzzed. These fill the value operands of an opcode so that they obey hw-spec
 * 7.4's rules, with small tensors; gen_program() breaks some of them again.
 */
static uint32_t f32_bits(float f)
{
	uint32_t b;

	memcpy(&b, &f, sizeof(b));
	return b;
}

/* A tensor dimension: small, now and then a few dozen. */
static uint32_t dim(struct rng *r)
{
	return one_in(r, 8) ? 1 + below(r, 40) : 1 + below(r, 4);
}

static uint32_t fused_flags(struct rng *r, uint32_t dt)
{
	uint32_t f = below(r, 8);	/* TRANS_A, TRANS_B, BIAS */

	/* ACT: INT8 none or RELU; floats every value up to v1.5's RELU6 */
	return f | below(r, dt == KNPU_DT_INT8 ? 2 : KNPU_ACT_RELU6 + 1) << 4;
}

/* GEMM and GEMM_BATCHED: operands 4-11 (and 11-14 batched) from m, n, k. */
static void wf_gemm(struct rng *r, uint32_t opcode, uint32_t dt, uint32_t *flags, uint32_t *v)
{
	uint32_t m = dim(r), n = dim(r), k = dim(r), f = fused_flags(r, dt);
	uint32_t a_rows = f & KNPU_FLAG_TRANS_A ? k : m, a_len = f & KNPU_FLAG_TRANS_A ? m : k;
	uint32_t b_rows = f & KNPU_FLAG_TRANS_B ? n : k, b_len = f & KNPU_FLAG_TRANS_B ? k : n;

	v[4] = m;
	v[5] = n;
	v[6] = k;
	v[7] = a_len + below(r, 2);
	v[8] = b_len + below(r, 2);
	v[9] = n + below(r, 2);
	v[10] = f32_bits(one_in(r, 2) ? 1.0f : 0.0625f);
	v[11] = 0;
	if (opcode == KNPU_OP_GEMM_BATCHED) {
		v[11] = 1 + below(r, 3);
		v[12] = one_in(r, 4) ? 0 : (a_rows - 1) * v[7] + a_len + below(r, 2);
		v[13] = one_in(r, 4) ? 0 : (b_rows - 1) * v[8] + b_len + below(r, 2);
		v[14] = (m - 1) * v[9] + n + below(r, 2);
	} else if (dt == KNPU_DT_INT8) {
		if (one_in(r, 3))
			f |= KNPU_FLAG_OUT_INT32;
		else if (one_in(r, 2))
			f |= KNPU_FLAG_PER_CHANNEL;
		if (!(f & KNPU_FLAG_OUT_INT32))
			v[11] = below(r, 256);
	}
	*flags = f;
}

/*
 * CONV2D and CONV_TRANSPOSE: N, C, H, W, K, R, S, strides, pads (and output
 * pads), dilations, groups within the rules of 7.4 and 7.4.1.
 */
static void wf_conv(struct rng *r, uint32_t opcode, uint32_t dt, uint32_t *flags, uint32_t *v)
{
	int transposed = opcode == KNPU_OP_CONV_TRANSPOSE;
	uint32_t groups = one_in(r, 4) ? 1 + below(r, 3) : 1, i;
	uint32_t rs[2] = { 1 + below(r, 3), 1 + below(r, 3) };
	uint32_t hw[2] = { dim(r) + rs[0], dim(r) + rs[1] };

	v[4] = 1 + below(r, 2);
	v[5] = groups * (1 + below(r, 3));
	v[6] = hw[0];
	v[7] = hw[1];
	v[8] = groups * (1 + below(r, 3));
	v[9] = rs[0];
	v[10] = rs[1];
	for (i = 0; i < 2; i++) {
		uint32_t stride = 1 + below(r, 2), dil = 1 + below(r, 2);
		uint32_t reach = dil * (rs[i] - 1);	/* the dilated window, minus one */

		v[11 + i] = stride;
		if (transposed) {
			v[13 + i] = below(r, reach + 1);	/* pad <= reach */
			v[15 + i] = below(r, stride > dil ? stride : dil);
			v[17 + i] = dil;
		} else {
			v[13 + i] = below(r, reach + 1);	/* pad < reach + 1 */
			v[15 + i] = dil;
			/* P >= 1: H + 2 pad >= reach + 1 */
			if (hw[i] + 2 * v[13 + i] < reach + 1)
				v[6 + i] = reach + 1;
		}
	}
	if (transposed) {
		v[19] = groups;
		*flags = (below(r, 2) ? KNPU_FLAG_BIAS : 0) |
			 below(r, KNPU_ACT_RELU6 + 1) << 4;
		return;
	}
	v[17] = groups;
	v[18] = f32_bits(one_in(r, 2) ? 1.0f : 0.03125f);
	v[19] = 0;
	*flags = fused_flags(r, dt) & ~(KNPU_FLAG_TRANS_A | KNPU_FLAG_TRANS_B);
	if (dt == KNPU_DT_INT8) {
		if (one_in(r, 3))
			*flags |= KNPU_FLAG_OUT_INT32;
		else if (one_in(r, 2))
			*flags |= KNPU_FLAG_PER_CHANNEL;
		if (!(*flags & KNPU_FLAG_OUT_INT32))
			v[19] = below(r, 256);
	}
}

static void wf_pool(struct rng *r, uint32_t *flags, uint32_t *v)
{
	uint32_t i;

	v[2] = 1 + below(r, 2);
	v[3] = dim(r);
	for (i = 0; i < 2; i++) {
		uint32_t kernel = 1 + below(r, 3);

		v[4 + i] = kernel + below(r, 6);	/* H, W: one window at least */
		v[6 + i] = kernel;
		v[8 + i] = 1 + below(r, 3);
		v[10 + i] = below(r, kernel);
	}
	*flags = below(r, 3);
}

static void wf_resize(struct rng *r, uint32_t *flags, uint32_t *v)
{
	uint32_t mode = below(r, 2);

	v[2] = 1 + below(r, 2);
	v[3] = dim(r);
	v[4] = dim(r);
	v[5] = dim(r);
	v[6] = dim(r) * (1 + below(r, 2));
	v[7] = dim(r) * (1 + below(r, 2));
	v[8] = one_in(r, 2) ? 0 : f32_bits((float)v[6] / (float)v[4]);
	v[9] = one_in(r, 2) ? 0 : f32_bits(0.5f + (float)below(r, 4));
	*flags = mode | below(r, 4) << 2 | (mode ? 0 : below(r, 4) << 4);
}

/* ACTIVATION_PARAM: every function, v1.5's (7 to 12, no parameters) included. */
static void wf_activation_param(struct rng *r, uint32_t *flags, uint32_t *v)
{
	static const float params[KNPU_ACTP_ROUND + 1][2] = {
		{ 0.2f, 0.5f }, { 1.0f / 6, 0.5f }, { 0.0f, 6.0f }, { 0, 0 }, { 0, 0 },
		{ 2.0f, 3.0f }, { 0.01f, 0 },
	};
	uint32_t func = below(r, KNPU_ACTP_ROUND + 1);

	v[2] = dim(r) * dim(r);
	v[3] = f32_bits(params[func][0]);
	v[4] = f32_bits(params[func][1]);
	*flags = func;
}

/* CONVERT: a pair of 7.4.2's table, per tensor or per channel. */
static void wf_convert(struct rng *r, uint32_t dt, uint32_t *flags, uint32_t *v)
{
	uint32_t channels = dim(r), inner = dim(r);

	if (dt == KNPU_DT_INT8)
		*flags = 1 + below(r, 3);
	else if (dt == KNPU_DT_INT32)
		*flags = 1 + below(r, 4);
	else
		*flags = KNPU_DT_INT8;
	v[2] = channels * inner * (1 + below(r, 3));
	v[3] = v[4] = 0;
	v[5] = f32_bits(one_in(r, 2) ? 1.0f : 0.0078125f);
	if (one_in(r, 2)) {
		*flags |= KNPU_FLAG_PER_CHANNEL;
		v[3] = channels;
		v[4] = inner;
	}
}

/*
 * GATHER: a small table and a few rows; the indices are whatever the data
 * area holds (zeroed pages give row 0, others mostly fail the range check).
 */
static void wf_gather(struct rng *r, uint32_t *flags, uint32_t *v)
{
	v[3] = dim(r);
	v[4] = dim(r);
	v[5] = dim(r);
	*flags = below(r, 2) ? KNPU_FLAG_GATHER_INDEX_INT64 : 0;
}

/* COPY_STRIDED: four sizes, contiguous or broadcast source strides, dense destination. */
static void wf_copy_strided(struct rng *r, uint32_t *v)
{
	uint32_t i, dst = 1, src = 1;

	for (i = 4; i-- > 0;) {
		v[2 + i] = one_in(r, 2) ? 1 : dim(r);
		v[6 + i] = one_in(r, 6) ? 0 : src;
		v[10 + i] = dst;
		src *= v[2 + i] + below(r, 2);
		dst *= v[2 + i];
	}
}

/*
 * The value operands of a well-formed instruction of @opcode and @dt: *@flags
 * and v[i] for every operand that is not an address (address operands are
 * filled by the caller, from *@flags).
 */
static void well_formed(struct rng *r, uint32_t opcode, uint32_t dt, uint32_t *flags,
			uint32_t *v)
{
	uint32_t rows = dim(r), cols = dim(r);

	*flags = 0;
	switch (opcode) {
	case KNPU_OP_DMA_COPY: v[2] = 4 * dim(r) * dim(r); break;
	case KNPU_OP_DMA_FILL: v[1] = 4 * dim(r) * dim(r); v[2] = (uint32_t)rnd(r); break;
	case KNPU_OP_COPY_STRIDED: wf_copy_strided(r, v); break;
	case KNPU_OP_SEM_SIGNAL: v[1] = below(r, 4); *flags = below(r, 2); break;
	case KNPU_OP_SEM_WAIT: v[1] = 0; break;
	case KNPU_OP_GEMM:
	case KNPU_OP_GEMM_BATCHED: wf_gemm(r, opcode, dt, flags, v); break;
	case KNPU_OP_CONV2D:
	case KNPU_OP_CONV_TRANSPOSE: wf_conv(r, opcode, dt, flags, v); break;
	case KNPU_OP_POOL2D: wf_pool(r, flags, v); break;
	case KNPU_OP_ELTWISE:
		v[4] = one_in(r, 2) ? cols : 1;
		v[3] = rows * cols;
		*flags = below(r, 6);
		break;
	case KNPU_OP_ACTIVATION:
		v[2] = rows * cols;
		*flags = dt == KNPU_DT_INT8 ? KNPU_ACT_RELU :
			 1 + below(r, KNPU_ACT_RELU6);
		break;
	case KNPU_OP_SOFTMAX:
		v[2] = rows;
		v[3] = cols;
		*flags = one_in(r, 2) ? KNPU_FLAG_SOFTMAX_LOG : 0;
		break;
	case KNPU_OP_LAYERNORM: v[4] = rows; v[5] = cols; v[6] = f32_bits(1e-5f); break;
	case KNPU_OP_RMSNORM: v[3] = rows; v[4] = cols; v[5] = f32_bits(1e-6f); break;
	case KNPU_OP_REDUCE:
		v[2] = rows;
		v[3] = cols;
		v[4] = dim(r);
		*flags = below(r, 4);
		break;
	case KNPU_OP_TRANSPOSE: v[2] = 1 + below(r, 3); v[3] = rows; v[4] = cols; break;
	case KNPU_OP_RESIZE: wf_resize(r, flags, v); break;
	case KNPU_OP_ACTIVATION_PARAM: wf_activation_param(r, flags, v); break;
	case KNPU_OP_CONVERT: wf_convert(r, dt, flags, v); break;
	case KNPU_OP_GATHER: wf_gather(r, flags, v); break;
	case KNPU_OP_COMPARE:
		v[3] = rows * cols;
		v[4] = one_in(r, 2) ? cols : 1;
		*flags = below(r, 6);
		break;
	case KNPU_OP_SELECT:
		/* cond per column or per element, x a scalar or a row, y whole */
		v[4] = rows * cols;
		v[5] = one_in(r, 2) ? cols : rows * cols;
		v[6] = one_in(r, 2) ? 1 : cols;
		v[7] = rows * cols;
		break;
	}
}

/* A program of a few generated instructions; returns its words. */
static unsigned int gen_program(struct rng *r, uint32_t *p, unsigned int room, unsigned int nslots)
{
	unsigned int words = 0, k;

	for (k = 1 + below(r, 5); k > 0; k--) {
		const struct op_shape *s = &shapes[below(r, NSHAPES)];
		unsigned int nops = (unsigned int)strlen(s->operands), i, dt;
		uint32_t opcode = one_in(r, 64) ? below(r, 64) : s->opcode, flags, argmask = 0;
		uint32_t values[24] = { 0 };
		/* Three in four follow the rules, and one in four of those is broken again. */
		int wf = !one_in(r, 4);

		if (one_in(r, 64))
			nops = below(r, 24);
		if (words + 3 + nops > room)
			break;
		dt = one_in(r, 32) ? below(r, 256) : below(r, 6);
		while (!one_in(r, 32) && !(s->dtype_mask & (1u << dt)))
			dt = below(r, 6);
		flags = s->flags_mask ? (uint32_t)rnd(r) & s->flags_mask : 0;
		if (opcode == 0x10 || opcode == 0x11)
			flags = (flags & ~0xf0u) | below(r, 7) << 4;
		if (wf)
			well_formed(r, opcode, dt, &flags, values);
		for (i = 0; i < nops; i++) {
			char kind = i < strlen(s->operands) ? s->operands[i] : 'V';
			uint32_t v;

			if (kind == 'A' || (kind == 'O' && flags & 4) || (kind == 'S' && flags & 0x200)) {
				argmask |= 1u << i;
				v = one_in(r, 32) ? nslots + below(r, 4) : below(r, nslots);
			} else if (kind == 'O') {
				v = 0;
			} else if (wf) {
				v = values[i];
			} else if (kind == 'F' || kind == 'S') {
				v = float_bits(r);
			} else if (one_in(r, 8)) {
				argmask |= 1u << i;
				v = below(r, nslots);
			} else {
				v = small_value(r);
			}
			p[words + 3 + i] = v;
		}
		if (wf && nops && one_in(r, 4))
			p[words + 3 + below(r, nops)] = one_in(r, 2) ? (uint32_t)interesting(r) :
								      small_value(r);
		/*
		 * Mostly a SEM_WAIT for 0, which ends at once; one in 16 waits
		 * for a value that may never come and holds its core until the
		 * queue is reset.
		 */
		if (opcode == 0x0a && nops == 2 && !one_in(r, 16)) {
			p[words + 4] = 0;
			argmask &= ~2u;
		}
		if (one_in(r, 64))
			argmask = (uint32_t)rnd(r);
		p[words] = opcode | dt << 8 | nops << 16 |
			   (one_in(r, 128) ? 1u << (24 + below(r, 8)) : 0);
		p[words + 1] = one_in(r, 64) ? (uint32_t)rnd(r) : flags;
		p[words + 2] = argmask;
		words += 3 + nops;
	}
	return words;
}

/*
 * A VA for an argument slot: a mapped page of the space, mostly, or junk (one
 * in eight: an instruction has up to five address operands).
 */
static uint64_t slot_va(struct rng *r)
{
	switch (below(r, 24)) {
	case 0: return interesting(r);
	case 1: return VA_BASE + VA_SPAN + 4096ull * below(r, 64);	/* never mapped */
	case 2: return small_value(r);	/* a scalar */
	default: return VA_BASE + 64ull * below(r, VA_SPAN / 64);
	}
}

/*
 * Where the program page @page of space @a is: inside a block that maps its
 * 2 MiB, or mapped here to @pa (and the TLB invalidated, as a driver must,
 * mostly). Returns the bus address to write the program to.
 */
static uint64_t map_program_page(struct rng *r, unsigned int a, unsigned int page, uint64_t pa)
{
	uint64_t e = spaces[a].l2_entry[page / 512];

	if (e & KNPU_PTE_BLOCK && !(e & (KNPU_LARGE_PAGE_SIZE - 1) & KNPU_PTE_ADDR_MASK)) {
		pa = (e & KNPU_PTE_ADDR_MASK) + 4096ull * (page % 512);
		return e & KNPU_PTE_DEVMEM ? BAR2 + pa : pa;
	}
	mem_write64(spaces[a].l3[page / 512] + 8 * (page % 512),
		    pa | KNPU_PTE_VALID | KNPU_PTE_READ | KNPU_PTE_WRITE);
	if (!one_in(r, 16))
		wr(KNPU_REG_MMU_TLB_INVAL, a);
	return pa;
}

/*
 * A job for queue @q: a generated program and argument table in a DATA page
 * that the queue's address space maps, a descriptor (sometimes broken) at the
 * tail of its ring, the new tail and the doorbell.
 */
static void submit(struct rng *r, unsigned int q)
{
	uint32_t prog[256];
	uint64_t args[16];
	KnpuDesc d = { 0 };
	unsigned int words, nslots = 1 + below(r, 16), i, page, a = queues[q].asid;
	uint64_t prog_pa, args_pa, slot;

	words = gen_program(r, prog, 256, nslots);
	if (!words) {
		memset(prog, 0, 12);
		words = 3;
	}
	for (i = 0; i < nslots; i++)
		args[i] = slot_va(r);
	/*
	 * Program and arguments live in a DATA page that the job's space maps
	 * at the page's VA: written here by the "CPU", read by the device.
	 */
	page = below(r, VA_SPAN / 4096 - 1);
	prog_pa = DATA + 4096ull * below(r, DATA_SIZE / 4096 - 1);
	if (a >= 1 && a <= NUM_ASIDS)
		prog_pa = map_program_page(r, a, page, prog_pa);
	args_pa = prog_pa + 2048;
	mem_write(prog_pa, prog, words > 512 ? 2048 : words * 4);
	mem_write(args_pa, args, nslots * 8);
	d.type = one_in(r, 16) ? KNPU_DESC_TYPE_NOP : KNPU_DESC_TYPE_KERNEL;
	d.flags = below(r, 2);
	d.program_va = VA_BASE + 4096ull * page;
	d.program_size = words * 4;
	d.args_va = d.program_va + 2048;
	d.args_size = nslots * 8;
	d.fence_value = rnd(r);
	d.job_id = ops;
	if (d.type == KNPU_DESC_TYPE_NOP)
		d.program_va = d.program_size = d.args_size = d.args_va = 0;
	if (one_in(r, 4)) {	/* break a field */
		uint32_t w[16];

		memcpy(w, &d, sizeof(d));
		w[below(r, 16)] = (uint32_t)interesting(r);
		memcpy(&d, w, sizeof(d));
	}
	slot = queues[q].ring + KNPU_DESC_SIZE * (queues[q].tail % RING_ENTRIES);
	mem_write(slot, &d, sizeof(d));
	queues[q].tail = (queues[q].tail + 1) % RING_ENTRIES;
	qwr(q, KNPU_Q_TAIL, one_in(r, 64) ? (uint32_t)interesting(r) : queues[q].tail);
	/*
	 * A failed job stops its queue until software resumes it, as a driver
	 * does; without this most queues would sit stopped and few jobs run.
	 */
	if (!one_in(r, 8))
		qwr(q, KNPU_Q_CTRL, KNPU_Q_CTRL_ENABLE | KNPU_Q_CTRL_RESUME);
	qwr(q, KNPU_Q_DOORBELL, 1);
	/*
	 * Often let the device run the job before the next command: the
	 * deterministic engine runs jobs only inside clock_step (the first tick
	 * is 1 us after the doorbell). The stream is the same for both engines.
	 */
	if (one_in(r, 2))
		cmd("clock_step %u", 1000 + below(r, 10000));
}

/* ---- the operations ---------------------------------------------------------- */

static const uint32_t plain_regs[] = {
	KNPU_REG_SCRATCH, KNPU_REG_DEV_CTRL, KNPU_REG_EVENT_STATUS, KNPU_REG_EVENT_MASK,
	KNPU_REG_MMU_CTRL, KNPU_REG_MMU_TLB_INVAL, KNPU_REG_ID, KNPU_REG_TIMESTAMP_LO,
	KNPU_REG_TEMP, KNPU_REG_JOBS_COMPLETED_LO, KNPU_REG_BYTES_MOVED_LO,
};

static const uint32_t safe_queue_regs[] = {
	KNPU_Q_RING_SIZE, KNPU_Q_CONFIG, KNPU_Q_CTRL, KNPU_Q_TAIL, KNPU_Q_DOORBELL,
	KNPU_Q_IRQ_STATUS, KNPU_Q_STATUS, KNPU_Q_HEAD, KNPU_Q_ERROR, KNPU_Q_COMPLETED_LO,
};

static void op_register(struct rng *r)
{
	unsigned int q = below(r, NUM_QUEUES + 1);	/* one past the device's queues */
	uint32_t v = one_in(r, 2) ? (uint32_t)interesting(r) : (uint32_t)rnd(r);

	switch (below(r, 8)) {
	case 0: {
		uint32_t reg = plain_regs[below(r, sizeof(plain_regs) / sizeof(plain_regs[0]))];

		if (reg == KNPU_REG_MMU_CTRL || reg == KNPU_REG_DEV_CTRL)
			v = one_in(r, 8) ? v : 1;	/* mostly keep the device on */
		wr(reg, v);
		break;
	}
	case 1:
		set_root(r, below(r, 66));
		break;
	case 2: {
		uint64_t t = one_in(r, 2) ? ring_target(r, q % NUM_QUEUES) : fence_target(r, q);
		uint32_t base = one_in(r, 2) ? KNPU_Q_RING_BASE_LO : KNPU_Q_FENCE_ADDR_LO;

		if (base == KNPU_Q_FENCE_ADDR_LO)
			t = fence_target(r, q % NUM_QUEUES);
		qwr(q, base, (uint32_t)t);
		qwr(q, base + 4, (uint32_t)(t >> 32));
		break;
	}
	case 3:
		qwr(q, safe_queue_regs[below(r, sizeof(safe_queue_regs) / sizeof(safe_queue_regs[0]))],
		    v);
		break;
	case 4: /* any offset in BAR0 except the ones that take addresses */
		v = below(r, KNPU_REGS_SIZE / 4) * 4;
		if ((v >= 0x800 && v < 0xa00) ||
		    (v >= KNPU_REG_QUEUE_BASE && (v & 0xff) < 0x18 && (v & 0xff) != 0x08 &&
		     (v & 0xff) != 0x0c))
			v = KNPU_REG_SCRATCH;
		wr(v, (uint32_t)rnd(r));
		break;
	case 5: /* the MSI-X pending bits; now and then the messages sent (to 0) */
		if (one_in(r, 16)) {
			cfg_write(msix_cap, MSIX_ENABLE);
			cfg_write(msix_cap, MSIX_ENABLE | MSIX_MASKALL);
		}
		cmd("readq 0x%" PRIx64, MSIX_PBA + 8 * below(r, 2));
		break;
	default:
		rd(below(r, KNPU_REGS_SIZE / 4) * 4);
		break;
	}
}

static void op_queue_control(struct rng *r)
{
	unsigned int q = below(r, NUM_QUEUES);

	switch (below(r, 4)) {
	case 0:
		qwr(q, KNPU_Q_CTRL, KNPU_Q_CTRL_RESUME | KNPU_Q_CTRL_ENABLE);
		break;
	case 1:
		qwr(q, KNPU_Q_CTRL, 0);	/* disable under a running job */
		qwr(q, KNPU_Q_CTRL, KNPU_Q_CTRL_ENABLE);	/* and re-enable: aborts it */
		queues[q].tail = 0;
		break;
	default:
		queue_config(r, q);
		break;
	}
}

static void op_map(struct rng *r)
{
	unsigned int a = 1 + below(r, NUM_ASIDS), page = below(r, VA_SPAN / 4096);

	switch (below(r, 6)) {
	case 0:	/* unmap */
		mem_write64(spaces[a].l3[page / 512] + 8 * (page % 512), 0);
		break;
	case 1: {	/* a 2 MiB block over DATA or device memory, or back to the L3 table */
		unsigned int i = below(r, 4);
		uint64_t e;

		if (one_in(r, 2))
			e = table_entry(spaces[a].l3[i]);
		else if (one_in(r, 2))
			e = (DATA + KNPU_LARGE_PAGE_SIZE * below(r, 2)) | KNPU_PTE_VALID |
			    KNPU_PTE_READ | KNPU_PTE_WRITE | KNPU_PTE_BLOCK;
		else
			e = KNPU_LARGE_PAGE_SIZE * below(r, DEVMEM_DATA / KNPU_LARGE_PAGE_SIZE) |
			    KNPU_PTE_VALID | KNPU_PTE_READ | KNPU_PTE_WRITE | KNPU_PTE_DEVMEM |
			    KNPU_PTE_BLOCK;
		if (one_in(r, 8))
			e |= 0x1000;	/* misaligned block */
		set_l2_entry(a, i, e);
		break;
	}
	default:
		map_page(r, a, page);
		break;
	}
	/* Mostly invalidate as software must; sometimes leave a stale TLB entry. */
	if (!one_in(r, 8))
		wr(KNPU_REG_MMU_TLB_INVAL, one_in(r, 2) ? a : 1u << 31);
}

/* The CPU writes DATA pages while jobs use them. */
static void op_scribble(struct rng *r)
{
	uint64_t v = rnd(r);

	if (one_in(r, 4))
		cmd("writeq 0x%" PRIx64 " 0x%" PRIx64, BAR2 + 8ull * below(r, DEVMEM_DATA / 8), v);
	else
		cmd("writeq 0x%" PRIx64 " 0x%" PRIx64, DATA + 8ull * below(r, DATA_SIZE / 8), v);
}

static void op_rare(struct rng *r)
{
	switch (below(r, 4)) {
	case 0:	/* soft reset, then set up again */
		wr(KNPU_REG_SOFT_RESET, KNPU_SOFT_RESET_MAGIC);
		device_init(r);
		break;
	case 1:	/* bus mastering off: every DMA must be refused */
		cfg_write(0x04, 0x2);
		submit(r, below(r, NUM_QUEUES));
		cfg_write(0x04, 0x6);
		break;
	default:
		cmd("clock_step %u", 1000 + below(r, 100000000));
		break;
	}
}

/* ---- checks ------------------------------------------------------------------ */

static uint8_t readback[GUARD_SIZE > DEVMEM_SIZE - DEVMEM_DATA ?
			GUARD_SIZE : DEVMEM_SIZE - DEVMEM_DATA];

static void expect_canary(const char *what, uint64_t addr, size_t len)
{
	size_t i;

	mem_read(addr, readback, len);
	for (i = 0; i < len; i++)
		if (readback[i] != CANARY)
			die("%s written at 0x%" PRIx64 " (0x%02x): the device wrote outside the job's mappings",
			    what, addr + i, readback[i]);
}

static void checkpoint(void)
{
	size_t i;

	expect_canary("RAM guard area", GUARD, GUARD_SIZE);
	expect_canary("device memory guard area", BAR2 + DEVMEM_DATA, DEVMEM_SIZE - DEVMEM_DATA);
	mem_read(TABLES, readback, tables_next - TABLES);
	for (i = 0; i < tables_next - TABLES; i++)
		if (readback[i] != shadow[i])
			die("page tables or rings changed at 0x%" PRIx64 ": the device wrote them",
			    TABLES + i);
}

/* Every queue reset; none may still run a job afterwards. */
static void quiesce(void)
{
	unsigned int q;

	for (q = 0; q < NUM_QUEUES; q++) {
		qwr(q, KNPU_Q_CTRL, KNPU_Q_CTRL_RESET);
		if (rd(KNPU_REG_Q(q, KNPU_Q_STATUS)) & KNPU_Q_STATUS_RUNNING)
			die("queue %u still runs a job after Q_CTRL.RESET", q);
	}
}

/* A clean DMA_FILL job on queue 0 after a soft reset: the device still works. */
static void device_still_works(struct rng *r)
{
	uint32_t prog[6] = { 0x02 | 3u << 16, 0, 1, 0, 4096, 0x5a5a1234 };
	uint64_t args[1] = { VA_BASE + 4096 };
	uint32_t check[1024];
	KnpuDesc d = { .type = KNPU_DESC_TYPE_KERNEL, .program_va = VA_BASE, .program_size = 24,
		       .args_va = VA_BASE + 2048, .args_size = 8, .fence_value = 0x600d };
	unsigned int i;
	uint64_t fence;

	wr(KNPU_REG_EVENT_STATUS, ~0u);
	wr(KNPU_REG_SOFT_RESET, KNPU_SOFT_RESET_MAGIC);
	for (i = 0; i < 1000 && !(rd(KNPU_REG_EVENT_STATUS) & (1u << 3)); i++)
		;
	set_l2_entry(1, 0, table_entry(spaces[1].l3[0]));
	mem_write64(spaces[1].l3[0], DATA | KNPU_PTE_VALID | KNPU_PTE_READ);
	mem_write64(spaces[1].l3[0] + 8, (DATA + 4096) | KNPU_PTE_VALID | KNPU_PTE_READ |
		    KNPU_PTE_WRITE);
	mem_write(DATA, prog, sizeof(prog));
	mem_write(DATA + 2048, args, sizeof(args));
	mem_write64(FENCES, 0);
	wr(KNPU_REG_MMU_CTRL, 1);
	wr(KNPU_REG_AS_ROOT_HI(1), (uint32_t)(spaces[1].l0 >> 32));
	wr(KNPU_REG_AS_ROOT_LO(1), (uint32_t)spaces[1].l0 | 1);
	wr(KNPU_REG_DEV_CTRL, 1);
	qwr(0, KNPU_Q_RING_BASE_LO, (uint32_t)queues[0].ring);
	qwr(0, KNPU_Q_RING_BASE_HI, (uint32_t)(queues[0].ring >> 32));
	qwr(0, KNPU_Q_RING_SIZE, RING_ENTRIES);
	qwr(0, KNPU_Q_CONFIG, 1);
	qwr(0, KNPU_Q_FENCE_ADDR_LO, (uint32_t)FENCES);
	qwr(0, KNPU_Q_FENCE_ADDR_HI, 0);
	qwr(0, KNPU_Q_CTRL, KNPU_Q_CTRL_ENABLE);
	mem_write(queues[0].ring, &d, sizeof(d));
	qwr(0, KNPU_Q_TAIL, 1);
	qwr(0, KNPU_Q_DOORBELL, 1);
	for (i = 0; i < 100000; i++) {
		if (deterministic)	/* the job runs only inside clock_step */
			cmd("clock_step 1000");
		mem_read(FENCES, (uint8_t *)&fence, 8);
		if (fence == 0x600d || rd(KNPU_REG_Q(0, KNPU_Q_STATUS)) & KNPU_Q_STATUS_ERROR)
			break;
	}
	mem_read(DATA + 4096, (uint8_t *)check, sizeof(check));
	for (i = 0; i < 1024 && check[i] == 0x5a5a1234; i++)
		;
	if (fence != 0x600d || i != 1024)
		die("the device no longer runs a job: fence 0x%" PRIx64 ", Q_ERROR 0x%x, %u words",
		    fence, rd(KNPU_REG_Q(0, KNPU_Q_ERROR)), i);
	(void)r;
}

/* ---- main -------------------------------------------------------------------- */

/* The machine: QEMU's arguments but the last two ("-qtest" CHARDEV). */
static void qemu_args(const char **argv, const char *qemu)
{
	static const char *const machine[] = {
		"-machine", "q35", "-accel", "qtest", "-display", "none", "-nodefaults",
		"-m", "256M", "-qtest-log", "none", "-device", NULL,
	};
	unsigned int i;

	argv[0] = qemu;
	for (i = 0; machine[i]; i++)
		argv[1 + i] = machine[i];
	argv[1 + i] = deterministic ? "knpu,id=knpu0,devmem-size=16M,cores=2,queues=8,x-deterministic=on"
				    : "knpu,id=knpu0,devmem-size=16M,cores=2,queues=8";
	argv[2 + i] = NULL;
}

static void start_qemu(const char *qemu, const char *sock_path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	const char *argv[32];
	char qtest_arg[200];
	unsigned int n;

	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", sock_path);
	unlink(sock_path);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) || listen(lfd, 1))
		die("cannot listen on %s: %s", sock_path, strerror(errno));
	snprintf(qtest_arg, sizeof(qtest_arg), "unix:%s", sock_path);
	qemu_args(argv, qemu);
	for (n = 0; argv[n]; n++)
		;
	argv[n] = "-qtest";
	argv[n + 1] = qtest_arg;
	argv[n + 2] = NULL;
	qemu_pid = fork();
	if (qemu_pid == 0) {
		execv(qemu, (char *const *)argv);
		_exit(127);
	}
	qfd = accept(lfd, NULL, NULL);
	close(lfd);
	unlink(sock_path);
	if (qfd < 0)
		die("QEMU did not connect");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "qemu", required_argument, NULL, 'q' }, { "seed", required_argument, NULL, 's' },
		{ "ops", required_argument, NULL, 'o' }, { "trace", required_argument, NULL, 't' },
		{ "answers", required_argument, NULL, 'a' }, { "engine", required_argument, NULL, 'e' },
		{ NULL, 0, NULL, 0 },
	};
	const char *qemu = NULL, *trace_path = NULL, *engine = NULL;
	uint64_t seed = (uint64_t)time(NULL) ^ (uint64_t)getpid() << 32, nops = 100000;
	uint64_t next_checkpoint, start_ns;
	char sock_path[108];
	struct rng r;
	struct timespec ts;
	unsigned int q;
	int c, status;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'q': qemu = optarg; break;
		case 's': seed = strtoull(optarg, NULL, 0); break;
		case 'o': nops = strtoull(optarg, NULL, 0); break;
		case 't':
			trace_path = optarg;
			trace = fopen(optarg, "w");
			if (!trace)
				die("cannot write %s", optarg);
			break;
		case 'a':
			answers = fopen(optarg, "w");
			if (!answers)
				die("cannot write %s", optarg);
			break;
		case 'e': engine = optarg; break;
		default:
			fprintf(stderr, "usage: knpu-device-fuzz --qemu QEMU [--seed S] [--ops N] [--trace FILE] [--answers FILE] [--engine deterministic|threads]\n");
			return 2;
		}
	}
	if (!qemu) {
		fprintf(stderr, "knpu-device-fuzz: --qemu QEMU\n");
		return 2;
	}
	/* A trace is for replay: deterministic unless asked otherwise. */
	if (!engine)
		engine = trace ? "deterministic" : "threads";
	if (strcmp(engine, "deterministic") && strcmp(engine, "threads")) {
		fprintf(stderr, "knpu-device-fuzz: --engine deterministic or threads\n");
		return 2;
	}
	deterministic = !strcmp(engine, "deterministic");
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	printf("# knpu-device-fuzz --seed %" PRIu64 " --ops %" PRIu64 " --engine %s --qemu %s\n", seed,
	       nops, engine, qemu);
	r.s = seed;
	snprintf(sock_path, sizeof(sock_path), "/tmp/knpu-device-fuzz.%d.sock", getpid());
	clock_gettime(CLOCK_MONOTONIC, &ts);
	start_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	start_qemu(qemu, sock_path);

	pci_setup();
	cmd("memset 0x%" PRIx64 " 0x%" PRIx64 " 0x%x", GUARD, GUARD_SIZE, CANARY);
	cmd("memset 0x%" PRIx64 " 0x%" PRIx64 " 0x%x", BAR2 + DEVMEM_DATA,
	    DEVMEM_SIZE - DEVMEM_DATA, CANARY);
	/*
	 * Data as 0x3f bytes: finite, positive values of every type (0.75 as
	 * FP32, 1.8 as FP16), so scales read from memory pass their checks.
	 */
	cmd("memset 0x%" PRIx64 " 0x%" PRIx64 " 0x3f", DATA, DATA_SIZE);
	cmd("memset 0x%" PRIx64 " 0x%" PRIx64 " 0x3f", BAR2, DEVMEM_DATA);
	tables_build(&r);
	for (q = 0; q < NUM_QUEUES; q++)
		queues[q].ring = tables_alloc(RING_ENTRIES * KNPU_DESC_SIZE, 4096);
	device_init(&r);
	/* Checkpoints cost about 10 MiB of reads each: a few per run. */
	next_checkpoint = nops / 4 > 100000 ? nops / 4 : 100000;
	while (ops < nops) {
		uint32_t x = below(&r, 100);

		if (x < 35)
			submit(&r, below(&r, NUM_QUEUES));
		else if (x < 60)
			op_register(&r);
		else if (x < 72)
			op_map(&r);
		else if (x < 80)
			op_queue_control(&r);
		else if (x < 95)
			op_scribble(&r);
		else
			op_rare(&r);
		if (ops >= next_checkpoint) {
			checkpoint();
			next_checkpoint = ops + (nops / 4 > 100000 ? nops / 4 : 100000);
		}
	}
	quiesce();
	/* How much the device did: a fuzzer whose jobs all fail early tests little. */
	printf("# device: %u jobs completed, %u MMU faults, %u bytes moved\n",
	       rd(KNPU_REG_JOBS_COMPLETED_LO), rd(KNPU_REG_MMU_FAULT_COUNT),
	       rd(KNPU_REG_BYTES_MOVED_LO));
	checkpoint();
	device_still_works(&r);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	printf("# %" PRIu64 " operations in %.1f s: %.0f operations/s\n", ops,
	       (double)((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec - start_ns) / 1e9,
	       (double)ops * 1e9 /
	       (double)((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec - start_ns));
	printf("# mapped %u address spaces, %u queues; guard areas and tables unchanged\n",
	       NUM_ASIDS, NUM_QUEUES);
	printf("# answers: %" PRIu64 ", digest %016" PRIx64 "%s\n", answer_count, answer_digest,
	       deterministic ? "" : " (threads: not replayable)");
	if (trace) {
		const char *argv[32];
		unsigned int i;

		fclose(trace);
		trace = NULL;
		qemu_args(argv, qemu);
		printf("# replay:");
		for (i = 0; argv[i]; i++)
			printf(" %s", argv[i]);
		printf(" -qtest stdio < %s\n", trace_path);
	}
	if (answers)
		fclose(answers);
	/* As libqtest ends QEMU. A sanitizer report would have ended it already. */
	kill(qemu_pid, SIGTERM);
	close(qfd);
	qfd = -1;
	if (waitpid(qemu_pid, &status, 0) == qemu_pid && WIFEXITED(status) &&
	    WEXITSTATUS(status) != 0) {
		printf("not ok - QEMU exited with status %d (a sanitizer report?)\n",
		       WEXITSTATUS(status));
		return 1;
	}
	qemu_pid = 0;
	printf("ok - %" PRIu64 " operations, no crash, no hang, nothing written outside the mappings, the device still runs a job (seed %" PRIu64 ")\n",
	       ops, seed);
	return 0;
}
