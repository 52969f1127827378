/*
 * KNPU device model: the compute instructions (spec section 7.4), shared
 * by the command processor and the files that execute them:
 *
 *   knpu-compute.c          tensors: size rules, staging through the MMU,
 *                           FP16/BF16 widening and narrowing
 *   knpu-dnnl.c             the oneDNN engine, threads, primitive cache
 *   knpu-compute-gemm.c     GEMM
 *   knpu-compute-conv.c     CONV2D, POOL2D
 *   knpu-compute-conv-weights.c  CONV2D's reordered weights, kept
 *   knpu-compute-eltwise.c  ELTWISE, ACTIVATION
 *   knpu-compute-norm.c     SOFTMAX, LAYERNORM, RMSNORM
 *   knpu-compute-reduce.c   REDUCE, TRANSPOSE
 *   knpu-compute-copy.c     COPY_STRIDED (v1.1)
 *   knpu-compute-resize.c   RESIZE (v1.1)
 *   knpu-compute-deconv.c   CONV_TRANSPOSE (v1.1)
 *   knpu-compute-convert.c  CONVERT (v1.2)
 *   knpu-compute-gather.c   GATHER (v1.3)
 *   knpu-compute-mask.c     COMPARE, SELECT (v1.4)
 * and, v1.1, GEMM_BATCHED in knpu-compute-gemm.c, ACTIVATION_PARAM in
 * knpu-compute-eltwise.c.
 *
 * An instruction checks its operands in the order of section 7.5 (values,
 * then alignment), stages its inputs into host buffers (FP16 and BF16
 * widened to FP32; the core's own, kept from one instruction to the
 * next: knpu_stage()), runs oneDNN primitives on them and stores the output
 * (narrowed with round-to-nearest-even). Every byte goes through
 * knpu_va_rw(), so the job's address space and its permissions apply.
 *
 * Copyright (c) 2026 The knpu authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef HW_MISC_KNPU_COMPUTE_H
#define HW_MISC_KNPU_COMPUTE_H

#include <oneapi/dnnl/dnnl.h>
#include "knpu-internal.h"

/*
 * Largest tensor operand a compute instruction stages, in bytes (section
 * 7.4): bounds the host memory a guest can make the model allocate.
 */
#define KNPU_TENSOR_BYTES_MAX   (64 * MiB)

typedef struct KnpuInsn {
    uint32_t opcode;
    uint32_t dtype;
    uint32_t nops;
    uint32_t flags;
    uint32_t argmask;
    const uint32_t *words;  /* raw operand words, little-endian */
    uint64_t ops[255];      /* resolved operands */
} KnpuInsn;

/* A tensor operand: where it is, its type in memory, how many elements. */
typedef struct KnpuTensor {
    uint64_t va;
    unsigned operand;
    uint32_t dtype;
    uint64_t count;
    uint64_t bytes;
    bool raw;               /* staged as stored: FP16/BF16 not widened */
} KnpuTensor;

/*
 * The requantization of INT8 output (section 7.3) for a run of
 * accumulators: knpu_requant().
 */
typedef struct KnpuRequant {
    const int32_t *bias;    /* NULL: none */
    const float *scale;
    bool per_column;        /* bias (and scale) per element: a GEMM row */
    bool scale_per_column;  /* with per_column: PER_CHANNEL scales */
    bool relu;
    int32_t zp;
    bool sum_fits;          /* acc + bias cannot overflow an INT32 */
} KnpuRequant;

/* knpu-compute.c */
void *knpu_stage(KnpuJob *job, size_t size);
float *knpu_widen_s8(KnpuJob *job, const int8_t *src, uint64_t rows,
                     uint64_t cols, uint64_t ld);
void knpu_stage_job_start(KnpuCore *core);
size_t knpu_dtype_size(uint32_t dtype);
bool knpu_dtype_is_float(uint32_t dtype);
bool knpu_operand_invalid(KnpuJob *job, unsigned operand);
bool knpu_count_mul(KnpuJob *job, unsigned operand, uint64_t *count,
                    uint64_t factor);
bool knpu_tensor_init(KnpuJob *job, KnpuTensor *t, const KnpuInsn *in,
                      unsigned operand, uint32_t dtype, uint64_t count);
bool knpu_check_fused(KnpuJob *job, const KnpuInsn *in, unsigned scale_op,
                      unsigned zp_op);
bool knpu_check_scales(KnpuJob *job, const float *scales, uint64_t n,
                       unsigned scale_op);
bool knpu_tensor_check_align(KnpuJob *job, const KnpuTensor *t);
bool knpu_tensor_load(KnpuJob *job, const KnpuTensor *t, void **buf);
bool knpu_tensor_load_known(KnpuJob *job, const KnpuTensor *t,
                            const void *known, void **buf);
bool knpu_tensor_store(KnpuJob *job, const KnpuTensor *t, const void *buf);
bool knpu_tensor_store_rows(KnpuJob *job, const KnpuTensor *t,
                            const void *buf, uint64_t rows,
                            uint64_t row_elems, uint64_t ld);
uint32_t knpu_compute_dtype(uint32_t dtype);
void knpu_requant(const KnpuRequant *rq, const int32_t *acc, int8_t *out,
                  uint64_t n);
bool knpu_requant_sum_fits(uint64_t acc_max, const int32_t *bias, uint64_t n);
float knpu_f32_of_bits(uint32_t bits);

/* knpu-dnnl.c */
typedef struct KnpuPrimKey {
    uint32_t kind;          /* opcode, or a helper primitive of an op */
    uint32_t dtype;
    uint32_t flags;
    /*
     * The OpenMP team the primitive is created for and runs on, set by
     * knpu_prim_get(): oneDNN fixes many kernels' team at creation.
     */
    uint32_t threads;
    int64_t v[24];          /* shape and parameters, unused ones 0 */
} KnpuPrimKey;

