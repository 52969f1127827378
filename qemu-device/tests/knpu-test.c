/*
 * QTest for the KNPU device model (docs/hw-spec.md): registers driven
 * directly, no guest kernel. The tests live in knpu-test-*.c, the helpers
 * they share in knpu-qtest.c.
 *
 * Copyright (c) 2026 The knpu authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "hw/misc/knpu/tests/knpu-test-compute.h"

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    knpu_add_device_tests();
    knpu_add_irq_tests();
    knpu_add_inject_tests();
    knpu_add_cp_tests();
    knpu_add_queue_tests();
    knpu_add_mmu_tests();
    knpu_add_stress_tests();
    knpu_add_compute_gemm_tests();
    knpu_add_compute_conv_tests();
    knpu_add_compute_eltwise_tests();
    knpu_add_compute_norm_tests();
    knpu_add_compute_reduce_tests();
    knpu_add_compute_copy_tests();
    knpu_add_compute_resize_tests();
    knpu_add_compute_deconv_tests();
    knpu_add_compute_convert_tests();
    knpu_add_compute_gather_tests();
    knpu_add_compute_mask_tests();
    knpu_add_hostile_tests();
    knpu_add_det_tests();
    return g_test_run();
}
