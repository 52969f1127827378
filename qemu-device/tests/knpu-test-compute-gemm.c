/*
 * KNPU qtests: GEMM (spec section 7.4) and GEMM_BATCHED (7.4.1, v1.1)
 * against reference loops, and their invalid and hostile operands.
 *
 * Copyright (c) 2026 The knpu authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include <math.h>
#include "hw/misc/knpu/tests/knpu-test-compute.h"

#define SENTINEL 0xa5

typedef struct Gemm {
    uint32_t dt;
    uint32_t flags;
    uint32_t m, n, k;
    uint32_t lda_pad, ldb_pad, ldc_pad;
    float scale;
    int32_t zp;
    uint32_t data;          /* INT8: GEMM_DATA_* */
} Gemm;

enum {
    GEMM_DATA_FULL,         /* full-range A and B, bias within ±1000 */
    /*
     * A and B within ±8, bias within ±63: most sums requantize to values
     * in range, and with a scale of 0.5 or 1.5 half of them are ties.
     */
    GEMM_DATA_TIES,
    /* bias at INT32's ends: the sum with the accumulators needs 33 bits */
    GEMM_DATA_HUGE_BIAS,
};

/* Reshape the random INT8 operands of @g as g->data asks. */
static void gemm_int8_data(const Gemm *g, int8_t *a, uint64_t a_cnt,
                           int8_t *b, uint64_t b_cnt, int32_t *bias)
{
    uint64_t i;

    for (i = 0; g->data == GEMM_DATA_TIES && i < a_cnt; i++) {
        a[i] %= 9;
    }
    for (i = 0; g->data == GEMM_DATA_TIES && i < b_cnt; i++) {
        b[i] %= 9;
    }
    for (i = 0; g->data != GEMM_DATA_FULL && i < g->n; i++) {
        bias[i] = g->data == GEMM_DATA_TIES ? bias[i] % 64 :
                  (i % 2 ? INT32_MAX - (int32_t)i : INT32_MIN + (int32_t)i);
    }
}

static uint32_t gemm_out_dt(const Gemm *g)
{
    if (g->dt != KNPU_DT_INT8) {
        return g->dt;
    }
    return (g->flags & KNPU_FLAG_OUT_INT32) ? KNPU_DT_INT32 : KNPU_DT_INT8;
}

/* Run one GEMM on random data and check every element of C and its gaps. */
static void run_gemm(Cx *c, const Gemm *g)
{
    bool ta = g->flags & KNPU_FLAG_TRANS_A, tb = g->flags & KNPU_FLAG_TRANS_B;
    bool has_bias = g->flags & KNPU_FLAG_BIAS;
    bool per_ch = g->flags & KNPU_FLAG_PER_CHANNEL;
    uint32_t odt = gemm_out_dt(g);
    uint32_t bias_dt = g->dt == KNPU_DT_INT8 ? KNPU_DT_INT32 : g->dt;
    uint32_t a_rows = ta ? g->k : g->m, a_cols = ta ? g->m : g->k;
    uint32_t b_rows = tb ? g->n : g->k, b_cols = tb ? g->k : g->n;
    uint32_t lda = a_cols + g->lda_pad, ldb = b_cols + g->ldb_pad;
    uint32_t ldc = g->n + g->ldc_pad;
    uint64_t a_cnt = (uint64_t)a_rows * lda, b_cnt = (uint64_t)b_rows * ldb;
    uint64_t c_bytes = (uint64_t)g->m * ldc * dt_size(odt);
    g_autofree void *a = rand_tensor(c, g->dt, a_cnt);
    g_autofree void *b = rand_tensor(c, g->dt, b_cnt);
    g_autofree void *bias = rand_tensor(c, bias_dt, g->n);
    g_autofree float *scales = g_new(float, g->n);
    g_autofree double *ref = g_new(double, (uint64_t)g->m * g->n);
    g_autofree uint8_t *out = NULL, *packed = NULL;
    TBuf ta_buf, tb_buf, tc_buf, tbias, tscale;
    uint64_t args[5];
    Prog p = { .n = 0 };
    uint32_t i, j, l;

    for (j = 0; j < g->n; j++) {
        scales[j] = g->scale * (1 + j % 3) / 2;
    }
    if (g->dt == KNPU_DT_INT8) {
        gemm_int8_data(g, a, a_cnt, b, b_cnt, bias);
    }
    ta_buf = cx_buf(c, a_cnt * dt_size(g->dt), KNPU_PTE_READ);
    tb_buf = cx_buf(c, b_cnt * dt_size(g->dt), KNPU_PTE_READ);
    tc_buf = cx_buf(c, c_bytes, KNPU_PTE_READ | KNPU_PTE_WRITE);
    tbias = cx_buf(c, g->n * dt_size(bias_dt), KNPU_PTE_READ);
    tscale = cx_buf(c, g->n * 4, KNPU_PTE_READ);
    tbuf_write(c, &ta_buf, a, a_cnt * dt_size(g->dt));
    tbuf_write(c, &tb_buf, b, b_cnt * dt_size(g->dt));
    tbuf_write(c, &tbias, bias, g->n * dt_size(bias_dt));
    tbuf_write(c, &tscale, scales, g->n * 4);
    qtest_memset(c->k.qts, tc_buf.pa, SENTINEL, c_bytes);

    for (i = 0; i < g->m; i++) {
        for (j = 0; j < g->n; j++) {
            double acc = 0, v;

            for (l = 0; l < g->k; l++) {
                double x = elem(g->dt, a, ta ? (uint64_t)l * lda + i :
                                (uint64_t)i * lda + l);
                double y = elem(g->dt, b, tb ? (uint64_t)j * ldb + l :
                                (uint64_t)l * ldb + j);
                acc += x * y;
            }
            if (g->dt != KNPU_DT_INT8) {
                v = g->scale * acc + (has_bias ? elem(bias_dt, bias, j) : 0);
                v = act_ref(KNPU_FLAG_ACT(g->flags), v);
            } else {
                v = act_ref(KNPU_FLAG_ACT(g->flags),
                            acc + (has_bias ? elem(bias_dt, bias, j) : 0));
                if (odt == KNPU_DT_INT8) {
                    float s = per_ch ? scales[j] : g->scale;

                    v = rne((float)v * s) + g->zp;
                    v = MIN(MAX(v, -128), 127);
                } else {
                    /* OUT_INT32 saturates */
                    v = MIN(MAX(v, INT32_MIN), INT32_MAX);
                }
            }
            ref[(uint64_t)i * g->n + j] = v;
        }
    }

    args[0] = ta_buf.va;
    args[1] = tb_buf.va;
    args[2] = tc_buf.va;
    args[3] = tbias.va;
    args[4] = tscale.va;
    EMIT(&p, KNPU_OP_GEMM, g->dt, g->flags,
         0x7 | (has_bias ? 0x8 : 0) | (per_ch ? 0x400 : 0),
         0, 1, 2, has_bias ? 3 : 0, g->m, g->n, g->k, lda, ldb, ldc,
         per_ch ? 4 : f32_bits(g->scale), (uint32_t)g->zp & 0xff);
    cx_run(c, &p, args, 5);

    out = tbuf_read(c, &tc_buf, c_bytes);
    packed = g_malloc((uint64_t)g->m * g->n * dt_size(odt));
    for (i = 0; i < g->m; i++) {
        memcpy(packed + (uint64_t)i * g->n * dt_size(odt),
               out + (uint64_t)i * ldc * dt_size(odt), g->n * dt_size(odt));
        /* The gap after each row is not written. */
        for (j = g->n * dt_size(odt); j < ldc * dt_size(odt); j++) {
            g_assert_cmphex(out[(uint64_t)i * ldc * dt_size(odt) + j], ==,
                            SENTINEL);
        }
    }
    if (odt == KNPU_DT_INT8) {
        /* Requantization is exact (section 7.3): ties, zero point, all. */
        for (i = 0; i < g->m * g->n; i++) {
            g_assert_cmpfloat(elem(odt, packed, i), ==, ref[i]);
        }
    } else {
        check_close(odt, packed, ref, (uint64_t)g->m * g->n, "gemm");
    }
}

