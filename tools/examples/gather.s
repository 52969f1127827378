; Instruction set v1.3 (docs/hw-spec.md 7.4.3): an embedding lookup. Eight
; token ids (INT64, as ONNX models take them) choose rows of a 1000 x 64
; FP32 embedding table; then eight positions (INT32) choose rows of a
; 128 x 64 BF16 position table.
.kernel embed
.arg buffer words
.arg buffer ids
.arg buffer embedded
.arg buffer positions_table
.arg buffer positions
.arg buffer placed

    gather.fp32 [index_int64] @words, @ids, @embedded, 1000, 64, 8
    gather.bf16 @positions_table, @positions, @placed, 128, 64, 8
