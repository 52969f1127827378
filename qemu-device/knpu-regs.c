/*
 * KNPU device model: the registers of BAR0 (spec section 3).
 *
 * 32-bit registers, aligned 32-bit accesses only (others are ignored and
 * traced). Every access takes s->lock. 64-bit counters are latched by
 * reading their _LO half. Queue control and doorbells are handed to
 * knpu-queue.c, resets to knpu.c.
 *
 * Copyright (c) 2026 The knpu authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/bitops.h"
#include "qemu/log.h"
#include "trace.h"
#include "knpu-internal.h"

#define KNPU_FEATURES           (KNPU_FEAT_LARGE_PAGES | KNPU_FEAT_DEVMEM | \
                                 KNPU_FEAT_SEMAPHORES | KNPU_FEAT_TIMESTAMPS | \
                                 KNPU_FEAT_JOB_TIMESTAMPS | \
                                 KNPU_FEAT_FAULT_INJECT)

/* Reads */

static uint32_t knpu_latch_lo(KnpuState *s, unsigned idx, uint64_t v)
{
    s->latch[idx] = v >> 32;
    return (uint32_t)v;
}

static uint32_t knpu_queue_read_locked(KnpuState *s, unsigned qid,
                                       hwaddr reg)
{
    KnpuQueue *q = &s->queues[qid];

    switch (reg) {
    case KNPU_Q_RING_BASE_LO:
        return (uint32_t)q->ring_base;
    case KNPU_Q_RING_BASE_HI:
        return q->ring_base >> 32;
    case KNPU_Q_RING_SIZE:
        return q->ring_size;
    case KNPU_Q_CONFIG:
        return q->config;
    case KNPU_Q_FENCE_ADDR_LO:
        return (uint32_t)q->fence_addr;
    case KNPU_Q_FENCE_ADDR_HI:
        return q->fence_addr >> 32;
    case KNPU_Q_STATUS:
        return (q->enabled ? KNPU_Q_STATUS_ENABLED : 0) |
               (q->running ? KNPU_Q_STATUS_RUNNING : 0) |
               (q->error ? KNPU_Q_STATUS_ERROR : 0);
    case KNPU_Q_HEAD:
        return q->head;
    case KNPU_Q_TAIL:
        return q->tail;
    case KNPU_Q_IRQ_STATUS:
        return q->irq_status;
    case KNPU_Q_ERROR:
        return q->err_code;
    case KNPU_Q_ERROR_INFO:
        return q->err_info;
    case KNPU_Q_ERROR_ADDR_LO:
        return (uint32_t)q->err_addr;
    case KNPU_Q_ERROR_ADDR_HI:
        return q->err_addr >> 32;
    case KNPU_Q_ERROR_PC:
        return q->err_pc;
    case KNPU_Q_COMPLETED_LO:
        return (uint32_t)q->completed;
    case KNPU_Q_COMPLETED_HI:
        return q->completed >> 32;
    default:
        /* Q_CTRL reads its self-clearing bits as 0; Q_DOORBELL is WO. */
        if (reg == KNPU_Q_CTRL) {
            return q->enabled ? KNPU_Q_CTRL_ENABLE : 0;
        }
        return 0;
    }
}

