// ONNX shape inference that a hostile model cannot crash.
#pragma once

#include <onnx/defs/schema.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>

namespace npu::onnx_runtime {

// ONNX's schemas, with the shape inference of the operators whose functions
// in Debian's libonnx 1.12 read out of bounds when a model's ranks or
// attribute lengths disagree (onnx/onnx#6180 and #6185,
// microsoft/onnxruntime#28731: a Conv weight of another rank than its input,
// a Gemm of vectors) wrapped by the checks they lack. Such a model then gets
// an inference error, not a crash of the process. MaxUnpool's takes its
// shape from a constant output_shape input (libonnx gives only the rank).
// Pass it to
// ::onnx::shape_inference::InferShapes. Operators newer than the library
// that the runtime lowers come from newer_schemas.hpp.
class GuardedSchemaRegistry final : public ::onnx::ISchemaRegistry {
 public:
  const ::onnx::OpSchema* GetSchema(const std::string& key, int max_inclusive_version,
                                    const std::string& domain) const override;

 private:
  using Key = std::tuple<std::string, int, std::string>;
  mutable std::mutex mutex_;
  mutable std::map<Key, std::unique_ptr<::onnx::OpSchema>> guarded_;
};

// The one registry the importer checks nodes against and infers shapes
// with (ONNX's schemas, the guarded ones, and newer_schemas.hpp's).
const GuardedSchemaRegistry& guarded_schemas();

}  // namespace npu::onnx_runtime