static void test_gemm_fp32(void)
{
    static const Gemm cases[] = {
        { KNPU_DT_FP32, 0, 7, 5, 9, 0, 0, 0, 1.0f, 0 },
        { KNPU_DT_FP32, KNPU_FLAG_TRANS_A | KNPU_FLAG_BIAS, 16, 33, 20,
          3, 0, 5, 1.0f, 0 },
        { KNPU_DT_FP32, KNPU_FLAG_TRANS_B | KNPU_FLAG_BIAS |
          (KNPU_ACT_GELU << 4), 13, 8, 31, 0, 2, 0, 0.5f, 0 },
        { KNPU_DT_FP32, KNPU_FLAG_TRANS_A | KNPU_FLAG_TRANS_B |
          (KNPU_ACT_SILU << 4), 4, 6, 3, 1, 1, 1, -2.0f, 0 },
        { KNPU_DT_FP32, KNPU_ACT_SIGMOID << 4, 3, 3, 3, 0, 0, 0, 1, 0 },
        { KNPU_DT_FP32, KNPU_FLAG_BIAS | KNPU_ACT_TANH << 4, 64, 64, 64,
          0, 0, 0, 0.25f, 0 },
    };
    Cx c;
    unsigned i;

    cx_start(&c);
    for (i = 0; i < ARRAY_SIZE(cases); i++) {
        run_gemm(&c, &cases[i]);
    }
    /* Again: the cached primitive gives the same results. */
    run_gemm(&c, &cases[1]);
    cx_stop(&c);
}

static void test_gemm_half(void)
{
    static const Gemm cases[] = {
        { KNPU_DT_FP16, KNPU_FLAG_BIAS | KNPU_ACT_RELU << 4, 9, 17, 12,
          0, 0, 2, 1.0f, 0 },
        { KNPU_DT_FP16, KNPU_FLAG_TRANS_B, 5, 4, 7, 0, 3, 0, 0.5f, 0 },
        { KNPU_DT_BF16, KNPU_FLAG_BIAS | KNPU_FLAG_TRANS_A, 9, 17, 12,
          0, 0, 2, 1.0f, 0 },
        { KNPU_DT_BF16, KNPU_ACT_GELU << 4, 6, 6, 6, 0, 0, 0, 1.0f, 0 },
    };
    Cx c;
    unsigned i;

    cx_start(&c);
    for (i = 0; i < ARRAY_SIZE(cases); i++) {
        run_gemm(&c, &cases[i]);
    }
    cx_stop(&c);
}

/*
 * The v1.5 activations (7.4.5) fused into GEMM in every floating type,
 * with scales that spread the sums over [-12, 12]: both clamps of RELU6
 * and of the hard functions are reached.
 */
