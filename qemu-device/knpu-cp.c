/*
 * KNPU device model: the command processor (spec sections 5.1 and 7).
 *
 * A core hands it the job at the head of a queue: it reads and checks
 * the descriptor, loads the argument table, then fetches the program page
 * by page as it executes it (a fetch fault belongs to the instruction that
 * needs the bytes). Every field is checked in the order of section 7.5.
 * Executed: every instruction of sections 7.4, 7.4.1 (v1.1), 7.4.2 (v1.2),
 * 7.4.3 (v1.3) and 7.4.4 (v1.4); the compute instructions and COPY_STRIDED
 * are in knpu-compute*.c.
 *
 * Copyright (c) 2026 The knpu authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/bswap.h"
#include "trace.h"
#include "knpu-compute.h"

/* Instruction set (section 7.4) */

typedef struct KnpuOpInfo {
    const char *name;
    /*
     * Per operand: A address, V value, F float, B bias (A with BIAS, else
     * immediate 0), S scale (F, or A with PER_CHANNEL)
     */
    const char *kinds;
    uint32_t dtypes;        /* allowed data types */
    uint32_t flags;         /* defined flag bits */
    /* Compute instructions: run by knpu-compute*.c */
    bool (*exec)(KnpuJob *job, const KnpuInsn *in);
} KnpuOpInfo;

#define DT(x) (1u << KNPU_DT_##x)
#define DT_FLOAT (DT(FP32) | DT(FP16) | DT(BF16))

static const KnpuOpInfo knpu_ops[KNPU_OP_COUNT] = {
    [KNPU_OP_NOP]        = { "NOP", "", DT(NONE), 0 },
    [KNPU_OP_DMA_COPY]   = { "DMA_COPY", "AAV", DT(NONE), 0 },
    [KNPU_OP_DMA_FILL]   = { "DMA_FILL", "AVV", DT(NONE), 0 },
    [KNPU_OP_COPY_STRIDED] = { "COPY_STRIDED", "AAVVVVVVVVVVVV",
                               DT_FLOAT | DT(INT8) | DT(INT32), 0,
                               knpu_op_copy_strided },
    [KNPU_OP_BARRIER]    = { "BARRIER", "", DT(NONE), 0 },
    [KNPU_OP_SEM_SIGNAL] = { "SEM_SIGNAL", "AV", DT(NONE),
                             KNPU_SEM_SIGNAL_ADD },
    [KNPU_OP_SEM_WAIT]   = { "SEM_WAIT", "AV", DT(NONE), 0 },
    [KNPU_OP_TIMESTAMP]  = { "TIMESTAMP", "A", DT(NONE), 0 },
    [KNPU_OP_GEMM]       = { "GEMM", "AAABVVVVVVSV", DT_FLOAT | DT(INT8),
                             0x3f7, knpu_op_gemm },
    [KNPU_OP_CONV2D]     = { "CONV2D", "AABAVVVVVVVVVVVVVVSV",
                             DT_FLOAT | DT(INT8), 0x3f4,
                             knpu_op_conv2d },
    [KNPU_OP_POOL2D]     = { "POOL2D", "AAVVVVVVVVVV", DT_FLOAT | DT(INT8),
                             0x3, knpu_op_pool2d },
    [KNPU_OP_ELTWISE]    = { "ELTWISE", "AAAVV",
                             DT_FLOAT | DT(INT8) | DT(INT32), 0xf,
                             knpu_op_eltwise },
    [KNPU_OP_ACTIVATION] = { "ACTIVATION", "AAV", DT_FLOAT | DT(INT8),
                             0xf, knpu_op_activation },
    [KNPU_OP_SOFTMAX]    = { "SOFTMAX", "AAVV", DT_FLOAT, KNPU_FLAG_SOFTMAX_LOG,
                             knpu_op_softmax },
    [KNPU_OP_LAYERNORM]  = { "LAYERNORM", "AAAAVVF", DT_FLOAT, 0,
                             knpu_op_layernorm },
    [KNPU_OP_RMSNORM]    = { "RMSNORM", "AAAVVF", DT_FLOAT, 0,
                             knpu_op_rmsnorm },
    [KNPU_OP_REDUCE]     = { "REDUCE", "AAVVV", DT_FLOAT | DT(INT32),
                             0x3, knpu_op_reduce },
    [KNPU_OP_TRANSPOSE]  = { "TRANSPOSE", "AAVVV",
                             DT_FLOAT | DT(INT8) | DT(INT32), 0,
                             knpu_op_transpose },
    [KNPU_OP_GEMM_BATCHED] = { "GEMM_BATCHED", "AAABVVVVVVFVVVV", DT_FLOAT,
                               0xf7, knpu_op_gemm_batched },
    [KNPU_OP_CONV_TRANSPOSE] = { "CONV_TRANSPOSE", "AABAVVVVVVVVVVVVVVVV",
                                 DT_FLOAT, 0xf4, knpu_op_conv_transpose },
    [KNPU_OP_RESIZE]     = { "RESIZE", "AAVVVVVVFF", DT_FLOAT, 0x3f,
                             knpu_op_resize },
    [KNPU_OP_ACTIVATION_PARAM] = { "ACTIVATION_PARAM", "AAVFF", DT_FLOAT, 0x1f,
                                   knpu_op_activation_param },
    [KNPU_OP_CONVERT]    = { "CONVERT", "AAVVVS",
                             DT_FLOAT | DT(INT8) | DT(INT32), 0x20f,
                             knpu_op_convert },
    [KNPU_OP_GATHER]     = { "GATHER", "AAAVVV",
                             DT_FLOAT | DT(INT8) | DT(INT32),
                             KNPU_FLAG_GATHER_INDEX_INT64, knpu_op_gather },
    [KNPU_OP_COMPARE]    = { "COMPARE", "AAAVV",
                             DT_FLOAT | DT(INT8) | DT(INT32), 0xf,
                             knpu_op_compare },
    [KNPU_OP_SELECT]     = { "SELECT", "AAAAVVVV",
                             DT_FLOAT | DT(INT8) | DT(INT32), 0,
                             knpu_op_select },
};

