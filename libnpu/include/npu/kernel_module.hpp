// Kernel binary format 1.1 (docs/kernel-binary.md): modules of several
// kernels and the 1.1 metadata of KernelImage (argument info, workspace
// size, constant data, line table), with the sections an older reader may
// skip marked optional.
//
// The writer writes the oldest version that holds the content: a single
// kernel without 1.1 metadata is a 1.0 file (kFormatVersionMinor) every
// reader since 1.0 reads; anything else is a 1.1 file. The reader reads
// 1.0 and 1.1, and later 1.x files whose new sections are optional.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "npu/kernel_image.hpp"

namespace npu {

inline constexpr std::uint16_t kModuleFormatVersionMinor = 1;

// Every kernel of `module` (at least one, names unique); KernelFormatError.
std::vector<std::byte> serialize(const KernelModule& module);
KernelModule parse_kernel_module(std::span<const std::byte> file);

KernelModule read_kernel_module(const std::string& path);
void write_kernel_module(const std::string& path, const KernelModule& module);

// The kernel called `name`; KernelErrc::no_such_kernel naming those there are.
const KernelImage& find_kernel(const KernelModule& module, std::string_view name);

}  // namespace npu
