#include "host_baseline.hpp"

#include <fmt/format.h>

#include <stdexcept>

#include "json_file.hpp"

namespace npu_bench {

HostBaseline read_host_baseline(const std::filesystem::path& path) {
  return read_json_file(path, [&](const nlohmann::json& j) {
    if (!j.at("device").get<std::string>().starts_with("none")) {
      throw std::runtime_error(
          fmt::format("{}: not a native run (npu-bench --host-only)", path.string()));
    }
    HostBaseline baseline{path.string(), j.at("host_threads").get<unsigned>(), {}, {}};
    for (const nlohmann::json& t : j.at("throughput")) {
      baseline.gflops[t.at("name").get<std::string>()] = t.at("host_gflops").get<double>();
    }
    for (const nlohmann::json& c : j.value("copy", nlohmann::json::array())) {
      baseline.memcpy_gbps[{c.at("name").get<std::string>(), c.at("bytes").get<std::uint64_t>()}] =
          c.at("memcpy_gbps").get<double>();
    }
    return baseline;
  });
}

}  // namespace npu_bench
