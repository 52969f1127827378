// A graph attribute's nodes (an If's branch, a Loop's or Scan's body)
// copied into the graph that holds its node, under names unique in the
// model: how a branch is taken and a loop unrolled at compile time.
#pragma once

#include <onnx/onnx_pb.h>

#include <map>
#include <string>
#include <vector>

#include "unique_names.hpp"

namespace npu::onnx_runtime {

using Nodes = google::protobuf::RepeatedPtrField<::onnx::NodeProto>;
using Renames = std::map<std::string, std::string>;

// Every name `graph` and the graphs nested in its nodes define.
void insert_names(UniqueNames& names, const ::onnx::GraphProto& graph);

// `body`'s nodes appended to `nodes` and its initializers to `graph`, each
// value it defines under a fresh name from `names`, its inputs read as
// `bindings` maps them (body input name to a value of `graph`); reads of
// the enclosing scopes stay. Returns the names of `body`'s outputs now.
std::vector<std::string> splice_subgraph(::onnx::GraphProto& graph, ::onnx::GraphProto body,
                                         const Renames& bindings, UniqueNames& names, Nodes& nodes);

}  // namespace npu::onnx_runtime
