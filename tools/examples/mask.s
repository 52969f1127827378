; Instruction set v1.4 (docs/hw-spec.md 7.4.4): an attention mask built at
; run time, as masked_fill exports it. The padded keys of a 128-token INT32
; mask (mask == 0) become a byte mask; SELECT puts the lowest FP32 (a
; scalar) into the 4 x 16 x 128 attention scores of the padded keys (the
; mask broadcast along the innermost dimension) and keeps the others bit
; for bit.
.kernel mask
.arg buffer mask_ids
.arg buffer zero
.arg buffer padded
.arg buffer lowest
.arg buffer scores
.arg buffer masked

    compare.int32 [op=eq] @mask_ids, @zero, @padded, 128, 1
    select.fp32 @padded, @lowest, @scores, @masked, 8192, 128, 1, 8192
