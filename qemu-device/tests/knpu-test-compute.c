/*
 * KNPU qtests of the compute instructions: shared helpers (machine set-up,
 * buffers, random tensors, element decoding, tolerances).
 *
 * Copyright (c) 2026 The knpu authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include <math.h>
#include "hw/misc/knpu/tests/knpu-test-compute.h"

#define CX_VA_BASE  0x40000000ull

const uint32_t float_dts[3] = { KNPU_DT_FP32, KNPU_DT_FP16, KNPU_DT_BF16 };
const uint32_t all_dts[5] = {
    KNPU_DT_FP32, KNPU_DT_FP16, KNPU_DT_BF16, KNPU_DT_INT8, KNPU_DT_INT32,
};

void cx_start(Cx *c)
{
    cx_start_opts(c, NULL);
}

/* With @extra appended to the -device option (",prim-cache=0"). */
void cx_start_opts(Cx *c, const char *extra)
{
    knpu_start(&c->k, extra);
    mmu_setup(&c->k);
    c->q = 0;
    queue_setup(&c->k, c->q, 0);
    c->next_va = CX_VA_BASE;
    c->fence = 1;
    c->rand = g_rand_new_with_seed(0x6b6e7075);
}

void cx_stop(Cx *c)
{
    g_rand_free(c->rand);
    knpu_stop(&c->k);
}

/*
 * @bytes of zeroed guest memory mapped with @pte_flags, an unmapped page
 * after it.
 */
TBuf cx_buf(Cx *c, uint64_t bytes, uint64_t pte_flags)
{
    uint64_t size = QEMU_ALIGN_UP(MAX(bytes, 1), 4096);
    TBuf b = { .va = c->next_va, .bytes = bytes };

    b.pa = galloc(&c->k, size);
    map_range(&c->k, b.va, b.pa, size, pte_flags);
    c->next_va += size + 4096;
    return b;
}

/* A read-only buffer holding @count elements of @dt from @data. */
TBuf cx_input(Cx *c, uint32_t dt, uint64_t count, const void *data)
{
    TBuf b = cx_buf(c, count * dt_size(dt), KNPU_PTE_READ);

    tbuf_write(c, &b, data, count * dt_size(dt));
    return b;
}

/* A writable buffer for @count elements of @dt. */
TBuf cx_output(Cx *c, uint32_t dt, uint64_t count)
{
    return cx_buf(c, count * dt_size(dt), KNPU_PTE_READ | KNPU_PTE_WRITE);
}

void cx_run(Cx *c, const Prog *p, const uint64_t *args, unsigned nargs)
{
    uint32_t head = qrd(&c->k, c->q, KNPU_Q_HEAD);
    Job j;

    load_kernel(&c->k, &j, p, args, nargs, ++c->fence);
    submit(&c->k, c->q, &j.d);
    expect_done(&c->k, c->q, (head + 1) % RING_ENTRIES, c->fence);
}

/* Run a program that must fail with @code, then make the queue usable. */
Err cx_run_bad(Cx *c, const Prog *p, const uint64_t *args, unsigned nargs,
               uint32_t code)
{
    uint32_t head = qrd(&c->k, c->q, KNPU_Q_HEAD);
    Job j;
    Err e;

    load_kernel(&c->k, &j, p, args, nargs, 0xbad);
    submit(&c->k, c->q, &j.d);
    e = expect_error(&c->k, c->q, head, code);
    queue_reset(&c->k, c->q);
    queue_setup(&c->k, c->q, 0);
    return e;
}