static void test_gemm_hard_activations(void)
{
    static const uint32_t acts[] = {
        KNPU_ACT_HARDSWISH, KNPU_ACT_HARDSIGMOID, KNPU_ACT_RELU6,
    };
    Cx c;
    unsigned a, d;

    cx_start(&c);
    for (a = 0; a < ARRAY_SIZE(acts); a++) {
        for (d = 0; d < ARRAY_SIZE(float_dts); d++) {
            Gemm g = { float_dts[d], KNPU_FLAG_BIAS | acts[a] << 4, 9, 17,
                       32, 0, 1, 2, float_dts[d] == KNPU_DT_FP32 ? 1.0f :
                       4.0f, 0 };

            run_gemm(&c, &g);
            g.flags ^= KNPU_FLAG_BIAS | KNPU_FLAG_TRANS_B;
            run_gemm(&c, &g);
        }
    }
    cx_stop(&c);
}

static void test_gemm_int8(void)
{
    static const Gemm cases[] = {
        /* requantized, per tensor, with zero point, bias and RELU */
        { KNPU_DT_INT8, KNPU_FLAG_BIAS | KNPU_ACT_RELU << 4, 8, 16, 40,
          0, 0, 0, 1.0f / 256, -5 },
        { KNPU_DT_INT8, KNPU_FLAG_TRANS_A | KNPU_FLAG_TRANS_B, 5, 7, 9,
          1, 2, 3, 0.01f, 17 },
        /* per output channel scales */
        { KNPU_DT_INT8, KNPU_FLAG_PER_CHANNEL | KNPU_FLAG_BIAS, 6, 10, 33,
          0, 0, 0, 1.0f / 128, 3 },
        /* INT32 accumulators, exact even where FP32 could not be */
        { KNPU_DT_INT8, KNPU_FLAG_OUT_INT32 | KNPU_FLAG_BIAS, 4, 6, 1500,
          0, 0, 1, 1.0f, 0 },
        { KNPU_DT_INT8, KNPU_FLAG_OUT_INT32 | KNPU_ACT_RELU << 4, 8, 8, 8,
          0, 0, 0, 1.0f, 0 },
        /* K in three of the steps a host without VNNI takes, transposed */
        { KNPU_DT_INT8, KNPU_FLAG_TRANS_A | KNPU_FLAG_TRANS_B |
          KNPU_FLAG_OUT_INT32, 3, 5, 2100, 2, 1, 0, 1.0f, 0 },
        /*
         * Ties (scale · acc = k + 0.5) with odd zero points: rounded
         * before the zero point is added; rows of 37 and 40 columns for
         * blocks of 16 and a rest.
         */
        { KNPU_DT_INT8, KNPU_FLAG_BIAS, 5, 37, 3, 0, 0, 0, 0.5f, 5,
          GEMM_DATA_TIES },
        { KNPU_DT_INT8, KNPU_FLAG_PER_CHANNEL | KNPU_FLAG_BIAS |
          KNPU_ACT_RELU << 4, 7, 40, 2, 0, 0, 3, 1.0f, -7, GEMM_DATA_TIES },
        { KNPU_DT_INT8, KNPU_FLAG_TRANS_B, 3, 48, 4, 0, 1, 0, 0.5f, 1,
          GEMM_DATA_TIES },
        { KNPU_DT_INT8, KNPU_FLAG_BIAS, 4, 33, 64, 0, 0, 0, 1.0f / 16777216,
          3, GEMM_DATA_HUGE_BIAS },
        { KNPU_DT_INT8, KNPU_FLAG_BIAS | KNPU_ACT_RELU << 4, 4, 33, 64, 0, 0,
          0, 1.0f / 16777216, -3, GEMM_DATA_HUGE_BIAS },
        /*
         * Results of over 512 KiB (a core's team of threads for the
         * matmul), odd row counts, with ties, per-channel scales,
         * saturating biases and OUT_INT32.
         */
        { KNPU_DT_INT8, KNPU_FLAG_PER_CHANNEL | KNPU_FLAG_BIAS |
          KNPU_ACT_RELU << 4, 515, 520, 16, 0, 0, 3, 1.0f, -7,
          GEMM_DATA_TIES },
        { KNPU_DT_INT8, KNPU_FLAG_BIAS, 301, 600, 8, 0, 0, 0, 0.5f, 5,
          GEMM_DATA_TIES },
        { KNPU_DT_INT8, KNPU_FLAG_BIAS, 300, 520, 64, 0, 0, 0,
          1.0f / 16777216, 3, GEMM_DATA_HUGE_BIAS },
        { KNPU_DT_INT8, KNPU_FLAG_OUT_INT32 | KNPU_FLAG_BIAS |
          KNPU_ACT_RELU << 4, 301, 300, 64, 0, 0, 1, 1.0f, 0,
          GEMM_DATA_HUGE_BIAS },
    };
    Cx c;
    unsigned i;

    cx_start(&c);
    for (i = 0; i < ARRAY_SIZE(cases); i++) {
        run_gemm(&c, &cases[i]);
    }
    cx_stop(&c);
}

/*
 * A core gives back staging buffers far larger than its recent jobs
 * needed (knpu_stage_job_start(): at the end of a window of 16 jobs, when
 * neither it nor the one before needed them): on a device of one core,
 * large GEMMs, three windows of small ones, then large ones again, every
 * result checked.
 */
