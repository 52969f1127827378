// SPDX-License-Identifier: GPL-2.0-only
/*
 * tcg-flags: the harness's QEMU must keep RFLAGS right where QEMU 7.2's TCG
 * did not. Each case is a defect of QEMU's core that the build carries a fix
 * for (scripts/qemu/patches/, docs/testing.md "QEMU's core").
 *
 * cmpxchg8b and cmpxchg16b change only ZF; CF, PF, AF, SF and OF keep what
 * the instruction before them set. QEMU 7.2 calls their helpers without
 * first storing the translator's lazy flags state (cc_op), and the helpers
 * compute the flags they keep from that stored cc_op: after a cmp in the
 * same translated block, RFLAGS came out as garbage. In the guest kernel,
 * SLUB's this_cpu_cmpxchg16b left half a freelist pointer in EFLAGS (the
 * rare soak crash). Fix: tcg-cmpxchg-cc-op.patch. Checked for each form
 * (8b and 16b, with and without lock, exchanging or not) after a popfq,
 * which makes QEMU store cc_op = EFLAGS and end the translated block, then
 * a cmp that leaves SUB lazy; then with threads contending on one word.
 *
 * setcc to memory and rcl/rcr on memory compute the lazy flags into QEMU's
 * cc_src and then access memory; when that access faults, QEMU 7.2 put
 * back the cc_op the instruction started with, which no longer matched
 * cc_src, so the retried instruction saw wrong flags. Fix:
 * tcg-eflags-across-faults.patch. Checked after an add, on pages whose
 * first write faults (the shared zero page) and on pages not yet present.
 *
 * Usage: tcg-flags [CONTENTION_SECONDS] (default 3).
 * Exit 0: every result right; 1: a wrong result; 2: setup failed.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* The only flag cmpxchg8b/16b change, and the others a cmp sets. */
#define FLAG_Z 0x40ull
#define ARITH_FLAGS 0x895ull /* CF, PF, AF, SF, OF */
#define CONTENDERS 4
#define DETERMINISTIC_ROUNDS 1000
#define REPORT_LIMIT 5
/* Pages per faulting-access case: each page faults once. */
#define FAULT_PAGES 500

/* Operands of the cmp that precedes each cmpxchg: 1 - 2 sets CF, PF, AF, SF. */
#define CMP_LEFT 1ull
#define CMP_RIGHT 2ull

/* pushfq; popq %[f], below the red zone the compiler may use. */
#define READ_RFLAGS                 \
	"lea -128(%%rsp), %%rsp\n\t" \
	"pushfq\n\t"                  \
	"popq %[f]\n\t"               \
	"lea 128(%%rsp), %%rsp"

struct check {
	const char *form;
	unsigned long done;
	unsigned long wrong;
};

static atomic_ulong total_wrong;

/* Counts a wrong result; true while wrong results are still printed. */
static bool count_wrong(struct check *c)
{
	c->wrong++;
	return atomic_fetch_add(&total_wrong, 1) < REPORT_LIMIT;
}

static void check_flags(struct check *c, uint64_t flags, uint64_t expected)
{
	c->done++;
	if ((flags & (ARITH_FLAGS | FLAG_Z)) != expected && count_wrong(c))
		printf("%s: RFLAGS 0x%llx, want arithmetic flags 0x%llx\n", c->form,
		       (unsigned long long)flags, (unsigned long long)expected);
}

/* The arithmetic flags the cmp leaves; cmpxchg keeps them, bar ZF. */
static uint64_t cmp_flags(void)
{
	uint64_t flags;

	__asm__ volatile("cmpq %[r], %[l]\n\t" READ_RFLAGS
			 : [f] "=r"(flags)
			 : [l] "r"(CMP_LEFT), [r] "r"(CMP_RIGHT)
			 : "cc");
	return flags & ARITH_FLAGS;
}

/*
 * popfq with every arithmetic flag set, then cmp, then the cmpxchg, then
 * pushfq: the popfq ends QEMU's translated block with cc_op = EFLAGS stored,
 * so a helper that reads the stored cc_op computes the flags from the cmp's
 * operand instead of its result.
 */
#define CMPXCHG_AFTER_CMP(insn, mem, ax, dx, bx, cx, flags)                         \
	do {                                                                         \
		__asm__ volatile("lea -128(%%rsp), %%rsp\n\t"                        \
				 "pushq %[init]\n\t"                                 \
				 "popfq\n\t"                                         \
				 "lea 128(%%rsp), %%rsp\n\t"                         \
				 "cmpq %[r], %[l]\n\t" insn " %[m]\n\t" READ_RFLAGS  \
				 : [m] "+m"(mem), "+a"(ax), "+d"(dx), [f] "=&r"(flags) \
				 : "b"(bx), "c"(cx),                                 \
				   [init] "r"(0x202ull | ARITH_FLAGS | FLAG_Z),      \
				   [l] "r"(CMP_LEFT), [r] "r"(CMP_RIGHT)             \
				 : "cc", "memory");                                  \
	} while (0)

