// Loop and Scan whose iterations are known when compiling (a constant trip
// count; a scan over a static axis), unrolled into the graph: the device
// runs one program, so a loop of known length is its body that many times.
#pragma once

#include <cstddef>

namespace onnx {
class ModelProto;
}  // namespace onnx

namespace npu::onnx_runtime {

// Replaces, in `model`'s main graph (its shapes inferred):
// - each Loop whose trip count is a constant and whose condition is absent
//   or a constant true and stays true (the body's cond_out its cond_in, or
//   a constant true) by its body once per iteration: iteration_num a
//   constant, the loop-carried values threaded through, each scan output
//   the iterations' values stacked along a new first axis;
// - each Scan (opsets 8 to 21) whose scan inputs have static shapes by its
//   body once per step: each scan input's element a Gather along its axis
//   (scan_input_axes, scan_input_directions), the states threaded through,
//   each scan output stacked along its axis (scan_output_axes, reversed by
//   scan_output_directions); opset 8's batch axis by one unrolling per
//   batch element, stacked.
// A Loop or Scan known only at run time stays (the lowering refuses it by
// name). ModelError naming the node for one that does not fit its body,
// whose unrolling would grow the graph past 65,536 nodes (nested loops
// included), or would stack zero iterations. Returns how many were unrolled; one a body brings in
// is unrolled on a later call.
std::size_t unroll_static_loops(::onnx::ModelProto& model);

}  // namespace npu::onnx_runtime
