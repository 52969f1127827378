// npu-device-plugin against a test kubelet, in the guest with two NPUs:
// registration, ListAndWatch with health changes driven by the driver
// (unbind) and the device (an injected uncorrectable error the driver recovers), Allocate and a
// kubelet restart. Also `cdi generate` and `labels` of npu-device-plugin and
// npu-smi on the real devices.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "npu/device.hpp"
#include "test_kubelet.hpp"

extern char** environ;

namespace knpu::cluster::testing {
namespace {

using namespace std::chrono_literals;
using Devices = DeviceWatch::Devices;

constexpr auto kRegistrationTimeout = 60s;
// Probes every 500 ms, a probe job gets 3 s: health changes show within ~10 s
// even on a loaded TCG host.
constexpr auto kHealthTimeout = 60s;

std::string run_output(const std::string& command) {
  std::string output;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) {
    return output;
  }
  char buffer[4096];
  while (std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) {
    output.append(buffer, n);
  }
  const int status = ::pclose(pipe);
  EXPECT_EQ(status, 0) << command << ":\n" << output;
  return output;
}

void write_sysfs(const std::string& path, const std::string& value) {
  std::ofstream out(path);
  out << value;
  out.close();
  ASSERT_TRUE(out) << "writing " << value << " to " << path;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The two NPUs by PCI address, and their QOM ids (knpuN, told apart by the
// serial number the harness gives each: 0x4b4e5055000000<N+1>).
struct Npu {
  std::string pci_address;
  std::string qom_id;
};

std::vector<Npu> system_npus() {
  std::vector<Npu> npus;
  for (const npu::DeviceInfo& info : npu::enumerate_devices()) {
    const npu::Device device = npu::Device::open(info.pci_address);
    npus.push_back(
        {info.pci_address, "knpu" + std::to_string((device.properties().serial & 0xff) - 1)});
  }
  return npus;
}

bool all_healthy(const Devices& devices, std::size_t count) {
  return devices.size() == count &&
         std::ranges::all_of(devices, [](const auto& d) { return d.second == "Healthy"; });
}

class DevicePlugin : public ::testing::Test {
 protected:
  void SetUp() override {
    npus_ = system_npus();
    ASSERT_EQ(npus_.size(), 2U) << "this suite runs with two NPUs";
    char pattern[] = "/tmp/knpu-device-plugins.XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
    kubelet_ = std::make_unique<TestKubelet>(dir_);
    kubelet_->start();
    start_plugin();
    registration_ = kubelet_->next_registration(kRegistrationTimeout);
    ASSERT_TRUE(registration_) << "the plugin did not register";
    plugin_ = kubelet_->dial(*registration_);
  }

  void TearDown() override {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      ASSERT_EQ(::waitpid(pid_, &status, 0), pid_);
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
          << "npu-device-plugin did not stop cleanly on SIGTERM: status " << status;
    }
    kubelet_.reset();
    std::filesystem::remove_all(dir_);
  }

  void start_plugin() {
    const std::string dir = dir_.string();
    std::vector<std::string> args = {NPU_DEVICE_PLUGIN,      "serve", "--plugin-dir",       dir,
                                     "--health-interval-ms", "500",   "--probe-timeout-ms", "3000"};
    std::vector<char*> argv;
    for (std::string& arg : args) {
      argv.push_back(arg.data());
    }
    argv.push_back(nullptr);
    ASSERT_EQ(::posix_spawn(&pid_, argv[0], nullptr, nullptr, argv.data(), environ), 0);
  }

  void rebind(const std::string& pci_address) {
    write_sysfs("/sys/bus/pci/drivers/knpu/unbind", pci_address);
    write_sysfs("/sys/bus/pci/drivers/knpu/bind", pci_address);
  }

  std::vector<Npu> npus_;
  std::filesystem::path dir_;
  std::unique_ptr<TestKubelet> kubelet_;
  std::optional<v1beta1::RegisterRequest> registration_;
  std::unique_ptr<v1beta1::DevicePlugin::Stub> plugin_;
  pid_t pid_ = -1;
};

TEST_F(DevicePlugin, RegistersTheResourceAndListsBothNpusHealthy) {
  EXPECT_EQ(registration_->version(), "v1beta1");
  EXPECT_EQ(registration_->resource_name(), "knpu.dev/npu");
  EXPECT_EQ(registration_->endpoint(), "knpu-npu.sock");
  EXPECT_TRUE(registration_->options().get_preferred_allocation_available());

  grpc::ClientContext context;
  v1beta1::DevicePluginOptions options;
  ASSERT_TRUE(plugin_->GetDevicePluginOptions(&context, v1beta1::Empty{}, &options).ok());
  EXPECT_FALSE(options.pre_start_required());
  EXPECT_TRUE(options.get_preferred_allocation_available());

  DeviceWatch watch(*plugin_);
  const std::optional<Devices> devices =
      watch.wait_for([](const Devices& d) { return all_healthy(d, 2); }, kHealthTimeout);
  ASSERT_TRUE(devices);
  EXPECT_EQ(devices->count(npus_[0].pci_address), 1U);
  EXPECT_EQ(devices->count(npus_[1].pci_address), 1U);
}

TEST_F(DevicePlugin, AllocateGivesTheNodeTheCdiNameAndVisibleDevices) {
  const npu::DeviceInfo second = npu::enumerate_devices().at(1);
  v1beta1::AllocateRequest request;
  request.add_container_requests()->add_devices_ids(second.pci_address);
  v1beta1::AllocateResponse response;
  grpc::ClientContext context;
  ASSERT_TRUE(plugin_->Allocate(&context, request, &response).ok());
  ASSERT_EQ(response.container_responses_size(), 1);
  const v1beta1::ContainerAllocateResponse& container = response.container_responses(0);
  ASSERT_EQ(container.devices_size(), 1);
  EXPECT_EQ(container.devices(0).host_path(), second.device_node);
  EXPECT_EQ(container.devices(0).container_path(), second.device_node);
  EXPECT_EQ(container.devices(0).permissions(), "rw");
  ASSERT_EQ(container.cdi_devices_size(), 1);
  EXPECT_EQ(container.cdi_devices(0).name(), "knpu.dev/npu=" + second.pci_address);

  // libnpu, given the container's environment, sees exactly that device.
  const std::string visible = container.envs().at("KNPU_VISIBLE_DEVICES");
  ASSERT_EQ(::setenv("KNPU_VISIBLE_DEVICES", visible.c_str(), 1), 0);
  const std::vector<npu::DeviceInfo> seen = npu::enumerate_devices();
  ::unsetenv("KNPU_VISIBLE_DEVICES");
  ASSERT_EQ(seen.size(), 1U);
  EXPECT_EQ(seen[0].pci_address, second.pci_address);
  EXPECT_EQ(seen[0].device_node, second.device_node);
}

TEST_F(DevicePlugin, AllocateRefusesAnUnknownDevice) {
  v1beta1::AllocateRequest request;
  request.add_container_requests()->add_devices_ids("0000:7f:00.0");
  v1beta1::AllocateResponse response;
  grpc::ClientContext context;
  const grpc::Status status = plugin_->Allocate(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("0000:7f:00.0"), std::string::npos);
}

TEST_F(DevicePlugin, PreferredAllocationKeepsMustIncludeDevices) {
  v1beta1::PreferredAllocationRequest request;
  v1beta1::ContainerPreferredAllocationRequest* container = request.add_container_requests();
  container->add_available_deviceids(npus_[1].pci_address);
  container->add_available_deviceids(npus_[0].pci_address);
  container->add_must_include_deviceids(npus_[1].pci_address);
  container->set_allocation_size(1);
  v1beta1::PreferredAllocationResponse response;
  grpc::ClientContext context;
  ASSERT_TRUE(plugin_->GetPreferredAllocation(&context, request, &response).ok());
  ASSERT_EQ(response.container_responses_size(), 1);
  ASSERT_EQ(response.container_responses(0).deviceids_size(), 1);
  EXPECT_EQ(response.container_responses(0).deviceids(0), npus_[1].pci_address);
}

TEST_F(DevicePlugin, ALostDeviceTurnsUnhealthyAndRecovers) {
  DeviceWatch watch(*plugin_);
  ASSERT_TRUE(watch.wait_for([](const Devices& d) { return all_healthy(d, 2); }, kHealthTimeout));
  const std::string lost = npus_[1].pci_address;
  const std::string kept = npus_[0].pci_address;

  write_sysfs("/sys/bus/pci/drivers/knpu/unbind", lost);
  EXPECT_TRUE(watch.wait_for(
      [&](const Devices& d) {
        return d.size() == 2 && d.at(lost) == "Unhealthy" && d.at(kept) == "Healthy";
      },
      kHealthTimeout))
      << "the unbound device stays listed, Unhealthy; the other stays Healthy";

  write_sysfs("/sys/bus/pci/drivers/knpu/bind", lost);
  EXPECT_TRUE(watch.wait_for([](const Devices& d) { return all_healthy(d, 2); }, kHealthTimeout));
}

// knpu.ko resets a device after an uncorrectable error and runs the
// interrupted jobs again: the plugin must report it Healthy again without a
// rebind (a device the driver cannot recover is lost: see the unbind test).
TEST_F(DevicePlugin, AnUncorrectableErrorIsRecoveredWithoutARebind) {
  DeviceWatch watch(*plugin_);
  ASSERT_TRUE(watch.wait_for([](const Devices& d) { return all_healthy(d, 2); }, kHealthTimeout));
  const Npu& failing = npus_[1];
  const char* qmp = std::getenv("KNPU_QMP");
  ASSERT_NE(qmp, nullptr) << "not in a knpu guest";

  run_output(std::string(qmp) + " qom-set " + failing.qom_id + " inject-uncorrectable true");
  // The fault hits the plugin's next probe job; the driver then resets the device.
  const std::string reset_line = failing.pci_address + ": [drm] device reset";
  bool reset = false;
  for (auto waited = 0s; !reset && waited < kHealthTimeout; waited += 1s) {
    std::this_thread::sleep_for(1s);
    reset = run_output("dmesg").find(reset_line) != std::string::npos;
  }
  ASSERT_TRUE(reset) << "no '" << reset_line << "' in the kernel log";
  EXPECT_TRUE(watch.wait_for([](const Devices& d) { return all_healthy(d, 2); }, kHealthTimeout))
      << "the driver's device reset did not bring the device back";
}

TEST_F(DevicePlugin, RegistersAgainWhenTheKubeletRestarts) {
  kubelet_->restart();
  const std::optional<v1beta1::RegisterRequest> again =
      kubelet_->next_registration(kRegistrationTimeout);
  ASSERT_TRUE(again) << "no registration after the kubelet restarted";
  EXPECT_EQ(again->resource_name(), "knpu.dev/npu");
  plugin_ = kubelet_->dial(*again);
  DeviceWatch watch(*plugin_);
  EXPECT_TRUE(watch.wait_for([](const Devices& d) { return all_healthy(d, 2); }, kHealthTimeout));
}

// `cdi generate` and `labels` of both tools that offer them (the one
// implementation in knpu::cluster::ClusterCommands).
class ClusterTool : public ::testing::TestWithParam<std::string> {};

TEST_P(ClusterTool, CdiGenerateDescribesTheRealDevices) {
  const nlohmann::json spec = nlohmann::json::parse(run_output(GetParam() + " cdi generate"));
  EXPECT_EQ(spec.at("kind"), "knpu.dev/npu");
  std::map<std::string, std::string> node_of;
  for (const nlohmann::json& device : spec.at("devices")) {
    const nlohmann::json& nodes = device.at("containerEdits").at("deviceNodes");
    node_of[device.at("name")] = nodes.size() == 1 ? nodes[0].at("path") : "";
  }
  for (const npu::DeviceInfo& info : npu::enumerate_devices()) {
    EXPECT_EQ(node_of[info.pci_address], info.device_node);
    EXPECT_EQ(node_of[std::to_string(info.physical_index)], info.device_node);
    EXPECT_TRUE(std::filesystem::exists(info.device_node));
  }
  EXPECT_EQ(node_of.count("all"), 1U);
}

// The spec of the real devices against the CDI specification's JSON schema
// (host.cluster.cdi-schema checks the two-NPU fixture's and fetches the
// schema into the cache that the guest sees read-only).
TEST_P(ClusterTool, CdiSpecOfTheRealDevicesMatchesTheCdiSchema) {
  run_output(std::string(KNPU_CDI_SCHEMA_TEST) + " " + GetParam() + " cdi generate 2>&1");
}

TEST_P(ClusterTool, LabelsDescribeTheRealDevices) {
  char pattern[] = "/tmp/knpu-features.XXXXXX";
  ASSERT_NE(::mkdtemp(pattern), nullptr);
  const std::filesystem::path file = std::filesystem::path(pattern) / "features.d" / "knpu";
  run_output(GetParam() + " labels --output " + file.string());
  const npu::Device device = npu::Device::open(0);
  const npu::DriverVersion& driver = device.driver_version();
  const std::string text = read_file(file);
  EXPECT_NE(text.find("knpu.dev/npu.count=2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("knpu.dev/npu.product=1234-4b4e\n"), std::string::npos) << text;
  EXPECT_NE(text.find("knpu.dev/npu.driver-version=" + std::to_string(driver.major) + "." +
                      std::to_string(driver.minor) + "." + std::to_string(driver.patch) + "\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("knpu.dev/npu.memory-mib=" +
                      std::to_string(device.properties().devmem_size >> 20) + "\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("knpu.dev/npu.firmware-version="), std::string::npos) << text;
  std::filesystem::remove_all(pattern);
}

INSTANTIATE_TEST_SUITE_P(BothTools, ClusterTool,
                         ::testing::Values(std::string(NPU_DEVICE_PLUGIN), std::string(NPU_SMI)),
                         [](const ::testing::TestParamInfo<std::string>& tool) {
                           return tool.index == 0 ? "npu_device_plugin" : "npu_smi";
                         });

TEST(NpuSmiClusterCommands, WriteWhatTheDevicePluginWrites) {
  EXPECT_EQ(run_output(std::string(NPU_SMI) + " cdi generate"),
            run_output(std::string(NPU_DEVICE_PLUGIN) + " cdi generate"));
  EXPECT_EQ(run_output(std::string(NPU_SMI) + " labels -o -"),
            run_output(std::string(NPU_DEVICE_PLUGIN) + " labels -o -"));
}

// npu-smi's exit status without a visible device: a CDI spec needs one (3,
// no device); the labels say so (present=false) and succeed.
TEST(NpuSmiClusterCommands, WithoutDevicesCdiGenerateExits3AndLabelsSayNotPresent) {
  const std::string hidden = "KNPU_VISIBLE_DEVICES= ";
  const int cdi = std::system((hidden + NPU_SMI + " cdi generate >/dev/null 2>&1").c_str());
  ASSERT_TRUE(WIFEXITED(cdi));
  EXPECT_EQ(WEXITSTATUS(cdi), 3);
  const std::string labels = run_output(hidden + NPU_SMI + " labels -o -");
  EXPECT_NE(labels.find("knpu.dev/npu.present=false\n"), std::string::npos) << labels;
  EXPECT_NE(labels.find("knpu.dev/npu.count=0\n"), std::string::npos) << labels;
}

}  // namespace
}  // namespace knpu::cluster::testing
