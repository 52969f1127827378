; Instruction set v1.5 (docs/hw-spec.md 7.4.5): a MobileNetV3 block's
; convolutions with their hard activations fused. A 3x3 depthwise CONV2D
; with bias and hard-swish, a 1x1 CONV2D with bias and ReLU6, and a GEMM
; (the squeeze-excitation's second product) with hard-sigmoid.
.kernel hard_act
.arg buffer x
.arg buffer dw
.arg buffer dw_bias
.arg buffer mid
.arg buffer pw
.arg buffer pw_bias
.arg buffer y
.arg buffer se
.arg buffer se_w
.arg buffer gate

    conv2d.fp32 [bias, act=hardswish] @x, @dw, @dw_bias, @mid, 1, 16, 56, 56, 16, 3, 3, 1, 1, 1, 1, 1, 1, 16, 1, 0
    conv2d.fp32 [bias, act=relu6] @mid, @pw, @pw_bias, @y, 1, 16, 56, 56, 24, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0
    gemm.fp32 [act=hardsigmoid] @se, @se_w, @gate, 0, 1, 24, 8, 8, 24, 24, 1, 0
