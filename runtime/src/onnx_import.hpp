// From an ONNX file to the runtime's graph: parse with Debian's libonnx
// (protobuf), fix the graph inputs' shapes, run ONNX's own shape inference,
// and fold constant subgraphs until every value has a static shape.
#pragma once

#include <filesystem>
#include <map>
#include <string>

#include "graph.hpp"
#include "npu/onnx/model.hpp"

namespace onnx {
class GraphProto;
class ModelProto;
class TensorProto;
}  // namespace onnx

namespace npu::onnx_runtime {

// Parses the bytes of an ONNX file and reads the external data of its
// initializers (external_data.hpp); ModelError if they are not one.
::onnx::ModelProto parse_model(const std::filesystem::path& path);

// Bytes per element of the types whose data may be raw, 0 for the others.
std::size_t raw_element_size(int type);

// The graph's inputs (not initializers) with their declared shapes; a
// dynamic dimension is -1.
std::map<std::string, Shape> declared_inputs(const ::onnx::ModelProto& model);

// The op types of the graph's nodes, in order, with their node names.
std::vector<std::pair<std::string, std::string>> node_ops(const ::onnx::ModelProto& model);

// An initializer as a Constant (ModelError for a type the runtime does not
// hold, external data, or a count that does not fit the shape), and back.
Constant from_tensor_proto(const ::onnx::TensorProto& tensor);
::onnx::TensorProto to_tensor_proto(const std::string& name, const Constant& c);

// The checks import_graph starts with, for passes that rewrite the proto
// before it (qdq.cpp): every node fits its operator's schema, Constant
// nodes become initializers, every initializer's data fits its shape
// (returns their elements in all).
void check_node_schemas(const ::onnx::ModelProto& model);
void inline_constant_nodes(::onnx::GraphProto& graph);
std::int64_t check_initializers(const ::onnx::GraphProto& g);
// The three, for a pass that rewrites the proto at Model::load (qdq.cpp,
// qoperator.cpp): the nodes' input counts and the initializers' data sizes
// can then be trusted.
void check_before_rewrite(::onnx::ModelProto& model);
// ONNX shape inference into `model`'s value_info (replacing it), through the
// guarded schemas; ModelError if it fails.
void infer_shapes(::onnx::ModelProto& model);

// The whole import: input shapes given by name (each must match the rank and
// the static dimensions of the declaration), shape inference and constant
// folding. ModelError on anything that does not resolve to static shapes.
// The large initializers are decoded once and their data dropped from
// `model` as they are, so a model given by std::move is in memory once.
Graph import_graph(::onnx::ModelProto model, const std::map<std::string, Shape>& input_shapes);
// The same, counting into `folded_nodes` the nodes constant folding
// evaluated (of the file's, and of the branches and loop bodies spliced in).
Graph import_graph(::onnx::ModelProto model, const std::map<std::string, Shape>& input_shapes,
                   std::size_t& folded_nodes);

}  // namespace npu::onnx_runtime
