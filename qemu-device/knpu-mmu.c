/*
 * KNPU device model: DMA and the device MMU (spec section 6).
 *
 * Jobs reach memory through the MMU: a 4-level walk of the spec with
 * 4 KiB and 2 MiB pages whose targets are bus addresses (host memory) or
 * device memory. Every page of every access is translated and permission
 * checked. Each core caches translations in a TLB for 4 KiB and one for
 * 2 MiB pages, and the last-level table of its last walk (knpu_walk());
 * any invalidation bumps s->tlb_epoch and waits for the access sections
 * of older epochs to end, and a core empties its TLBs and walk cache
 * when it opens a section of a newer epoch. Bus accesses reach system RAM
 * only (knpu-internal.h says why). Bytes move run by run: the pages that
 * follow each other in both the VA space and the target are translated
 * in one access section and copied with one memcpy() from or to the
 * host's mapping of the RAM (knpu_run_map()); DMA_COPY copies from the
 * source's mapping to the destination's, without a bounce buffer.
 *
 * Copyright (c) 2026 The knpu authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/bswap.h"
#include "sysemu/dma.h"
#include "trace.h"
#include "knpu-internal.h"

typedef struct KnpuXlat {
    uint64_t addr;          /* bus address, or device-memory offset */
    uint64_t len;           /* bytes to the end of the page */
    bool devmem;
} KnpuXlat;

static const MemTxAttrs knpu_dma_attrs = { .memory = true };

/*
 * The address space the device's DMA goes to. (Not PCI_DEVICE(s): with
 * QOM cast debugging that checks the type on every access.)
 */
static AddressSpace *knpu_dma_as(KnpuState *s)
{
    return pci_get_address_space(&s->parent_obj);
}

/*
 * The class of the last owner of RAM found not to be a device. QOM classes
 * live as long as the process and their ancestry does not change, so the
 * verdict stays true; it spares object_dynamic_cast() (a type lookup by
 * name) on each access.
 */
static ObjectClass *knpu_ram_owner_class;

/*
 * Is @mr RAM of the machine? The RAM of a device (a BAR, VGA VRAM, our
 * own device memory) is not, and DMA into it is a BUS_ERROR (section 7.5).
 */
static bool knpu_is_system_ram(MemoryRegion *mr)
{
    Object *owner = memory_region_owner(mr);
    ObjectClass *oc;

    if (!memory_region_is_ram(mr) || memory_region_is_ram_device(mr)) {
        return false;
    }
    if (!owner) {
        return true;
    }
    oc = object_get_class(owner);
    if (qatomic_read(&knpu_ram_owner_class) == oc) {
        return true;
    }
    if (object_class_dynamic_cast(oc, TYPE_DEVICE)) {
        return false;
    }
    qatomic_set(&knpu_ram_owner_class, oc);
    return true;
}

/*
 * Map the start of [@addr, @addr + *@len) for writing, or return NULL if
 * it is not writable system RAM. On success *@len is the length mapped.
 * A target that is not direct RAM (ROM, MMIO) gets a bounce buffer from
 * address_space_map(), which is never written back here: that is what
 * keeps a write away from the BQL. address_space_unmap() marks what was
 * written dirty (migration, TCG code).
 */
static void *knpu_bus_map_write(KnpuState *s, uint64_t addr, dma_addr_t *len)
{
    AddressSpace *as = knpu_dma_as(s);
    MemoryRegion *mr;
    ram_addr_t offset;
    void *p;

    p = dma_memory_map(as, addr, len, DMA_DIRECTION_FROM_DEVICE,
                       knpu_dma_attrs);
    if (!p) {
        return NULL;
    }
    mr = memory_region_from_host(p, &offset);
    if (!mr || !knpu_is_system_ram(mr)) {
        dma_memory_unmap(as, p, *len, DMA_DIRECTION_FROM_DEVICE, 0);
        return NULL;
    }
    return p;
}

static void knpu_bus_unmap_write(KnpuState *s, void *p, dma_addr_t len)
{
    dma_memory_unmap(knpu_dma_as(s), p, len,
                     DMA_DIRECTION_FROM_DEVICE, len);
}

/*
 * Read the start of [@addr, @addr + *@len) if it is system RAM: one
 * translation and the copy in the same RCU critical section, so the
 * target checked is the target read, and nothing else (MMIO, a RAM
 * device) is ever touched. On success *@len is the length read.
 */
