// npu-asm: assemble KNPU kernels (text -> kernel binary) and, with -d,
// disassemble them (kernel binary -> the same text). See
// docs/kernel-binary.md for both formats.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "npu/assembly.hpp"
#include "npu/kernel_image.hpp"

namespace {

constexpr int kExitFailure = 1;

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    throw std::system_error(errno, std::generic_category(), "cannot open " + path);
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_text(const std::string& path, const std::string& text) {
  if (path.empty() || path == "-") {
    std::cout << text;
    return;
  }
  std::ofstream out(path, std::ios::trunc);
  out << text;
  out.close();
  if (!out) {
    throw std::system_error(errno, std::generic_category(), "cannot write " + path);
  }
}

int assemble_file(const std::string& input, std::string output, bool line_table) {
  if (output.empty()) {
    output = std::filesystem::path(input).replace_extension(".knpu").string();
  }
  try {
    const npu::KernelImage image = npu::assemble(
        read_text(input), {.line_table = line_table,
                           .source_name = std::filesystem::path(input).filename().string()});
    if (output == "-") {
      const std::vector<std::byte> bytes = npu::serialize(image);
      std::cout.write(reinterpret_cast<const char*>(bytes.data()),
                      static_cast<std::streamsize>(bytes.size()));
      std::cout.flush();
      return std::cout ? 0 : kExitFailure;
    }
    npu::write_kernel_file(output, image);
  } catch (const npu::AssemblyError& e) {
    fmt::print(stderr, "{}:{}:{}: error: {}\n", input, e.line(), e.column(), e.reason());
    return kExitFailure;
  }
  return 0;
}

int disassemble_file(const std::string& input, const std::string& output) {
  try {
    write_text(output, npu::disassemble(npu::read_kernel_file(input)));
  } catch (const npu::KernelFormatError& e) {
    fmt::print(stderr, "{}: error: {}\n", input, e.what());
    return kExitFailure;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Assemble KNPU kernels into kernel binaries, or disassemble them (-d)."};
  app.footer("Syntax and file format: docs/kernel-binary.md. Exit status: 0 ok, 1 an error.");
  std::string input;
  std::string output;
  bool disassemble = false;
  bool line_table = false;
  app.add_option("input", input, "assembly text, or a kernel binary with -d")->required();
  app.add_option("-o,--output", output,
                 "output file, - for stdout (default: INPUT with .knpu when assembling, stdout "
                 "with -d)");
  app.add_flag("-d,--disassemble", disassemble, "kernel binary to assembly text");
  app.add_flag("-g,--line-table", line_table,
               "record each instruction's source line (a format 1.1 debug line table), so a "
               "failing job names its line");
  CLI11_PARSE(app, argc, argv);
  try {
    return disassemble ? disassemble_file(input, output) : assemble_file(input, output, line_table);
  } catch (const std::exception& e) {
    fmt::print(stderr, "npu-asm: {}\n", e.what());
    return kExitFailure;
  }
}
