/*
 * KNPU device model: GEMM (spec section 7.4) on oneDNN's matmul.
 *
 * C = ACT(scale · op(A)·op(B) + bias) for floating types; for INT8,
 * C = requant(ACT(op(A)·op(B) + bias)), or the INT32 accumulators with
 * OUT_INT32. Leading dimensions become the strides of oneDNN's memory
 * descriptors, so A and B are staged as they lie in memory.
 *
 * INT8 runs oneDNN's plain s8·s8 → s32 matmul (exact: INT32 accumulation;
 * on a host with VNNI its brgemm kernel) and finishes the accumulators
 * itself: bias and RELU exactly, then knpu_requant() or the INT32 result.
 * oneDNN's own requantization adds the zero point before rounding, which
 * moves ties with an odd zero point (section 7.3 rounds first), and takes
 * runtime scales only on its slower gemm:jit kernel.
 *
 * Copyright (c) 2026 The knpu authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include <math.h>
#include "qemu/host-utils.h"
#include "knpu-compute.h"

enum {
    GEMM_A, GEMM_B, GEMM_C, GEMM_BIAS, GEMM_M, GEMM_N, GEMM_K,
    GEMM_LDA, GEMM_LDB, GEMM_LDC, GEMM_SCALE, GEMM_ZP,
};

/* Primitive key: v[] holds M, N, K, lda, ldb, ldc. */
enum { KEY_M, KEY_N, KEY_K, KEY_LDA, KEY_LDB, KEY_LDC };

/*
 * A GEMM runs in tiles of rows of about this many multiply-adds (about a
 * tenth of a second on two host cores), so that a reset waits for one
 * tile, not a whole GEMM of up to 2^36 multiply-adds.
 */
#define GEMM_TILE_MACS  (1ull << 30)

#define GEMM_KEY_FLAGS  (KNPU_FLAG_TRANS_A | KNPU_FLAG_TRANS_B | \
                         KNPU_FLAG_BIAS | (0xfu << 4))
/* INT8: one plain matmul for every epilogue */
#define GEMM_KEY_FLAGS_INT8 (KNPU_FLAG_TRANS_A | KNPU_FLAG_TRANS_B)
/*
 * In the key: a floating GEMM whose scale is not 1. Only those get an
 * output scale: oneDNN's fastest matmul (brgemm) takes none.
 */
#define GEMM_KEY_SCALED (1u << 31)

typedef struct GemmMds {
    dnnl_memory_desc_t a, b, c, bias, scale;
} GemmMds;

static void gemm_mds(const KnpuPrimKey *k, GemmMds *md)
{
    int64_t m = k->v[KEY_M], n = k->v[KEY_N], kk = k->v[KEY_K];
    bool ta = k->flags & KNPU_FLAG_TRANS_A, tb = k->flags & KNPU_FLAG_TRANS_B;
    int64_t dims[2], strides[2];
    dnnl_data_type_t in = knpu_dnnl_dt(k->dtype);
    dnnl_data_type_t out = k->dtype == KNPU_DT_INT8 ? dnnl_s32 : in;

    dims[0] = m;
    dims[1] = kk;
    strides[0] = ta ? 1 : k->v[KEY_LDA];
    strides[1] = ta ? k->v[KEY_LDA] : 1;
    knpu_md_strided(&md->a, 2, dims, strides, in);
    dims[0] = kk;
    dims[1] = n;
    strides[0] = tb ? 1 : k->v[KEY_LDB];
    strides[1] = tb ? k->v[KEY_LDB] : 1;
    knpu_md_strided(&md->b, 2, dims, strides, in);
    dims[0] = m;
    strides[0] = k->v[KEY_LDC];
    strides[1] = 1;
    knpu_md_strided(&md->c, 2, dims, strides, out);
    dims[0] = 1;
    knpu_md_plain(&md->bias, 2, dims, dnnl_f32);
    knpu_md_plain(&md->scale, 1, dims, dnnl_f32);
}

/*
 * Floating types: the scale is an output scale, the bias a binary post-op
 * after it (C = scale·AB + bias), then the activation. INT8: a plain
 * matmul; gemm_int8_epilogue() does the rest.
 */