static uint32_t knpu_read_locked(KnpuState *s, hwaddr addr)
{
    if (addr >= KNPU_REG_QUEUE_BASE &&
        addr < KNPU_REG_Q(s->num_queues, 0)) {
        return knpu_queue_read_locked(s, (addr - KNPU_REG_QUEUE_BASE) /
                                      KNPU_REG_QUEUE_STRIDE,
                                      addr % KNPU_REG_QUEUE_STRIDE);
    }
    if (addr >= KNPU_REG_AS_ROOT_LO(0) &&
        addr < KNPU_REG_AS_ROOT_LO(KNPU_NUM_ASIDS)) {
        uint64_t root = s->as_root[(addr - KNPU_REG_AS_ROOT_LO(0)) / 8];

        return addr & 4 ? root >> 32 : (uint32_t)root;
    }
    if (addr >= KNPU_REG_CORE_BUSY_LO(0) &&
        addr < KNPU_REG_CORE_BUSY_LO(s->num_cores)) {
        unsigned c = (addr - KNPU_REG_CORE_BUSY_LO(0)) / 8;

        if (addr & 4) {
            return s->latch[KNPU_LATCH_CORE0 + c];
        }
        return knpu_latch_lo(s, KNPU_LATCH_CORE0 + c,
                             knpu_core_busy_locked(s, c));
    }

    switch (addr) {
    case KNPU_REG_ID:
        return KNPU_ID_VALUE;
    case KNPU_REG_HW_VERSION:
        return KNPU_HW_VERSION_VALUE;
    case KNPU_REG_FW_VERSION:
        return KNPU_FW_VERSION_VALUE;
    case KNPU_REG_CONFIG0:
        return s->num_cores | (s->num_queues << 8) |
               (KNPU_NUM_ASIDS << 16) | (KNPU_VA_BITS << 24);
    case KNPU_REG_SRAM_SIZE:
        return s->sram_size;
    case KNPU_REG_DEVMEM_SIZE_LO:
        return (uint32_t)s->devmem_size;
    case KNPU_REG_DEVMEM_SIZE_HI:
        return s->devmem_size >> 32;
    case KNPU_REG_DTYPES:
        return knpu_dtypes_mask();
    case KNPU_REG_OPS_LO:
        return (uint32_t)knpu_ops_mask();
    case KNPU_REG_OPS_HI:
        return knpu_ops_mask() >> 32;
    case KNPU_REG_FEATURES:
        return KNPU_FEATURES;
    case KNPU_REG_SERIAL_LO:
        return (uint32_t)s->serial;
    case KNPU_REG_SERIAL_HI:
        return s->serial >> 32;
    case KNPU_REG_SCRATCH:
        return s->scratch;
    case KNPU_REG_DEV_CTRL:
        return s->dev_ctrl;
    case KNPU_REG_DEV_STATUS:
        knpu_thermal_update_locked(s);
        return KNPU_DEV_STATUS_READY |
               (s->dev_ctrl & KNPU_DEV_CTRL_ENABLE ?
                KNPU_DEV_STATUS_ENABLED : 0) |
               (s->fatal ? KNPU_DEV_STATUS_FATAL : 0) |
               (s->throttled ? KNPU_DEV_STATUS_THROTTLED : 0) |
               (s->mmu_ctrl & KNPU_MMU_CTRL_ENABLE ?
                KNPU_DEV_STATUS_MMU_ENABLED : 0) |
               (s->busy_cores ? KNPU_DEV_STATUS_BUSY : 0);
    case KNPU_REG_EVENT_STATUS:
        return s->event_status;
    case KNPU_REG_EVENT_MASK:
        return s->event_mask;
    case KNPU_REG_TIMESTAMP_LO:
        return knpu_latch_lo(s, KNPU_LATCH_TIMESTAMP,
                             knpu_now() - s->clock_base);
    case KNPU_REG_TIMESTAMP_HI:
        return s->latch[KNPU_LATCH_TIMESTAMP];
    case KNPU_REG_MMU_CTRL:
        return s->mmu_ctrl;
    case KNPU_REG_MMU_FAULT_COUNT:
        return qatomic_read(&s->mmu_fault_count);
    case KNPU_REG_TEMP:
        return knpu_temp_locked(s);
    case KNPU_REG_POWER:
        return knpu_power_locked(s);
    case KNPU_REG_CLOCK:
        return knpu_clock_locked(s);
    case KNPU_REG_ERR_CORRECTABLE:
        return s->err_correctable;
    case KNPU_REG_ERR_UNCORRECTABLE:
        return s->err_uncorrectable;
    case KNPU_REG_JOBS_COMPLETED_LO:
        return knpu_latch_lo(s, KNPU_LATCH_JOBS, s->jobs_completed);
    case KNPU_REG_JOBS_COMPLETED_HI:
        return s->latch[KNPU_LATCH_JOBS];
    case KNPU_REG_BYTES_MOVED_LO:
        return knpu_latch_lo(s, KNPU_LATCH_BYTES, s->bytes_moved);
    case KNPU_REG_BYTES_MOVED_HI:
        return s->latch[KNPU_LATCH_BYTES];
    default:
        return 0;
    }
}