static void test_gemm_stage_shrink(void)
{
    static const Gemm large[] = {
        /* C over 1 MiB, the size a core keeps regardless */
        { KNPU_DT_FP32, KNPU_FLAG_BIAS, 640, 520, 64, 0, 0, 0, 1.0f, 0 },
        /* INT8: the accumulators over 1 MiB */
        { KNPU_DT_INT8, KNPU_FLAG_BIAS, 640, 520, 64, 0, 0, 0,
          1.0f / 4096, 1 },
    };
    static const Gemm small = {
        KNPU_DT_FP32, KNPU_FLAG_BIAS, 3, 5, 4, 0, 0, 0, 1.0f, 0
    };
    Cx c;
    unsigned round, i;

    cx_start_opts(&c, ",cores=1");
    for (round = 0; round < 2; round++) {
        run_gemm(&c, &large[0]);
        run_gemm(&c, &large[1]);
        for (i = 0; i < 3 * 16; i++) {
            run_gemm(&c, &small);
        }
    }
    run_gemm(&c, &large[1]);
    run_gemm(&c, &large[0]);
    cx_stop(&c);
}

/* A valid 4x4x4 GEMM: A, B and C on slots 0-2, scale 1, zero point 0. */
static const uint32_t gemm_ops[12] = { 0, 1, 2, 0, 4, 4, 4, 4, 4, 4,
                                       0x3f800000, 0 };

static const BadEncoding gemm_bad_encodings[] = {
    /* Data types: none, INT32, and values >= 6 are not GEMM's. */
    { KNPU_DT_NONE, 0, 7, KNPU_ERR_OPCODE_UNSUPPORTED },
    { KNPU_DT_INT32, 0, 7, KNPU_ERR_OPCODE_UNSUPPORTED },
    { 6, 0, 7, KNPU_ERR_OPCODE_UNSUPPORTED },
    { 0xff, 0, 7, KNPU_ERR_OPCODE_UNSUPPORTED },
    /*
     * Flags: an undefined bit, ACT 9 and 15, GELU and the v1.5
     * activations on INT8 (requantized or not), OUT_INT32 on FP32.
     */
    { KNPU_DT_FP32, 1u << 3, 7, KNPU_ERR_OPERAND_INVALID },
    { KNPU_DT_FP32, 9 << 4, 7, KNPU_ERR_OPERAND_INVALID },
    { KNPU_DT_FP32, 15 << 4, 7, KNPU_ERR_OPERAND_INVALID },
    { KNPU_DT_INT8, KNPU_ACT_GELU << 4, 7, KNPU_ERR_OPERAND_INVALID },
    { KNPU_DT_INT8, KNPU_ACT_HARDSWISH << 4, 7, KNPU_ERR_OPERAND_INVALID },
    { KNPU_DT_INT8, KNPU_ACT_HARDSIGMOID << 4, 7, KNPU_ERR_OPERAND_INVALID },
    { KNPU_DT_INT8, KNPU_ACT_RELU6 << 4, 7, KNPU_ERR_OPERAND_INVALID },
    { KNPU_DT_INT8, KNPU_FLAG_OUT_INT32 | KNPU_ACT_RELU6 << 4, 7,
      KNPU_ERR_OPERAND_INVALID },
    { KNPU_DT_FP32, KNPU_FLAG_OUT_INT32, 7, KNPU_ERR_OPERAND_INVALID },
    /* The bias flag with an immediate, a bias without the flag. */
    { KNPU_DT_FP32, KNPU_FLAG_BIAS, 7, KNPU_ERR_OPERAND_INVALID },
    { KNPU_DT_FP32, 0, 0xf, KNPU_ERR_OPERAND_INVALID },
};

static const BadOperands gemm_bad_fp32_operands[] = {
    /* A zero count, a leading dimension below its row. */
    { 1, { 6 }, { 0 }, KNPU_ERR_OPERAND_INVALID, 6 },
    { 1, { 9 }, { 3 }, KNPU_ERR_OPERAND_INVALID, 9 },
    /* A NaN scale; a zero point on FP32. */
    { 1, { 10 }, { 0x7fc00000 }, KNPU_ERR_OPERAND_INVALID, 10 },
    { 1, { 11 }, { 1 }, KNPU_ERR_OPERAND_INVALID, 11 },
    /* Huge shapes: past the staging limit, and past 2^40 bytes. */
    { 3, { 4, 6, 7 }, { 0x10000, 0x10000, 0x10000 },
      KNPU_ERR_OPERAND_INVALID, 0 },
    { 3, { 4, 6, 7 }, { 0xffffffff, 0xffffffff, 0xffffffff },
      KNPU_ERR_OPERAND_INVALID, -1 },
};

static const BadOperands gemm_bad_int8_operands[] = {
    /* The requantization scale must be above zero; the zero point 8-bit. */
    { 1, { 10 }, { 0xbf800000 }, KNPU_ERR_OPERAND_INVALID, 10 },
    { 1, { 11 }, { 0x100 }, KNPU_ERR_OPERAND_INVALID, 11 },
};

/* lda below M with TRANS_A */
static const BadOperands gemm_bad_trans_a_operands[] = {
    { 1, { 7 }, { 3 }, KNPU_ERR_OPERAND_INVALID, 7 },
};