/* Data types that some instruction this model executes takes. */
uint32_t knpu_dtypes_mask(void)
{
    uint32_t mask = 0;
    int i;

    for (i = 0; i < KNPU_OP_COUNT; i++) {
        if (knpu_ops[i].name) {
            mask |= knpu_ops[i].dtypes;
        }
    }
    return mask;
}

uint64_t knpu_ops_mask(void)
{
    uint64_t mask = 0;
    int i;

    for (i = 0; i < KNPU_OP_COUNT; i++) {
        if (knpu_ops[i].name) {
            mask |= 1ull << i;
        }
    }
    return mask;
}

/* Jobs */

/*
 * Record the error that stops the job (section 7.6), at the current
 * instruction. Returns false, for the callers' "return knpu_job_fail()".
 */
bool knpu_job_fail(KnpuJob *job, uint32_t code, unsigned operand,
                   unsigned access, unsigned reason, uint64_t addr)
{
    job->err_code = code;
    job->err_info = KNPU_ERR_INFO_OPERAND(operand) | (access << 8) |
                    (reason << 12) | (job->asid << 16);
    job->err_addr = addr;
    job->err_pc = job->pc;
    return false;
}

/*
 * Should the job stop here? True when its queue or the device is being
 * reset (job->aborted), or when an uncorrectable error hit the device (the
 * job fails with UNCORRECTABLE).
 */
bool knpu_job_check_abort(KnpuJob *job)
{
    if (qatomic_read(&job->q->abort)) {
        job->aborted = true;
        return true;
    }
    if (qatomic_read(&job->s->fatal)) {
        knpu_job_fail(job, KNPU_ERR_UNCORRECTABLE, KNPU_ERR_OPERAND_NONE,
                      0, 0, 0);
        return true;
    }
    return false;
}

/* Programs and instructions (section 7) */

/*
 * Make sure program bytes [0, end) are fetched; fetch faults belong to the
 * instruction that needs the bytes.
 */
