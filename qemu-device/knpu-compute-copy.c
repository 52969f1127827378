/*
 * KNPU device model: COPY_STRIDED (spec section 7.4.1, v1.1).
 *
 * The source span is staged as stored, its elements gathered in index
 * order into a dense buffer, and that buffer written to the destination
 * in runs: the innermost destination dimensions that are contiguous form
 * one run, so Concat and Slice write whole rows or planes at a time while
 * the elements between destination elements are never touched. Elements
 * are moved as bytes of their size, bit for bit; no arithmetic is done,
 * so no oneDNN primitive is involved.
 *
 * Copyright (c) 2026 The knpu authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/host-utils.h"
#include "knpu-compute.h"

enum { CS_DST, CS_SRC, CS_SIZE, CS_SRC_STRIDE = 6, CS_DST_STRIDE = 10 };

#define CS_DIMS 4

/* Destination runs written between two checks for a reset. */
#define CS_RUNS_PER_ABORT_CHECK 4096

typedef struct CopyShape {
    uint64_t size[CS_DIMS];
    uint64_t src_stride[CS_DIMS];
    uint64_t dst_stride[CS_DIMS];
    uint64_t count;         /* elements copied */
} CopyShape;

/* Elements from the first to the last element of a strided operand. */
static bool copy_span(KnpuJob *job, const CopyShape *c,
                      const uint64_t *stride, unsigned stride_op,
                      uint64_t *span)
{
    unsigned d;

    *span = 1;
    for (d = 0; d < CS_DIMS; d++) {
        uint64_t extent;

        if (umul64_overflow(c->size[d] - 1, stride[d], &extent) ||
            uadd64_overflow(*span, extent, span)) {
            return knpu_operand_invalid(job, stride_op + d);
        }
    }
    return true;
}

/* @n elements of @es bytes, @stride elements apart in @src, into @out. */
static void copy_row_strided(uint8_t *out, const uint8_t *src, uint64_t n,
                             uint64_t stride, size_t es)
{
    uint64_t i;

    /* one loop per size, so each moves its elements as one load and store */
    switch (es) {
    case 1:
        for (i = 0; i < n; i++) {
            out[i] = src[i * stride];
        }
        break;
    case 2:
        for (i = 0; i < n; i++) {
            memcpy(out + 2 * i, src + 2 * i * stride, 2);
        }
        break;
    default:
        for (i = 0; i < n; i++) {
            memcpy(out + 4 * i, src + 4 * i * stride, 4);
        }
        break;
    }
}

/*
 * @n copies of the element at @src (a source stride of 0: a broadcast),
 * by doubling the part of @out already written.
 */
static void copy_row_repeat(uint8_t *out, const uint8_t *src, uint64_t n,
                            size_t es)
{
    uint64_t done = es, total = n * es;

    memcpy(out, src, es);
    while (done < total) {
        uint64_t m = MIN(done, total - done);

        memcpy(out + done, out, m);
        done += m;
    }
}

/* Gather the source elements in index order into the dense @out. */
static void copy_gather(const CopyShape *c, size_t es, uint8_t *out,
                        const uint8_t *src)
{
    const uint64_t *sz = c->size, *st = c->src_stride;
    uint64_t i0, i1, i2;

    for (i0 = 0; i0 < sz[0]; i0++) {
        for (i1 = 0; i1 < sz[1]; i1++) {
            for (i2 = 0; i2 < sz[2]; i2++) {
                const uint8_t *row = src + (i0 * st[0] + i1 * st[1] +
                                            i2 * st[2]) * es;

                if (st[3] == 1) {
                    memcpy(out, row, sz[3] * es);
                } else if (st[3] == 0) {
                    copy_row_repeat(out, row, sz[3], es);
                } else {
                    copy_row_strided(out, row, sz[3], st[3], es);
                }
                out += sz[3] * es;
            }
        }
    }
}

/*
 * Write the dense @buf to the destination. Dimensions d+1..3 whose strides
 * make them contiguous (a size of 1 always does) form one run of @run
 * elements; the outer dimensions 0..d are walked run by run.
 */
static bool copy_scatter(KnpuJob *job, const CopyShape *c, size_t es,
                         uint64_t dst_va, const uint8_t *buf)
{
    const uint64_t *sz = c->size, *st = c->dst_stride;
    uint64_t run = 1, idx[CS_DIMS] = { 0 }, runs = c->count, r;
    int d = CS_DIMS - 1, k;

    while (d >= 0 && (sz[d] == 1 || st[d] == run)) {
        run *= sz[d];
        d--;
    }
    runs /= run;
    for (r = 0; r < runs; r++) {
        uint64_t off = 0;

        for (k = 0; k <= d; k++) {
            off += idx[k] * st[k];
        }
        if (r % CS_RUNS_PER_ABORT_CHECK == 0 && r &&
            knpu_job_check_abort(job)) {
            return false;
        }
        if (!knpu_va_rw(job, dst_va + off * es, (void *)(buf + r * run * es),
                        run * es, true, CS_DST)) {
            return false;
        }
        job->bytes += run * es;
        /* next index of the outer dimensions, innermost fastest */
        for (k = d; k >= 0 && ++idx[k] == sz[k]; k--) {
            idx[k] = 0;
        }
    }
    return true;
}

bool knpu_op_copy_strided(KnpuJob *job, const KnpuInsn *in)
{
    size_t es = knpu_dtype_size(in->dtype);
    void *src = NULL, *dense;
    uint64_t src_span, dst_span, bytes;
    KnpuTensor tsrc, tdst;
    CopyShape c = { .count = 1 };
    unsigned d;

    for (d = 0; d < CS_DIMS; d++) {
        c.size[d] = in->ops[CS_SIZE + d];
        c.src_stride[d] = in->ops[CS_SRC_STRIDE + d];
        c.dst_stride[d] = in->ops[CS_DST_STRIDE + d];
        if (!c.size[d]) {
            return knpu_operand_invalid(job, CS_SIZE + d);
        }
        if (!knpu_count_mul(job, CS_SIZE + d, &c.count, c.size[d])) {
            return false;
        }
    }
    /* The gathered elements are staged: the tensor limit applies. */
    if (umul64_overflow(c.count, es, &bytes) || bytes > KNPU_TENSOR_BYTES_MAX) {
        return knpu_operand_invalid(job, CS_SIZE);
    }
    if (!copy_span(job, &c, c.dst_stride, CS_DST_STRIDE, &dst_span) ||
        !copy_span(job, &c, c.src_stride, CS_SRC_STRIDE, &src_span) ||
        !knpu_tensor_init(job, &tdst, in, CS_DST, in->dtype, dst_span) ||
        !knpu_tensor_init(job, &tsrc, in, CS_SRC, in->dtype, src_span) ||
        !knpu_tensor_check_align(job, &tdst) ||
        !knpu_tensor_check_align(job, &tsrc)) {
        return false;
    }
    tsrc.raw = true;        /* moved bit for bit */
    if (!knpu_tensor_load(job, &tsrc, &src)) {
        return false;
    }
    dense = knpu_stage(job, bytes);
    copy_gather(&c, es, dense, src);
    return copy_scatter(job, &c, es, tdst.va, dense);
}