static bool knpu_bus_read_piece(KnpuState *s, uint64_t addr, uint8_t *buf,
                                uint64_t *len)
{
    AddressSpace *as = knpu_dma_as(s);
    hwaddr xlat, l = *len;
    MemoryRegion *mr;

    RCU_READ_LOCK_GUARD();
    mr = address_space_translate(as, addr, &xlat, &l, false, knpu_dma_attrs);
    if (!l || !knpu_is_system_ram(mr)) {
        return false;
    }
    memcpy(buf, (uint8_t *)memory_region_get_ram_ptr(mr) + xlat, l);
    *len = l;
    return true;
}

bool knpu_bus_rw(KnpuState *s, uint64_t addr, void *buf, uint64_t len,
                 bool write)
{
    uint8_t *b = buf;

    if (!len) {
        return true;
    }
    if (qatomic_read(&s->removed) || len - 1 > UINT64_MAX - addr) {
        trace_knpu_bus_error(addr, len, write);
        return false;
    }
    smp_mb(); /* ordered with the device's other accesses, as dma_barrier() */
    while (len) {
        uint64_t n = len;
        bool ok;

        if (write) {
            dma_addr_t mapped = n;
            void *p = knpu_bus_map_write(s, addr, &mapped);

            ok = p != NULL;
            if (ok) {
                n = mapped;
                memcpy(p, b, n);
                knpu_bus_unmap_write(s, p, n);
            }
        } else {
            ok = knpu_bus_read_piece(s, addr, b, &n);
        }
        if (!ok) {
            trace_knpu_bus_error(addr, len, write);
            return false;
        }
        addr += n;
        b += n;
        len -= n;
    }
    return true;
}

/* Empty the TLBs of @core if an invalidation happened since it looked. */
static void knpu_tlb_sync(KnpuCore *core, uint64_t epoch)
{
    int i;

    if (core->tlb_epoch != epoch) {
        for (i = 0; i < KNPU_TLB_ENTRIES; i++) {
            core->tlb[i].tag = UINT64_MAX;
            core->tlb_large[i].tag = UINT64_MAX;
        }
        core->walk_tag = UINT64_MAX;
        core->tlb_epoch = epoch;
    }
}

/* Leave an access section; wake whoever waits for sections to end. */
static void knpu_access_end(KnpuJob *job)
{
    KnpuState *s = job->s;

    qatomic_store_release(&job->core->access_epoch, 0);
    smp_mb(); /* the end before looking for waiters */
    if (qatomic_read(&s->access_waiters)) {
        qemu_mutex_lock(&s->access_lock);
        qemu_cond_broadcast(&s->access_cond);
        qemu_mutex_unlock(&s->access_lock);
    }
}

/* While the VM is stopped: wait for it to run, unless the job aborts. */
static bool knpu_access_wait_running(KnpuJob *job)
{
    KnpuState *s = job->s;

    qemu_mutex_lock(&s->lock);
    while (qatomic_read(&s->paused) && !qatomic_read(&job->q->abort)) {
        qemu_cond_wait(&s->abort_cond, &s->lock);
    }
    qemu_mutex_unlock(&s->lock);
    return !knpu_job_check_abort(job);
}

/*
 * Open an access section for one translation and the access it allows;
 * false when the job must stop instead. The TLBs are up to date for the
 * section's epoch.
 */
static bool knpu_access_begin(KnpuJob *job)
{
    KnpuState *s = job->s;
    KnpuCore *core = job->core;

    for (;;) {
        uint64_t epoch = qatomic_read(&s->tlb_epoch);

        qatomic_set(&core->access_epoch, epoch);
        smp_mb(); /* pairs with knpu_access_wait_locked() */
        if (!qatomic_read(&s->paused) &&
            qatomic_read(&s->tlb_epoch) == epoch) {
            knpu_tlb_sync(core, epoch);
            return true;
        }
        knpu_access_end(job);
        if (!knpu_access_wait_running(job)) {
            return false;
        }
    }
}

/*
 * Wait until no core is in an access section of an epoch older than
 * @epoch (UINT64_MAX: in any section). Sections take neither s->lock nor
 * the BQL and are bounded, so this may be called with both held.
 */