static bool knpu_prog_fetch(KnpuJob *job, uint32_t end)
{
    while (job->prog_fetched < end) {
        uint64_t va = job->desc.program_va + job->prog_fetched;
        uint32_t n = KNPU_PAGE_SIZE - (va & (KNPU_PAGE_SIZE - 1));

        n = MIN(n, job->desc.program_size - job->prog_fetched);
        if (!knpu_va_rw(job, va, job->core->prog + job->prog_fetched, n,
                        false, KNPU_ERR_OPERAND_NONE)) {
            return false;
        }
        job->prog_fetched += n;
    }
    return true;
}

/* The kind of operand @i of @in once its flags switched it (7.2). */
static char knpu_operand_kind(const KnpuInsn *in, const KnpuOpInfo *op,
                              unsigned i)
{
    switch (op->kinds[i]) {
    case 'S':
        return (in->flags & KNPU_FLAG_PER_CHANNEL) ? 'A' : 'F';
    default:
        return op->kinds[i];
    }
}

/* Resolve the operands of @in per their kinds (section 7.2). */
static bool knpu_resolve_operands(KnpuJob *job, KnpuInsn *in,
                                  const KnpuOpInfo *op)
{
    unsigned i;

    if (in->nops != strlen(op->kinds) || (in->flags & ~op->flags) ||
        (in->nops < 32 && (in->argmask >> in->nops))) {
        return knpu_job_fail(job, KNPU_ERR_OPERAND_INVALID,
                             KNPU_ERR_OPERAND_NONE, 0, 0, 0);
    }
    for (i = 0; i < in->nops; i++) {
        uint32_t word = le32_to_cpu(in->words[i]);
        bool slot = i < 32 && (in->argmask & (1u << i));
        char kind = knpu_operand_kind(in, op, i);
        uint64_t v = word;

        if (kind == 'B' && !(in->flags & KNPU_FLAG_BIAS)) {
            /* Without BIAS the bias operand is an immediate 0. */
            if (slot || word) {
                return knpu_job_fail(job, KNPU_ERR_OPERAND_INVALID, i,
                                     0, 0, 0);
            }
        } else if (slot) {
            if (word >= job->nslots) {
                return knpu_job_fail(job, KNPU_ERR_ARG_INDEX_INVALID, i,
                                     0, 0, word);
            }
            v = job->core->slots[word];
        } else if (kind == 'A' || kind == 'B') {
            return knpu_job_fail(job, KNPU_ERR_OPERAND_INVALID, i, 0, 0, 0);
        }
        switch (kind) {
        case 'V':
            if (v >> 32) {
                return knpu_job_fail(job, KNPU_ERR_OPERAND_INVALID, i,
                                     0, 0, 0);
            }
            break;
        case 'F':
            v &= UINT32_MAX;
            break;
        }
        in->ops[i] = v;
    }
    return true;
}

static bool knpu_check_align(KnpuJob *job, uint64_t va, uint64_t align,
                             unsigned operand)
{
    if (va & (align - 1)) {
        return knpu_job_fail(job, KNPU_ERR_ALIGNMENT, operand, 0, 0, va);
    }
    return true;
}

static bool knpu_op_dma_copy(KnpuJob *job, KnpuInsn *in)
{
    return knpu_va_copy(job, in->ops[0], in->ops[1], in->ops[2], 0, 1);
}

static bool knpu_op_dma_fill(KnpuJob *job, KnpuInsn *in)
{
    uint64_t dst = in->ops[0], bytes = in->ops[1];
    uint32_t pattern = cpu_to_le32((uint32_t)in->ops[2]);
    uint8_t *buf = job->core->bounce;
    uint64_t i;

    /*
     * The bounce buffer's size is a multiple of 4: every chunk starts at a
     * multiple of 4 from dst, so byte i is byte (i mod 4) of the pattern.
     */
    for (i = 0; i < MIN(bytes, KNPU_BOUNCE_SIZE); i += 4) {
        memcpy(buf + i, &pattern, 4);
    }
    while (bytes) {
        uint64_t n = MIN(bytes, KNPU_BOUNCE_SIZE);

        if (!knpu_va_rw(job, dst, buf, n, true, 0)) {
            return false;
        }
        job->bytes += n;
        dst += n;
        bytes -= n;
    }
    return true;
}

