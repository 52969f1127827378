// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (C) 2026 The knpu authors
 *
 * KUnit tests of what admins see: the device state and throttle reasons
 * decoded from DEV_STATUS, and the fdinfo busy-time accounting of jobs that
 * complete, fail, or are still running.
 */

#include <kunit/test.h>
#include <kunit/visibility.h>

#include "../knpu_fdinfo.h"
#include "../knpu_hwq.h"
#include "../knpu_job.h"
#include "../knpu_mmu.h"
#include "../knpu_sysfs.h"

static void knpu_test_device_state(struct kunit *test)
{
	KUNIT_EXPECT_STREQ(test, knpu_device_state(KNPU_DEV_STATUS_READY), "ok");
	KUNIT_EXPECT_STREQ(test, knpu_device_state(KNPU_DEV_STATUS_READY |
						   KNPU_DEV_STATUS_BUSY |
						   KNPU_DEV_STATUS_THROTTLED), "ok");
	KUNIT_EXPECT_STREQ(test, knpu_device_state(KNPU_DEV_STATUS_READY |
						   KNPU_DEV_STATUS_FATAL), "fatal");
	KUNIT_EXPECT_STREQ(test, knpu_device_state(0), "resetting");
	/* A device off the bus reads all ones, FATAL bit included. */
	KUNIT_EXPECT_STREQ(test, knpu_device_state(U32_MAX), "lost");
}

static void knpu_test_throttle_reasons(struct kunit *test)
{
	KUNIT_EXPECT_STREQ(test, knpu_throttle_reasons(KNPU_DEV_STATUS_READY), "none");
	KUNIT_EXPECT_STREQ(test, knpu_throttle_reasons(KNPU_DEV_STATUS_READY |
						       KNPU_DEV_STATUS_THROTTLED), "thermal");
}

struct knpu_busy_test {
	struct knpu_device kdev;
	struct knpu_hw_queue hwq[2];
	struct knpu_context a, b;
};

static struct knpu_busy_test *knpu_busy_test_alloc(struct kunit *test)
{
	struct knpu_busy_test *t = kunit_kzalloc(test, sizeof(*t), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, t);
	t->kdev.info.num_queues = ARRAY_SIZE(t->hwq);
	t->kdev.hwq = t->hwq;
	t->a.kdev = &t->kdev;
	t->b.kdev = &t->kdev;
	return t;
}

static void knpu_test_busy_running_and_closed(struct kunit *test)
{
	struct knpu_busy_test *t = knpu_busy_test_alloc(test);

	KUNIT_EXPECT_EQ(test, knpu_busy_ns_at(&t->a, 1000), 0ULL);

	knpu_busy_start(&t->hwq[0], &t->a, 1000);
	/* Running: the open interval counts. */
	KUNIT_EXPECT_EQ(test, knpu_busy_ns_at(&t->a, 1500), 500ULL);
	KUNIT_EXPECT_EQ(test, knpu_busy_ns_at(&t->b, 1500), 0ULL);

	/* A second job in a busy ring does not restart the interval. */
	knpu_busy_start(&t->hwq[0], &t->a, 1200);
	KUNIT_EXPECT_EQ(test, knpu_busy_ns_at(&t->a, 1500), 500ULL);

	knpu_busy_stop(&t->hwq[0], 1800);
	KUNIT_EXPECT_EQ(test, knpu_busy_ns_at(&t->a, 5000), 800ULL);
	KUNIT_EXPECT_NULL(test, t->hwq[0].busy_ctx);

	/* Stopping an idle queue changes nothing. */
	knpu_busy_stop(&t->hwq[0], 9000);
	KUNIT_EXPECT_EQ(test, knpu_busy_ns_at(&t->a, 9000), 800ULL);
}

static void knpu_test_busy_two_queues(struct kunit *test)
{
	struct knpu_busy_test *t = knpu_busy_test_alloc(test);

	/* Two queues of one context run at once: both count (capacity > 1). */
	knpu_busy_start(&t->hwq[0], &t->a, 100);
	knpu_busy_start(&t->hwq[1], &t->a, 300);
	KUNIT_EXPECT_EQ(test, knpu_busy_ns_at(&t->a, 400), 400ULL);

	/* The queue then serves another context: a's time stays a's. */
	knpu_busy_stop(&t->hwq[1], 500);
	knpu_busy_start(&t->hwq[1], &t->b, 600);
	KUNIT_EXPECT_EQ(test, knpu_busy_ns_at(&t->a, 700), 600ULL + 200ULL);
	KUNIT_EXPECT_EQ(test, knpu_busy_ns_at(&t->b, 700), 100ULL);
}

static void knpu_test_busy_clock_not_after_start(struct kunit *test)
{
	struct knpu_busy_test *t = knpu_busy_test_alloc(test);

	/* A reader's clock sample older than the start adds nothing. */
	knpu_busy_start(&t->hwq[0], &t->a, 1000);
	KUNIT_EXPECT_EQ(test, knpu_busy_ns_at(&t->a, 900), 0ULL);
	knpu_busy_stop(&t->hwq[0], 1000);
	KUNIT_EXPECT_EQ(test, knpu_busy_ns_at(&t->a, 2000), 0ULL);
}

static struct kunit_case knpu_telemetry_cases[] = {
	KUNIT_CASE(knpu_test_device_state),
	KUNIT_CASE(knpu_test_throttle_reasons),
	KUNIT_CASE(knpu_test_busy_running_and_closed),
	KUNIT_CASE(knpu_test_busy_two_queues),
	KUNIT_CASE(knpu_test_busy_clock_not_after_start),
	{}
};

static struct kunit_suite knpu_telemetry_suite = {
	.name = "knpu_telemetry",
	.test_cases = knpu_telemetry_cases,
};

kunit_test_suite(knpu_telemetry_suite);