static dnnl_status_t gemm_pd(const KnpuPrimKey *k, dnnl_engine_t engine,
                             dnnl_primitive_attr_t attr,
                             dnnl_primitive_desc_t *pd)
{
    float scale_runtime = DNNL_RUNTIME_F32_VAL;
    bool has_bias = k->flags & KNPU_FLAG_BIAS;
    uint32_t act = KNPU_FLAG_ACT(k->flags);
    dnnl_post_ops_t po = NULL;
    dnnl_matmul_desc_t desc;
    dnnl_status_t st;
    GemmMds md;

    gemm_mds(k, &md);
    st = dnnl_matmul_desc_init(&desc, &md.a, &md.b, NULL, &md.c);
    if (k->dtype == KNPU_DT_INT8) {
        return st ? st : dnnl_primitive_desc_create(pd, &desc, attr, engine,
                                                    NULL);
    }
    if (st == dnnl_success && (k->flags & GEMM_KEY_SCALED)) {
        st = dnnl_primitive_attr_set_output_scales(attr, 1, 0,
                                                   &scale_runtime);
    }
    if (st == dnnl_success) {
        st = dnnl_post_ops_create(&po);
    }
    if (st == dnnl_success && has_bias) {
        st = dnnl_post_ops_append_binary(po, dnnl_binary_add, &md.bias);
    }
    if (st == dnnl_success) {
        st = knpu_post_ops_append_act(po, act);
    }
    if (st == dnnl_success) {
        st = dnnl_primitive_attr_set_post_ops(attr, po);
    }
    if (po) {
        dnnl_post_ops_destroy(po);
    }
    return st ? st : dnnl_primitive_desc_create(pd, &desc, attr, engine,
                                                NULL);
}

/*
 * INT8: finish the accumulators @acc (M rows, ldc apart) of instruction
 * @in in place: OUT_INT32: + bias, then RELU, exactly in integers
 * (saturating); else requantized (section 7.3) into @c, rows ldc apart.
 * @scales: the per-tensor scale or the per-channel array.
 */
static void gemm_int8_epilogue(const KnpuInsn *in, int32_t *acc, int8_t *c,
                               const int32_t *bias, const float *scales)
{
    uint64_t rows = in->ops[GEMM_M], cols = in->ops[GEMM_N];
    uint64_t ldc = in->ops[GEMM_LDC], m, n;
    bool relu = KNPU_FLAG_ACT(in->flags) == KNPU_ACT_RELU;
    KnpuRequant rq = {
        .bias = bias, .scale = scales, .per_column = true,
        .scale_per_column = in->flags & KNPU_FLAG_PER_CHANNEL,
        .relu = relu, .zp = (int8_t)in->ops[GEMM_ZP],
        /* |acc| <= K products of at most 2^14 each */
        .sum_fits = knpu_requant_sum_fits(in->ops[GEMM_K] << 14, bias, cols),
    };

    for (m = 0; m < rows; m++) {
        int32_t *row = acc + m * ldc;

        if (!(in->flags & KNPU_FLAG_OUT_INT32)) {
            knpu_requant(&rq, row, c + m * ldc, cols);
            continue;
        }
        for (n = 0; n < cols; n++) {
            int64_t v = row[n] + (int64_t)(bias ? bias[n] : 0);

            if (relu) {
                v = MAX(v, 0);
            }
            row[n] = MIN(MAX(v, INT32_MIN), INT32_MAX);
        }
    }
}

/* A matrix of @rows rows of @cols elements, @ld apart. */
static bool gemm_matrix(KnpuJob *job, KnpuTensor *t, const KnpuInsn *in,
                        unsigned operand, unsigned ld_operand, uint32_t dtype,
                        uint64_t rows, uint64_t cols)
{
    uint64_t ld = in->ops[ld_operand], count = rows - 1;

    if (ld < cols) {
        return knpu_operand_invalid(job, ld_operand);
    }
    /* (rows - 1)·ld + cols elements: no overflow, rows, cols < 2^32 */
    return knpu_count_mul(job, ld_operand, &count, ld) &&
           knpu_tensor_init(job, t, in, operand, dtype, count + cols);
}

/*
 * Run the GEMM of @key (M = all rows) on staged buffers, tile by tile of
 * rows, into @c (INT8: the INT32 accumulators). Floating types: @scale
 * is the output scale, @bias the bias; INT8 has neither.
 */
