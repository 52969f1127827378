/*
 * KNPU device model: interrupts (spec sections 1, 3.2 and 5.3).
 *
 * Each queue has a vector (its index) and the device has an event vector
 * (the last one). A vector is signalled when an enabled status bit goes
 * from 0 to 1. Workers set the bits under s->lock and leave the MSI-X
 * message to a bottom half, which runs under the BQL. The deterministic
 * engine sends the messages of a register access or a tick at its end
 * instead (knpu_irq_flush()).
 *
 * Copyright (c) 2026 The knpu authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "hw/pci/msix.h"
#include "trace.h"
#include "knpu-internal.h"

#define KNPU_MSIX_BAR_SIZE      4096

static void knpu_raise_vector_locked(KnpuState *s, unsigned vector)
{
    if (s->removed || !s->irq_bh) {
        return;
    }
    set_bit(vector, s->irq_pending);
    qemu_bh_schedule(s->irq_bh);
}

/* Set bits in EVENT_STATUS; signal the event vector on an enabled 0->1. */
void knpu_event_locked(KnpuState *s, uint32_t bits)
{
    uint32_t rising = bits & ~s->event_status;

    s->event_status |= bits;
    trace_knpu_event(bits, s->event_status, s->event_mask);
    if (rising & s->event_mask) {
        knpu_raise_vector_locked(s, s->num_queues);
    }
}

void knpu_queue_irq_locked(KnpuState *s, unsigned qid, uint32_t bits)
{
    KnpuQueue *q = &s->queues[qid];
    uint32_t rising = bits & ~q->irq_status;

    q->irq_status |= bits;
    if (rising) {
        knpu_raise_vector_locked(s, qid);
    }
}

static void knpu_irq_bh(void *opaque)
{
    KnpuState *s = opaque;
    PCIDevice *pdev = PCI_DEVICE(s);
    DECLARE_BITMAP(pending, KNPU_MAX_VECTORS);
    unsigned long v;

    qemu_mutex_lock(&s->lock);
    bitmap_copy(pending, s->irq_pending, KNPU_MAX_VECTORS);
    bitmap_zero(s->irq_pending, KNPU_MAX_VECTORS);
    if (s->removed) {
        bitmap_zero(pending, KNPU_MAX_VECTORS);
    }
    qemu_mutex_unlock(&s->lock);

    for (v = find_first_bit(pending, KNPU_MAX_VECTORS); v < KNPU_MAX_VECTORS;
         v = find_next_bit(pending, KNPU_MAX_VECTORS, v + 1)) {
        if (!msix_enabled(pdev)) {
            trace_knpu_irq_dropped(v);
            continue;
        }
        /* A PCI reset unuses every vector; use them again on demand. */
        if (!pdev->msix_entry_used[v]) {
            msix_vector_use(pdev, v);
        }
        trace_knpu_irq(v);
        msix_notify(pdev, v);
    }
}

/*
 * Deterministic engine: send the pending messages now rather than when the
 * main loop runs the bottom half, which under qtest depends on how the
 * commands arrive (one by one, or several in one read); now, they reach the
 * interrupt controller at a point the command stream fixes. Called at the
 * end of a register access or a tick, under the BQL, without s->lock.
 */
void knpu_irq_flush(KnpuState *s)
{
    if (s->deterministic) {
        qemu_bh_cancel(s->irq_bh);
        knpu_irq_bh(s);
    }
}

/* Forget the interrupts not yet delivered. */
void knpu_irq_reset_locked(KnpuState *s)
{
    bitmap_zero(s->irq_pending, KNPU_MAX_VECTORS);
    if (s->irq_bh) {
        qemu_bh_cancel(s->irq_bh);
    }
}

/* MSI-X in BAR4: a vector per queue and the event vector. */
bool knpu_irq_init(KnpuState *s, Error **errp)
{
    PCIDevice *pdev = PCI_DEVICE(s);
    unsigned i;

    memory_region_init(&s->msix_bar, OBJECT(s), "knpu-msix",
                       KNPU_MSIX_BAR_SIZE);
    if (msix_init(pdev, s->num_queues + 1, &s->msix_bar, KNPU_BAR_MSIX, 0,
                  &s->msix_bar, KNPU_BAR_MSIX, KNPU_MSIX_BAR_SIZE / 2, 0,
                  errp) < 0) {
        return false;
    }
    pci_register_bar(pdev, KNPU_BAR_MSIX, PCI_BASE_ADDRESS_SPACE_MEMORY,
                     &s->msix_bar);
    for (i = 0; i <= s->num_queues; i++) {
        msix_vector_use(pdev, i);
    }

    s->irq_bh = qemu_bh_new_guarded(knpu_irq_bh, s,
                                    &DEVICE(pdev)->mem_reentrancy_guard);
    return true;
}

void knpu_irq_exit(KnpuState *s)
{
    qemu_bh_delete(s->irq_bh);
    s->irq_bh = NULL;
    msix_uninit(PCI_DEVICE(s), &s->msix_bar, &s->msix_bar);
}