static bool knpu_op_sem_signal(KnpuJob *job, KnpuInsn *in)
{
    uint64_t va = in->ops[0];
    bool add = in->flags & KNPU_SEM_SIGNAL_ADD;

    if (!knpu_check_align(job, va, 8, 0)) {
        return false;
    }
    smp_mb(); /* earlier writes of the job before the signal */
    job->bytes += add ? 16 : 8;
    return knpu_va_sem_update(job, va, in->ops[1], add, 0);
}

/*
 * SEM_WAIT found the semaphore too low: wait before the next read, longer
 * each time (1 us, doubling up to 200 us). False when the job stops
 * instead, or in the deterministic engine parks until then: it resumes by
 * executing the SEM_WAIT again.
 */
static bool knpu_sem_poll_wait(KnpuJob *job)
{
    if (knpu_job_check_abort(job)) {
        return false;
    }
    job->poll_us = job->poll_us ? MIN(job->poll_us * 2, 200) : 1;
    if (job->s->deterministic) {
        return knpu_job_park(job, knpu_now() + job->poll_us * SCALE_US);
    }
    g_usleep(job->poll_us);
    return true;
}

static bool knpu_op_sem_wait(KnpuJob *job, KnpuInsn *in)
{
    uint64_t va = in->ops[0];
    uint64_t val;

    if (!knpu_check_align(job, va, 8, 0)) {
        return false;
    }
    for (;;) {
        if (!knpu_va_rw(job, va, &val, 8, false, 0)) {
            return false;
        }
        if (le64_to_cpu(val) >= in->ops[1]) {
            smp_mb(); /* reads after the wait see the signaller's writes */
            job->bytes += 8;
            job->poll_us = 0;
            return true;
        }
        if (!knpu_sem_poll_wait(job)) {
            return false;
        }
    }
}

static bool knpu_op_timestamp(KnpuJob *job, KnpuInsn *in)
{
    uint64_t va = in->ops[0];
    uint64_t ts;

    if (!knpu_check_align(job, va, 8, 0)) {
        return false;
    }
    ts = cpu_to_le64(knpu_now() - job->s->clock_base);
    job->bytes += 8;
    return knpu_va_rw(job, va, &ts, 8, true, 0);
}

static bool knpu_exec_insn(KnpuJob *job, KnpuInsn *in, const KnpuOpInfo *op)
{
    if (op->exec) {
        return op->exec(job, in);
    }
    switch (in->opcode) {
    case KNPU_OP_NOP:
    case KNPU_OP_BARRIER:
        /* Instructions complete in order and our writes are synchronous. */
        smp_mb(); /* earlier writes of the job are visible */
        return true;
    case KNPU_OP_DMA_COPY:
        return knpu_op_dma_copy(job, in);
    case KNPU_OP_DMA_FILL:
        return knpu_op_dma_fill(job, in);
    case KNPU_OP_SEM_SIGNAL:
        return knpu_op_sem_signal(job, in);
    case KNPU_OP_SEM_WAIT:
        return knpu_op_sem_wait(job, in);
    case KNPU_OP_TIMESTAMP:
        return knpu_op_timestamp(job, in);
    default:
        g_assert_not_reached(); /* knpu_insn_op() admits defined ones */
    }
}

/*
 * Fetch and decode the instruction at @off (section 7.2): on success @in
 * describes it and *@len is its size in bytes.
 */
static bool knpu_insn_fetch(KnpuJob *job, uint32_t off, KnpuInsn *in,
                            uint64_t *len)
{
    uint32_t w0;

    if (!knpu_prog_fetch(job, off + 4)) {
        return false;
    }
    w0 = ldl_le_p(job->core->prog + off);
    *len = 4ull * (3 + KNPU_INSN_NOPS(w0));
    if (KNPU_INSN_RSVD(w0) || off + *len > job->desc.program_size) {
        return knpu_job_fail(job, KNPU_ERR_PROGRAM_INVALID,
                             KNPU_ERR_OPERAND_NONE, 0, 0, 0);
    }
    if (!knpu_prog_fetch(job, off + *len)) {
        return false;
    }
    in->opcode = KNPU_INSN_OPCODE(w0);
    in->dtype = KNPU_INSN_DTYPE(w0);
    in->nops = KNPU_INSN_NOPS(w0);
    in->flags = ldl_le_p(job->core->prog + off + 4);
    in->argmask = ldl_le_p(job->core->prog + off + 8);
    in->words = (const uint32_t *)(job->core->prog + off + 12);
    trace_knpu_insn(job->qid, off, in->opcode, in->dtype, in->nops);
    return true;
}