/* Each case of @cases: @valid with its words changed fails as it says. */
void cx_run_bad_operands(Cx *c, const Insn *valid, const uint64_t *args,
                         unsigned nargs, const BadOperands *cases,
                         unsigned ncases)
{
    g_autofree uint32_t *ops = g_new(uint32_t, valid->nops);
    unsigned i, w;

    for (i = 0; i < ncases; i++) {
        const BadOperands *bad = &cases[i];
        Prog p = { .n = 0 };
        Err e;

        if (g_test_verbose()) {
            g_test_message("bad operands: case %u of %u", i, ncases);
        }
        memcpy(ops, valid->ops, valid->nops * sizeof(*ops));
        for (w = 0; w < bad->n; w++) {
            ops[bad->word[w]] = bad->value[w];
        }
        emit(&p, valid->opcode, valid->dtype, valid->flags, valid->argmask,
             valid->nops, ops);
        e = cx_run_bad(c, &p, args, nargs, bad->code);
        if (bad->operand >= 0) {
            g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, bad->operand);
        }
    }
}

/* Each case of @cases: @valid with its encoding changed fails as it says. */
void cx_run_bad_encodings(Cx *c, const Insn *valid, const uint64_t *args,
                          unsigned nargs, const BadEncoding *cases,
                          unsigned ncases)
{
    unsigned i;

    for (i = 0; i < ncases; i++) {
        Prog p = { .n = 0 };

        if (g_test_verbose()) {
            g_test_message("bad encoding: case %u of %u", i, ncases);
        }
        emit(&p, valid->opcode, cases[i].dtype, cases[i].flags,
             cases[i].argmask, valid->nops, valid->ops);
        cx_run_bad(c, &p, args, nargs, cases[i].code);
    }
}

size_t dt_size(uint32_t dt)
{
    switch (dt) {
    case KNPU_DT_FP32:
    case KNPU_DT_INT32:
        return 4;
    case KNPU_DT_FP16:
    case KNPU_DT_BF16:
        return 2;
    case KNPU_DT_INT8:
        return 1;
    }
    g_assert_not_reached();
}

/*
 * Random elements: floats in about [-2, 2] (FP16 and BF16 drawn as bit
 * patterns of normal numbers), INT8 over the whole range, INT32 in
 * [-1000, 1000].
 */
void *rand_tensor(Cx *c, uint32_t dt, uint64_t count)
{
    uint8_t *raw = g_malloc(count * dt_size(dt));
    uint64_t i;

    for (i = 0; i < count; i++) {
        uint32_t sign = g_rand_boolean(c->rand);
        uint16_t h;
        float f;
        int32_t v;
        int8_t b;

        switch (dt) {
        case KNPU_DT_FP32:
            f = g_rand_double_range(c->rand, -2, 2);
            memcpy(raw + 4 * i, &f, 4);
            break;
        case KNPU_DT_FP16:
            h = sign << 15 | g_rand_int_range(c->rand, 11, 16) << 10 |
                g_rand_int_range(c->rand, 0, 1024);
            memcpy(raw + 2 * i, &h, 2);
            break;
        case KNPU_DT_BF16:
            h = sign << 15 | g_rand_int_range(c->rand, 123, 128) << 7 |
                g_rand_int_range(c->rand, 0, 128);
            memcpy(raw + 2 * i, &h, 2);
            break;
        case KNPU_DT_INT8:
            b = g_rand_int_range(c->rand, -128, 128);
            raw[i] = b;
            break;
        case KNPU_DT_INT32:
            v = g_rand_int_range(c->rand, -1000, 1001);
            memcpy(raw + 4 * i, &v, 4);
            break;
        }
    }
    return raw;
}

/* Element @i of a tensor of type @dt, exactly. */
double elem(uint32_t dt, const void *raw, uint64_t i)
{
    const uint8_t *p = raw;
    uint32_t bits = 0;
    int32_t v;
    uint16_t h;
    float f;

    switch (dt) {
    case KNPU_DT_FP32:
        memcpy(&f, p + 4 * i, 4);
        return f;
    case KNPU_DT_FP16:
        memcpy(&h, p + 2 * i, 2);
        if (((h >> 10) & 0x1f) == 0x1f) {
            return (h & 0x3ff) ? NAN : (h & 0x8000) ? -INFINITY : INFINITY;
        }
        if (!((h >> 10) & 0x1f)) {
            return ldexp(h & 0x3ff, -24) * ((h & 0x8000) ? -1 : 1);
        }
        return ldexp(1024 + (h & 0x3ff), ((h >> 10) & 0x1f) - 25) *
               ((h & 0x8000) ? -1 : 1);
    case KNPU_DT_BF16:
        memcpy(&h, p + 2 * i, 2);
        bits = (uint32_t)h << 16;
        memcpy(&f, &bits, 4);
        return f;
    case KNPU_DT_INT8:
        return (int8_t)p[i];
    case KNPU_DT_INT32:
        memcpy(&v, p + 4 * i, 4);
        return v;
    }
    g_assert_not_reached();
}

