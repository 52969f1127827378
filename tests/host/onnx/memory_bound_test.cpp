// The host memory a model takes while it is compiled: memory_bound.onnx
// (make_external_data_models.py, 192 MiB of float32 weights inline) from the
// file to a weight buffer in host memory, the path Model::compile takes on
// the model's last use (npu-infer). The weights must be on the host about
// once: the protobuf's copy is dropped as each tensor is decoded, the
// graph's values move into the program and are freed as they are written.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

#include "fusion.hpp"
#include "lowering.hpp"
#include "onnx_import.hpp"
#include "test_model_data.hpp"
#include "weight_upload.hpp"

namespace {

using namespace npu::onnx_runtime;

constexpr std::uint64_t kMiB = std::uint64_t{1} << 20;

std::uint64_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::uint64_t size = 0;
  std::uint64_t resident = 0;
  statm >> size >> resident;
  return resident * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
}

std::uint64_t peak_resident_bytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<std::uint64_t>(usage.ru_maxrss) * 1024;
}

TEST(OnnxMemory, CompilingHoldsTheWeightsOnceOnTheHost) {
  const std::filesystem::path path =
      std::filesystem::path(KNPU_ONNX_TEST_MODELS) / "memory_bound.onnx";
  const std::uint64_t weights = std::filesystem::file_size(path);
  const std::uint64_t before = resident_bytes();
  if (peak_resident_bytes() > before + 64 * kMiB) {
    GTEST_SKIP() << "the process peaked before this test: run it on its own (as CTest does)";
  }

  Graph graph = import_graph(parse_model(path), {});
  run_fusion_passes(graph, every_opcode());
  Program program = lower(std::move(graph));
  const WeightLayout layout = layout_weights(program.weights, npu::isa::DataType::fp32);
  // Like a fresh buffer: no page is resident until it is written.
  const auto buffer = std::make_unique_for_overwrite<std::byte[]>(layout.bytes);
  upload_weights(program.weights, layout.offsets, npu::isa::DataType::fp32,
                 {buffer.get(), layout.bytes});
  const std::uint64_t peak = peak_resident_bytes() - before;

  // The weights once (the buffer), one slice and one tensor in flight, and
  // the bookkeeping: a second copy of the weights would be 192 MiB more.
  EXPECT_LT(peak, weights + weights / 4 + 16 * kMiB)
      << "peak " << peak / kMiB << " MiB over the " << weights / kMiB << " MiB file";
  EXPECT_GE(layout.bytes, weights - kMiB);
  for (const auto& [name, constant] : program.weights) {
    EXPECT_TRUE(constant.floats.empty()) << name << " still on the host after its upload";
  }
  // The first values of w0, and those across the first slice's end.
  const auto uploaded = [&](std::size_t first, std::size_t count) {
    std::vector<float> values(count);
    std::memcpy(values.data(), buffer.get() + layout.offsets.at("w0") + first * sizeof(float),
                count * sizeof(float));
    return values;
  };
  EXPECT_EQ(uploaded(0, 16), npy_floats("memory_bound.w0_head.npy"));
  EXPECT_EQ(uploaded(kUploadSliceElements - 8, 16), npy_floats("memory_bound.w0_slice_edge.npy"));
  std::cout << "peak resident memory over the start: " << peak / kMiB << " MiB for "
            << weights / kMiB << " MiB of weights\n";
}

}  // namespace
