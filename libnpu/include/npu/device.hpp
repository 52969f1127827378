// Finding and opening KNPU devices.
//
//   for (const npu::DeviceInfo& info : npu::enumerate_devices()) { ... }
//   npu::Device device = npu::Device::open(0);
//   npu::Buffer buffer = device.allocate(4096);
//   npu::Queue queue = device.create_queue();
//
// Enumeration goes through libudev (subsystem "accel", parent PCI device,
// bound to the knpu driver), ordered by PCI address. KNPU_VISIBLE_DEVICES,
// when set, restricts and reorders it: a comma-separated list of indices
// into that order or PCI addresses ("0000:00:04.0" or "00:04.0"), like
// CUDA_VISIBLE_DEVICES; an empty value hides every device, an entry that
// names no device is an error (errc::invalid_argument).
#pragma once

#include <bitset>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "npu/buffer.hpp"
#include "npu/event.hpp"
#include "npu/isa.hpp"
#include "npu/job_trace.hpp"
#include "npu/kernel.hpp"
#include "npu/queue.hpp"
#include "npu/timeline.hpp"

namespace npu {

inline constexpr std::string_view kVisibleDevicesVariable = "KNPU_VISIBLE_DEVICES";

// DRM_IOCTL_VERSION of the device node.
struct DriverVersion {
  std::string name;
  int major = 0;
  int minor = 0;
  int patch = 0;
  std::string date;
  std::string description;

  [[nodiscard]] std::string to_string() const;  // "knpu 1.0.0"
};

struct DeviceInfo {
  std::size_t index = 0;           // position among the visible devices
  std::size_t physical_index = 0;  // position among all knpu devices
  std::string pci_address;         // "0000:00:04.0"
  std::string device_node;         // "/dev/accel/accel0"
  std::string sysfs_path;
  std::uint16_t vendor_id = 0;
  std::uint16_t device_id = 0;
  std::string driver;  // the PCI device's driver
  std::optional<DriverVersion> driver_version;
  std::string open_error;  // why the node could not be opened, if it could not
};

// The visible knpu devices.
std::vector<DeviceInfo> enumerate_devices();

// Applies a KNPU_VISIBLE_DEVICES value to the devices of the system (in
// physical order); sets `index`. Throws std::system_error(invalid_argument).
std::vector<DeviceInfo> select_visible_devices(std::vector<DeviceInfo> all, std::string_view spec);

// Driver capabilities (KNPU_CAP_*).
enum class Capability : std::uint64_t {
  device_memory = 1ULL << 0,
  userptr = 1ULL << 1,
  dma_buf = 1ULL << 2,
  sync_file = 1ULL << 3,
  timeline_syncobj = 1ULL << 4,
  job_timestamps = 1ULL << 5,  // JobResult::device_times
  submit_batch = 1ULL << 6,    // many jobs per ioctl (Queue::submit(CommandList))
};

// The device's parameters (DRM_IOCTL_KNPU_GET_PARAM), read once at open.
struct DeviceProperties {
  std::uint32_t uapi_version = 0;  // major << 16 | minor
  std::uint32_t device_id = 0;
  std::uint32_t revision = 0;
  std::uint32_t hw_version = 0;  // major << 16 | minor
  std::uint32_t fw_version = 0;  // major << 24 | minor << 16 | patch
  std::uint32_t num_cores = 0;
  std::uint32_t num_queues = 0;
  std::uint64_t sram_size = 0;    // per core
  std::uint64_t devmem_size = 0;  // on-board memory
  std::uint64_t va_start = 0;
  std::uint64_t va_size = 0;
  std::bitset<64> ops;     // bit n: opcode n executes
  std::bitset<64> dtypes;  // bit n: data type n supported
  std::uint64_t capabilities = 0;
  std::uint64_t serial = 0;

  [[nodiscard]] bool supports(isa::Opcode opcode) const {
    return ops.test(static_cast<std::size_t>(opcode));
  }
  [[nodiscard]] bool supports(isa::DataType dtype) const {
    return dtypes.test(static_cast<std::size_t>(dtype));
  }
  [[nodiscard]] bool has(Capability capability) const {
    return (capabilities & static_cast<std::uint64_t>(capability)) != 0;
  }
};

// Throws KernelFormatError(KernelErrc::unsupported_by_device) naming what
// `image` (valid) uses of opcodes and data types that `properties` lack.
void check_supported(const KernelImage& image, const DeviceProperties& properties);

// An open device. Copies share the open file, which is closed when the last
// Device, Buffer, Queue, Kernel and JobHandle made from it are gone. All
// member functions may be called from any number of threads at once.
//
// Each open() is a new file with its own device address space (as the
// isolation between processes needs); objects of one open must not be used
// with another's: libnpu refuses such a mix with errc::invalid_argument.
// Share one Device (copies are cheap) across a process's threads.
class Device {
 public:
  // Opens the visible device at `index`, or the one at a PCI address;
  // errc::no_device when there is none.
  static Device open(std::size_t index);
  static Device open(std::string_view pci_address);
  // Opens a device node directly (KNPU_VISIBLE_DEVICES ignored); info() is
  // filled from udev when the node is a knpu accel device.
  static Device open_node(const std::string& device_node);

  [[nodiscard]] const DeviceInfo& info() const { return info_; }
  [[nodiscard]] const DriverVersion& driver_version() const { return *info_.driver_version; }
  [[nodiscard]] const DeviceProperties& properties() const { return properties_; }
  // The compute clock now (it drops when the device throttles).
  [[nodiscard]] std::uint32_t clock_mhz() const;

  [[nodiscard]] Buffer allocate(std::size_t size, BufferOptions options = {}) const;
  // A buffer over process memory, pinned while the buffer lives
  // (Capability::userptr); `memory` is page aligned, `options.placement` host.
  [[nodiscard]] Buffer wrap_user_memory(std::span<std::byte> memory,
                                        BufferOptions options = {}) const;
  // The buffer behind a dma-buf (Capability::dma_buf), e.g. from
  // Buffer::export_dma_buf() in another process or of another device. The
  // caller keeps `dma_buf_fd`. Importing one dma-buf twice into the same
  // Device yields the same buffer object: keep one Buffer per dma-buf.
  [[nodiscard]] Buffer import_dma_buf(int dma_buf_fd) const;
  [[nodiscard]] Queue create_queue(QueuePriority priority = QueuePriority::normal) const;
  [[nodiscard]] Queue create_queue(const QueueOptions& options) const;
  // Validates the image and checks that the device executes every opcode
  // and data type it uses (KernelErrc::unsupported_by_device, which also
  // compares equal to errc::not_supported), then uploads it.
  [[nodiscard]] Kernel load_kernel(const KernelImage& image) const;
  // Every kernel of a module, in the module's order.
  [[nodiscard]] std::vector<Kernel> load_module(const KernelModule& module) const;
  [[nodiscard]] Event create_event() const;
  [[nodiscard]] Timeline create_timeline() const;

  // Reports the jobs of this open (of every copy of this Device) to
  // `callback`, each once, when libnpu learns how it ended while a callback
  // is set (npu/job_trace.hpp); an empty callback stops tracing. Tracing
  // costs one ioctl per job nobody waited for.
  void set_job_trace(JobTraceCallback callback) const;

  // The device file, for ioctls libnpu does not wrap.
  [[nodiscard]] int native_handle() const;

 private:
  Device(DeviceInfo info, std::shared_ptr<const detail::DrmFile> file);

  DeviceInfo info_;
  std::shared_ptr<const detail::DrmFile> file_;
  DeviceProperties properties_;
};

}  // namespace npu