/* The description of the opcode of @in, if this model executes it. */
static const KnpuOpInfo *knpu_insn_op(KnpuJob *job, const KnpuInsn *in)
{
    const KnpuOpInfo *op;

    op = in->opcode < KNPU_OP_COUNT ? &knpu_ops[in->opcode] : NULL;
    if (!op || !op->name) {
        knpu_job_fail(job, KNPU_ERR_OPCODE_INVALID, KNPU_ERR_OPERAND_NONE,
                      0, 0, 0);
        return NULL;
    }
    if (in->dtype >= KNPU_DT_COUNT ||
        !(op->dtypes & (1u << in->dtype))) {
        knpu_job_fail(job, KNPU_ERR_OPCODE_UNSUPPORTED,
                      KNPU_ERR_OPERAND_NONE, 0, 0, 0);
        return NULL;
    }
    return op;
}

/*
 * Run the program from job->next_pc: at the start, or where the job parked
 * (deterministic engine).
 */
static bool knpu_run_program(KnpuJob *job)
{
    g_autofree KnpuInsn *in = g_new(KnpuInsn, 1);

    while (job->next_pc < job->desc.program_size) {
        uint32_t off = job->next_pc;
        const KnpuOpInfo *op;
        uint64_t len;

        job->pc = off;
        job->stage_used = 0;
        if (knpu_job_check_abort(job) || !knpu_job_stall_settle(job) ||
            !knpu_insn_fetch(job, off, in, &len)) {
            return false;
        }
        op = knpu_insn_op(job, in);
        if (!op || !knpu_resolve_operands(job, in, op) ||
            !knpu_exec_insn(job, in, op)) {
            return false;
        }
        job->next_pc = off + len;
    }
    return knpu_job_stall_settle(job);
}

/* Descriptors (section 5.1) */

/* Section 5.1 */
static bool knpu_desc_valid(const KnpuDesc *d)
{
    if (d->rsvd0 || d->rsvd1[0] || d->rsvd1[1] ||
        (d->flags & ~(KNPU_DESC_FLAG_IRQ | KNPU_DESC_FLAG_TIMESTAMPS))) {
        return false;
    }
    switch (d->type) {
    case KNPU_DESC_TYPE_NOP:
        return !d->program_va && !d->program_size && !d->args_size &&
               !d->args_va;
    case KNPU_DESC_TYPE_KERNEL:
        if ((d->program_va & 3) || !d->program_size ||
            (d->program_size & 3) ||
            d->program_size > KNPU_PROGRAM_SIZE_MAX ||
            (d->args_size & 7) || d->args_size > KNPU_ARGS_SIZE_MAX) {
            return false;
        }
        return !d->args_size || !(d->args_va & 7);
    default:
        return false;
    }
}

static void knpu_desc_from_le(KnpuDesc *d)
{
    d->type = le16_to_cpu(d->type);
    d->flags = le16_to_cpu(d->flags);
    d->rsvd0 = le32_to_cpu(d->rsvd0);
    d->program_va = le64_to_cpu(d->program_va);
    d->program_size = le32_to_cpu(d->program_size);
    d->args_size = le32_to_cpu(d->args_size);
    d->args_va = le64_to_cpu(d->args_va);
    d->fence_value = le64_to_cpu(d->fence_value);
    d->job_id = le64_to_cpu(d->job_id);
}

/* Read and check the descriptor at the head of the job's queue. */
static bool knpu_job_read_desc(KnpuJob *job)
{
    KnpuDesc *d = &job->desc;
    uint64_t addr = job->ring_base + (uint64_t)job->head * KNPU_DESC_SIZE;

    if (!knpu_job_bus_rw(job, addr, d, sizeof(*d), false)) {
        if (job->aborted) {
            return false;
        }
        return knpu_job_fail(job, KNPU_ERR_BUS_ERROR, KNPU_ERR_OPERAND_NONE,
                             KNPU_ACCESS_READ, 0, addr);
    }
    knpu_desc_from_le(d);
    trace_knpu_job_start(job->core->id, job->qid, job->head, d->job_id,
                         d->type);
    knpu_stage_job_start(job->core);
    if (!knpu_desc_valid(d)) {
        return knpu_job_fail(job, KNPU_ERR_DESC_INVALID,
                             KNPU_ERR_OPERAND_NONE, 0, 0, 0);
    }
    return true;
}

