// ONNX external data (make_external_data_models.py): initializers read from
// the file the model names, relative to the model's directory; every
// malformed reference refused naming the tensor. No device needed.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <filesystem>
#include <string>

#include "npu/onnx/model.hpp"
#include "onnx_import.hpp"
#include "test_model_data.hpp"

namespace {

using npu::onnx::ModelError;
using namespace npu::onnx_runtime;

std::filesystem::path model_path(const std::string& name) {
  return std::filesystem::path(KNPU_ONNX_TEST_MODELS) / (name + ".onnx");
}

TEST(OnnxExternalData, WeightsComeFromTheFileTheModelNames) {
  const Graph graph = import_graph(parse_model(model_path("external_data")), {});
  EXPECT_EQ(graph.constants.at("w").floats, npy_floats("external_data.w.npy"));
  EXPECT_EQ(graph.constants.at("w").shape, (Shape{64, 32}));
  EXPECT_EQ(graph.constants.at("b").floats, npy_floats("external_data.b.npy"));
  EXPECT_EQ(graph.shape("y"), (Shape{1, 32}));
}

TEST(OnnxExternalData, ConstantNodeValueComesFromItsFile) {
  const Graph graph = import_graph(parse_model(model_path("external_constant")), {});
  EXPECT_EQ(graph.constants.at("c").floats, npy_floats("external_data.w.npy"));
}

TEST(OnnxExternalData, ModelLoadsWithItsExternalWeights) {
  const npu::onnx::Model model = npu::onnx::Model::load(model_path("external_data"));
  EXPECT_EQ(model.inputs().at("x"), (std::vector<std::int64_t>{1, 64}));
}

TEST(OnnxExternalData, MalformedReferencesAreRefusedNamingTheTensor) {
  const std::string outside = "outside the model's directory";
  const struct {
    const char* model;
    std::string message;
  } cases[] = {
      {"ext_escape", "tensor 'w': external data location '../outside_model_dir.bin' is " + outside},
      {"ext_absolute", "tensor 'w': external data location '/"},
      {"ext_symlink_out",
       "tensor 'w': external data location 'external_data_link.bin' is " + outside},
      {"ext_missing", "tensor 'w': external data file "},
      {"ext_directory", "tensor 'w': external data file "},
      {"ext_past_end", "tensor 'w': external data at offset 7936 length 8192 is outside "},
      {"ext_offset_past_end", "tensor 'w': external data at offset 12288 length (to the end)"},
      {"ext_short", "tensor 'w' has 8188 bytes of external data for shape [64x32] (8192 bytes)"},
      {"ext_bad_offset", "tensor 'w': external data offset '12x' is not a byte count"},
      {"ext_no_location", "tensor 'w' keeps its data in an external file but names none"},
  };
  for (const auto& c : cases) {
    try {
      (void)parse_model(model_path(c.model));
      ADD_FAILURE() << c.model << " loaded";
    } catch (const ModelError& e) {
      EXPECT_NE(std::string(e.what()).find(c.message), std::string::npos)
          << c.model << ": " << e.what();
    }
  }
}

TEST(OnnxExternalData, RefusalsSayWhatIsWrongWithTheFile) {
  const auto message = [](const std::string& name) {
    try {
      (void)parse_model(model_path(name));
    } catch (const ModelError& e) {
      return std::string(e.what());
    }
    return std::string("loaded");
  };
  EXPECT_NE(message("ext_absolute").find("is outside the model's directory"), std::string::npos);
  EXPECT_NE(message("ext_missing").find("no_such_weights.bin does not exist"), std::string::npos);
  EXPECT_NE(message("ext_directory").find("external_data is not a regular file"),
            std::string::npos);
}

}  // namespace
