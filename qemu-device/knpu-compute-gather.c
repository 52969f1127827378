/*
 * KNPU device model: GATHER (spec section 7.4.3, v1.3), the rows of a
 * table chosen by indices read at run time (embedding lookups).
 *
 * The indices are staged and all checked first; then the selected rows
 * are read one by one, each straight from the job's address space into
 * its place in the staged output, and the output is stored. The table
 * itself is never staged (only its selected rows are read), which is why
 * it may exceed the 64 MiB staging limit. Rows are moved as bytes, bit
 * for bit: no arithmetic, no oneDNN primitive.
 *
 * Copyright (c) 2026 The knpu authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/bswap.h"
#include "qemu/host-utils.h"
#include "qemu/timer.h"
#include "trace.h"
#include "knpu-compute.h"

enum { GA_TABLE, GA_INDICES, GA_OUT, GA_ROWS, GA_ROW_ELEMS, GA_COUNT };

/* Section 7.4: a tensor is smaller than 2^40 bytes, the table included. */
#define GA_TABLE_BYTES_LIMIT    (1ull << 40)

/* Index @i of the staged indices, INT32 or INT64, sign-extended. */
static int64_t gather_index(const void *indices, bool int64, uint64_t i)
{
    const uint8_t *p = indices;

    return int64 ? (int64_t)ldq_le_p(p + 8 * i) :
                   (int32_t)ldl_le_p(p + 4 * i);
}

/* Row number of index @idx, already checked to lie in [-rows, rows). */
static uint64_t gather_row(int64_t idx, uint64_t rows)
{
    return idx < 0 ? (uint64_t)(idx + (int64_t)rows) : (uint64_t)idx;
}

/*
 * Every index in [-rows, rows), all checked before any row is read; the
 * first one outside fails the job with its address.
 */
static bool gather_check_indices(KnpuJob *job, const KnpuTensor *tidx,
                                 const void *indices, bool int64,
                                 uint64_t rows, uint64_t count)
{
    uint64_t i;

    for (i = 0; i < count; i++) {
        int64_t idx = gather_index(indices, int64, i);

        if (idx < -(int64_t)rows || idx >= (int64_t)rows) {
            return knpu_job_fail(job, KNPU_ERR_OPERAND_INVALID, GA_INDICES,
                                 0, 0, tidx->va + i * (int64 ? 8 : 4));
        }
    }
    return true;
}

/*
 * Read the selected rows, in index order, into the staged output; each
 * read checks for a reset (knpu_va_rw()).
 */
static bool gather_rows(KnpuJob *job, uint64_t table_va, const void *indices,
                        bool int64, uint64_t rows, uint64_t count,
                        uint64_t row_bytes, uint8_t *out)
{
    uint64_t i;

    for (i = 0; i < count; i++) {
        uint64_t row = gather_row(gather_index(indices, int64, i), rows);

        if (!knpu_va_rw(job, table_va + row * row_bytes, out + i * row_bytes,
                        row_bytes, false, GA_TABLE)) {
            return false;
        }
        job->bytes += row_bytes;
    }
    return true;
}

bool knpu_op_gather(KnpuJob *job, const KnpuInsn *in)
{
    bool int64 = in->flags & KNPU_FLAG_GATHER_INDEX_INT64;
    uint64_t rows = in->ops[GA_ROWS], row_elems = in->ops[GA_ROW_ELEMS];
    uint64_t count = in->ops[GA_COUNT], table_bytes, row_bytes, out_elems;
    size_t esize = knpu_dtype_size(in->dtype), isize = int64 ? 8 : 4;
    void *indices = NULL;
    uint8_t *out;
    KnpuTensor tidx, tout;
    int64_t start;

    if (!rows || !row_elems || !count) {
        return knpu_operand_invalid(job, !rows ? GA_ROWS :
                                    !row_elems ? GA_ROW_ELEMS : GA_COUNT);
    }
    /* Not staged: only the 2^40 limit, no 64 MiB one (section 7.4.3). */
    if (umul64_overflow(rows, row_elems, &table_bytes) ||
        umul64_overflow(table_bytes, esize, &table_bytes) ||
        table_bytes >= GA_TABLE_BYTES_LIMIT) {
        return knpu_operand_invalid(job, GA_TABLE);
    }
    out_elems = count;
    /* INT64 indices are staged as two INT32 words each, moved as bytes. */
    if (!knpu_tensor_init(job, &tidx, in, GA_INDICES, KNPU_DT_INT32,
                          count * (isize / 4)) ||
        !knpu_count_mul(job, GA_OUT, &out_elems, row_elems) ||
        !knpu_tensor_init(job, &tout, in, GA_OUT, in->dtype, out_elems)) {
        return false;
    }
    if (in->ops[GA_TABLE] & (esize - 1)) {
        return knpu_job_fail(job, KNPU_ERR_ALIGNMENT, GA_TABLE, 0, 0,
                             in->ops[GA_TABLE]);
    }
    if (tidx.va & (isize - 1)) {
        return knpu_job_fail(job, KNPU_ERR_ALIGNMENT, GA_INDICES, 0, 0,
                             tidx.va);
    }
    if (!knpu_tensor_check_align(job, &tout)) {
        return false;
    }
    tout.raw = true;        /* rows are moved bit for bit */
    if (!knpu_tensor_load(job, &tidx, &indices)) {
        return false;
    }
    if (!gather_check_indices(job, &tidx, indices, int64, rows, count)) {
        return false;
    }
    row_bytes = row_elems * esize;
    out = knpu_stage(job, tout.bytes);
    start = knpu_trace_clock(TRACE_KNPU_GATHER);
    if (!gather_rows(job, in->ops[GA_TABLE], indices, int64, rows, count,
                     row_bytes, out)) {
        return false;
    }
    trace_knpu_gather(count, row_bytes, int64, knpu_trace_elapsed(start));
    return knpu_tensor_store(job, &tout, out);
}
