/*
 * KNPU device model: DMA and the device MMU (spec section 6).
 *
 * Jobs reach memory through the MMU: a 4-level walk of the spec with
 * 4 KiB and 2 MiB pages whose targets are bus addresses (host memory) or
 * device memory. Every page of every access is translated and permission
 * checked. Each core caches translations in a TLB for 4 KiB and one for
 * 2 MiB pages; any invalidation bumps s->tlb_epoch and a core empties its
 * TLBs before its next translation. Bus accesses go to RAM only.
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
 * Bus addresses may not reach the device's own BARs (device memory is only
 * reached through DEVMEM page-table entries).
 */
static bool knpu_hits_own_bar(KnpuState *s, uint64_t addr, uint64_t len)
{
    PCIDevice *pdev = PCI_DEVICE(s);
    static const int bars[] = { KNPU_BAR_REGS, KNPU_BAR_DEVMEM, KNPU_BAR_MSIX };
    unsigned i;

    for (i = 0; i < ARRAY_SIZE(bars); i++) {
        pcibus_t base = pci_get_bar_addr(pdev, bars[i]);
        uint64_t size = pdev->io_regions[bars[i]].size;

        if (base == PCI_BAR_UNMAPPED || !size) {
            continue;
        }
        if (addr < base + size && base < addr + len) {
            return true;
        }
    }
    return false;
}

bool knpu_bus_rw(KnpuState *s, uint64_t addr, void *buf, uint64_t len,
                 bool write)
{
    MemTxResult r;

    if (!len) {
        return true;
    }
    if (qatomic_read(&s->removed) || addr + len < addr ||
        knpu_hits_own_bar(s, addr, len)) {
        trace_knpu_bus_error(addr, len, write);
        return false;
    }
    r = pci_dma_rw(PCI_DEVICE(s), addr, buf, len,
                   write ? DMA_DIRECTION_FROM_DEVICE : DMA_DIRECTION_TO_DEVICE,
                   knpu_dma_attrs);
    if (r != MEMTX_OK) {
        trace_knpu_bus_error(addr, len, write);
        return false;
    }
    return true;
}

bool knpu_mmu_fault(KnpuJob *job, uint64_t va, bool write,
                    unsigned operand, unsigned reason)
{
    trace_knpu_mmu_fault(job->qid, job->asid, va, write, reason);
    qemu_mutex_lock(&job->s->lock);
    job->s->mmu_fault_count++;
    qemu_mutex_unlock(&job->s->lock);
    return knpu_job_fail(job, KNPU_ERR_MMU_FAULT, operand,
                         write ? KNPU_ACCESS_WRITE : KNPU_ACCESS_READ,
                         reason, va);
}

