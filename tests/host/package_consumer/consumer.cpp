// Links libnpu as an outside program would; prints a kernel's size.
#include <cstdio>
#include <npu/npu.hpp>

int main() {
  const npu::KernelImage image = npu::assemble(".kernel k\n.arg buffer d\n    dma_fill @d, 4, 0\n");
  std::printf("%zu\n", npu::serialize(image).size());
  return 0;
}
