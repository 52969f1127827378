"""Resizes the RESIZE instruction does not compute, each lowered to one
product per resized axis by a constant interpolation matrix: cubic
(Keys' a, exclude_outside), tf_crop_and_resize with its extrapolation,
1-D (F.interpolate on [N, C, L]) and 3-D (trilinear on [N, C, D, H, W])
tensors, the channel axis, Upsample of a 3-D tensor. Written by
make_test_models.py; tests/guest/onnx_models_check.py's OP_GRAPHS runs
them in guest-onnx-models against onnxruntime."""
import numpy as np
from onnx import helper, numpy_helper


def const(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


def resize(x, out, mode, scales=None, sizes=None, roi="", **attributes):
    inputs = [x, roi, f"{out}_scales" if scales is not None else ""]
    if sizes is not None:
        inputs.append(f"{out}_sizes")
    inits = []
    if scales is not None:
        inits.append(const(f"{out}_scales", np.array(scales, np.float32)))
    if sizes is not None:
        inits.append(const(f"{out}_sizes", np.array(sizes, np.int64)))
    return helper.make_node("Resize", inputs, [out], mode=mode, **attributes), inits


def resize_models(out, save, tensor):
    cases = [
        resize("x", "cubic_up", "cubic", scales=[1, 1, 2, 1.5]),
        resize("x", "cubic_down", "cubic", sizes=[1, 2, 3, 4], cubic_coeff_a=-0.5,
               exclude_outside=1, coordinate_transformation_mode="align_corners"),
        resize("x", "cubic_asymmetric", "cubic", scales=[1, 1, 0.8, 2],
               coordinate_transformation_mode="asymmetric"),
        resize("x", "crop", "linear", sizes=[1, 2, 4, 7], roi="roi",
               coordinate_transformation_mode="tf_crop_and_resize", extrapolation_value=10.0),
        resize("x", "crop_nearest", "nearest", sizes=[1, 2, 3, 3], roi="roi",
               coordinate_transformation_mode="tf_crop_and_resize"),
        resize("x", "channels", "nearest", sizes=[1, 4, 5, 6]),
        resize("line", "line_linear", "linear", scales=[1, 1, 2.5]),
        resize("line", "line_nearest", "nearest", sizes=[2, 3, 4],
               coordinate_transformation_mode="asymmetric", nearest_mode="floor"),
        resize("volume", "trilinear", "linear", sizes=[1, 2, 6, 5, 8],
               coordinate_transformation_mode="pytorch_half_pixel"),
    ]
    # One input, as guest-onnx-models feeds the op graphs: the 1-D and 3-D
    # tensors are x reshaped.
    nodes = [helper.make_node("Reshape", ["x", "line_shape"], ["line"]),
             helper.make_node("Reshape", ["x", "volume_shape"], ["volume"])]
    nodes += [node for node, _ in cases]
    inits = [init for _, extra in cases for init in extra]
    inits += [const("line_shape", np.array([2, 3, 10], np.int64)),
              const("volume_shape", np.array([1, 2, 3, 2, 5], np.int64))]
    # y0 x0 then y1 x1 of each axis, normalised: part of the crop lies
    # outside the image (extrapolated).
    inits.append(const("roi", np.array([0, 0, 0.1, -0.2, 1, 1, 0.9, 1.3], np.float32)))
    save(out, "resize_general", nodes,
         [tensor("x", [1, 2, 5, 6])],
         [tensor(node.output[0], None) for node, _ in cases], inits, opset=13)
    save(out, "upsample_line",
         [helper.make_node("Upsample", ["x", "scales"], ["y"], mode="linear")],
         [tensor("x", [2, 3, 7])], [tensor("y", None)],
         [const("scales", np.array([1, 1, 2], np.float32))], opset=9)
