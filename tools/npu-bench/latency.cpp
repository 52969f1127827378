#include "latency.hpp"

#include <unistd.h>
#include <xf86drm.h>

#include <array>
#include <chrono>
#include <stdexcept>
#include <system_error>
#include <thread>

#include "drm/knpu_accel.h"
#include "npu/npu.hpp"

namespace npu_bench {
namespace {

constexpr std::size_t kWarmup = 10;

class Pipe {
 public:
  Pipe() {
    if (::pipe(fds_.data()) != 0) {
      throw std::system_error(errno, std::generic_category(), "pipe");
    }
  }
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;
  ~Pipe() {
    ::close(fds_[0]);
    ::close(fds_[1]);
  }
  void send() const {
    const char byte = 0;
    if (::write(fds_[1], &byte, 1) != 1) {
      throw std::system_error(errno, std::generic_category(), "write");
    }
  }
  // False at end of file (the writer is closed).
  bool receive() const {
    char byte = 0;
    return ::read(fds_[0], &byte, 1) == 1;
  }
  void close_writer() {
    ::close(fds_[1]);
    fds_[1] = -1;
  }

 private:
  std::array<int, 2> fds_{-1, -1};
};

}  // namespace

LatencyStats measure_empty_job(const npu::Device& device, std::size_t samples) {
  npu::KernelBuilder builder("empty");
  builder.nop();
  const npu::Kernel kernel = device.load_kernel(builder.build());
  const npu::KernelArguments args = kernel.make_arguments();
  npu::Queue queue = device.create_queue();
  const auto once = [&] {
    const npu::JobResult result = queue.submit(kernel, args).wait(std::chrono::seconds(10));
    if (!result.ok()) {
      throw std::runtime_error("empty job: " + npu::to_string(result.error));
    }
  };
  time_each(kWarmup, once);
  return summarize(time_each(samples, once));
}

LatencyStats measure_null_ioctl(const npu::Device& device, std::size_t samples) {
  const int fd = device.native_handle();
  const auto once = [fd] {
    drm_knpu_get_param param{};
    param.param = KNPU_PARAM_NUM_CORES;
    if (drmIoctl(fd, DRM_IOCTL_KNPU_GET_PARAM, &param) != 0) {
      throw std::system_error(errno, std::generic_category(), "DRM_IOCTL_KNPU_GET_PARAM");
    }
  };
  time_each(kWarmup, once);
  return summarize(time_each(samples, once));
}

LatencyStats measure_ping_pong(std::size_t samples) {
  Pipe ping;
  Pipe pong;
  std::thread echo([&] {
    while (ping.receive()) {
      pong.send();
    }
  });
  const auto once = [&] {
    ping.send();
    pong.receive();
  };
  time_each(kWarmup, once);
  const LatencyStats stats = summarize(time_each(samples, once));
  ping.close_writer();
  echo.join();
  return stats;
}

}  // namespace npu_bench
