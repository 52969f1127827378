// The native figures of an `npu-bench --host-only` run (its --json-file),
// read by a run in the guest so that the device is compared with the host's
// own speed, not with oneDNN on the guest's emulated vCPUs.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <utility>

namespace npu_bench {

struct HostBaseline {
  std::string file;
  unsigned threads = 0;
  std::map<std::string, double> gflops;  // throughput figure name -> GFLOP/s
  // (copy figure name, bytes) -> memcpy GB/s
  std::map<std::pair<std::string, std::uint64_t>, double> memcpy_gbps;
};

// std::runtime_error naming the file and what is wrong with it, also when
// it is not a --host-only run.
HostBaseline read_host_baseline(const std::filesystem::path& path);

}  // namespace npu_bench
