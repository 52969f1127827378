// Buffers as hex and ASCII, 16 bytes a line; runs of identical lines are
// shown once followed by "*", as hexdump -C does.
#pragma once

#include <cstddef>
#include <cstdio>
#include <span>

namespace npu_run {

void hexdump(std::FILE* out, std::span<const std::byte> bytes);

}  // namespace npu_run
