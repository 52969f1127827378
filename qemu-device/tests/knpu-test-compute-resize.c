/*
 * KNPU qtests: RESIZE (spec section 7.4.1, v1.1) against a reference
 * written from ONNX's Resize definition, and its invalid operands.
 *
 * Copyright (c) 2026 The knpu authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include <math.h>
#include "hw/misc/knpu/tests/knpu-test-compute.h"

typedef struct Resize {
    uint32_t n, c, h, w, p, q;
    float scale_h, scale_w;     /* 0: p / h */
    uint32_t mode, coord, round;
} Resize;

static uint32_t resize_flags(const Resize *v)
{
    return v->mode | v->coord << 2 | v->round << 4;
}

/* ONNX: the input coordinate of output coordinate x, in FP32. */
static float onnx_coord(const Resize *v, uint32_t x, uint32_t len_in,
                        uint32_t len_out, float scale)
{
    if (scale == 0) {
        scale = (float)len_out / (float)len_in;
    }
    switch (v->coord) {
    case KNPU_RESIZE_HALF_PIXEL:
        return ((float)x + 0.5f) / scale - 0.5f;
    case KNPU_RESIZE_ASYMMETRIC:
        return (float)x / scale;
    case KNPU_RESIZE_ALIGN_CORNERS:
        return len_out == 1 ? 0 :
               (float)x * (float)(len_in - 1) / (float)(len_out - 1);
    default:
        return len_out > 1 ? ((float)x + 0.5f) / scale - 0.5f : 0;
    }
}

/* ONNX's nearest_mode, then the index clamped into the input. */
static int64_t onnx_nearest(const Resize *v, float x, uint32_t len_in)
{
    double r;

    switch (v->round) {
    case KNPU_RESIZE_ROUND_PREFER_FLOOR:
        r = x == floorf(x) + 0.5f ? floorf(x) : roundf(x);
        break;
    case KNPU_RESIZE_ROUND_PREFER_CEIL:
        r = x == floorf(x) + 0.5f ? ceilf(x) : roundf(x);
        break;
    case KNPU_RESIZE_FLOOR:
        r = floorf(x);
        break;
    default:
        r = ceilf(x);
    }
    return MIN(MAX((int64_t)r, 0), (int64_t)len_in - 1);
}

/* One output value of a plane @in of h×w, as ONNX defines it. */
static double onnx_resize(const Resize *v, const void *in, uint32_t dt,
                          uint64_t base, uint32_t y, uint32_t x)
{
    float cy = onnx_coord(v, y, v->h, v->p, v->scale_h);
    float cx = onnx_coord(v, x, v->w, v->q, v->scale_w);
    int64_t y0, y1, x0, x1;
    double wy, wx;

    if (v->mode == KNPU_RESIZE_NEAREST) {
        return elem(dt, in, base + onnx_nearest(v, cy, v->h) * v->w +
                    onnx_nearest(v, cx, v->w));
    }
    cy = MIN(MAX(cy, 0), v->h - 1);
    cx = MIN(MAX(cx, 0), v->w - 1);
    y0 = (int64_t)floorf(cy);
    x0 = (int64_t)floorf(cx);
    y1 = MIN(y0 + 1, (int64_t)v->h - 1);
    x1 = MIN(x0 + 1, (int64_t)v->w - 1);
    wy = cy - y0;
    wx = cx - x0;
    return (1 - wy) * ((1 - wx) * elem(dt, in, base + y0 * v->w + x0) +
                       wx * elem(dt, in, base + y0 * v->w + x1)) +
           wy * ((1 - wx) * elem(dt, in, base + y1 * v->w + x0) +
                 wx * elem(dt, in, base + y1 * v->w + x1));
}

static void emit_resize(Prog *p, uint32_t dt, const Resize *v)
{
    EMIT(p, KNPU_OP_RESIZE, dt, resize_flags(v), 3, 0, 1, v->n, v->c, v->h,
         v->w, v->p, v->q, f32_bits(v->scale_h), f32_bits(v->scale_w));
}

static void run_resize(Cx *c, uint32_t dt, const Resize *v)
{
    uint64_t planes = (uint64_t)v->n * v->c;
    uint64_t n_in = planes * v->h * v->w, n_out = planes * v->p * v->q;
    g_autofree void *x = rand_tensor(c, dt, n_in);
    g_autofree double *ref = g_new(double, n_out);
    g_autofree void *out = NULL;
    uint64_t args[2], pl, i = 0;
    Prog p = { .n = 0 };
    uint32_t y, z;
    TBuf tx, to;

    for (pl = 0; pl < planes; pl++) {
        for (y = 0; y < v->p; y++) {
            for (z = 0; z < v->q; z++) {
                ref[i++] = onnx_resize(v, x, dt, pl * v->h * v->w, y, z);
            }
        }
    }
    tx = cx_input(c, dt, n_in, x);
    to = cx_output(c, dt, n_out);
    args[0] = tx.va;
    args[1] = to.va;
    emit_resize(&p, dt, v);
    cx_run(c, &p, args, 2);
    out = tbuf_read(c, &to, n_out * dt_size(dt));
    check_close(dt, out, ref, n_out, "resize");
}

