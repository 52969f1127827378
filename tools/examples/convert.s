; Instruction set v1.2 (docs/hw-spec.md 7.4.2): the conversions of an INT8
; layer. Quantize an FP32 activation (1x16x8x8) by 1/scale, run an INT8
; 1x1 convolution that keeps its INT32 accumulators, and scale those per
; output channel (16 channels of 8x8) back to FP32; then dequantize an
; INT8 tensor to BF16 and requantize INT32 accumulators to INT8.
.kernel convert
.arg buffer x
.arg buffer q
.arg buffer w
.arg buffer acc
.arg buffer scales
.arg buffer y
.arg buffer h

    convert.fp32 [to=int8] @x, @q, 1024, 0, 0, 25.4
    conv2d.int8 [out_int32] @q, @w, 0, @acc, 1, 16, 8, 8, 16, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0
    convert.int32 [to=fp32, per_channel] @acc, @y, 1024, 16, 64, @scales
    convert.int8 [to=bf16] @q, @h, 1024, 0, 0, 0.0393
    convert.int32 [to=int8] @acc, @q, 1024, 0, 0, 0.002