static bool gemm_run(KnpuJob *job, KnpuPrimKey *key, uint8_t *a,
                     const void *b, uint8_t *c, const void *bias,
                     const float *scale)
{
    uint64_t m = key->v[KEY_M], k = key->v[KEY_K], m0;
    uint64_t tile = MAX(GEMM_TILE_MACS / (key->v[KEY_N] * k), 1);
    size_t a_size = knpu_dtype_size(knpu_compute_dtype(key->dtype));
    size_t c_size = 4;
    bool has_bias = key->flags & KNPU_FLAG_BIAS;

    for (m0 = 0; m0 < m; m0 += tile) {
        uint64_t a_row = (key->flags & KNPU_FLAG_TRANS_A) ? 1 :
                         key->v[KEY_LDA];
        KnpuDnnlArg args[5];
        GemmMds md;
        int nargs = 0;

        key->v[KEY_M] = MIN(tile, m - m0);
        gemm_mds(key, &md);
        args[nargs++] = (KnpuDnnlArg){ DNNL_ARG_SRC, md.a,
                                       a + m0 * a_row * a_size };
        args[nargs++] = (KnpuDnnlArg){ DNNL_ARG_WEIGHTS, md.b, (void *)b };
        args[nargs++] = (KnpuDnnlArg){ DNNL_ARG_DST, md.c,
                                       c + m0 * key->v[KEY_LDC] * c_size };
        if (key->flags & GEMM_KEY_SCALED) {
            args[nargs++] = (KnpuDnnlArg){ DNNL_ARG_ATTR_OUTPUT_SCALES,
                                           md.scale, (void *)scale };
        }
        if (has_bias) {
            args[nargs++] = (KnpuDnnlArg){
                DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1, md.bias,
                (void *)bias };
        }
        if (knpu_job_check_abort(job) ||
            !knpu_prim_run(job, key, gemm_pd, args, nargs)) {
            return false;
        }
    }
    key->v[KEY_M] = m;
    return true;
}

/*
 * Where oneDNN's INT8 kernels are not exact (knpu_dnnl_int8_exact(): no
 * VNNI, their 16-bit pair sums saturate), INT8 A and B are widened to FP32
 * and multiplied in steps of at most GEMM_EXACT_K along K: each product is
 * at most 2^14 in magnitude, so every partial sum of a step is an integer
 * below 2^24 that FP32 holds exactly, whatever order oneDNN adds in. Each
 * step's result is added to the INT32 accumulators.
 */
#define GEMM_EXACT_K    1024

static bool gemm_int8_in_fp32(KnpuJob *job, const KnpuPrimKey *key,
                              const int8_t *a, const int8_t *b, int32_t *acc)
{
    uint64_t m = key->v[KEY_M], n = key->v[KEY_N], k = key->v[KEY_K];
    uint64_t ldc = key->v[KEY_LDC], k0, i, j;
    bool ta = key->flags & KNPU_FLAG_TRANS_A;
    bool tb = key->flags & KNPU_FLAG_TRANS_B;
    float *fa = knpu_widen_s8(job, a, ta ? k : m, ta ? m : k, key->v[KEY_LDA]);
    float *fb = knpu_widen_s8(job, b, tb ? n : k, tb ? k : n, key->v[KEY_LDB]);
    float *part = knpu_stage(job, m * n * sizeof(float));

    for (k0 = 0; k0 < k; k0 += GEMM_EXACT_K) {
        KnpuPrimKey step = {
            .kind = KNPU_OP_GEMM, .dtype = KNPU_DT_FP32,
            .flags = key->flags & (KNPU_FLAG_TRANS_A | KNPU_FLAG_TRANS_B),
            .v = { m, n, MIN(GEMM_EXACT_K, k - k0), ta ? m : k, tb ? k : n,
                   n },
        };

        if (!gemm_run(job, &step, (uint8_t *)(fa + (ta ? k0 * m : k0)),
                      fb + (tb ? k0 : k0 * n), (uint8_t *)part, NULL,
                      NULL)) {
            return false;
        }
        for (i = 0; i < m; i++) {
            for (j = 0; j < n; j++) {
                uint32_t sum = k0 ? (uint32_t)acc[i * ldc + j] : 0;
                int32_t step = (int32_t)part[i * n + j];

                /* INT32 accumulation wraps, as the device's adders do */
                acc[i * ldc + j] = (int32_t)(sum + (uint32_t)step);
            }
        }
    }
    return true;
}

