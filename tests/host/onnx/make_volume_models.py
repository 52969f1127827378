"""3-D convolutions (NCDHW: video and volumetric models), each one CONV2D
over the depth taps stacked into channels by one GATHER: padded in every
axis with a bias and a fused Relu, strided and dilated, grouped with a
depth padded on one side, padded unevenly in H and W or SAME; 3-D
ConvTranspose (a CONV_TRANSPOSE of the depth slices, then one product
along depth); 3-D pooling as two 2-D poolings (max padded
unevenly in depth, average with and without the padding counted,
ceil_mode); dilated pooling of 1, 2 and 3 dimensions. Written by make_test_models.py;
tests/guest/onnx_models_check.py's OP_GRAPHS runs them in
guest-onnx-models against onnxruntime."""
import numpy as np
from onnx import helper, numpy_helper


def const(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


def volume_models(out, save, tensor, rng):
    def uniform(*shape):
        return rng.uniform(-1, 1, shape).astype(np.float32)
    save(out, "conv3d",
         [helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1, 1, 1]),
          helper.make_node("Relu", ["c"], ["padded"]),
          helper.make_node("Conv", ["x", "w"], ["strided"], strides=[2, 1, 2],
                           dilations=[1, 2, 1], pads=[0, 1, 0, 0, 1, 0]),
          helper.make_node("Conv", ["x", "wg"], ["grouped"], group=2,
                           pads=[2, 0, 1, 0, 0, 1])],
         [tensor("x", [2, 2, 4, 5, 6])],
         [tensor(name, None) for name in ("padded", "strided", "grouped")],
         [const("w", uniform(3, 2, 3, 3, 3)), const("b", uniform(3)),
          const("wg", uniform(4, 1, 2, 3, 3))], opset=13)
    # H and W padded unevenly, and auto_pad SAME (TensorFlow's 3-D
    # convolutions): the difference between the sides by the padded copy.
    save(out, "conv3d_padding",
         [helper.make_node("Conv", ["x", "w"], ["uneven"], pads=[0, 1, 0, 0, 0, 2]),
          helper.make_node("Conv", ["x", "w"], ["same_upper"], auto_pad="SAME_UPPER",
                           strides=[2, 2, 2]),
          helper.make_node("Conv", ["x", "w2"], ["same_lower"], auto_pad="SAME_LOWER")],
         [tensor("x", [1, 2, 3, 5, 6])],
         [tensor(name, None) for name in ("uneven", "same_upper", "same_lower")],
         [const("w", uniform(2, 2, 2, 2, 2)), const("w2", uniform(3, 2, 3, 2, 3))], opset=13)
    # Taps that exceed the device's 64 MiB operand when stacked for every
    # output depth at once (75 MB here): the convolution runs in blocks of
    # output depths, each with its own padded copy of the depths it reads.
    save(out, "conv3d_blocks",
         [helper.make_node("Conv", ["x", "w", "b"], ["y"], pads=[4, 0, 1, 4, 0, 1])],
         [tensor("x", [1, 64, 32, 32, 32])], [tensor("y", None)],
         [const("w", uniform(4, 64, 9, 1, 2) / 16), const("b", uniform(4))], opset=13)
    # ConvTranspose of volumes: a 3-D U-Net's up-sampling (kernel 2,
    # stride 2, bias, Relu), one with pads, output_padding and a dilation,
    # one padded unevenly, and one sized by output_shape; two images.
    save(out, "conv_transpose3d",
         [helper.make_node("ConvTranspose", ["x", "w", "b"], ["up"], strides=[2, 2, 2]),
          helper.make_node("Relu", ["up"], ["upsampled"]),
          helper.make_node("ConvTranspose", ["x", "w3"], ["padded"], strides=[2, 1, 2],
                           pads=[1, 1, 1, 1, 1, 1], output_padding=[1, 0, 1],
                           dilations=[1, 2, 1]),
          helper.make_node("ConvTranspose", ["x", "w3", "b"], ["uneven"],
                           pads=[0, 2, 1, 2, 0, 1]),
          helper.make_node("ConvTranspose", ["x", "w"], ["sized"], strides=[2, 2, 2],
                           output_shape=[6, 7, 9])],
         [tensor("x", [2, 2, 3, 4, 5])],
         [tensor(name, None) for name in ("upsampled", "padded", "uneven", "sized")],
         [const("w", uniform(2, 3, 2, 2, 2)), const("b", uniform(3)),
          const("w3", uniform(2, 3, 3, 3, 3))], opset=13)
    save(out, "conv_transpose3d_grouped",
         [helper.make_node("ConvTranspose", ["x", "w"], ["y"], group=2)],
         [tensor("x", [1, 2, 2, 2, 2])], [tensor("y", None)],
         [const("w", uniform(2, 1, 2, 2, 2))], opset=13)
    # Dilated pooling (POOL2D has no dilation): taps gathered per axis,
    # then REDUCE. MaxPool from opset 10, AveragePool's dilations from 19.
    save(out, "pool_dilated",
         [helper.make_node("MaxPool", ["x"], ["max"], kernel_shape=[3, 3], dilations=[2, 2],
                           pads=[2, 1, 2, 2]),
          helper.make_node("MaxPool", ["x"], ["max_ceil"], kernel_shape=[2, 3], dilations=[2, 1],
                           strides=[2, 2], ceil_mode=1),
          helper.make_node("AveragePool", ["x"], ["average"], kernel_shape=[3, 2],
                           dilations=[2, 3], pads=[1, 1, 2, 1]),
          helper.make_node("AveragePool", ["x"], ["average_padded"], kernel_shape=[3, 3],
                           dilations=[2, 2], pads=[2, 2, 2, 2], count_include_pad=1),
          helper.make_node("Reshape", ["x", "line"], ["x1"]),
          helper.make_node("MaxPool", ["x1"], ["line_max"], kernel_shape=[3], dilations=[4],
                           strides=[2])],
         [tensor("x", [1, 2, 7, 8])],
         [tensor(name, None) for name in ("max", "max_ceil", "average", "average_padded",
                                          "line_max")],
         [const("line", np.array([1, 2, 56], np.int64))], opset=19)
    save(out, "pool3d_dilated",
         [helper.make_node("MaxPool", ["x"], ["max"], kernel_shape=[2, 2, 2],
                           dilations=[2, 2, 2]),
          helper.make_node("AveragePool", ["x"], ["average"], kernel_shape=[2, 3, 2],
                           dilations=[1, 2, 2], pads=[1, 1, 1, 0, 1, 1], strides=[1, 2, 1])],
         [tensor("x", [1, 2, 5, 6, 7])], [tensor("max", None), tensor("average", None)],
         opset=19)
    save(out, "pool3d",
         [helper.make_node("MaxPool", ["x"], ["max"], kernel_shape=[2, 3, 3],
                           strides=[2, 2, 2], pads=[1, 1, 1, 0, 1, 1]),
          helper.make_node("AveragePool", ["x"], ["average"], kernel_shape=[3, 3, 3],
                           pads=[1, 1, 1, 1, 1, 1]),
          helper.make_node("AveragePool", ["x"], ["average_padded"], kernel_shape=[3, 3, 3],
                           pads=[1, 1, 1, 1, 1, 1], count_include_pad=1),
          helper.make_node("AveragePool", ["x"], ["ceil"], kernel_shape=[2, 2, 2],
                           strides=[2, 2, 2], ceil_mode=1)],
         [tensor("x", [1, 2, 5, 6, 7])],
         [tensor(name, None) for name in ("max", "average", "average_padded", "ceil")],
         opset=13)
