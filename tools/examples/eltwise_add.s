; out = a + b over `count` float32 elements, tensors from and to .npy files:
; npu-asm eltwise_add.s -o eltwise_add.knpu
; npu-run eltwise_add.knpu -i a=a.npy -i b=b.npy -s count=8 -o out=out.npy:fp32:8
.kernel eltwise_add
.arg buffer a
.arg buffer b
.arg buffer out
.arg scalar count

    eltwise.fp32 [op=add] @a, @b, @out, @count, @count
