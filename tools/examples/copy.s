; Copy `bytes` bytes from `src` to `dst`: any tensor through the device.
; npu-asm copy.s -o copy.knpu
; npu-run copy.knpu -i src=x.npy -s bytes=32 -o dst=y.npy:fp32:8
.kernel copy
.arg buffer dst
.arg buffer src
.arg scalar bytes

    dma_copy @dst, @src, @bytes