/* An FP32 GEMM of @ops on slots 0-3 must fail with @code. */
static Err gemm_bad(Cx *c, const uint32_t *ops, const uint64_t *args,
                    uint32_t code)
{
    Prog p = { .n = 0 };

    emit(&p, KNPU_OP_GEMM, KNPU_DT_FP32, 0, 7, 12, ops);
    return cx_run_bad(c, &p, args, 5, code);
}

static void test_gemm_errors(void)
{
    const Insn fp32 = { KNPU_OP_GEMM, KNPU_DT_FP32, 0, 7, 12, gemm_ops };
    const Insn int8 = { KNPU_OP_GEMM, KNPU_DT_INT8, 0, 7, 12, gemm_ops };
    const Insn trans_a = { KNPU_OP_GEMM, KNPU_DT_FP32, KNPU_FLAG_TRANS_A, 7,
                           12, gemm_ops };
    Cx c;
    TBuf a, b, cc, ro, half;
    uint64_t args[5];
    uint32_t ops[12];
    uint8_t after[64];
    Prog p = { .n = 0 };
    Err e;

    cx_start(&c);
    a = cx_buf(&c, 4096, KNPU_PTE_READ);
    b = cx_buf(&c, 4096, KNPU_PTE_READ);
    cc = cx_buf(&c, 4096, KNPU_PTE_READ | KNPU_PTE_WRITE);
    ro = cx_buf(&c, 4096, KNPU_PTE_READ);
    half = cx_buf(&c, 4096, KNPU_PTE_READ | KNPU_PTE_WRITE);
    args[0] = a.va;
    args[1] = b.va;
    args[2] = cc.va;
    args[3] = ro.va;
    args[4] = 0;

    /* The valid instruction runs; each case below changes one thing. */
    emit(&p, KNPU_OP_GEMM, KNPU_DT_FP32, 0, 7, 12, gemm_ops);
    cx_run(&c, &p, args, 5);
    cx_run_bad_encodings(&c, &fp32, args, 5, gemm_bad_encodings,
                         ARRAY_SIZE(gemm_bad_encodings));
    cx_run_bad_operands(&c, &fp32, args, 5, gemm_bad_fp32_operands,
                        ARRAY_SIZE(gemm_bad_fp32_operands));
    cx_run_bad_operands(&c, &int8, args, 5, gemm_bad_int8_operands,
                        ARRAY_SIZE(gemm_bad_int8_operands));
    cx_run_bad_operands(&c, &trans_a, args, 5, gemm_bad_trans_a_operands,
                        ARRAY_SIZE(gemm_bad_trans_a_operands));

    /* PER_CHANNEL on FP32, with its scale operand an argument. */
    memcpy(ops, gemm_ops, sizeof(ops));
    ops[10] = 4;
    p.n = 0;
    emit(&p, KNPU_OP_GEMM, KNPU_DT_FP32, KNPU_FLAG_PER_CHANNEL, 0x407, 12,
         ops);
    cx_run_bad(&c, &p, args, 5, KNPU_ERR_OPERAND_INVALID);

    /* Misaligned A: ALIGNMENT at its address. */
    args[0] = a.va + 2;
    e = gemm_bad(&c, gemm_ops, args, KNPU_ERR_ALIGNMENT);
    g_assert_cmphex(e.addr, ==, a.va + 2);
    g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, 0);
    args[0] = a.va;

    /* B unmapped: read fault on operand 1. */
    args[1] = 0x7ff00000;
    e = gemm_bad(&c, gemm_ops, args, KNPU_ERR_MMU_FAULT);
    g_assert_cmphex(e.addr, ==, 0x7ff00000);
    g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, 1);
    g_assert_cmpuint(KNPU_ERR_INFO_ACCESS(e.info), ==, KNPU_ACCESS_READ);
    args[1] = b.va;

    /* C read-only: permission fault on operand 2, write. */
    args[2] = ro.va;
    e = gemm_bad(&c, gemm_ops, args, KNPU_ERR_MMU_FAULT);
    g_assert_cmphex(e.addr, ==, ro.va);
    g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, 2);
    g_assert_cmpuint(KNPU_ERR_INFO_ACCESS(e.info), ==, KNPU_ACCESS_WRITE);
    g_assert_cmpuint(KNPU_ERR_INFO_REASON(e.info), ==, KNPU_MMU_PERMISSION);

    /*
     * C running off its mapping mid-tensor (32x32 FP32 = 4 KiB from the
     * middle of the page): faults at the first unmapped byte; the guest
     * page after the mapped one is never written.
     */
    qtest_memset(c.k.qts, half.pa + 4096, SENTINEL, sizeof(after));
    args[2] = half.va + 2048;
    memcpy(ops, gemm_ops, sizeof(ops));
    ops[4] = ops[5] = ops[6] = ops[7] = ops[8] = ops[9] = 32;
    e = gemm_bad(&c, ops, args, KNPU_ERR_MMU_FAULT);
    g_assert_cmphex(e.addr, ==, half.va + 4096);
    g_assert_cmpuint(KNPU_ERR_INFO_ACCESS(e.info), ==, KNPU_ACCESS_WRITE);
    g_assert_cmpuint(KNPU_ERR_INFO_REASON(e.info), ==, KNPU_MMU_NOT_PRESENT);
    qtest_memread(c.k.qts, half.pa + 4096, after, sizeof(after));
    g_assert_cmphex(after[0], ==, SENTINEL);
    g_assert_cmphex(after[63], ==, SENTINEL);

    /* The queue works afterwards. */
    run_good_job(&c.k, c.q, 0x600d);
    cx_stop(&c);
}

