// GridSample (spatial transformer networks, optical flow warps, deformable
// attention): rewritten at load into the gathers and arithmetic the
// compiler lowers.
#pragma once

#include <cstddef>

namespace onnx {
class ModelProto;
}  // namespace onnx

namespace npu::onnx_runtime {

// Each GridSample of a 4-D input X [N, C, H, W] by a grid [N, Ho, Wo, 2]
// becomes onnxruntime's computation in ONNX operators: the grid's x and y
// unnormalized to pixel coordinates (align_corners 0: ((g + 1) * W - 1) / 2,
// 1: (g + 1) / 2 * (W - 1)); nearest rounds them half to even and reads one
// pixel, bilinear reads the four around them, bicubic the 4 x 4 from
// (floor - 1), each with onnxruntime's weights (cubic: A = -0.75), as
// GatherElements over X's flattened planes. Padding applies to each pixel
// read, as onnxruntime's PixelAtGrid: zeros reads 0 outside the image,
// border clamps the pixel into it, reflection folds it back into
// [lo, hi] (GsReflect; [0, size - 1] with align_corners, else
// [-0.5, size - 0.5]). ModelError naming the node for a mode or
// padding_mode ONNX does not define; a grid of other than pairs fails its
// Reshape into pairs when the model is compiled. Returns how many nodes were rewritten.
std::size_t decompose_grid_sample(::onnx::ModelProto& model);

}  // namespace npu::onnx_runtime