/* Store an exactly representable @v (integers, FP32) as element @i. */
void set_elem(uint32_t dt, void *raw, uint64_t i, double v)
{
    uint8_t *p = raw;
    int32_t iv = v;
    float f = v;

    switch (dt) {
    case KNPU_DT_FP32:
        memcpy(p + 4 * i, &f, 4);
        return;
    case KNPU_DT_INT8:
        p[i] = (int8_t)iv;
        return;
    case KNPU_DT_INT32:
        memcpy(p + 4 * i, &iv, 4);
        return;
    }
    g_assert_not_reached();
}

static void tolerance(uint32_t dt, double *atol, double *rtol)
{
    switch (dt) {
    case KNPU_DT_FP32:
        *atol = 0.00001;
        *rtol = 0.0001;
        return;
    case KNPU_DT_FP16:
        *atol = 0.001;
        *rtol = 0.002;
        return;
    case KNPU_DT_BF16:
        *atol = 0.01;
        *rtol = 0.01;
        return;
    default:
        *atol = 0;
        *rtol = 0;
    }
}

void check_close(uint32_t dt, const void *got, const double *ref,
                 uint64_t count, const char *what)
{
    double atol, rtol;
    uint64_t i;

    tolerance(dt, &atol, &rtol);
    for (i = 0; i < count; i++) {
        double g = elem(dt, got, i);

        if (isnan(ref[i]) && isnan(g)) {
            continue;
        }
        if (!(fabs(g - ref[i]) <= atol + rtol * fabs(ref[i]))) {
            g_test_message("%s: element %" PRIu64 " is %.9g, want %.9g",
                           what, i, g, ref[i]);
            g_assert_cmpfloat_with_epsilon(g, ref[i],
                                           atol + rtol * fabs(ref[i]));
        }
    }
}

uint32_t f32_bits(float f)
{
    uint32_t b;

    memcpy(&b, &f, 4);
    return b;
}

void tbuf_write(Cx *c, const TBuf *b, const void *data, uint64_t bytes)
{
    qtest_bufwrite(c->k.qts, b->pa, data, bytes);
}

void *tbuf_read(Cx *c, const TBuf *b, uint64_t bytes)
{
    void *data = g_malloc(bytes);

    qtest_bufread(c->k.qts, b->pa, data, bytes);
    return data;
}

/* The activations of sections 7.3 and 7.4.5. */
double act_ref(unsigned act, double x)
{
    double hard_sigmoid = MAX(0, MIN(1, x / 6 + 0.5));

    switch (act) {
    case KNPU_ACT_NONE:
        return x;
    case KNPU_ACT_RELU:
        return x > 0 ? x : 0;
    case KNPU_ACT_GELU:
        return 0.5 * x * (1 + erf(x / sqrt(2)));
    case KNPU_ACT_SILU:
        return x / (1 + exp(-x));
    case KNPU_ACT_SIGMOID:
        return 1 / (1 + exp(-x));
    case KNPU_ACT_TANH:
        return tanh(x);
    case KNPU_ACT_HARDSWISH:
        return x * hard_sigmoid;
    case KNPU_ACT_HARDSIGMOID:
        return hard_sigmoid;
    case KNPU_ACT_RELU6:
        return MIN(MAX(x, 0), 6);
    }
    g_assert_not_reached();
}

/* Round half to even. */
double rne(double x)
{
    double r = round(x);

    if (fabs(x - trunc(x)) == 0.5) {
        r = 2 * round(x / 2);
    }
    return r;
}