/*
 * Two queues run the same GEMM shape on both cores at once: one cached
 * primitive executed concurrently, each core with its own scratchpad.
 */
static void test_gemm_concurrent(void)
{
    const uint32_t n = 96, jobs = 2;
    uint64_t cnt = n * n;
    g_autofree double *ref = g_new(double, cnt);
    void *a[2], *b[2];
    TBuf ta[2], tb[2], tc[2];
    uint32_t head[2];
    Cx c;
    unsigned q, i, j, l;

    cx_start(&c);
    queue_setup(&c.k, 1, 0);
    for (q = 0; q < jobs; q++) {
        uint64_t args[3];
        Prog p = { .n = 0 };
        Job job;

        a[q] = rand_tensor(&c, KNPU_DT_FP32, cnt);
        b[q] = rand_tensor(&c, KNPU_DT_FP32, cnt);
        ta[q] = cx_input(&c, KNPU_DT_FP32, cnt, a[q]);
        tb[q] = cx_input(&c, KNPU_DT_FP32, cnt, b[q]);
        tc[q] = cx_output(&c, KNPU_DT_FP32, cnt);
        args[0] = ta[q].va;
        args[1] = tb[q].va;
        args[2] = tc[q].va;
        EMIT(&p, KNPU_OP_GEMM, KNPU_DT_FP32, 0, 7, 0, 1, 2, 0, n, n, n, n, n,
             n, f32_bits(1.0f), 0);
        load_kernel(&c.k, &job, &p, args, 3, 100 + q);
        head[q] = qrd(&c.k, q, KNPU_Q_HEAD);
        submit(&c.k, q, &job.d);
    }
    for (q = 0; q < jobs; q++) {
        g_autofree void *out = NULL;

        expect_done(&c.k, q, (head[q] + 1) % RING_ENTRIES, 100 + q);
        for (i = 0; i < n; i++) {
            for (j = 0; j < n; j++) {
                double acc = 0;

                for (l = 0; l < n; l++) {
                    acc += elem(KNPU_DT_FP32, a[q], i * n + l) *
                           elem(KNPU_DT_FP32, b[q], l * n + j);
                }
                ref[i * n + j] = acc;
            }
        }
        out = tbuf_read(&c, &tc[q], cnt * 4);
        check_close(KNPU_DT_FP32, out, ref, cnt, "concurrent gemm");
        g_free(a[q]);
        g_free(b[q]);
    }
    cx_stop(&c);
}

/*
 * Throughput of a 1024³ GEMM (run with -m perf; not part of the default
 * run): the job's wall time from doorbell to completion, printed.
 */
static void perf_gemm(Cx *c, uint32_t dt)
{
    const uint32_t n = 1024;
    uint64_t bytes = (uint64_t)n * n * dt_size(dt);
    uint64_t out_bytes = (uint64_t)n * n * 4;    /* FP32 or INT32 */
    const uint64_t va[3] = { 0x100000000ull, 0x140000000ull, 0x180000000ull };
    uint64_t args[3], off, pa;
    Prog p = { .n = 0 };
    unsigned i, rep;

    for (i = 0; i < 3; i++) {
        uint64_t size = QEMU_ALIGN_UP(i == 2 ? out_bytes : bytes,
                                      KNPU_LARGE_PAGE_SIZE);

        pa = QEMU_ALIGN_UP(galloc(&c->k, size + KNPU_LARGE_PAGE_SIZE),
                           KNPU_LARGE_PAGE_SIZE);
        for (off = 0; off < size; off += KNPU_LARGE_PAGE_SIZE) {
            map_one(&c->k, va[i] + off, pa + off,
                    KNPU_PTE_READ | KNPU_PTE_WRITE, true);
        }
        args[i] = va[i];
    }
    EMIT(&p, KNPU_OP_GEMM, dt, dt == KNPU_DT_INT8 ? KNPU_FLAG_OUT_INT32 : 0,
         7, 0, 1, 2, 0, n, n, n, n, n, n, 0x3f800000, 0);
    for (rep = 0; rep < 4; rep++) {
        int64_t t0 = g_get_monotonic_time();
        double s;

        cx_run(c, &p, args, 3);
        s = (g_get_monotonic_time() - t0) / 1e6;
        g_test_message("gemm %s 1024^3: %.1f ms, %.1f GFLOP/s",
                       dt == KNPU_DT_INT8 ? "int8" : "fp32", s * 1e3,
                       2.0 * n * n * n / s / 1e9);
    }
}

static void test_gemm_perf(void)
{
    Cx c;

    knpu_start(&c.k, " -m 512M");
    mmu_setup(&c.k);
    c.q = 0;
    queue_setup(&c.k, c.q, 0);
    c.fence = 1;
    c.rand = g_rand_new();
    perf_gemm(&c, KNPU_DT_FP32);
    perf_gemm(&c, KNPU_DT_INT8);
    cx_stop(&c);
}

/* GEMM_BATCHED (v1.1) */

typedef struct Batched {
    uint32_t dt, flags;
    uint32_t m, n, k, batch;
    uint32_t ld_pad;            /* added to every leading dimension */
    uint32_t gap;               /* added to the batch strides of A, B, C */
    bool broadcast_b;           /* stride_b 0 */
    float scale;
} Batched;

