/*
 * KNPU device model: telemetry (spec sections 3.4 and 8).
 *
 * Temperature and power follow the fraction of busy cores through a
 * first-order filter; above a threshold the device throttles its clock.
 * The device clock, the busy time of the cores and the filter use QEMU's
 * virtual clock. The counters survive soft reset and FLR.
 *
 * Copyright (c) 2026 The knpu authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include <math.h>
#include "trace.h"
#include "knpu-internal.h"

/* Thermal model (section 3.4): milli-degrees C, milliwatts, ns */
#define KNPU_TEMP_IDLE          40000
#define KNPU_TEMP_LOAD          85000
#define KNPU_TEMP_OVERHEAT      105000
#define KNPU_TEMP_THROTTLE      95000
#define KNPU_TEMP_RECOVER       90000
#define KNPU_POWER_IDLE         25000
#define KNPU_POWER_LOAD         150000
#define KNPU_THERMAL_TAU_NS     (3 * NANOSECONDS_PER_SECOND)
#define KNPU_CLOCK_NOMINAL      1000
#define KNPU_CLOCK_THROTTLED    500

/* The temperature of the filtered load, or of an injected overheat. */
static uint32_t knpu_temp_of_load(KnpuState *s)
{
    if (s->overheat) {
        return KNPU_TEMP_OVERHEAT;
    }
    return KNPU_TEMP_IDLE + (uint32_t)((KNPU_TEMP_LOAD - KNPU_TEMP_IDLE) *
                                       s->load);
}

/* Follow the load with a first-order filter (time constant of seconds). */
void knpu_thermal_update_locked(KnpuState *s)
{
    int64_t now = knpu_now();
    int64_t dt = now - s->load_time;
    double target = (double)s->busy_cores / s->num_cores;
    uint32_t temp;

    if (dt > 0) {
        s->load += (target - s->load) * (1.0 - exp(-(double)dt /
                                                 KNPU_THERMAL_TAU_NS));
        s->load_time = now;
    }
    temp = knpu_temp_of_load(s);
    if (!s->throttled && temp > KNPU_TEMP_THROTTLE) {
        qatomic_set(&s->throttled, true);
        trace_knpu_thermal(temp, true);
        knpu_event_locked(s, KNPU_EVENT_THERMAL);
    } else if (s->throttled && temp < KNPU_TEMP_RECOVER) {
        qatomic_set(&s->throttled, false);
        trace_knpu_thermal(temp, false);
    }
}

uint32_t knpu_temp_locked(KnpuState *s)
{
    knpu_thermal_update_locked(s);
    return knpu_temp_of_load(s);
}

uint32_t knpu_power_locked(KnpuState *s)
{
    knpu_thermal_update_locked(s);
    return KNPU_POWER_IDLE + (uint32_t)((KNPU_POWER_LOAD - KNPU_POWER_IDLE) *
                                        s->load);
}

uint32_t knpu_clock_locked(KnpuState *s)
{
    knpu_thermal_update_locked(s);
    return s->throttled ? KNPU_CLOCK_THROTTLED : KNPU_CLOCK_NOMINAL;
}

/*
 * How long a job stalls after work that took @work_ns of host time. The
 * model computes at host speed; a throttled clock stretches every piece
 * of work by CLOCK_NOMINAL / CLOCK_THROTTLED. Read by workers (atomic).
 */
int64_t knpu_throttle_stall_ns(KnpuState *s, int64_t work_ns)
{
    if (!qatomic_read(&s->throttled) || work_ns <= 0) {
        return 0;
    }
    return work_ns * (KNPU_CLOCK_NOMINAL - KNPU_CLOCK_THROTTLED) /
           KNPU_CLOCK_THROTTLED;
}

uint64_t knpu_core_busy_locked(KnpuState *s, unsigned c)
{
    KnpuCore *core = &s->cores[c];
    uint64_t ns = core->busy_ns;

    if (core->busy) {
        ns += MAX(knpu_now() - core->busy_since, 0);
    }
    return ns;
}

void knpu_core_set_busy_locked(KnpuState *s, KnpuCore *core, bool busy)
{
    int64_t now = knpu_now();

    knpu_thermal_update_locked(s);
    if (busy) {
        core->busy = true;
        core->busy_since = now;
        s->busy_cores++;
    } else {
        core->busy = false;
        core->busy_ns += MAX(now - core->busy_since, 0);
        s->busy_cores--;
    }
}

/* Power-on reset: counters, busy times, clock and filter start over. */
void knpu_telemetry_reset_locked(KnpuState *s)
{
    unsigned i;

    s->jobs_completed = 0;
    s->bytes_moved = 0;
    s->err_correctable = 0;
    s->err_uncorrectable = 0;
    for (i = 0; i < s->num_cores; i++) {
        s->cores[i].busy_ns = 0;
    }
    s->clock_base = knpu_now();
    s->load = 0;
    s->load_time = s->clock_base;
    s->throttled = false;
}