/* MMU registers back to reset: disabled, no address space, TLBs emptied. */
void knpu_mmu_reset_locked(KnpuState *s)
{
    unsigned i;

    qatomic_set(&s->mmu_ctrl, 0);
    s->mmu_fault_count = 0;
    for (i = 0; i < KNPU_NUM_ASIDS; i++) {
        qatomic_set(&s->as_root[i], 0);
    }
    qatomic_inc(&s->tlb_epoch);
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

/* Empty the TLBs of @core if an invalidation happened since it looked. */
static void knpu_tlb_sync(KnpuCore *core, uint32_t epoch)
{
    int i;

    if (core->tlb_epoch != epoch) {
        for (i = 0; i < KNPU_TLB_ENTRIES; i++) {
            core->tlb[i].tag = UINT64_MAX;
            core->tlb_large[i].tag = UINT64_MAX;
        }
        core->tlb_epoch = epoch;
    }
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

/* A translation of @te for @va: check the access, give target and length. */
static bool knpu_tlb_use(KnpuJob *job, KnpuTlbEntry *te, uint64_t page,
                         uint64_t va, bool write, unsigned operand,
                         KnpuXlat *x)
{
    if (write ? !te->write : !te->read) {
        return knpu_mmu_fault(job, va, write, operand, KNPU_MMU_PERMISSION);
    }
    x->devmem = te->devmem;
    x->addr = te->pa | (va & (page - 1));
    x->len = page - (va & (page - 1));
    return true;
}

/*
 * Walk the page tables of the job's address space (section 6.1) to the
 * leaf entry of @va: on success *@leaf_pte is that entry and *@page the size
 * of the page it maps.
 */
static bool knpu_walk(KnpuJob *job, uint64_t va, bool write,
                      unsigned operand, uint64_t *leaf_pte, uint64_t *page)
{
    KnpuState *s = job->s;
    uint64_t root, table, pte = 0;
    unsigned level;

    root = qatomic_read(&s->as_root[job->asid]);
    if (!(root & KNPU_AS_ROOT_VALID)) {
        return knpu_mmu_fault(job, va, write, operand, KNPU_MMU_AS_INVALID);
    }
    table = root & ~(uint64_t)(KNPU_PAGE_SIZE - 1);

    for (level = 0; level < 4; level++) {
        unsigned shift = 39 - 9 * level;
        uint64_t idx = (va >> shift) & 511;
        uint64_t raw;
        bool leaf;

        if (!knpu_bus_rw(s, table + idx * 8, &raw, 8, false)) {
            return knpu_mmu_fault(job, va, write, operand,
                                  KNPU_MMU_WALK_ERROR);
        }
        pte = le64_to_cpu(raw);
        if (!(pte & KNPU_PTE_VALID)) {
            return knpu_mmu_fault(job, va, write, operand,
                                  KNPU_MMU_NOT_PRESENT);
        }
        leaf = level == 3 || (level == 2 && (pte & KNPU_PTE_BLOCK));
        if (!leaf) {
            /* Table entry: only VALID and ADDR may be set. */
            if (pte & ~(KNPU_PTE_ADDR_MASK | KNPU_PTE_VALID)) {
                return knpu_mmu_fault(job, va, write, operand,
                                      KNPU_MMU_PTE_INVALID);
            }
            table = pte & KNPU_PTE_ADDR_MASK;
            continue;
        }
        if (pte & ~(KNPU_PTE_ADDR_MASK | KNPU_PTE_VALID | KNPU_PTE_READ |
                    KNPU_PTE_WRITE | KNPU_PTE_DEVMEM |
                    (level == 2 ? KNPU_PTE_BLOCK : 0))) {
            return knpu_mmu_fault(job, va, write, operand,
                                  KNPU_MMU_PTE_INVALID);
        }
        break;
    }

    *leaf_pte = pte;
    *page = level == 2 ? KNPU_LARGE_PAGE_SIZE : KNPU_PAGE_SIZE;
    return true;
}

/*
 * Translate @va of the job's address space for one access. On success
 * @x gives the target of the byte at @va and how many bytes follow it in
 * the same page.
 */
static bool knpu_translate(KnpuJob *job, uint64_t va, bool write,
                           unsigned operand, KnpuXlat *x)
{
    KnpuState *s = job->s;
    KnpuCore *core = job->core;
    uint32_t epoch = qatomic_read(&s->tlb_epoch);
    KnpuTlbEntry *te;
    uint64_t pte = 0, page = 0, base;

    if (!(qatomic_read(&s->mmu_ctrl) & KNPU_MMU_CTRL_ENABLE)) {
        return knpu_mmu_fault(job, va, write, operand, KNPU_MMU_AS_INVALID);
    }
    if (va >> KNPU_VA_BITS) {
        return knpu_mmu_fault(job, va, write, operand, KNPU_MMU_OUT_OF_RANGE);
    }
    knpu_tlb_sync(core, epoch);
    te = knpu_tlb_lookup(core, job->asid, va, &page);
    if (te) {
        return knpu_tlb_use(job, te, page, va, write, operand, x);
    }
    if (!knpu_walk(job, va, write, operand, &pte, &page)) {
        return false;
    }
    base = pte & KNPU_PTE_ADDR_MASK;
    if (base & (page - 1)) {
        return knpu_mmu_fault(job, va, write, operand, KNPU_MMU_PTE_INVALID);
    }
    if ((pte & KNPU_PTE_DEVMEM) &&
        (base >= s->devmem_size || page > s->devmem_size - base)) {
        return knpu_mmu_fault(job, va, write, operand, KNPU_MMU_PTE_INVALID);
    }

    te = knpu_tlb_slot(page == KNPU_PAGE_SIZE ? core->tlb : core->tlb_large,
                       job->asid, va, page);
    te->tag = knpu_tlb_tag(job->asid, va, page);
    te->pa = base;
    te->devmem = pte & KNPU_PTE_DEVMEM;
    te->read = pte & KNPU_PTE_READ;
    te->write = pte & KNPU_PTE_WRITE;
    return knpu_tlb_use(job, te, page, va, write, operand, x);
}

/* Read or write @len bytes at @va, translating page by page. */
bool knpu_va_rw(KnpuJob *job, uint64_t va, void *buf, uint64_t len,
                bool write, unsigned operand)
{
    KnpuState *s = job->s;
    uint8_t *p = buf;

    while (len) {
        KnpuXlat x = { 0 };
        uint64_t n;

        if (knpu_job_check_abort(job)) {
            return false;
        }
        if (!knpu_translate(job, va, write, operand, &x)) {
            return false;
        }
        n = MIN(len, x.len);
        if (x.devmem) {
            /* knpu_translate() checked the page lies inside device memory */
            if (write) {
                memcpy(s->devmem_ptr + x.addr, p, n);
            } else {
                memcpy(p, s->devmem_ptr + x.addr, n);
            }
        } else if (!knpu_bus_rw(s, x.addr, p, n, write)) {
            return knpu_job_fail(job, KNPU_ERR_BUS_ERROR, operand,
                                 write ? KNPU_ACCESS_WRITE : KNPU_ACCESS_READ,
                                 0, x.addr);
        }
        va += n;
        p += n;
        len -= n;
    }
    return true;
}