typedef struct KnpuPrim KnpuPrim;

/* Kinds of the helper primitives of an op (KnpuPrimKey.kind), past opcodes */
enum {
    KNPU_KIND_RMS_SUMSQ = KNPU_OP_COUNT + 1,
    KNPU_KIND_RMS_SCALE,
    KNPU_KIND_CONV_SRC_IN,      /* plain input -> the convolution's layout */
    KNPU_KIND_CONV_WEI_IN,      /* plain weights -> its layout */
    KNPU_KIND_CONV_DST_OUT,     /* its output layout -> plain */
    KNPU_KIND_POOL_SRC_IN,      /* plain pooling input -> NHWC */
    KNPU_KIND_POOL_DST_OUT,     /* NHWC pooling output -> plain */
};

/* Create the primitive descriptor for @key (called on a cache miss). */
typedef dnnl_status_t (*KnpuPrimDescFn)(const KnpuPrimKey *key,
                                        dnnl_engine_t engine,
                                        dnnl_primitive_attr_t attr,
                                        dnnl_primitive_desc_t *pd);

typedef struct KnpuDnnlArg {
    int arg;
    dnnl_memory_desc_t md;
    void *data;
} KnpuDnnlArg;

size_t knpu_dnnl_args_bytes(const KnpuDnnlArg *args, int nargs);
KnpuPrim *knpu_prim_get(KnpuJob *job, const KnpuPrimKey *key,
                        KnpuPrimDescFn fn, size_t bytes);
void knpu_prim_put(KnpuPrim *p);
const dnnl_memory_desc_t *knpu_prim_md(KnpuPrim *p, dnnl_query_t what);
uint32_t knpu_prim_threads(const KnpuPrim *p);
bool knpu_prim_exec(KnpuJob *job, KnpuPrim *p, const KnpuDnnlArg *args,
                    int nargs);
bool knpu_prim_run(KnpuJob *job, const KnpuPrimKey *key, KnpuPrimDescFn fn,
                   const KnpuDnnlArg *args, int nargs);
bool knpu_reorder_run(KnpuJob *job, const KnpuPrimKey *key, uint32_t kind,
                      KnpuPrimDescFn fn, const dnnl_memory_desc_t *from_md,
                      void *from, const dnnl_memory_desc_t *to_md, void *to);
void knpu_md_plain(dnnl_memory_desc_t *md, int ndims, const int64_t *dims,
                   dnnl_data_type_t dt);
void knpu_md_tag(dnnl_memory_desc_t *md, int ndims, const int64_t *dims,
                 dnnl_data_type_t dt, dnnl_format_tag_t tag);
void knpu_md_strided(dnnl_memory_desc_t *md, int ndims, const int64_t *dims,
                     const int64_t *strides, dnnl_data_type_t dt);
dnnl_data_type_t knpu_dnnl_dt(uint32_t dtype);
bool knpu_dnnl_int8_exact(void);
/* One oneDNN eltwise step of a fused activation (knpu_act_steps()). */
typedef struct KnpuActStep {
    dnnl_alg_kind_t alg;
    float alpha, beta;
} KnpuActStep;

#define KNPU_ACT_MAX_STEPS 2

unsigned knpu_act_steps(uint32_t act, KnpuActStep steps[KNPU_ACT_MAX_STEPS]);
dnnl_status_t knpu_post_ops_append_act(dnnl_post_ops_t po, uint32_t act);

/* The instructions */
bool knpu_op_gemm(KnpuJob *job, const KnpuInsn *in);
bool knpu_op_conv2d(KnpuJob *job, const KnpuInsn *in);
const void *knpu_conv_weights_known(uint64_t va, uint64_t bytes);
void *knpu_conv_weights(KnpuJob *job, const KnpuPrimKey *conv, uint64_t va,
                        KnpuPrimDescFn reorder_fn,
                        const dnnl_memory_desc_t *plain_md, const void *wei,
                        const dnnl_memory_desc_t *blocked_md);
bool knpu_op_pool2d(KnpuJob *job, const KnpuInsn *in);
bool knpu_op_eltwise(KnpuJob *job, const KnpuInsn *in);
bool knpu_op_activation(KnpuJob *job, const KnpuInsn *in);
bool knpu_op_softmax(KnpuJob *job, const KnpuInsn *in);
bool knpu_op_layernorm(KnpuJob *job, const KnpuInsn *in);
bool knpu_op_rmsnorm(KnpuJob *job, const KnpuInsn *in);
bool knpu_op_reduce(KnpuJob *job, const KnpuInsn *in);
bool knpu_op_transpose(KnpuJob *job, const KnpuInsn *in);
bool knpu_op_copy_strided(KnpuJob *job, const KnpuInsn *in);
bool knpu_op_gemm_batched(KnpuJob *job, const KnpuInsn *in);
bool knpu_op_conv_transpose(KnpuJob *job, const KnpuInsn *in);
bool knpu_op_resize(KnpuJob *job, const KnpuInsn *in);
bool knpu_op_activation_param(KnpuJob *job, const KnpuInsn *in);
bool knpu_op_convert(KnpuJob *job, const KnpuInsn *in);
bool knpu_op_gather(KnpuJob *job, const KnpuInsn *in);
bool knpu_op_compare(KnpuJob *job, const KnpuInsn *in);
bool knpu_op_select(KnpuJob *job, const KnpuInsn *in);

/* Apply fused activation @act (an ACT value) to @count FP32 values. */
bool knpu_act_apply(KnpuJob *job, uint32_t act, float *buf, uint64_t count);

#endif /* HW_MISC_KNPU_COMPUTE_H */