static uint64_t knpu_mmio_read(void *opaque, hwaddr addr, unsigned size)
{
    KnpuState *s = opaque;
    uint32_t val;

    if (qatomic_read(&s->removed)) {
        return UINT32_MAX;
    }
    if (size != 4 || (addr & 3)) {
        trace_knpu_mmio_bad_access(false, addr, size, 0);
        qemu_log_mask(LOG_GUEST_ERROR, "knpu: %u-byte read at 0x%" HWADDR_PRIx
                      " ignored\n", size, addr);
        return 0;
    }
    qemu_mutex_lock(&s->lock);
    val = knpu_read_locked(s, addr);
    qemu_mutex_unlock(&s->lock);
    knpu_irq_flush(s);
    trace_knpu_mmio_read(addr, val);
    return val;
}

/* Writes */

void knpu_write_ignored(hwaddr addr, uint32_t val, const char *why)
{
    trace_knpu_write_ignored(addr, val, why);
    qemu_log_mask(LOG_GUEST_ERROR, "knpu: write 0x%x to 0x%" HWADDR_PRIx
                  " ignored: %s\n", val, addr, why);
}

static void knpu_queue_write_locked(KnpuState *s, unsigned qid, hwaddr reg,
                                    uint32_t val)
{
    KnpuQueue *q = &s->queues[qid];
    hwaddr addr = KNPU_REG_Q(qid, reg);

    switch (reg) {
    case KNPU_Q_RING_BASE_LO:
    case KNPU_Q_RING_BASE_HI:
    case KNPU_Q_RING_SIZE:
    case KNPU_Q_CONFIG:
    case KNPU_Q_FENCE_ADDR_LO:
    case KNPU_Q_FENCE_ADDR_HI:
        if (q->enabled) {
            knpu_write_ignored(addr, val, "queue is enabled");
            return;
        }
        break;
    }

    switch (reg) {
    case KNPU_Q_RING_BASE_LO:
        q->ring_base = deposit64(q->ring_base, 0, 32, val);
        break;
    case KNPU_Q_RING_BASE_HI:
        q->ring_base = deposit64(q->ring_base, 32, 32, val);
        break;
    case KNPU_Q_RING_SIZE:
        q->ring_size = val;
        break;
    case KNPU_Q_CONFIG:
        if (val & ~KNPU_Q_CONFIG_MASK) {
            knpu_write_ignored(addr, val, "reserved Q_CONFIG bits dropped");
        }
        q->config = val & KNPU_Q_CONFIG_MASK;
        break;
    case KNPU_Q_FENCE_ADDR_LO:
        q->fence_addr = deposit64(q->fence_addr, 0, 32, val);
        break;
    case KNPU_Q_FENCE_ADDR_HI:
        q->fence_addr = deposit64(q->fence_addr, 32, 32, val);
        break;
    case KNPU_Q_CTRL:
        knpu_queue_ctrl_locked(s, qid, val);
        break;
    case KNPU_Q_TAIL:
        q->tail = val;
        break;
    case KNPU_Q_DOORBELL:
        knpu_doorbell_locked(s, qid);
        break;
    case KNPU_Q_IRQ_STATUS:
        q->irq_status &= ~val;
        break;
    default:
        knpu_write_ignored(addr, val, "read-only or unassigned");
        break;
    }
}

