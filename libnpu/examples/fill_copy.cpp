// The example of docs/libnpu.md, built with the library so that it stays
// true: fill a buffer on the device, copy it into another, check the result.
#include <algorithm>
#include <chrono>
#include <cstdio>

#include "npu/npu.hpp"

using namespace std::chrono_literals;

int main() {
  const npu::Device device = npu::Device::open(0);  // the first visible device

  npu::KernelBuilder b("fill_copy");
  auto dst = b.arg_buffer("dst");
  auto src = b.arg_buffer("src");
  auto bytes = b.arg_scalar("bytes");
  b.dma_fill(src, bytes, 0xA5A5A5A5).barrier().dma_copy(dst, src, bytes);
  const npu::Kernel kernel = device.load_kernel(b.build());  // or npu::read_kernel_file(path)

  constexpr std::uint64_t kBytes = 1 << 20;
  npu::Buffer in = device.allocate(kBytes);
  npu::Buffer out = device.allocate(kBytes);
  npu::Queue queue = device.create_queue(npu::QueuePriority::normal);

  npu::KernelArguments args = kernel.make_arguments();
  args.set("dst", out).set("src", in).set("bytes", kBytes);
  const npu::JobHandle job = queue.submit(kernel, args);

  const npu::JobResult result = job.wait(5s);
  if (!result.ok()) {
    std::printf("job %s: %s at %#llx\n", npu::to_string(result.status).data(),
                npu::to_string(result.error).c_str(),
                static_cast<unsigned long long>(result.error_address));
    return 1;
  }
  const bool filled =
      std::ranges::all_of(out.map(), [](std::byte x) { return x == std::byte{0xA5}; });
  std::printf("%s\n", filled ? "ok" : "wrong bytes");
  return filled ? 0 : 1;
}