/*
 * Fault injection: the job never completes; only a reset ends it. The
 * deterministic engine parks it until then.
 */
static KnpuJobResult knpu_job_hang(KnpuJob *job)
{
    KnpuState *s = job->s;

    if (job->stage != KNPU_JOB_STAGE_HANG) {
        job->stage = KNPU_JOB_STAGE_HANG;
        trace_knpu_job_hang(job->qid);
    }
    qemu_mutex_lock(&s->lock);
    while (!qatomic_read(&job->q->abort) && !s->stopping) {
        if (s->deterministic) {
            qemu_mutex_unlock(&s->lock);
            knpu_job_park(job, INT64_MAX);
            return KNPU_JOB_PARKED;
        }
        qemu_cond_wait(&s->abort_cond, &s->lock);
    }
    qemu_mutex_unlock(&s->lock);
    job->aborted = true;
    return KNPU_JOB_ABORTED;
}

/* Read the argument table (section 7.1) into the core's slots. */
static bool knpu_job_load_args(KnpuJob *job)
{
    KnpuDesc *d = &job->desc;
    uint64_t *slots = job->core->slots;
    uint32_t i;

    job->nslots = d->args_size / 8;
    if (!job->nslots) {
        return true;
    }
    if (!knpu_va_rw(job, d->args_va, slots, d->args_size, false,
                    KNPU_ERR_OPERAND_NONE)) {
        return false;
    }
    for (i = 0; i < job->nslots; i++) {
        slots[i] = le64_to_cpu(slots[i]);
    }
    return true;
}

/* Why a step of @job returned false. */
static KnpuJobResult knpu_job_stopped(KnpuJob *job)
{
    if (job->parked) {
        return KNPU_JOB_PARKED;
    }
    return job->aborted ? KNPU_JOB_ABORTED : KNPU_JOB_FAILED;
}

/*
 * Run one job: read and check its descriptor, run its program. A job that
 * stops early leaves its error in @job. In the deterministic engine a job
 * may park instead; called again, it goes on from its stage.
 */
KnpuJobResult knpu_run_job(KnpuJob *job)
{
    KnpuState *s = job->s;
    KnpuDesc *d = &job->desc;

    job->parked = false;
    switch (job->stage) {
    case KNPU_JOB_STAGE_START:
        break;
    case KNPU_JOB_STAGE_HANG:
        return knpu_job_hang(job);
    case KNPU_JOB_STAGE_PROGRAM:
        return knpu_run_program(job) ? KNPU_JOB_OK : knpu_job_stopped(job);
    }
    job->pc = KNPU_ERR_PC_NONE;
    if (!knpu_job_read_desc(job)) {
        return KNPU_JOB_FAILED;
    }
    if (job->inject_hang) {
        return knpu_job_hang(job);
    }
    if (!(qatomic_read(&s->mmu_ctrl) & KNPU_MMU_CTRL_ENABLE)) {
        knpu_mmu_fault(job, d->program_va, false, KNPU_ERR_OPERAND_NONE,
                       KNPU_MMU_AS_INVALID);
        return KNPU_JOB_FAILED;
    }
    if (job->inject_mmu_fault) {
        knpu_mmu_fault(job, d->program_va, false, KNPU_ERR_OPERAND_NONE,
                       KNPU_MMU_NOT_PRESENT);
        return KNPU_JOB_FAILED;
    }
    if (d->type == KNPU_DESC_TYPE_NOP) {
        return KNPU_JOB_OK;
    }
    if (!knpu_job_load_args(job)) {
        return knpu_job_stopped(job);
    }
    job->prog_fetched = 0;
    job->next_pc = 0;
    job->stage = KNPU_JOB_STAGE_PROGRAM;
    return knpu_run_program(job) ? KNPU_JOB_OK : knpu_job_stopped(job);
}
