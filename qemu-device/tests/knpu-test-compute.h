/*
 * KNPU qtests of the compute instructions: what the test files share.
 *
 * Each test runs instructions on small random tensors and checks the
 * device's results against a straightforward reference loop written in
 * the test, computed in double precision from the exact input values.
 * Tolerances per output type (|got - ref| <= atol + rtol·|ref|):
 *   FP32  atol 1e-5, rtol 1e-4 (reordered FP32 sums)
 *   FP16  atol 1e-3, rtol 2e-3 (2^-11 rounding of the result)
 *   BF16  atol 1e-2, rtol 1e-2 (2^-8 rounding of the result)
 *   INT32 exact; INT8 exact, or 1 step where the spec computes a scaled
 *   value in FP32 and rounds it (requantization, averages).
 *
 * Copyright (c) 2026 The knpu authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef KNPU_TEST_COMPUTE_H
#define KNPU_TEST_COMPUTE_H

#include "hw/misc/knpu/tests/knpu-qtest.h"

/* A machine with the MMU on and queue 0 ready, and a VA allocator. */
typedef struct Cx {
    Knpu k;
    unsigned q;
    uint64_t next_va;
    uint64_t fence;
    GRand *rand;
} Cx;

/* A buffer of guest memory mapped for the device. */
typedef struct TBuf {
    uint64_t va;
    uint64_t pa;
    uint64_t bytes;
} TBuf;

void cx_start(Cx *c);
void cx_start_opts(Cx *c, const char *extra);
void cx_stop(Cx *c);
TBuf cx_buf(Cx *c, uint64_t bytes, uint64_t pte_flags);
TBuf cx_input(Cx *c, uint32_t dt, uint64_t count, const void *data);
TBuf cx_output(Cx *c, uint32_t dt, uint64_t count);
void cx_run(Cx *c, const Prog *p, const uint64_t *args, unsigned nargs);
Err cx_run_bad(Cx *c, const Prog *p, const uint64_t *args, unsigned nargs,
               uint32_t code);

/* An instruction: emit()'s arguments. */
typedef struct Insn {
    uint32_t opcode, dtype, flags, argmask;
    unsigned nops;
    const uint32_t *ops;
} Insn;

/*
 * A valid instruction with up to four operand words changed, the error
 * code it must give and the operand that error must name (-1: not checked).
 */
typedef struct BadOperands {
    unsigned n;
    unsigned word[4];
    uint32_t value[4];
    uint32_t code;
    int64_t operand;
} BadOperands;

void cx_run_bad_operands(Cx *c, const Insn *valid, const uint64_t *args,
                         unsigned nargs, const BadOperands *cases,
                         unsigned ncases);

/*
 * A valid instruction with its data type, flags and argument mask replaced,
 * and the error code it must give.
 */
typedef struct BadEncoding {
    uint32_t dtype, flags, argmask;
    uint32_t code;
} BadEncoding;

void cx_run_bad_encodings(Cx *c, const Insn *valid, const uint64_t *args,
                          unsigned nargs, const BadEncoding *cases,
                          unsigned ncases);

size_t dt_size(uint32_t dt);
void *rand_tensor(Cx *c, uint32_t dt, uint64_t count);
double elem(uint32_t dt, const void *raw, uint64_t i);
void set_elem(uint32_t dt, void *raw, uint64_t i, double v);
void check_close(uint32_t dt, const void *got, const double *ref,
                 uint64_t count, const char *what);
void tbuf_write(Cx *c, const TBuf *b, const void *data, uint64_t bytes);
void *tbuf_read(Cx *c, const TBuf *b, uint64_t bytes);
double act_ref(unsigned act, double x);
double rne(double x);
/* The bit pattern of @f, for F operands. */
uint32_t f32_bits(float f);

/* The floating types, and all numeric types. */
extern const uint32_t float_dts[3];
extern const uint32_t all_dts[5];

void knpu_add_compute_gemm_tests(void);
void knpu_add_compute_conv_tests(void);
void knpu_add_compute_eltwise_tests(void);
void knpu_add_compute_norm_tests(void);
void knpu_add_compute_reduce_tests(void);
void knpu_add_compute_copy_tests(void);
void knpu_add_compute_resize_tests(void);
void knpu_add_compute_deconv_tests(void);
void knpu_add_compute_convert_tests(void);
void knpu_add_compute_gather_tests(void);
void knpu_add_compute_mask_tests(void);

#endif /* KNPU_TEST_COMPUTE_H */
