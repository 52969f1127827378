// The .npy files make_test_models.py and make_qdq_models.py write beside
// the generated graphs (KNPU_ONNX_TEST_MODELS), read as float32.
#pragma once

#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "npy.hpp"

namespace npu::onnx_runtime {

inline std::vector<float> npy_floats(const std::string& name) {
  const npu_tools::NpyArray array =
      npu_tools::read_npy_file(std::filesystem::path(KNPU_ONNX_TEST_MODELS) / name);
  std::vector<float> values(array.data.size() / sizeof(float));
  std::memcpy(values.data(), array.data.data(), array.data.size());
  return values;
}

}  // namespace npu::onnx_runtime
