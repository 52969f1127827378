// Is an NPU fit to be handed to a container? A probe exercises the device
// the way a workload would (open the node, read its parameters, run a small
// job and check what it wrote); the verdict names what failed.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "npu/queue.hpp"

namespace knpu::cluster {

struct HealthProbe {
  bool node_present = false;
  // Opening the node, GET_PARAM, creating the queue or submitting failed.
  std::string error;
  // The probe job's outcome, when it was submitted.
  std::optional<npu::JobResult> job;
  // The job's output was read back and is right.
  bool output_verified = false;
};

struct HealthVerdict {
  bool healthy = false;
  std::string reason;  // why not, for the log
};

HealthVerdict judge_health(const HealthProbe& probe);

// Probes the device behind `device_node`; a job still running after
// `job_timeout` is a failure (a wedged device, or one stopped by an
// uncorrectable error, never finishes it).
HealthProbe probe_device(const std::string& device_node, std::chrono::milliseconds job_timeout);

}  // namespace knpu::cluster