void knpu_access_wait_locked(KnpuState *s, uint64_t epoch)
{
    unsigned i;

    qatomic_inc(&s->access_waiters);
    smp_mb(); /* pairs with knpu_access_begin() and knpu_access_end() */
    qemu_mutex_lock(&s->access_lock);
    for (i = 0; i < s->num_cores; i++) {
        for (;;) {
            uint64_t e = qatomic_read(&s->cores[i].access_epoch);

            if (!e || e >= epoch) {
                break;
            }
            qemu_cond_wait(&s->access_cond, &s->access_lock);
        }
    }
    qemu_mutex_unlock(&s->access_lock);
    qatomic_dec(&s->access_waiters);
}

/*
 * Invalidate every TLB (section 6.3). On return no core uses a
 * translation made before the call: software may free unmapped pages.
 */
void knpu_tlb_invalidate_locked(KnpuState *s)
{
    knpu_access_wait_locked(s, qatomic_add_fetch(&s->tlb_epoch, 1));
}

bool knpu_job_bus_rw(KnpuJob *job, uint64_t addr, void *buf, uint64_t len,
                     bool write)
{
    bool ok;

    if (!knpu_access_begin(job)) {
        return false;
    }
    ok = knpu_bus_rw(job->s, addr, buf, len, write);
    knpu_access_end(job);
    return ok;
}

bool knpu_mmu_fault(KnpuJob *job, uint64_t va, bool write,
                    unsigned operand, unsigned reason)
{
    trace_knpu_mmu_fault(job->qid, job->asid, va, write, reason);
    /* Atomic, not under s->lock: we are in an access section. */
    qatomic_inc(&job->s->mmu_fault_count);
    return knpu_job_fail(job, KNPU_ERR_MMU_FAULT, operand,
                         write ? KNPU_ACCESS_WRITE : KNPU_ACCESS_READ,
                         reason, va);
}

/* MMU registers back to reset: disabled, no address space, TLBs emptied. */
void knpu_mmu_reset_locked(KnpuState *s)
{
    unsigned i;

    qatomic_set(&s->mmu_ctrl, 0);
    qatomic_set(&s->mmu_fault_count, 0);
    for (i = 0; i < KNPU_NUM_ASIDS; i++) {
        qatomic_set(&s->as_root[i], 0);
    }
    knpu_tlb_invalidate_locked(s);
}

static KnpuTlbEntry *knpu_tlb_slot(KnpuTlbEntry *tlb, uint32_t asid,
                                   uint64_t va, uint64_t page)
{
    return &tlb[((va / page) ^ asid) % KNPU_TLB_ENTRIES];
}

static uint64_t knpu_tlb_tag(uint32_t asid, uint64_t va, uint64_t page)
{
    return (va & ~(page - 1)) | asid;
}

/* The TLB entry that translates @va, giving in *@page its size, or NULL. */
static KnpuTlbEntry *knpu_tlb_lookup(KnpuCore *core, uint32_t asid,
                                     uint64_t va, uint64_t *page)
{
    KnpuTlbEntry *te;

    te = knpu_tlb_slot(core->tlb_large, asid, va, KNPU_LARGE_PAGE_SIZE);
    if (te->tag == knpu_tlb_tag(asid, va, KNPU_LARGE_PAGE_SIZE)) {
        *page = KNPU_LARGE_PAGE_SIZE;
        return te;
    }
    te = knpu_tlb_slot(core->tlb, asid, va, KNPU_PAGE_SIZE);
    if (te->tag == knpu_tlb_tag(asid, va, KNPU_PAGE_SIZE)) {
        *page = KNPU_PAGE_SIZE;
        return te;
    }
    return NULL;
}

/*
 * A translation of @te for @va: check the access, give target and length.
 * Returns 0, or the MMU fault reason (section 6.2).
 */
static unsigned knpu_tlb_use(KnpuTlbEntry *te, uint64_t page, uint64_t va,
                             bool write, KnpuXlat *x)
{
    if (write ? !te->write : !te->read) {
        return KNPU_MMU_PERMISSION;
    }
    x->devmem = te->devmem;
    x->addr = te->pa | (va & (page - 1));
    x->len = page - (va & (page - 1));
    return 0;
}

