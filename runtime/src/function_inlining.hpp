// ONNX operators the runtime has no lowering for but that ONNX defines as a
// function of other operators (NegativeLogLikelihoodLoss,
// SoftmaxCrossEntropyLoss, ...): replaced at load by that function's nodes,
// which the compiler lowers like any others.
#pragma once

#include <cstddef>
#include <set>
#include <string>

namespace onnx {
class ModelProto;
}  // namespace onnx

namespace npu::onnx_runtime {

// Replaces each default-domain node whose operator is not in `lowerable`
// and whose schema (at the model's opset) has a function body, fixed or
// built for the node's attributes, inputs and input types (ONNX's shape
// inference on a copy of the model), by the body's nodes, its inner values
// renamed uniquely. A body whose operators have other schemas at the
// model's opset than at the function's, or that holds an operator with
// neither a lowering nor a function (Bernoulli's random draw), is not used:
// the node stays, and is refused under its own name. Repeats for operators a body brings in,
// at most a few rounds. ModelError naming the node if ONNX cannot expand it.
// Returns how many nodes were replaced.
std::size_t inline_functions(::onnx::ModelProto& model, const std::set<std::string>& lowerable);

}  // namespace npu::onnx_runtime
