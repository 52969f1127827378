// An If whose condition is a constant once folded (a test of a static
// shape or rank, as scripted PyTorch and tf.cond exports hold) is the
// branch it takes.
#pragma once

#include <cstddef>

namespace onnx {
class GraphProto;
}  // namespace onnx

namespace npu::onnx_runtime {

// Replaces each If of `graph` whose condition is an initializer by the
// nodes and initializers of the branch it takes, their names made unique
// in the model, and one Identity per If output from the branch's output.
// ModelError for a condition that is not one element or a branch that
// does not fit the If. Returns how many Ifs were replaced; an If the
// branch brings in is replaced on a later call.
std::size_t inline_constant_ifs(::onnx::GraphProto& graph);

}  // namespace npu::onnx_runtime
