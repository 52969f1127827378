/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The operand kinds of every opcode (docs/hw-spec.md 7.4 to 7.4.4), for
 * the program generators of the ioctl fuzzer (tests/kernel/knpu-fuzz.c) and
 * the device fuzzer (tests/fuzz/device/knpu-device-fuzz.c). Per operand: A
 * address (an argument slot), V value, F float, O bias (an address with the
 * BIAS flag, else 0), S scale (an address with PER_CHANNEL, else F).
 */
#ifndef KNPU_OP_SHAPES_H
#define KNPU_OP_SHAPES_H

#include <stdint.h>

struct op_shape {
	uint8_t opcode;
	uint8_t dtype_mask;	/* bit n: dtype n allowed */
	uint32_t flags_mask;	/* flag bits worth setting */
	const char *operands;
};

#define DT(n) (1u << (n))
#define FLOATS (DT(1) | DT(2) | DT(3))
static const struct op_shape shapes[] = {
	{ 0x00, DT(0), 0, "" },
	{ 0x01, DT(0), 0, "AAV" },
	{ 0x02, DT(0), 0, "AVV" },
	{ 0x08, DT(0), 0, "" },
	{ 0x09, DT(0), 1, "AV" },
	{ 0x0a, DT(0), 0, "AV" },
	{ 0x0b, DT(0), 0, "A" },
	{ 0x10, FLOATS | DT(4), 0x3f7, "AAAOVVVVVVSV" },
	{ 0x11, FLOATS | DT(4), 0x3f4, "AAOAVVVVVVVVVVVVVVSV" },
	{ 0x12, FLOATS | DT(4), 0x3, "AAVVVVVVVVVV" },
	{ 0x13, FLOATS | DT(4) | DT(5), 0xf, "AAAVV" },
	{ 0x14, FLOATS | DT(4), 0xf, "AAV" },
	{ 0x15, FLOATS, 0, "AAVV" },
	{ 0x16, FLOATS, 0, "AAAAVVF" },
	{ 0x17, FLOATS, 0, "AAAVVF" },
	{ 0x18, FLOATS | DT(5), 0x3, "AAVVV" },
	{ 0x19, FLOATS | DT(4) | DT(5), 0, "AAVVV" },
	/* v1.1 to v1.4 */
	{ 0x03, FLOATS | DT(4) | DT(5), 0, "AAVVVVVVVVVVVV" },
	{ 0x1a, FLOATS, 0xf7, "AAAOVVVVVVFVVVV" },
	{ 0x1b, FLOATS, 0xf4, "AAOAVVVVVVVVVVVVVVVV" },
	{ 0x1c, FLOATS, 0x3f, "AAVVVVVVFF" },
	{ 0x1d, FLOATS, 0xf, "AAVFF" },
	{ 0x1e, FLOATS | DT(4) | DT(5), 0x20f, "AAVVVS" },
	{ 0x1f, FLOATS | DT(4) | DT(5), 0x1, "AAAVVV" },
	{ 0x20, FLOATS | DT(4) | DT(5), 0xf, "AAAVV" },
	{ 0x21, FLOATS | DT(4) | DT(5), 0, "AAAAVVVV" },
};
#define NSHAPES (sizeof(shapes) / sizeof(shapes[0]))

#endif
