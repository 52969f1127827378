// ONNX external data: initializers whose bytes live in another file
// (TensorProto.data_location EXTERNAL, with `location`, `offset` and
// `length` entries), as onnx.save(..., save_as_external_data=True) writes
// them and as every model over protobuf's 2 GB limit must be saved.
#pragma once

#include <filesystem>

namespace onnx {
class ModelProto;
}  // namespace onnx

namespace npu::onnx_runtime {

// Reads the external data of every initializer and node tensor attribute
// (a Constant's value) of `model` (loaded from
// `model_path`) into the tensor itself, as if it had been stored inline.
// The location is relative to the model's directory and must stay inside
// it; the file must hold the range, and the range must be exactly the
// bytes the tensor's shape needs. ModelError naming the tensor otherwise.
// The file is read in bounded chunks straight into the tensor's storage.
void load_external_data(::onnx::ModelProto& model, const std::filesystem::path& model_path);

}  // namespace npu::onnx_runtime
