; Instruction set v1.1 (docs/hw-spec.md 7.4.1): a text-detection style head,
; upsample x2, transposed convolution, hard-swish, a concat as strided copies,
; and a batched attention product.
.kernel v11_ops
.arg buffer x
.arg buffer up
.arg buffer w
.arg buffer bias
.arg buffer y
.arg buffer cat
.arg buffer q
.arg buffer k
.arg buffer s

    resize.fp32 [mode=nearest, coord=asymmetric, round=floor] @x, @up, 1, 8, 16, 16, 32, 32, 2, 2
    resize.fp16 [mode=linear, coord=align_corners, round=round_prefer_floor] @x, @up, 1, 8, 16, 16, 24, 24, 0, 0
    conv_transpose.fp32 [bias, act=relu] @up, @w, @bias, @y, 1, 8, 32, 32, 4, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, 1
    activation_param.fp32 [func=hardswish] @y, @y, 16384, 0.16666667, 0.5
    activation_param.bf16 [func=clip] @y, @y, 16384, 0, 6
    copy_strided.fp32 @cat, @y, 1, 4, 64, 64, 16384, 4096, 64, 1, 32768, 4096, 64, 1
    copy_strided.int8 @cat, @x, 2, 3, 4, 5, 60, 5, 1, 20, 60, 15, 3, 1
    gemm_batched.fp32 [trans_b] @q, @k, @s, 0, 64, 64, 32, 32, 32, 64, 0.125, 8, 2048, 2048, 4096