static _Alignas(16) unsigned __int128 word16;
static uint64_t word8;

/* One cmpxchg16b on word16; returns whether it exchanged. */
static bool cx16(bool locked, unsigned __int128 expect, unsigned __int128 desired,
		 uint64_t *flags)
{
	uint64_t lo = (uint64_t)expect, hi = (uint64_t)(expect >> 64);

	if (locked)
		CMPXCHG_AFTER_CMP("lock cmpxchg16b", word16, lo, hi, (uint64_t)desired,
				  (uint64_t)(desired >> 64), *flags);
	else
		CMPXCHG_AFTER_CMP("cmpxchg16b", word16, lo, hi, (uint64_t)desired,
				  (uint64_t)(desired >> 64), *flags);
	return lo == (uint64_t)expect && hi == (uint64_t)(expect >> 64);
}

static bool cx8(bool locked, uint64_t expect, uint64_t desired, uint64_t *flags)
{
	uint32_t lo = (uint32_t)expect, hi = (uint32_t)(expect >> 32);

	if (locked)
		CMPXCHG_AFTER_CMP("lock cmpxchg8b", word8, lo, hi, (uint32_t)desired,
				  (uint32_t)(desired >> 32), *flags);
	else
		CMPXCHG_AFTER_CMP("cmpxchg8b", word8, lo, hi, (uint32_t)desired,
				  (uint32_t)(desired >> 32), *flags);
	return ((uint64_t)hi << 32 | lo) == expect;
}

/* One exchange on this thread that succeeds or fails as asked. */
static bool exchange_once(bool wide, bool locked, bool succeed, uint64_t *flags)
{
	if (wide) {
		unsigned __int128 now = word16;

		return cx16(locked, succeed ? now : now + 1, now + 7, flags);
	}
	uint64_t now = word8;

	return cx8(locked, succeed ? now : now + 1, now + 7, flags);
}

/* Every form, succeeding and failing, on one thread. */
static void check_each_form(uint64_t arith)
{
	static const char *const names[2][2][2] = {
		{ { "cmpxchg8b fails", "cmpxchg8b succeeds" },
		  { "lock cmpxchg8b fails", "lock cmpxchg8b succeeds" } },
		{ { "cmpxchg16b fails", "cmpxchg16b succeeds" },
		  { "lock cmpxchg16b fails", "lock cmpxchg16b succeeds" } },
	};

	for (int wide = 0; wide < 2; wide++) {
		for (int locked = 0; locked < 2; locked++) {
			for (int succeed = 0; succeed < 2; succeed++) {
				struct check c = { .form = names[wide][locked][succeed] };

				for (int i = 0; i < DETERMINISTIC_ROUNDS; i++) {
					uint64_t flags;
					bool swapped = exchange_once(wide, locked, succeed, &flags);

					if (swapped != (bool)succeed && count_wrong(&c))
						printf("%s: %s\n", c.form,
						       swapped ? "exchanged" : "did not exchange");
					check_flags(&c, flags, arith | (succeed ? FLAG_Z : 0));
				}
				printf("%-26s %lu checked, %lu wrong\n", c.form, c.done, c.wrong);
			}
		}
	}
}

static atomic_bool stop_contention;
static uint64_t contention_arith;

struct contender {
	struct check check;
	bool wide;
};

static void *contend(void *arg)
{
	struct contender *c = arg;

	while (!atomic_load_explicit(&stop_contention, memory_order_relaxed)) {
		uint64_t flags;
		bool swapped;

		if (c->wide) {
			unsigned __int128 seen = word16; /* may be torn: then it fails */

			swapped = cx16(true, seen, seen + 1, &flags);
		} else {
			uint64_t seen = __atomic_load_n(&word8, __ATOMIC_RELAXED);

			swapped = cx8(true, seen, seen + 1, &flags);
		}
		check_flags(&c->check, flags, contention_arith | (swapped ? FLAG_Z : 0));
	}
	return NULL;
}