/*
 * Walk the page tables of the job's address space (section 6.1) to the
 * leaf entry of @va: on success (0) *@leaf_pte is that entry and *@page
 * the size of the page it maps; else the MMU fault reason. A walk that
 * ends in a last-level table remembers the table's address in the core's
 * walk cache, and a later walk in the same 2 MiB starts there: one
 * page-table read instead of four for each 4 KiB page (section 6.3 lets
 * the device cache any valid entry; the cache is emptied with the TLBs).
 */
static unsigned knpu_walk(KnpuJob *job, uint64_t va, uint64_t *leaf_pte,
                          uint64_t *page)
{
    KnpuState *s = job->s;
    KnpuCore *core = job->core;
    uint64_t walk_tag = knpu_tlb_tag(job->asid, va, KNPU_LARGE_PAGE_SIZE);
    uint64_t root, table, pte = 0;
    unsigned level = 0;

    root = qatomic_read(&s->as_root[job->asid]);
    if (!(root & KNPU_AS_ROOT_VALID)) {
        return KNPU_MMU_AS_INVALID;
    }
    table = root & ~(uint64_t)(KNPU_PAGE_SIZE - 1);
    if (core->walk_tag == walk_tag) {
        table = core->walk_table;
        level = 3;
    }

    for (; level < 4; level++) {
        unsigned shift = 39 - 9 * level;
        uint64_t idx = (va >> shift) & 511;
        uint64_t raw;
        bool leaf;

        if (!knpu_bus_rw(s, table + idx * 8, &raw, 8, false)) {
            return KNPU_MMU_WALK_ERROR;
        }
        pte = le64_to_cpu(raw);
        if (!(pte & KNPU_PTE_VALID)) {
            return KNPU_MMU_NOT_PRESENT;
        }
        leaf = level == 3 || (level == 2 && (pte & KNPU_PTE_BLOCK));
        if (!leaf) {
            /* Table entry: only VALID and ADDR may be set. */
            if (pte & ~(KNPU_PTE_ADDR_MASK | KNPU_PTE_VALID)) {
                return KNPU_MMU_PTE_INVALID;
            }
            table = pte & KNPU_PTE_ADDR_MASK;
            if (level == 2) {
                core->walk_tag = walk_tag;
                core->walk_table = table;
            }
            continue;
        }
        if (pte & ~(KNPU_PTE_ADDR_MASK | KNPU_PTE_VALID | KNPU_PTE_READ |
                    KNPU_PTE_WRITE | KNPU_PTE_DEVMEM |
                    (level == 2 ? KNPU_PTE_BLOCK : 0))) {
            return KNPU_MMU_PTE_INVALID;
        }
        break;
    }

    *leaf_pte = pte;
    *page = level == 2 ? KNPU_LARGE_PAGE_SIZE : KNPU_PAGE_SIZE;
    return 0;
}

/*
 * Translate @va of the job's address space for one access, inside an
 * access section. On success (0) @x gives the target of the byte at @va
 * and how many bytes follow it in the same page; it is valid until the
 * section ends. Else the MMU fault reason, and nothing is reported: a
 * look ahead may fail quietly.
 */
static unsigned knpu_translate_quiet(KnpuJob *job, uint64_t va, bool write,
                                     KnpuXlat *x)
{
    KnpuState *s = job->s;
    KnpuCore *core = job->core;
    KnpuTlbEntry *te;
    uint64_t pte = 0, page = 0, base;
    unsigned reason;

    if (!(qatomic_read(&s->mmu_ctrl) & KNPU_MMU_CTRL_ENABLE)) {
        return KNPU_MMU_AS_INVALID;
    }
    if (va >> KNPU_VA_BITS) {
        return KNPU_MMU_OUT_OF_RANGE;
    }
    te = knpu_tlb_lookup(core, job->asid, va, &page);
    if (te) {
        return knpu_tlb_use(te, page, va, write, x);
    }
    reason = knpu_walk(job, va, &pte, &page);
    if (reason) {
        return reason;
    }
    base = pte & KNPU_PTE_ADDR_MASK;
    if (base & (page - 1)) {
        return KNPU_MMU_PTE_INVALID;
    }
    if ((pte & KNPU_PTE_DEVMEM) &&
        (base >= s->devmem_size || page > s->devmem_size - base)) {
        return KNPU_MMU_PTE_INVALID;
    }

    te = knpu_tlb_slot(page == KNPU_PAGE_SIZE ? core->tlb : core->tlb_large,
                       job->asid, va, page);
    te->tag = knpu_tlb_tag(job->asid, va, page);
    te->pa = base;
    te->devmem = pte & KNPU_PTE_DEVMEM;
    te->read = pte & KNPU_PTE_READ;
    te->write = pte & KNPU_PTE_WRITE;
    return knpu_tlb_use(te, page, va, write, x);
}