bool knpu_op_gemm(KnpuJob *job, const KnpuInsn *in)
{
    uint32_t dt = in->dtype, fl = in->flags;
    uint64_t m = in->ops[GEMM_M], n = in->ops[GEMM_N], k = in->ops[GEMM_K];
    bool int8 = dt == KNPU_DT_INT8, has_bias = fl & KNPU_FLAG_BIAS;
    bool per_channel = fl & KNPU_FLAG_PER_CHANNEL;
    uint32_t out_dt = int8 ? ((fl & KNPU_FLAG_OUT_INT32) ? KNPU_DT_INT32 :
                              KNPU_DT_INT8) : dt;
    void *a = NULL, *b = NULL, *c = NULL, *bias = NULL, *scales = NULL;
    KnpuTensor ta, tb, tc, tbias, tscale;
    float scale = knpu_f32_of_bits(in->ops[GEMM_SCALE]);
    KnpuPrimKey key = {
        .kind = KNPU_OP_GEMM, .dtype = dt,
        .flags = fl & (int8 ? GEMM_KEY_FLAGS_INT8 : GEMM_KEY_FLAGS),
        .v = { m, n, k, in->ops[GEMM_LDA], in->ops[GEMM_LDB],
               in->ops[GEMM_LDC] },
    };

    if (!knpu_check_fused(job, in, GEMM_SCALE, GEMM_ZP)) {
        return false;
    }
    if (!m || !n || !k) {
        return knpu_operand_invalid(job, !m ? GEMM_M : !n ? GEMM_N : GEMM_K);
    }
    if (!gemm_matrix(job, &ta, in, GEMM_A, GEMM_LDA, dt,
                     (fl & KNPU_FLAG_TRANS_A) ? k : m,
                     (fl & KNPU_FLAG_TRANS_A) ? m : k) ||
        !gemm_matrix(job, &tb, in, GEMM_B, GEMM_LDB, dt,
                     (fl & KNPU_FLAG_TRANS_B) ? n : k,
                     (fl & KNPU_FLAG_TRANS_B) ? k : n) ||
        !gemm_matrix(job, &tc, in, GEMM_C, GEMM_LDC, out_dt, m, n) ||
        (has_bias && !knpu_tensor_init(job, &tbias, in, GEMM_BIAS,
                                       int8 ? KNPU_DT_INT32 : dt, n)) ||
        (per_channel && !knpu_tensor_init(job, &tscale, in, GEMM_SCALE,
                                          KNPU_DT_FP32, n))) {
        return false;
    }
    if (!knpu_tensor_check_align(job, &ta) ||
        !knpu_tensor_check_align(job, &tb) ||
        !knpu_tensor_check_align(job, &tc) ||
        (has_bias && !knpu_tensor_check_align(job, &tbias)) ||
        (per_channel && !knpu_tensor_check_align(job, &tscale))) {
        return false;
    }
    if (!knpu_tensor_load(job, &ta, &a) || !knpu_tensor_load(job, &tb, &b) ||
        (has_bias && !knpu_tensor_load(job, &tbias, &bias)) ||
        (per_channel && !knpu_tensor_load(job, &tscale, &scales))) {
        return false;
    }
    if (per_channel && !knpu_check_scales(job, scales, n, GEMM_SCALE)) {
        return false;
    }
    if (!int8 && scale != 1.0f) {
        key.flags |= GEMM_KEY_SCALED;
    }
    /* the output, or INT8's accumulators (C's shape, 4 bytes each) */
    c = knpu_stage(job, tc.count * (int8 ? 4 : knpu_dtype_size(
                                        knpu_compute_dtype(out_dt))));
    if (int8 && !knpu_dnnl_int8_exact() ?
        !gemm_int8_in_fp32(job, &key, a, b, c) :
        !gemm_run(job, &key, a, b, c, bias, &scale)) {
        return false;
    }
    if (int8) {
        int8_t *requantized = out_dt == KNPU_DT_INT8 ?
                              knpu_stage(job, tc.count) : NULL;

        gemm_int8_epilogue(in, c, requantized, bias,
                           per_channel ? scales : &scale);
        if (requantized) {
            c = requantized;
        }
    }
    return knpu_tensor_store_rows(job, &tc, c, m, n, in->ops[GEMM_LDC]);
}

/* GEMM_BATCHED (v1.1) */

enum {
    GB_BATCH = GEMM_ZP, GB_STRIDE_A, GB_STRIDE_B, GB_STRIDE_C,
};

/*
 * A batched operand: @batch matrices of @rows × @cols (ld apart), @stride
 * elements from one to the next (0: one matrix for every batch, allowed
 * when @broadcast). Its span is (batch − 1)·stride + one matrix's span.
 */