static int run_contention(unsigned int seconds, uint64_t arith)
{
	pthread_t threads[CONTENDERS];
	struct contender contenders[CONTENDERS];

	contention_arith = arith;
	for (int i = 0; i < CONTENDERS; i++) {
		bool wide = i % 2 == 0;

		contenders[i] = (struct contender){
			.check.form = wide ? "contended lock cmpxchg16b" : "contended lock cmpxchg8b",
			.wide = wide,
		};
		if (pthread_create(&threads[i], NULL, contend, &contenders[i])) {
			fprintf(stderr, "tcg-flags: pthread_create failed\n");
			return 2;
		}
	}
	sleep(seconds);
	atomic_store(&stop_contention, true);
	for (int i = 0; i < CONTENDERS; i++) {
		pthread_join(threads[i], NULL);
		printf("%-26s %lu checked, %lu wrong (thread %d)\n", contenders[i].check.form,
		       contenders[i].check.done, contenders[i].check.wrong, i);
	}
	return 0;
}

/* Operands of the add before a faulting access: 3 + 0 leaves only PF set. */
#define ADD_LEFT 3ull
#define ADD_RIGHT 0ull

static uint64_t add_flags(void)
{
	uint64_t sum = ADD_LEFT, flags;

	__asm__ volatile("add %[r], %[s]\n\t" READ_RFLAGS
			 : [s] "+r"(sum), [f] "=r"(flags)
			 : [r] "r"(ADD_RIGHT)
			 : "cc");
	return flags & (ARITH_FLAGS | FLAG_Z);
}

/*
 * add, then @insn on @byte (0), then pushfq. Both instructions below must
 * leave 0 there and the add's flags: setbe (below-or-equal is false) and
 * rclb $1 (rotates in the add's carry, 0; keeps PF, and OF is 0).
 */
#define ACCESS_AFTER_ADD(name, insn)                                           \
	static uint8_t name(uint8_t *byte, uint64_t *flags)                    \
	{                                                                      \
		uint64_t sum = ADD_LEFT;                                       \
		__asm__ volatile("add %[r], %[s]\n\t" insn " %[m]\n\t" READ_RFLAGS \
				 : [s] "+r"(sum), [m] "+m"(*byte), [f] "=r"(*flags) \
				 : [r] "r"(ADD_RIGHT)                          \
				 : "cc", "memory");                            \
		return *byte;                                                  \
	}

ACCESS_AFTER_ADD(setbe_after_add, "setbe")
ACCESS_AFTER_ADD(rcl_after_add, "rclb $1,")

typedef uint8_t (*faulting_access)(uint8_t *byte, uint64_t *flags);

/*
 * @access once on each of FAULT_PAGES fresh pages: read first (mapped to the
 * shared zero page, so the write faults) or not (the first access faults).
 */
static int check_faulting_access(const char *form, faulting_access access, bool read_first)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), len = FAULT_PAGES * page;
	uint8_t *pages = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t want = add_flags();
	struct check c = { .form = form };

	if (pages == MAP_FAILED) {
		perror("tcg-flags: mmap");
		return 2;
	}
	/* One fault per page, not one per huge page. */
	madvise(pages, len, MADV_NOHUGEPAGE);
	for (size_t i = 0; i < FAULT_PAGES; i++) {
		uint8_t *byte = pages + i * page;
		uint64_t flags;

		uint8_t stored;

		if (read_first)
			(void)*(volatile uint8_t *)byte;
		stored = access(byte, &flags);
		c.done++;
		if ((stored != 0 || (flags & (ARITH_FLAGS | FLAG_Z)) != want) && count_wrong(&c))
			printf("%s: stored %u, RFLAGS 0x%llx; want 0 and arithmetic flags 0x%llx\n",
			       form, stored, (unsigned long long)flags, (unsigned long long)want);
	}
	printf("%-44s %lu checked, %lu wrong\n", c.form, c.done, c.wrong);
	munmap(pages, len);
	return 0;
}

static int check_faulting_accesses(void)
{
	return check_faulting_access("setbe on a zero-page mapping (store faults)",
				     setbe_after_add, true) ||
	       check_faulting_access("setbe on a page not yet present", setbe_after_add, false) ||
	       check_faulting_access("rcl on a zero-page mapping (store faults)", rcl_after_add,
				     true) ||
	       check_faulting_access("rcl on a page not yet present", rcl_after_add, false);
}

int main(int argc, char **argv)
{
	unsigned int seconds = argc > 1 ? (unsigned int)strtoul(argv[1], NULL, 10) : 3;
	uint64_t arith = cmp_flags();

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("cmp %llu, %llu leaves arithmetic flags 0x%llx\n", CMP_LEFT, CMP_RIGHT,
	       (unsigned long long)arith);
	check_each_form(arith);
	if (run_contention(seconds, arith) || check_faulting_accesses())
		return 2;
	if (atomic_load(&total_wrong)) {
		printf("not ok: %lu wrong results or RFLAGS\n",
		       atomic_load(&total_wrong));
		return 1;
	}
	printf("ok: every result and RFLAGS right\n");
	return 0;
}