/* As knpu_translate_quiet(), failing the job with the fault. */
static bool knpu_translate(KnpuJob *job, uint64_t va, bool write,
                           unsigned operand, KnpuXlat *x)
{
    unsigned reason = knpu_translate_quiet(job, va, write, x);

    return !reason || knpu_mmu_fault(job, va, write, operand, reason);
}

/*
 * A run: bytes at consecutive VAs whose targets are consecutive too, in
 * one piece of system RAM or of device memory, mapped on the host for one
 * access section (knpu_run_map()).
 */
typedef struct KnpuRun {
    uint8_t *host;          /* the run's bytes */
    uint64_t len;
    bool bus_write;         /* mapped with knpu_bus_map_write() */
} KnpuRun;

static bool knpu_run_bus_error(KnpuJob *job, uint64_t addr, uint64_t len,
                               bool write, unsigned operand)
{
    trace_knpu_bus_error(addr, len, write);
    return knpu_job_fail(job, KNPU_ERR_BUS_ERROR, operand,
                         write ? KNPU_ACCESS_WRITE : KNPU_ACCESS_READ, 0, addr);
}

/*
 * Inside an access section: translate @va and map on the host the run of
 * at most @len (and KNPU_RUN_BYTES) bytes that starts there. Pages after
 * the first join the run while they translate with the access allowed
 * and their targets follow on; the first page that does not ends it
 * quietly, and faults (or not) when an access starts there. The target
 * must be device memory or, checked as knpu_bus_rw() does, directly
 * accessible system RAM (BUS_ERROR at its bus address otherwise). On
 * success @r holds the run (at least one byte) until knpu_run_unmap(),
 * called before the section ends; the RCU read lock is held meanwhile.
 */
static bool knpu_run_map(KnpuJob *job, uint64_t va, uint64_t len,
                         bool write, unsigned operand, KnpuRun *r)
{
    KnpuState *s = job->s;
    KnpuXlat x = { 0 }, next = { 0 };
    uint64_t n;

    if (!knpu_translate(job, va, write, operand, &x)) {
        return false;
    }
    len = MIN(len, KNPU_RUN_BYTES);
    n = MIN(len, x.len);
    while (n < len && !knpu_translate_quiet(job, va + n, write, &next) &&
           next.devmem == x.devmem && next.addr == x.addr + n) {
        n += MIN(len - n, next.len);
    }

    r->bus_write = false;
    if (x.devmem) {
        /* knpu_translate() checked that each page lies in device memory */
        r->host = s->devmem_ptr + x.addr;
        r->len = n;
        rcu_read_lock();
        return true;
    }
    if (qatomic_read(&s->removed)) {
        return knpu_run_bus_error(job, x.addr, n, write, operand);
    }
    smp_mb(); /* ordered with the device's other accesses, as dma_barrier() */
    rcu_read_lock();
    if (write) {
        dma_addr_t mapped = n;

        r->host = knpu_bus_map_write(s, x.addr, &mapped);
        r->len = mapped;
        r->bus_write = true;
    } else {
        AddressSpace *as = knpu_dma_as(s);
        hwaddr xlat, l = n;
        MemoryRegion *mr = address_space_translate(as, x.addr, &xlat, &l,
                                                   false, knpu_dma_attrs);

        r->host = l && knpu_is_system_ram(mr) ?
                  (uint8_t *)memory_region_get_ram_ptr(mr) + xlat : NULL;
        r->len = l;
    }
    if (!r->host) {
        rcu_read_unlock();
        return knpu_run_bus_error(job, x.addr, n, write, operand);
    }
    return true;
}

/* The run's accesses are done (all of it written, for a write). */
static void knpu_run_unmap(KnpuJob *job, KnpuRun *r)
{
    if (r->bus_write) {
        knpu_bus_unmap_write(job->s, r->host, r->len);
    }
    rcu_read_unlock();
}