static void emit_batched(Prog *p, const Batched *v, uint32_t lda,
                         uint32_t ldb, uint32_t ldc, uint32_t sa,
                         uint32_t sb, uint32_t sc)
{
    EMIT(p, KNPU_OP_GEMM_BATCHED, v->dt, v->flags,
         (v->flags & KNPU_FLAG_BIAS) ? 0xf : 0x7, 0, 1, 2,
         (v->flags & KNPU_FLAG_BIAS) ? 3 : 0, v->m, v->n, v->k, lda, ldb,
         ldc, f32_bits(v->scale), v->batch, sa, sb, sc);
}

/* Run @v on random data; check every C element and that gaps stay. */
static void run_batched(Cx *c, const Batched *v)
{
    bool ta = v->flags & KNPU_FLAG_TRANS_A, tb = v->flags & KNPU_FLAG_TRANS_B;
    uint32_t a_rows = ta ? v->k : v->m, a_cols = ta ? v->m : v->k;
    uint32_t b_rows = tb ? v->n : v->k, b_cols = tb ? v->k : v->n;
    uint32_t lda = a_cols + v->ld_pad, ldb = b_cols + v->ld_pad;
    uint32_t ldc = v->n + v->ld_pad;
    uint32_t sa = (a_rows - 1) * lda + a_cols + v->gap;
    uint32_t sb = v->broadcast_b ? 0 : (b_rows - 1) * ldb + b_cols + v->gap;
    uint32_t sc = (v->m - 1) * ldc + v->n + v->gap;
    uint64_t n_a = (uint64_t)(v->batch - 1) * sa + sa - v->gap;
    uint64_t n_b = (uint64_t)(v->batch - 1) * sb + (b_rows - 1) * ldb +
                   b_cols;
    uint64_t n_c = (uint64_t)(v->batch - 1) * sc + sc - v->gap;
    size_t es = dt_size(v->dt);
    g_autofree void *a = rand_tensor(c, v->dt, n_a);
    g_autofree void *b = rand_tensor(c, v->dt, n_b);
    g_autofree void *bias = rand_tensor(c, v->dt, v->n);
    g_autofree uint8_t *got = NULL;
    g_autofree double *ref = g_new(double, 1);
    uint64_t args[4];
    uint32_t bt, i, j, kk;
    Prog p = { .n = 0 };
    TBuf tA, tB, tC, tBias;

    tA = cx_input(c, v->dt, n_a, a);
    tB = cx_input(c, v->dt, n_b, b);
    tBias = cx_input(c, v->dt, v->n, bias);
    tC = cx_output(c, v->dt, n_c);
    qtest_memset(c->k.qts, tC.pa, SENTINEL, n_c * es);
    args[0] = tA.va;
    args[1] = tB.va;
    args[2] = tC.va;
    args[3] = tBias.va;
    emit_batched(&p, v, lda, ldb, ldc, sa, sb, sc);
    cx_run(c, &p, args, 4);
    got = tbuf_read(c, &tC, n_c * es);
    for (bt = 0; bt < v->batch; bt++) {
        for (i = 0; i < v->m; i++) {
            for (j = 0; j < ldc && (i + 1 < v->m || j < v->n); j++) {
                uint64_t at = (uint64_t)bt * sc + (uint64_t)i * ldc + j;
                double acc = 0;

                if (j >= v->n) {
                    g_assert_cmphex(got[at * es], ==, SENTINEL);
                    continue;
                }
                for (kk = 0; kk < v->k; kk++) {
                    uint64_t ai = (uint64_t)bt * sa +
                                  (ta ? (uint64_t)kk * lda + i :
                                   (uint64_t)i * lda + kk);
                    uint64_t bi = (uint64_t)bt * sb +
                                  (tb ? (uint64_t)j * ldb + kk :
                                   (uint64_t)kk * ldb + j);

                    acc += elem(v->dt, a, ai) * elem(v->dt, b, bi);
                }
                acc *= v->scale;
                if (v->flags & KNPU_FLAG_BIAS) {
                    acc += elem(v->dt, bias, j);
                }
                ref[0] = act_ref(KNPU_FLAG_ACT(v->flags), acc);
                check_close(v->dt, got + at * es, ref, 1, "gemm_batched");
            }
        }
        if (v->gap && bt + 1 < v->batch) {
            /* the gap between two batches of C is not written */
            g_assert_cmphex(got[((uint64_t)bt * sc + sc - 1) * es], ==,
                            SENTINEL);
        }
    }
}

static void test_gemm_batched(void)
{
    const uint32_t bias_gelu = KNPU_FLAG_BIAS | KNPU_ACT_GELU << 4;
    static const Batched cases[] = {
        { KNPU_DT_FP32, 0, 4, 5, 6, 3, 0, 0, false, 1.0f },
        { KNPU_DT_FP32, KNPU_FLAG_TRANS_B, 7, 3, 5, 4, 2, 3, false, 0.125f },
        { KNPU_DT_FP32, KNPU_FLAG_TRANS_A, 3, 6, 4, 2, 1, 5, true, 1.0f },
        { KNPU_DT_FP32, KNPU_FLAG_TRANS_A | KNPU_FLAG_TRANS_B, 5, 4, 3, 1, 0,
          0, false, 2.0f },
    };
    Cx c;
    unsigned i, d;

    cx_start(&c);
    for (i = 0; i < ARRAY_SIZE(cases); i++) {
        Batched v = cases[i];

        run_batched(&c, &v);
        v.flags |= bias_gelu;
        run_batched(&c, &v);
    }
    for (d = 1; d < ARRAY_SIZE(float_dts); d++) {
        Batched v = cases[1];

        v.dt = float_dts[d];
        v.flags |= KNPU_FLAG_BIAS | KNPU_ACT_RELU << 4;
        run_batched(&c, &v);
    }
    /* The v1.5 activations (7.4.5), sums spread over [-8, 8]. */
    for (d = 0; d < ARRAY_SIZE(float_dts); d++) {
        for (i = KNPU_ACT_HARDSWISH; i <= KNPU_ACT_RELU6; i++) {
            Batched v = cases[2];

            v.dt = float_dts[d];
            v.scale = 4.0f;
            v.flags |= KNPU_FLAG_BIAS | i << 4;
            run_batched(&c, &v);
        }
    }
    cx_stop(&c);
}

