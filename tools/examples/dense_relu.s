.kernel dense_relu
.arg buffer x
.arg buffer w
.arg buffer bias
.arg buffer y
.arg scalar batch

    gemm.fp32 [bias, act=relu] @x, @w, @y, @bias, @batch, 64, 128, 128, 64, 64, 1, 0
    softmax.fp32 @y, @y, @batch, 64