/*
 * Where a worker's run of work starts on the host clock, for
 * knpu_job_work_ns(); 0 when no stall can follow it: only a throttled
 * device stalls, and a clock read before and after every run was 1.5-2.4 %
 * of the device thread under a small model (docs/performance.md, stop 25).
 */
static int64_t knpu_job_work_start(KnpuJob *job)
{
    if (job->s->deterministic || !qatomic_read(&job->s->throttled)) {
        return 0;
    }
    return get_clock();
}

/*
 * The device time that work on @bytes took since @start
 * (knpu_job_work_start()): the host time it took for a worker, 0 if the
 * device was not throttled when it started; in the deterministic engine,
 * which must not depend on the host's speed, 1 ns per byte (a byte per
 * cycle of the nominal clock).
 */
static int64_t knpu_job_work_ns(KnpuJob *job, int64_t start, uint64_t bytes)
{
    if (job->s->deterministic) {
        return bytes;
    }
    return start ? get_clock() - start : 0;
}

/*
 * Let @ns of device time pass (QEMU's virtual clock), outside any access
 * section, unless the job stops. The deterministic engine cannot wait in
 * the middle of an instruction: the stall is paid before the next one
 * (knpu_job_stall_settle()).
 */
static bool knpu_job_stall(KnpuJob *job, int64_t ns)
{
    int64_t until;

    if (job->s->deterministic) {
        job->stall_ns += MAX(ns, 0);
        return true;
    }
    until = knpu_now() + ns;
    while (ns > 0 && knpu_now() < until) {
        if (knpu_job_check_abort(job)) {
            return false;
        }
        g_usleep(MIN(MAX((until - knpu_now()) / SCALE_US, 1), 1000));
    }
    return true;
}

/*
 * Deterministic engine, between instructions: park the job for the stalls
 * of the instructions before, if any. False when it parked.
 */
bool knpu_job_stall_settle(KnpuJob *job)
{
    int64_t ns = job->stall_ns;

    if (!ns) {
        return true;
    }
    job->stall_ns = 0;
    return knpu_job_park(job, knpu_now() + ns);
}

/* What knpu_va_runs() does with each run of guest memory and @buf. */
typedef enum KnpuVaAccess {
    KNPU_VA_READ,           /* copy it into @buf */
    KNPU_VA_WRITE,          /* copy @buf into it */
    KNPU_VA_COMPARE,        /* compare it with @buf, read as a read is */
} KnpuVaAccess;

/*
 * Access @len bytes at @va, run by run (knpu_run_map()), an access section
 * per run. A throttled device stalls after each run for the time its lower
 * clock would have taken longer. A comparison stops after the first run
 * that differs, with *@same false.
 */
static bool knpu_va_runs(KnpuJob *job, uint64_t va, uint8_t *buf,
                         uint64_t len, KnpuVaAccess access, unsigned operand,
                         bool *same)
{
    bool write = access == KNPU_VA_WRITE;

    while (len) {
        int64_t start = knpu_job_work_start(job);
        KnpuRun r = { 0 };
        bool ok;

        if (knpu_job_check_abort(job) || !knpu_access_begin(job)) {
            return false;
        }
        ok = knpu_run_map(job, va, len, write, operand, &r);
        if (ok) {
            switch (access) {
            case KNPU_VA_READ:
                memcpy(buf, r.host, r.len);
                break;
            case KNPU_VA_WRITE:
                memcpy(r.host, buf, r.len);
                break;
            case KNPU_VA_COMPARE:
                *same = !memcmp(r.host, buf, r.len);
                break;
            }
            knpu_run_unmap(job, &r);
        }
        knpu_access_end(job);
        if (!ok || !knpu_job_stall(job, knpu_throttle_stall_ns(job->s,
                                       knpu_job_work_ns(job, start, r.len)))) {
            return false;
        }
        if (access == KNPU_VA_COMPARE && !*same) {
            return true;
        }
        va += r.len;
        buf += r.len;
        len -= r.len;
    }
    return true;
}

/* Read or write @len bytes at @va (knpu_va_runs()). */
bool knpu_va_rw(KnpuJob *job, uint64_t va, void *buf, uint64_t len,
                bool write, unsigned operand)
{
    return knpu_va_runs(job, va, buf, len,
                        write ? KNPU_VA_WRITE : KNPU_VA_READ, operand, NULL);
}

