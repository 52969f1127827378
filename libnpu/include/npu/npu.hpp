// libnpu: the C++ userspace library of the knpu driver stack. See
// docs/libnpu.md for the concepts and an example.
#pragma once

#include "npu/assembly.hpp"
#include "npu/buffer.hpp"
#include "npu/buffer_pool.hpp"
#include "npu/command_list.hpp"
#include "npu/device.hpp"
#include "npu/errors.hpp"
#include "npu/event.hpp"
#include "npu/isa.hpp"
#include "npu/job_trace.hpp"
#include "npu/kernel.hpp"
#include "npu/kernel_arguments.hpp"
#include "npu/kernel_builder.hpp"
#include "npu/kernel_image.hpp"
#include "npu/kernel_module.hpp"
#include "npu/launch.hpp"
#include "npu/queue.hpp"
#include "npu/timeline.hpp"
