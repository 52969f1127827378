// The runtime examples of docs/libnpu.md, built with the library so that
// they stay true (each block of the guide is an excerpt of this file,
// checked by the host test host.doc-examples): copies, sub-buffers, a
// launch object, a command list, events and timelines, errors and
// recovery. Runs on the first visible device; exits 0 when all went well.
#include <chrono>
#include <cstdio>
#include <vector>

#include "npu/npu.hpp"

using namespace std::chrono_literals;

namespace {

npu::Kernel fill_kernel(const npu::Device& device) {
  return device.load_kernel(npu::assemble(R"(
.kernel fill
.arg buffer dst
.arg scalar bytes int
.arg scalar pattern int
    dma_fill @dst, @bytes, @pattern
)"));
}

bool copies(const npu::Device& device, const npu::Queue& queue) {
  // Host bytes in, a device-side copy of a window, host bytes out.
  const npu::Buffer input = device.allocate(1 << 20);
  const npu::Buffer staging = device.allocate(1 << 20);
  const std::vector<std::byte> bytes(4096, std::byte{7});
  input.write(0, bytes);                                      // CPU copy at an offset
  const npu::Buffer window = staging.sub_buffer(8192, 4096);  // keeps staging alive
  const npu::JobHandle copied = queue.copy(window, input.sub_buffer(0, 4096));
  if (!copied.wait(5s).ok()) {
    return false;
  }
  std::vector<std::byte> out(4096);
  window.read(0, out);
  return out == bytes;
}

bool launches(const npu::Device& device, const npu::Queue& queue) {
  const npu::Kernel kernel = fill_kernel(device);
  std::vector<npu::Buffer> outs;
  for (int i = 0; i < 4; ++i) {
    outs.push_back(device.allocate(4096));
  }
  npu::Launch launch(kernel);
  const std::uint32_t dst = launch.index_of("dst");  // resolve once
  launch.set("bytes", 4096).set("pattern", 0x01010101);
  std::vector<npu::JobHandle> jobs;
  for (const npu::Buffer& buffer : outs) {
    launch.set(dst, buffer);  // only what changes
    jobs.push_back(queue.submit(launch));
  }
  for (const npu::JobHandle& job : jobs) {
    if (!job.wait(5s).ok()) {
      return false;
    }
  }
  return true;
}

bool command_list(const npu::Device& device, const npu::Queue& queue) {
  const npu::Kernel kernel = fill_kernel(device);
  const npu::Buffer host_in = device.allocate(256);
  const npu::Buffer in = device.allocate(256);
  const npu::Buffer out = device.allocate(256);
  const npu::Buffer host_out = device.allocate(256);
  npu::Launch step(kernel);
  step.set("dst", out).set("bytes", 256).set("pattern", 0x02020202);
  npu::CommandList inference;
  inference.copy(in, host_in).launch(step).copy(host_out, out);  // recorded once
  for (int request = 0; request < 3; ++request) {
    const npu::BatchHandle batch = queue.submit(inference);  // replayed in order
    if (const npu::JobResult result = batch.wait(5s); !result.ok()) {
      std::printf("request %d: %s\n", request, npu::to_string(result.status).data());
      return false;
    }
  }
  return true;
}

bool pipeline(const npu::Device& device, const npu::Queue& queue_a, const npu::Queue& queue_b) {
  const npu::Buffer a = device.allocate(4096);
  const npu::Buffer b = device.allocate(4096);
  npu::Event produced = device.create_event();
  static_cast<void>(queue_a.fill(a, 0x01020304, {.signal = {produced}}));
  const npu::JobHandle consumed = queue_b.copy(b, a, {.wait_for = {produced}});
  if (!device.properties().has(npu::Capability::timeline_syncobj)) {
    return consumed.wait(5s).ok();
  }
  npu::Timeline steps = device.create_timeline();
  static_cast<void>(queue_a.fill(a, 0, {.signal_points = {{steps, 1}}}));
  static_cast<void>(
      queue_b.copy(b, a, {.wait_for_points = {{steps, 1}}, .signal_points = {{steps, 2}}}));
  return consumed.wait(5s).ok() && steps.wait(2, 5s);
}

bool recovery(const npu::Device& device, npu::Queue& queue, const npu::Kernel& kernel,
              const npu::KernelArguments& args) {
  try {
    const npu::JobHandle job = queue.submit(kernel, args);
    if (const npu::JobResult result = job.wait(5s); result.status == npu::JobStatus::failed) {
      std::printf("job failed: %s at %#llx\n", npu::to_string(result.error).c_str(),
                  static_cast<unsigned long long>(result.error_address));
      queue.recover();  // a fresh hardware queue; `job` still reports its result
    }
  } catch (const std::system_error& e) {
    if (e.code() == npu::errc::queue_banned) {
      queue.recover();
    } else if (e.code() == npu::errc::out_of_device_memory) {
      std::printf("device memory full: free some and retry\n");
    } else {
      throw;
    }
  }
  return device.properties().num_queues > 0;
}

}  // namespace

int main() {
  try {
    const npu::Device device = npu::Device::open(0);
    npu::Queue queue =
        device.create_queue({.priority = npu::QueuePriority::normal, .argument_slots = 64});
    const npu::Queue other = device.create_queue();
    const npu::Kernel fill = device.load_kernel(npu::assemble(
        ".kernel fill\n.arg buffer dst\n.arg scalar bytes\n    dma_fill @dst, @bytes, 0\n"));
    const npu::Buffer buffer = device.allocate(4096);
    npu::KernelArguments args = fill.make_arguments();
    args.set("dst", buffer).set("bytes", 4096);
    const bool ok = copies(device, queue) && launches(device, queue) &&
                    command_list(device, queue) && pipeline(device, queue, other) &&
                    recovery(device, queue, fill, args);
    std::printf("%s\n", ok ? "ok" : "failed");
    return ok ? 0 : 1;
  } catch (const std::system_error& e) {
    if (e.code() == npu::errc::no_device) {
      std::printf("no knpu device: %s\n", e.what());
      return 2;
    }
    throw;
  }
}