static void test_resize(void)
{
    /* shapes: upsample ×2 (the detection head), fractional down, scales */
    static const Resize shapes[] = {
        { 1, 3, 4, 5, 8, 10, 0, 0 },
        { 2, 2, 7, 9, 4, 5, 0, 0 },
        { 1, 2, 3, 4, 7, 10, 2.5f, 2.5f },
        { 1, 1, 5, 6, 1, 1, 0, 0 },
        { 1, 2, 6, 4, 3, 12, 0.5f, 3.0f },
    };
    Cx c;
    unsigned s, mode, coord, round, d;

    cx_start(&c);
    for (s = 0; s < ARRAY_SIZE(shapes); s++) {
        for (coord = 0; coord < 4; coord++) {
            for (mode = 0; mode < 2; mode++) {
                for (round = 0; round < (mode ? 1 : 4); round++) {
                    Resize v = shapes[s];

                    v.mode = mode;
                    v.coord = coord;
                    v.round = round;
                    run_resize(&c, KNPU_DT_FP32, &v);
                }
            }
        }
    }
    for (d = 1; d < ARRAY_SIZE(float_dts); d++) {
        Resize v = shapes[2];

        v.mode = KNPU_RESIZE_LINEAR;
        run_resize(&c, float_dts[d], &v);
        v = shapes[0];
        v.coord = KNPU_RESIZE_ASYMMETRIC;
        v.round = KNPU_RESIZE_FLOOR;
        run_resize(&c, float_dts[d], &v);
    }
    cx_stop(&c);
}

static void test_resize_errors(void)
{
    const Resize ok = { 1, 1, 4, 4, 8, 8, 0, 0 };
    Resize v;
    TBuf a, ro;
    uint64_t args[2];
    Prog p;
    Err e;
    Cx c;
    unsigned i;

    cx_start(&c);
    a = cx_buf(&c, 4096, KNPU_PTE_READ | KNPU_PTE_WRITE);
    ro = cx_buf(&c, 4096, KNPU_PTE_READ);
    args[0] = a.va;
    args[1] = a.va + 1024;

    /* Mode 2; rounding with LINEAR. */
    v = ok;
    v.mode = 2;
    p.n = 0;
    emit_resize(&p, KNPU_DT_FP32, &v);
    e = cx_run_bad(&c, &p, args, 2, KNPU_ERR_OPERAND_INVALID);
    g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, 0xff);
    v = ok;
    v.mode = KNPU_RESIZE_LINEAR;
    v.round = KNPU_RESIZE_CEIL;
    p.n = 0;
    emit_resize(&p, KNPU_DT_FP32, &v);
    cx_run_bad(&c, &p, args, 2, KNPU_ERR_OPERAND_INVALID);
    /* A flag above bit 5. */
    p.n = 0;
    EMIT(&p, KNPU_OP_RESIZE, KNPU_DT_FP32, 0x40, 3, 0, 1, 1, 1, 4, 4, 8, 8,
         0, 0);
    cx_run_bad(&c, &p, args, 2, KNPU_ERR_OPERAND_INVALID);
    /* Zero sizes, each at its operand. */
    for (i = 2; i <= 7; i++) {
        uint32_t ops[8] = { 0, 1, 1, 1, 4, 4, 8, 8 };

        ops[i] = 0;
        p.n = 0;
        EMIT(&p, KNPU_OP_RESIZE, KNPU_DT_FP32, 0, 3, ops[0], ops[1], ops[2],
             ops[3], ops[4], ops[5], ops[6], ops[7], 0, 0);
        e = cx_run_bad(&c, &p, args, 2, KNPU_ERR_OPERAND_INVALID);
        g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, i);
    }
    /* Negative, NaN and infinite scales. */
    v = ok;
    v.scale_h = -2;
    p.n = 0;
    emit_resize(&p, KNPU_DT_FP32, &v);
    e = cx_run_bad(&c, &p, args, 2, KNPU_ERR_OPERAND_INVALID);
    g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, 8);
    v = ok;
    v.scale_w = NAN;
    p.n = 0;
    emit_resize(&p, KNPU_DT_FP32, &v);
    e = cx_run_bad(&c, &p, args, 2, KNPU_ERR_OPERAND_INVALID);
    g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, 9);
    v = ok;
    v.scale_w = INFINITY;
    p.n = 0;
    emit_resize(&p, KNPU_DT_FP32, &v);
    e = cx_run_bad(&c, &p, args, 2, KNPU_ERR_OPERAND_INVALID);
    g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, 9);
    /* An output past 64 MiB, and one whose size overflows 64 bits. */
    v = (Resize){ 1, 1, 4, 4, 65536, 65536, 0, 0 };
    p.n = 0;
    emit_resize(&p, KNPU_DT_FP32, &v);
    e = cx_run_bad(&c, &p, args, 2, KNPU_ERR_OPERAND_INVALID);
    g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, 1);
    v = (Resize){ 0xffffffff, 0xffffffff, 1, 1, 0xffffffff, 0xffffffff,
                  0, 0 };
    p.n = 0;
    emit_resize(&p, KNPU_DT_FP32, &v);
    cx_run_bad(&c, &p, args, 2, KNPU_ERR_OPERAND_INVALID);
    /* INT8 and INT32 are not resized. */
    p.n = 0;
    emit_resize(&p, KNPU_DT_INT8, &ok);
    cx_run_bad(&c, &p, args, 2, KNPU_ERR_OPCODE_UNSUPPORTED);
    /* Misaligned input; read-only output. */
    args[0] = a.va + 2;
    p.n = 0;
    emit_resize(&p, KNPU_DT_FP32, &ok);
    e = cx_run_bad(&c, &p, args, 2, KNPU_ERR_ALIGNMENT);
    g_assert_cmphex(e.addr, ==, a.va + 2);
    args[0] = a.va;
    args[1] = ro.va;
    e = cx_run_bad(&c, &p, args, 2, KNPU_ERR_MMU_FAULT);
    g_assert_cmphex(e.addr, ==, ro.va);
    g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, 1);
    cx_stop(&c);
}

void knpu_add_compute_resize_tests(void)
{
    qtest_add_func("/knpu/compute/resize", test_resize);
    qtest_add_func("/knpu/compute/resize-errors", test_resize_errors);
}
