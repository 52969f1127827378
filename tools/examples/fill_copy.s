; Fill `src` with a pattern, then copy it to `dst` (both `bytes` long).
; npu-asm fill_copy.s && npu-run fill_copy.knpu -b dst=4096 -b src=4096 -s bytes=4096 --dump dst
.kernel fill_copy
.arg buffer dst
.arg buffer src
.arg scalar bytes

    dma_fill @src, @bytes, 0xa5a5a5a5
    dma_copy @dst, @src, @bytes
