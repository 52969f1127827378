/*
 * KNPU device model: fault injection (spec section 10).
 *
 * QOM properties of the device, settable on the -device line or at run
 * time with qom-set: inject-hang-queue and inject-mmu-fault-queue (the
 * next job of that queue hangs or faults), inject-uncorrectable,
 * inject-correctable, inject-surprise-removal (events) and
 * inject-overheat (a level).
 *
 * Injections requested before realize (on the -device command line) take
 * effect at the first power-on reset, so that the device comes up with
 * them; later ones take effect at once.
 *
 * Copyright (c) 2026 The knpu authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/visitor.h"
#include "trace.h"
#include "knpu-internal.h"

static void knpu_inject_locked(KnpuState *s, const char *name, int64_t val)
{
    unsigned i;

    trace_knpu_inject(name, val);
    if (!strcmp(name, "inject-hang-queue")) {
        s->queues[val].inject_hang = true;
    } else if (!strcmp(name, "inject-mmu-fault-queue")) {
        s->queues[val].inject_mmu_fault = true;
    } else if (!strcmp(name, "inject-uncorrectable")) {
        qatomic_set(&s->fatal, true);
        s->err_uncorrectable++;
        knpu_event_locked(s, KNPU_EVENT_UNCORRECTABLE);
    } else if (!strcmp(name, "inject-correctable")) {
        s->err_correctable++;
        knpu_event_locked(s, KNPU_EVENT_CORRECTABLE);
    } else if (!strcmp(name, "inject-surprise-removal")) {
        if (!s->removed) {
            for (i = 0; i < s->num_queues; i++) {
                knpu_queue_abort_locked(s, i);
            }
            qatomic_set(&s->removed, true);
            bitmap_zero(s->irq_pending, KNPU_MAX_VECTORS);
        }
    }
}

void knpu_apply_boot_injections_locked(KnpuState *s)
{
    if (s->boot_inject_hang >= 0) {
        knpu_inject_locked(s, "inject-hang-queue", s->boot_inject_hang);
    }
    if (s->boot_inject_mmu_fault >= 0) {
        knpu_inject_locked(s, "inject-mmu-fault-queue",
                           s->boot_inject_mmu_fault);
    }
    if (s->boot_inject_uncorrectable) {
        knpu_inject_locked(s, "inject-uncorrectable", 1);
    }
    if (s->boot_inject_correctable) {
        knpu_inject_locked(s, "inject-correctable", 1);
    }
    if (s->boot_inject_removal) {
        knpu_inject_locked(s, "inject-surprise-removal", 1);
    }
    s->boot_inject_hang = s->boot_inject_mmu_fault = -1;
    s->boot_inject_uncorrectable = s->boot_inject_correctable = false;
    s->boot_inject_removal = false;
}

static void knpu_get_inject_queue(Object *obj, Visitor *v, const char *name,
                                  void *opaque, Error **errp)
{
    int32_t val = -1;

    visit_type_int32(v, name, &val, errp);
}

static void knpu_set_inject_queue(Object *obj, Visitor *v, const char *name,
                                  void *opaque, Error **errp)
{
    KnpuState *s = KNPU(obj);
    bool realized = DEVICE(obj)->realized;
    int32_t val;

    if (!visit_type_int32(v, name, &val, errp)) {
        return;
    }
    if (val < -1 || val >= KNPU_MAX_QUEUES ||
        (realized && val >= (int32_t)s->num_queues)) {
        error_setg(errp, "%s: queue %d out of range", name, val);
        return;
    }
    if (val < 0) {
        return;
    }
    qemu_mutex_lock(&s->lock);
    if (!realized) {
        if (!strcmp(name, "inject-hang-queue")) {
            s->boot_inject_hang = val;
        } else {
            s->boot_inject_mmu_fault = val;
        }
    } else {
        knpu_inject_locked(s, name, val);
    }
    qemu_mutex_unlock(&s->lock);
}

static void knpu_get_inject_bool(Object *obj, Visitor *v, const char *name,
                                 void *opaque, Error **errp)
{
    KnpuState *s = KNPU(obj);
    bool val = false;

    if (!strcmp(name, "inject-uncorrectable")) {
        val = s->fatal;
    } else if (!strcmp(name, "inject-surprise-removal")) {
        val = s->removed;
    } else if (!strcmp(name, "inject-overheat")) {
        val = s->overheat;
    }
    visit_type_bool(v, name, &val, errp);
}

static void knpu_set_inject_bool(Object *obj, Visitor *v, const char *name,
                                 void *opaque, Error **errp)
{
    KnpuState *s = KNPU(obj);
    bool realized = DEVICE(obj)->realized;
    bool val;

    if (!visit_type_bool(v, name, &val, errp)) {
        return;
    }
    qemu_mutex_lock(&s->lock);
    if (!strcmp(name, "inject-overheat")) {
        /* A level, not an event: it holds until cleared. */
        trace_knpu_inject(name, val);
        if (realized) {
            knpu_thermal_update_locked(s);
        }
        s->overheat = val;
        if (realized) {
            knpu_thermal_update_locked(s);
        }
    } else if (val && !realized) {
        if (!strcmp(name, "inject-uncorrectable")) {
            s->boot_inject_uncorrectable = true;
        } else if (!strcmp(name, "inject-correctable")) {
            s->boot_inject_correctable = true;
        } else {
            s->boot_inject_removal = true;
        }
    } else if (val) {
        knpu_inject_locked(s, name, val);
    }
    qemu_mutex_unlock(&s->lock);
}

void knpu_inject_class_init(ObjectClass *klass)
{
    static const char *const queue_props[] = {
        "inject-hang-queue", "inject-mmu-fault-queue",
    };
    static const char *const bool_props[] = {
        "inject-uncorrectable", "inject-correctable",
        "inject-surprise-removal", "inject-overheat",
    };
    unsigned i;

    for (i = 0; i < ARRAY_SIZE(queue_props); i++) {
        object_class_property_add(klass, queue_props[i], "int32",
                                  knpu_get_inject_queue,
                                  knpu_set_inject_queue, NULL, NULL);
    }
    for (i = 0; i < ARRAY_SIZE(bool_props); i++) {
        object_class_property_add(klass, bool_props[i], "bool",
                                  knpu_get_inject_bool,
                                  knpu_set_inject_bool, NULL, NULL);
    }
}
