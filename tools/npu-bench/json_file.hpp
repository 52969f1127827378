// The baseline files npu-bench reads (ort-bench.js's, a --host-only run's):
// JSON of schema 1, every error a std::runtime_error naming the file.
#pragma once

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace npu_bench {

// `read(json)` of the file at `path`; what it throws from nlohmann::json
// (a missing key, a wrong type) comes back naming the file.
template <class F>
auto read_json_file(const std::filesystem::path& path, F&& read) {
  std::ifstream in(path);
  if (!in) {
    throw std::runtime_error(path.string() + ": cannot read");
  }
  try {
    const nlohmann::json j = nlohmann::json::parse(in);
    if (j.at("schema").get<int>() != 1) {
      throw std::runtime_error(fmt::format("{}: unknown schema", path.string()));
    }
    return read(j);
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(fmt::format("{}: {}", path.string(), e.what()));
  }
}

}  // namespace npu_bench