static bool gemm_batched_matrix(KnpuJob *job, KnpuTensor *t,
                                const KnpuInsn *in, unsigned operand,
                                unsigned ld_operand, unsigned stride_op,
                                bool broadcast, uint64_t rows, uint64_t cols)
{
    uint64_t stride = in->ops[stride_op], batch = in->ops[GB_BATCH];
    uint64_t matrix, span;

    if (!gemm_matrix(job, t, in, operand, ld_operand, in->dtype, rows,
                     cols)) {
        return false;
    }
    matrix = t->count;
    if (stride < matrix && !(broadcast && stride == 0)) {
        return knpu_operand_invalid(job, stride_op);
    }
    span = batch - 1;
    if (!knpu_count_mul(job, stride_op, &span, stride)) {
        return false;
    }
    if (uadd64_overflow(span, matrix, &span)) {
        return knpu_operand_invalid(job, stride_op);
    }
    return knpu_tensor_init(job, t, in, operand, in->dtype, span);
}

bool knpu_op_gemm_batched(KnpuJob *job, const KnpuInsn *in)
{
    uint32_t dt = in->dtype, fl = in->flags;
    uint64_t m = in->ops[GEMM_M], n = in->ops[GEMM_N], k = in->ops[GEMM_K];
    uint64_t batch = in->ops[GB_BATCH], b;
    bool has_bias = fl & KNPU_FLAG_BIAS;
    bool ta = fl & KNPU_FLAG_TRANS_A, tb = fl & KNPU_FLAG_TRANS_B;
    void *a = NULL, *bm = NULL, *c = NULL, *bias = NULL;
    float scale = knpu_f32_of_bits(in->ops[GEMM_SCALE]);
    KnpuTensor ta_t, tb_t, tc_t, tbias;
    KnpuPrimKey key = {
        .kind = KNPU_OP_GEMM, .dtype = dt, .flags = fl & GEMM_KEY_FLAGS,
        .v = { m, n, k, in->ops[GEMM_LDA], in->ops[GEMM_LDB],
               in->ops[GEMM_LDC] },
    };

    if (KNPU_FLAG_ACT(fl) > KNPU_ACT_LAST) {
        return knpu_operand_invalid(job, KNPU_ERR_OPERAND_NONE);
    }
    if (!isfinite(scale)) {
        return knpu_operand_invalid(job, GEMM_SCALE);
    }
    if (!m || !n || !k || !batch) {
        return knpu_operand_invalid(job, !m ? GEMM_M : !n ? GEMM_N :
                                    !k ? GEMM_K : GB_BATCH);
    }
    if (!gemm_batched_matrix(job, &ta_t, in, GEMM_A, GEMM_LDA, GB_STRIDE_A,
                             true, ta ? k : m, ta ? m : k) ||
        !gemm_batched_matrix(job, &tb_t, in, GEMM_B, GEMM_LDB, GB_STRIDE_B,
                             true, tb ? n : k, tb ? k : n) ||
        !gemm_batched_matrix(job, &tc_t, in, GEMM_C, GEMM_LDC, GB_STRIDE_C,
                             false, m, n) ||
        (has_bias && !knpu_tensor_init(job, &tbias, in, GEMM_BIAS, dt, n))) {
        return false;
    }
    if (!knpu_tensor_check_align(job, &ta_t) ||
        !knpu_tensor_check_align(job, &tb_t) ||
        !knpu_tensor_check_align(job, &tc_t) ||
        (has_bias && !knpu_tensor_check_align(job, &tbias))) {
        return false;
    }
    if (!knpu_tensor_load(job, &ta_t, &a) ||
        !knpu_tensor_load(job, &tb_t, &bm) ||
        (has_bias && !knpu_tensor_load(job, &tbias, &bias))) {
        return false;
    }
    if (scale != 1.0f) {
        key.flags |= GEMM_KEY_SCALED;
    }
    c = knpu_stage(job, tc_t.count * sizeof(float));
    /* Every batch runs v1's GEMM on the same cached primitive. */
    for (b = 0; b < batch; b++) {
        KnpuTensor tcb = tc_t;
        uint8_t *cb = (uint8_t *)c + b * in->ops[GB_STRIDE_C] * sizeof(float);

        if (!gemm_run(job, &key,
                      (uint8_t *)a + b * in->ops[GB_STRIDE_A] * sizeof(float),
                      (uint8_t *)bm +
                      b * in->ops[GB_STRIDE_B] * sizeof(float),
                      cb, bias, &scale)) {
            return false;
        }
        tcb.va += b * in->ops[GB_STRIDE_C] * knpu_dtype_size(dt);
        if (!knpu_tensor_store_rows(job, &tcb, cb, m, n,
                                    in->ops[GEMM_LDC])) {
            return false;
        }
    }
    return true;
}
