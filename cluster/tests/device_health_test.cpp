#include "device_health.hpp"

#include <gtest/gtest.h>

namespace knpu::cluster {
namespace {

HealthProbe passing_probe() {
  return {.node_present = true, .error = {}, .job = npu::JobResult{}, .output_verified = true};
}

TEST(DeviceHealth, AJobThatWroteTheRightBytesIsHealthy) {
  const HealthVerdict verdict = judge_health(passing_probe());
  EXPECT_TRUE(verdict.healthy);
  EXPECT_EQ(verdict.reason, "");
}

TEST(DeviceHealth, MissingNode) {
  HealthProbe probe = passing_probe();
  probe.node_present = false;
  EXPECT_EQ(judge_health(probe).reason, "device node missing");
  EXPECT_FALSE(judge_health(probe).healthy);
}

TEST(DeviceHealth, OpenOrSubmitFailure) {
  HealthProbe probe = passing_probe();
  probe.error = "DRM_IOCTL_KNPU_GET_PARAM: No such device";
  EXPECT_FALSE(judge_health(probe).healthy);
  EXPECT_EQ(judge_health(probe).reason, probe.error);
}

TEST(DeviceHealth, WedgedDeviceTimesOut) {
  HealthProbe probe = passing_probe();
  probe.job = npu::JobResult{npu::JobStatus::timeout, npu::JobError::none, 0};
  probe.output_verified = false;
  EXPECT_FALSE(judge_health(probe).healthy);
  EXPECT_EQ(judge_health(probe).reason,
            "probe job did not finish in time (device wedged or stopped)");
}

TEST(DeviceHealth, UncorrectableError) {
  HealthProbe probe = passing_probe();
  probe.job = npu::JobResult{npu::JobStatus::failed, npu::JobError::uncorrectable, 0};
  probe.output_verified = false;
  EXPECT_FALSE(judge_health(probe).healthy);
  EXPECT_EQ(judge_health(probe).reason, "probe job failed (UNCORRECTABLE)");
}

TEST(DeviceHealth, WrongOutput) {
  HealthProbe probe = passing_probe();
  probe.output_verified = false;
  EXPECT_FALSE(judge_health(probe).healthy);
}

TEST(DeviceHealth, NoJob) {
  HealthProbe probe = passing_probe();
  probe.job.reset();
  EXPECT_FALSE(judge_health(probe).healthy);
}

}  // namespace
}  // namespace knpu::cluster
