// The nodes and constants a load-time rewrite adds to an ONNX graph
// (dynamic_quantization.cpp, grid_sample.cpp), under names that collide
// with none of the model's.
#pragma once

#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "graph.hpp"
#include "onnx_import.hpp"
#include "unique_names.hpp"

namespace npu::onnx_runtime {

// A float in [2^23, 2^24) has unit steps: adding this to a value of
// magnitude below 2^22 rounds it to an integer, half to even (the FP32
// rounding mode), and subtracting it again leaves that integer exactly.
inline constexpr float kRoundingOffset = 12582912.0F;  // 1.5 * 2^23

// `node`'s integer attribute `name`, if it has one.
inline std::optional<std::int64_t> int_attribute(const ::onnx::NodeProto& node, const char* name) {
  for (const auto& a : node.attribute()) {
    if (a.name() == name) {
      return a.i();
    }
  }
  return std::nullopt;
}

class ProtoBuilder {
 public:
  using Nodes = ::google::protobuf::RepeatedPtrField<::onnx::NodeProto>;

  // Names are taken from `graph`'s values and node names; initializers go
  // into `graph`, nodes into the list given to emit_into().
  explicit ProtoBuilder(::onnx::GraphProto& graph) : graph_(graph), names_(graph) {
    for (const auto& node : graph.node()) {
      names_.insert(node.name());
    }
  }

  void emit_into(Nodes& nodes) { out_ = &nodes; }

  std::string fresh(const std::string& base) { return names_.fresh(base); }

  ::onnx::NodeProto& emit(const std::string& op, const std::vector<std::string>& inputs,
                          const std::vector<std::string>& outputs) {
    ::onnx::NodeProto& made = *out_->Add();
    made.set_op_type(op);
    made.set_name(names_.fresh(fmt::format("{}/{}", outputs.front(), op)));
    for (const std::string& input : inputs) {
      made.add_input(input);
    }
    for (const std::string& output : outputs) {
      made.add_output(output);
    }
    return made;
  }

  // `op` of `inputs` into a new value named after `base`.
  std::string step(const std::string& op, const std::vector<std::string>& inputs,
                   const std::string& base) {
    const std::string out = names_.fresh(base);
    emit(op, inputs, {out});
    return out;
  }

  static void set_int(::onnx::NodeProto& node, const char* name, std::int64_t value) {
    ::onnx::AttributeProto& a = *node.add_attribute();
    a.set_name(name);
    a.set_type(::onnx::AttributeProto::INT);
    a.set_i(value);
  }

  std::string initializer(const std::string& base, const Constant& value) {
    const std::string name = names_.fresh(base);
    *graph_.add_initializer() = to_tensor_proto(name, value);
    return name;
  }

  std::string scalar(const std::string& base, float value) {
    return initializer(base, Constant::of_floats({}, {value}));
  }

  std::string integers(const std::string& base, const std::vector<std::int64_t>& values) {
    return initializer(base, Constant::of_ints({static_cast<std::int64_t>(values.size())}, values));
  }

 private:
  ::onnx::GraphProto& graph_;
  UniqueNames names_;
  Nodes* out_ = nullptr;
};

}  // namespace npu::onnx_runtime