/*
 * A valid GEMM_BATCHED: two 2x2x2 FP32 products, A, B and C on slots 0-2,
 * batch strides of 4 elements.
 */
static const uint32_t batched_ops[15] = { 0, 1, 2, 0, 2, 2, 2, 2, 2, 2,
                                          0x3f800000, 2, 4, 4, 4 };

static const BadEncoding batched_bad_encodings[] = {
    /* ACT 9; OUT_INT32 and PER_CHANNEL are undefined. */
    { KNPU_DT_FP32, 9 << 4, 7, KNPU_ERR_OPERAND_INVALID },
    { KNPU_DT_FP32, KNPU_FLAG_OUT_INT32, 7, KNPU_ERR_OPERAND_INVALID },
    { KNPU_DT_FP32, KNPU_FLAG_PER_CHANNEL, 7, KNPU_ERR_OPERAND_INVALID },
    /* INT8 has no batched form. */
    { KNPU_DT_INT8, 0, 7, KNPU_ERR_OPCODE_UNSUPPORTED },
};

static const BadOperands batched_bad_operands[] = {
    /* batch 0; zero M */
    { 1, { 11 }, { 0 }, KNPU_ERR_OPERAND_INVALID, 11 },
    { 1, { 4 }, { 0 }, KNPU_ERR_OPERAND_INVALID, 4 },
    /* Batch strides below a matrix's span (A), and C broadcast. */
    { 1, { 12 }, { 3 }, KNPU_ERR_OPERAND_INVALID, 12 },
    { 1, { 14 }, { 0 }, KNPU_ERR_OPERAND_INVALID, 14 },
    /* A leading dimension below the row. */
    { 1, { 7 }, { 1 }, KNPU_ERR_OPERAND_INVALID, 7 },
    /* A span past 64 MiB: a huge batch stride. */
    { 2, { 11, 12 }, { 4096, 1u << 20 }, KNPU_ERR_OPERAND_INVALID, 0 },
    /* A non-finite scale. */
    { 1, { 10 }, { 0x7f800000 }, KNPU_ERR_OPERAND_INVALID, 10 },
};

static void test_gemm_batched_errors(void)
{
    const Insn valid = { KNPU_OP_GEMM_BATCHED, KNPU_DT_FP32, 0, 7, 15,
                         batched_ops };
    TBuf a;
    uint64_t args[4];
    Prog p = { .n = 0 };
    Err e;
    Cx c;

    cx_start(&c);
    a = cx_buf(&c, 4096, KNPU_PTE_READ | KNPU_PTE_WRITE);
    args[0] = a.va;
    args[1] = a.va + 256;
    args[2] = a.va + 512;
    args[3] = a.va + 768;

    emit(&p, KNPU_OP_GEMM_BATCHED, KNPU_DT_FP32, 0, 7, 15, batched_ops);
    cx_run(&c, &p, args, 4);
    cx_run_bad_encodings(&c, &valid, args, 4, batched_bad_encodings,
                         ARRAY_SIZE(batched_bad_encodings));
    cx_run_bad_operands(&c, &valid, args, 4, batched_bad_operands,
                        ARRAY_SIZE(batched_bad_operands));

    /* C's last batch running off its mapping. */
    args[2] = a.va + 4096 - 16;
    e = cx_run_bad(&c, &p, args, 4, KNPU_ERR_MMU_FAULT);
    g_assert_cmphex(e.addr, ==, a.va + 4096);
    g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, 2);
    cx_stop(&c);
}

void knpu_add_compute_gemm_tests(void)
{
    if (g_test_perf()) {
        qtest_add_func("/knpu/compute/gemm/perf", test_gemm_perf);
    }
    qtest_add_func("/knpu/compute/gemm/fp32", test_gemm_fp32);
    qtest_add_func("/knpu/compute/gemm/fp16-bf16", test_gemm_half);
    qtest_add_func("/knpu/compute/gemm/hard-activations",
                   test_gemm_hard_activations);
    qtest_add_func("/knpu/compute/gemm/int8", test_gemm_int8);
    qtest_add_func("/knpu/compute/gemm/stage-shrink", test_gemm_stage_shrink);
    qtest_add_func("/knpu/compute/gemm/errors", test_gemm_errors);
    qtest_add_func("/knpu/compute/gemm/concurrent", test_gemm_concurrent);
    qtest_add_func("/knpu/compute/gemm-batched", test_gemm_batched);
    qtest_add_func("/knpu/compute/gemm-batched-errors",
                   test_gemm_batched_errors);
}