static void knpu_write_locked(KnpuState *s, hwaddr addr, uint32_t val)
{
    if (addr >= KNPU_REG_QUEUE_BASE &&
        addr < KNPU_REG_Q(s->num_queues, 0)) {
        knpu_queue_write_locked(s, (addr - KNPU_REG_QUEUE_BASE) /
                                KNPU_REG_QUEUE_STRIDE,
                                addr % KNPU_REG_QUEUE_STRIDE, val);
        return;
    }
    if (addr >= KNPU_REG_AS_ROOT_LO(0) &&
        addr < KNPU_REG_AS_ROOT_LO(KNPU_NUM_ASIDS)) {
        unsigned a = (addr - KNPU_REG_AS_ROOT_LO(0)) / 8;
        uint64_t root = s->as_root[a];

        if (addr & 4) {
            root = deposit64(root, 32, 32, val);
        } else {
            if (val & ~(KNPU_AS_ROOT_ADDR_MASK | KNPU_AS_ROOT_VALID)) {
                knpu_write_ignored(addr, val, "reserved AS_ROOT bits dropped");
            }
            root = deposit64(root, 0, 32,
                             val & (KNPU_AS_ROOT_ADDR_MASK |
                                    KNPU_AS_ROOT_VALID));
        }
        qatomic_set(&s->as_root[a], root);
        /* Synchronous, like MMU_TLB_INVAL (section 6.3). */
        knpu_tlb_invalidate_locked(s);
        return;
    }

    switch (addr) {
    case KNPU_REG_SCRATCH:
        s->scratch = val;
        break;
    case KNPU_REG_DEV_CTRL:
        s->dev_ctrl = val & KNPU_DEV_CTRL_ENABLE;
        if (val & ~KNPU_DEV_CTRL_ENABLE) {
            knpu_write_ignored(addr, val, "reserved DEV_CTRL bits dropped");
        }
        knpu_wake_cores_locked(s);
        break;
    case KNPU_REG_SOFT_RESET:
        if (val != KNPU_SOFT_RESET_MAGIC) {
            knpu_write_ignored(addr, val, "wrong SOFT_RESET magic");
            break;
        }
        trace_knpu_reset("soft");
        knpu_reset_locked(s, false);
        break;
    case KNPU_REG_EVENT_STATUS:
        s->event_status &= ~val;
        break;
    case KNPU_REG_EVENT_MASK:
        s->event_mask = val & KNPU_EVENT_ALL;
        break;
    case KNPU_REG_MMU_CTRL:
        qatomic_set(&s->mmu_ctrl, val & KNPU_MMU_CTRL_ENABLE);
        knpu_tlb_invalidate_locked(s);
        break;
    case KNPU_REG_MMU_TLB_INVAL:
        trace_knpu_tlb_inval(val);
        /*
         * Every TLB is emptied (a superset of what @val asks); the write
         * completes once no core can use a stale translation (6.3).
         */
        knpu_tlb_invalidate_locked(s);
        break;
    default:
        knpu_write_ignored(addr, val, "read-only or unassigned");
        break;
    }
}

static void knpu_mmio_write(void *opaque, hwaddr addr, uint64_t val,
                            unsigned size)
{
    KnpuState *s = opaque;

    if (qatomic_read(&s->removed)) {
        return;
    }
    if (size != 4 || (addr & 3)) {
        trace_knpu_mmio_bad_access(true, addr, size, val);
        qemu_log_mask(LOG_GUEST_ERROR, "knpu: %u-byte write at 0x%"
                      HWADDR_PRIx " ignored\n", size, addr);
        return;
    }
    trace_knpu_mmio_write(addr, val);
    qemu_mutex_lock(&s->lock);
    knpu_write_locked(s, addr, val);
    qemu_mutex_unlock(&s->lock);
    knpu_irq_flush(s);
}

const MemoryRegionOps knpu_mmio_ops = {
    .read = knpu_mmio_read,
    .write = knpu_mmio_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    /* Every access reaches us: bad ones are ignored and traced (section 3). */
    .valid = {
        .min_access_size = 1,
        .max_access_size = 8,
        .unaligned = true,
    },
    .impl = {
        .min_access_size = 1,
        .max_access_size = 8,
        .unaligned = true,
    },
};