/*
 * Whether the @len bytes at @va are those of @buf, in *@same: read as
 * knpu_va_rw() reads them (every translation, permission check and fault
 * up to the first run that differs), compared instead of copied.
 */
bool knpu_va_equal(KnpuJob *job, uint64_t va, const void *buf, uint64_t len,
                   unsigned operand, bool *same)
{
    *same = true;
    return knpu_va_runs(job, va, (uint8_t *)buf, len, KNPU_VA_COMPARE,
                        operand, same);
}

/*
 * Copy @len bytes from @src to @dst of the job's address space (operands
 * @src_op and @dst_op), straight from one target to the other: each
 * access section maps a source run and a destination run as long as it
 * or shorter and copies between them. Faults come in address order, the
 * source's first at each byte; the destination is written up to the
 * faulting byte, nothing beyond. Counts 2 bytes moved per byte copied.
 */
bool knpu_va_copy(KnpuJob *job, uint64_t dst, uint64_t src, uint64_t len,
                  unsigned dst_op, unsigned src_op)
{
    while (len) {
        int64_t start = knpu_job_work_start(job);
        KnpuRun rs = { 0 }, rd = { 0 };
        bool ok;

        if (knpu_job_check_abort(job) || !knpu_access_begin(job)) {
            return false;
        }
        ok = knpu_run_map(job, src, len, false, src_op, &rs);
        if (ok) {
            ok = knpu_run_map(job, dst, rs.len, true, dst_op, &rd);
            if (ok) {
                /* overlap is undefined (section 7.4), but stays in bounds */
                memmove(rd.host, rs.host, rd.len);
                knpu_run_unmap(job, &rd);
            }
            knpu_run_unmap(job, &rs);
        }
        knpu_access_end(job);
        if (!ok || !knpu_job_stall(job, knpu_throttle_stall_ns(job->s,
                                       knpu_job_work_ns(job, start,
                                                        2 * rd.len)))) {
            return false;
        }
        job->bytes += 2 * rd.len;
        src += rd.len;
        dst += rd.len;
        len -= rd.len;
    }
    return true;
}

/* Store @val to, or add it to, the little-endian semaphore at @p. */
static void knpu_sem_apply(uint64_t *p, uint64_t val, bool add)
{
    uint64_t old, seen;

    if (!add) {
        qatomic_set(p, cpu_to_le64(val));
        return;
    }
    old = qatomic_read(p);
    for (;;) {
        seen = qatomic_cmpxchg(p, old, cpu_to_le64(le64_to_cpu(old) + val));
        if (seen == old) {
            return;
        }
        old = seen;
    }
}

/*
 * SEM_SIGNAL (section 7.4): store @val to, or add it to, the 64-bit
 * semaphore at @va (8-byte aligned). Both are atomic host operations on
 * the target, so a store never races an add of another core (nor a guest
 * CPU's atomics). An add needs read and write permission.
 */
bool knpu_va_sem_update(KnpuJob *job, uint64_t va, uint64_t val, bool add,
                        unsigned operand)
{
    KnpuState *s = job->s;
    KnpuXlat x = { 0 };
    dma_addr_t n = 8;
    void *p = NULL;
    bool ok;

    if (knpu_job_check_abort(job) || !knpu_access_begin(job)) {
        return false;
    }
    ok = (!add || knpu_translate(job, va, false, operand, &x)) &&
         knpu_translate(job, va, true, operand, &x);
    if (ok && x.devmem) {
        knpu_sem_apply((uint64_t *)(s->devmem_ptr + x.addr), val, add);
    } else if (ok) {
        if (!qatomic_read(&s->removed)) {
            smp_mb(); /* as knpu_bus_rw() */
            p = knpu_bus_map_write(s, x.addr, &n);
        }
        if (p && n == 8) {
            knpu_sem_apply(p, val, add);
        } else {
            trace_knpu_bus_error(x.addr, 8, true);
            ok = knpu_job_fail(job, KNPU_ERR_BUS_ERROR, operand,
                               KNPU_ACCESS_WRITE, 0, x.addr);
        }
        if (p) {
            knpu_bus_unmap_write(s, p, n);
        }
    }
    knpu_access_end(job);
    return ok;
}
