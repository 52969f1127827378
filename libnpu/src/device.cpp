// Opening a device and reading its parameters.
#include "npu/device.hpp"

#include <drm/knpu_accel.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <string>
#include <utility>
#include <vector>

#include "device_enumeration.hpp"
#include "driver_version.hpp"
#include "drm_file.hpp"
#include "npu/errors.hpp"

namespace npu {
namespace {

std::uint64_t get_param(const detail::DrmFile& file, std::uint32_t param) {
  drm_knpu_get_param request{};
  request.param = param;
  NPU_IOCTL(file, DRM_IOCTL_KNPU_GET_PARAM, &request);
  return request.value;
}

std::uint32_t get_param32(const detail::DrmFile& file, std::uint32_t param) {
  return static_cast<std::uint32_t>(get_param(file, param));
}

DeviceProperties read_properties(const detail::DrmFile& file) {
  DeviceProperties p;
  p.uapi_version = get_param32(file, KNPU_PARAM_UAPI_VERSION);
  p.device_id = get_param32(file, KNPU_PARAM_DEVICE_ID);
  p.revision = get_param32(file, KNPU_PARAM_REVISION);
  p.hw_version = get_param32(file, KNPU_PARAM_HW_VERSION);
  p.fw_version = get_param32(file, KNPU_PARAM_FW_VERSION);
  p.num_cores = get_param32(file, KNPU_PARAM_NUM_CORES);
  p.num_queues = get_param32(file, KNPU_PARAM_NUM_QUEUES);
  p.sram_size = get_param(file, KNPU_PARAM_SRAM_SIZE);
  p.devmem_size = get_param(file, KNPU_PARAM_DEVMEM_SIZE);
  p.va_start = get_param(file, KNPU_PARAM_VA_START);
  p.va_size = get_param(file, KNPU_PARAM_VA_SIZE);
  p.ops = get_param(file, KNPU_PARAM_OPS);
  p.dtypes = get_param(file, KNPU_PARAM_DTYPES);
  p.capabilities = get_param(file, KNPU_PARAM_CAPS);
  p.serial = get_param(file, KNPU_PARAM_SERIAL);
  return p;
}

[[noreturn]] void not_supported(const std::string& what) {
  throw std::system_error(static_cast<int>(errc::not_supported), error_category(), what);
}

void check_driver(const DeviceInfo& info) {
  if (info.driver_version->name != "knpu") {
    not_supported(fmt::format("{} belongs to driver '{}', not knpu", info.device_node,
                              info.driver_version->name));
  }
}

// Refuses an ABI major this library does not speak.
void check_uapi(const DeviceInfo& info, const DeviceProperties& properties) {
  if ((properties.uapi_version >> 16) != KNPU_UAPI_VERSION_MAJOR) {
    not_supported(fmt::format("{}: knpu uapi version {}.{}, libnpu speaks {}.x", info.device_node,
                              properties.uapi_version >> 16, properties.uapi_version & 0xffff,
                              KNPU_UAPI_VERSION_MAJOR));
  }
}

[[noreturn]] void no_such_device(const std::string& what) {
  throw make_error(errc::no_device, what);
}

// "resize (ISA v1.1), data type bf16": what a kernel needs and a device lacks.
std::string missing_names(std::uint64_t ops, std::uint64_t dtypes) {
  std::vector<std::string> names;
  for (unsigned bit = 0; bit < 64; ++bit) {
    if (((ops >> bit) & 1U) == 0) {
      continue;
    }
    const isa::OpcodeInfo* op = isa::find_opcode(static_cast<std::uint8_t>(bit));
    if (op == nullptr) {
      names.push_back(fmt::format("opcode {:#04x}", bit));
    } else {
      names.push_back(fmt::format("{} (ISA v{}.{})", op->mnemonic, op->isa_version >> 16,
                                  op->isa_version & 0xffffU));
    }
  }
  for (unsigned bit = 0; bit < 64; ++bit) {
    if (((dtypes >> bit) & 1U) != 0) {
      names.push_back(fmt::format("data type {}", isa::name(static_cast<isa::DataType>(bit))));
    }
  }
  return fmt::format("{}", fmt::join(names, ", "));
}

// Refuses a flag value newer than its opcode (hw-spec 7.4.5: v1.5's
// functions and SOFTMAX's log) on a device of an older HW_VERSION, which
// would fail the job with OPERAND_INVALID.
void check_flag_values(const KernelImage& image, const DeviceProperties& properties) {
  for (const isa::Instruction& instruction : isa::decode(image.program).instructions) {
    const std::uint32_t needed = isa::instruction_version(instruction);
    const isa::OpcodeInfo& op = isa::info(instruction.opcode);
    if (needed > op.isa_version && needed > properties.hw_version) {
      throw KernelFormatError(
          KernelErrc::unsupported_by_device,
          fmt::format("kernel '{}' uses {} flags {:#x} of ISA v{}.{}, which the device (hw version "
                      "{}.{}) does not execute",
                      image.name, op.mnemonic, instruction.flags, needed >> 16, needed & 0xffffU,
                      properties.hw_version >> 16, properties.hw_version & 0xffffU));
    }
  }
}

}  // namespace

// An opcode, data type or flag value the device lacks is a load error, not
// a failed job and a banned queue later.
void check_supported(const KernelImage& image, const DeviceProperties& properties) {
  const KernelRequirements needs = requirements(image);
  const std::uint64_t missing_ops = needs.ops & ~properties.ops.to_ullong();
  const std::uint64_t missing_dtypes = needs.dtypes & ~properties.dtypes.to_ullong();
  if (missing_ops != 0 || missing_dtypes != 0) {
    throw KernelFormatError(
        KernelErrc::unsupported_by_device,
        fmt::format("kernel '{}' uses {} the device does not execute (its OPS {:#x}, DTYPES {:#x}; "
                    "hw version {}.{})",
                    image.name, missing_names(missing_ops, missing_dtypes),
                    properties.ops.to_ullong(), properties.dtypes.to_ullong(),
                    properties.hw_version >> 16, properties.hw_version & 0xffffU));
  }
  check_flag_values(image, properties);
}

Device::Device(DeviceInfo info, std::shared_ptr<const detail::DrmFile> file)
    : info_(std::move(info)), file_(std::move(file)) {
  info_.driver_version = detail::read_driver_version(*file_);
  info_.open_error.clear();
  check_driver(info_);
  properties_ = read_properties(*file_);
  check_uapi(info_, properties_);
}

Device Device::open(std::size_t index) {
  std::vector<DeviceInfo> devices = enumerate_devices();
  if (index >= devices.size()) {
    no_such_device(fmt::format("knpu device {} (there are {} visible)", index, devices.size()));
  }
  auto file = std::make_shared<const detail::DrmFile>(devices[index].device_node);
  return Device(std::move(devices[index]), std::move(file));
}

Device Device::open(std::string_view pci_address) {
  std::vector<DeviceInfo> devices = enumerate_devices();
  for (DeviceInfo& info : devices) {
    if (info.pci_address == pci_address || info.pci_address == "0000:" + std::string(pci_address)) {
      auto file = std::make_shared<const detail::DrmFile>(info.device_node);
      return Device(std::move(info), std::move(file));
    }
  }
  no_such_device(fmt::format("no visible knpu device at PCI address {}", pci_address));
}

Device Device::open_node(const std::string& device_node) {
  DeviceInfo info = detail::describe_node(device_node).value_or(DeviceInfo{});
  info.device_node = device_node;
  return Device(std::move(info), std::make_shared<const detail::DrmFile>(device_node));
}

std::uint32_t Device::clock_mhz() const {
  return get_param32(*file_, KNPU_PARAM_CLOCK_MHZ);
}

Buffer Device::allocate(std::size_t size, BufferOptions options) const {
  return Buffer(file_, size, options);
}

Buffer Device::wrap_user_memory(std::span<std::byte> memory, BufferOptions options) const {
  return Buffer(file_, memory, options);
}

Buffer Device::import_dma_buf(int dma_buf_fd) const {
  return Buffer(file_, dma_buf_fd);
}

Queue Device::create_queue(QueuePriority priority) const {
  return Queue(file_, priority);
}

Queue Device::create_queue(const QueueOptions& options) const {
  return Queue(file_, options);
}

Kernel Device::load_kernel(const KernelImage& image) const {
  validate(image);
  check_supported(image, properties_);
  return Kernel(file_, image);
}

std::vector<Kernel> Device::load_module(const KernelModule& module) const {
  std::vector<Kernel> kernels;
  for (const KernelImage& image : module.kernels) {
    kernels.push_back(load_kernel(image));
  }
  return kernels;
}

Event Device::create_event() const {
  return Event(file_);
}

Timeline Device::create_timeline() const {
  return Timeline(file_);
}

void Device::set_job_trace(JobTraceCallback callback) const {
  file_->job_tracer().set(std::move(callback));
}

int Device::native_handle() const {
  return file_->fd();
}

}  // namespace npu
