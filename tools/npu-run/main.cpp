// npu-run: run kernels on KNPU devices.
//   npu-run validate                 health check of every visible device
//   npu-run KERNEL.knpu [options]    run one kernel binary once, tensors from
//                                    and to .npy or raw files
#include <fmt/format.h>

#include <CLI/CLI.hpp>

#include "launch_options.hpp"
#include "run_kernel.hpp"
#include "validate.hpp"

namespace {

constexpr int kExitError = 2;

template <class Spec>
std::vector<Spec> parse_all(const std::vector<std::string>& texts,
                            Spec (*parse)(std::string_view)) {
  std::vector<Spec> specs;
  for (const std::string& text : texts) {
    specs.push_back(parse(text));
  }
  return specs;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Run kernels on KNPU devices."};
  app.footer(
      "Exit status: 0 the job (or every device's validation) succeeded; 1 it failed, was canceled "
      "or timed out; 2 a usage, kernel or device error before anything ran.");
  app.require_subcommand(0, 1);

  npu_run::ValidateOptions validate_options;
  CLI::App* validate = app.add_subcommand(
      "validate", "Check every visible device: properties, a DMA fill + copy job, latency");
  validate->add_option("--bytes", validate_options.bytes, "size of the fill + copy")
      ->check(CLI::Range(std::uint64_t{4}, std::uint64_t{1} << 30));
  validate->add_option("--samples", validate_options.latency_samples, "empty jobs timed")
      ->check(CLI::Range(1, 100000));

  npu_run::RunOptions run_options;
  std::vector<std::string> buffers;
  std::vector<std::string> scalars;
  std::vector<std::string> fills;
  std::vector<std::string> inputs;
  std::vector<std::string> outputs;
  long long timeout_ms = run_options.timeout.count();
  app.add_option("kernel", run_options.kernel_path, "kernel binary to run (see npu-asm)");
  app.add_option("-D,--device", run_options.device_index, "visible device index");
  app.add_option("-b,--buffer", buffers, "NAME=SIZE[@host|@device]: a zeroed buffer argument");
  app.add_option("-s,--scalar", scalars, "NAME=VALUE: a scalar argument");
  app.add_option("--fill", fills, "NAME=BYTE: fill a buffer before the job");
  app.add_option("-i,--input", inputs,
                 "NAME=FILE[@host|@device]: a buffer holding a .npy tensor's data, or a raw "
                 "file's bytes");
  app.add_option("-o,--output", outputs,
                 "NAME=FILE.npy[:TYPE:SHAPE] or NAME=FILE[:BYTES]: write a buffer after the job "
                 "(TYPE fp32|fp16|int8|uint8|int32, SHAPE like 4x64; without them the .npy "
                 "input of the same name gives them)");
  app.add_option("--dump", run_options.dumps, "NAME: print a buffer after the job");
  app.add_option("--timeout-ms", timeout_ms, "how long to wait for the job");

  CLI11_PARSE(app, argc, argv);
  try {
    if (validate->parsed()) {
      return npu_run::validate_devices(validate_options);
    }
    if (run_options.kernel_path.empty()) {
      fmt::print(stderr, "{}", app.help());
      return kExitError;
    }
    run_options.buffers = parse_all(buffers, &npu_run::parse_buffer_spec);
    run_options.scalars = parse_all(scalars, &npu_run::parse_scalar_spec);
    run_options.fills = parse_all(fills, &npu_run::parse_fill_spec);
    run_options.inputs = parse_all(inputs, &npu_run::parse_input_spec);
    run_options.outputs = parse_all(outputs, &npu_run::parse_output_spec);
    run_options.timeout = std::chrono::milliseconds(timeout_ms);
    return npu_run::run_kernel(run_options);
  } catch (const std::exception& e) {
    fmt::print(stderr, "npu-run: {}\n", e.what());
    return kExitError;
  }
}
