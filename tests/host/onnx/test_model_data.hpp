// The .npy files make_test_models.py and make_qdq_models.py write beside
// the generated graphs (KNPU_ONNX_TEST_MODELS), read as float32; and the
// check that malformed graphs are refused at load.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "npu/onnx/model.hpp"
#include "npy.hpp"

namespace npu::onnx_runtime {

inline std::vector<float> npy_floats(const std::string& name) {
  const npu_tools::NpyArray array =
      npu_tools::read_npy_file(std::filesystem::path(KNPU_ONNX_TEST_MODELS) / name);
  std::vector<float> values(array.data.size() / sizeof(float));
  std::memcpy(values.data(), array.data.data(), array.data.size());
  return values;
}

// Each model (by name) must be refused by Model::load with a ModelError
// whose message holds every one of its parts.
inline void expect_refused_at_load(
    const std::map<std::string, std::vector<std::string>>& expected) {
  for (const auto& [name, parts] : expected) {
    try {
      npu::onnx::Model::load(std::filesystem::path(KNPU_ONNX_TEST_MODELS) / (name + ".onnx"));
      ADD_FAILURE() << name << " loaded";
    } catch (const npu::onnx::ModelError& e) {
      for (const std::string& part : parts) {
        EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << name << ": " << e.what();
      }
    }
  }
}

}  // namespace npu::onnx_runtime
