// npu-bench's round trip by stage (tools/npu-bench/round_trip_stages.cpp) on
// a trace as tracefs writes it: every stage is found, in order, and the
// stages add up to the round trip; a missing event or out-of-order times
// leave the sample out, counted.
#include "round_trip_stages.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <numeric>
#include <string>

namespace npu_bench {
namespace {

using std::chrono::microseconds;
using std::chrono::nanoseconds;

constexpr std::string_view kHeader = R"(# tracer: nop
#
# entries-in-buffer/entries-written: 10/10   #P:2
#
#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION
#              | |         |   |||||     |         |
)";

// Job 8 of queue 1 on hardware queue 0, with job 7 of another queue (asid
// 2, same seqno range) on hardware queue 1 in between.
constexpr std::string_view kEvents = R"(
       npu-bench-211     [001] .....   100.000010: knpu_job_submit: dev=0000:00:03.0 queue=1 asid=1 seqno=8
     kworker/u9:1-40      [000] .....   100.000020: knpu_job_run: dev=0000:00:03.0 hwq=1 asid=2 seqno=8
     kworker/u9:1-40      [000] .....   100.000030: knpu_job_run: dev=0000:00:03.0 hwq=0 asid=1 seqno=8
     kworker/u9:1-40      [000] .....   100.000033: knpu_hwq_doorbell: dev=0000:00:03.0 hwq=1 tail=3
     kworker/u9:1-40      [000] .....   100.000035: knpu_hwq_doorbell: dev=0000:00:03.0 hwq=0 tail=8
     kworker/u9:1-40      [000] d..1.   100.000036: dma_fence_signaled: driver=drm_sched timeline=knpu-q0 context=5 seqno=8
          <idle>-0       [001] d.h1.   100.000080: irq_handler_entry: irq=25 name=knpu-q0
          <idle>-0       [001] d.h2.   100.000090: knpu_job_complete: dev=0000:00:03.0 hwq=0 asid=1 seqno=8 error=0
          <idle>-0       [001] d.h3.   100.000091: dma_fence_signaled: driver=knpu timeline=knpu-queue context=3 seqno=8
          <idle>-0       [001] d.h3.   100.000092: dma_fence_signaled: driver=drm_sched timeline=knpu-q0 context=6 seqno=8
)";

nanoseconds at_us(long long us) {
  return std::chrono::seconds(100) + microseconds(us);
}

RoundTripSample job8() {
  return {.queue_id = 1,
          .seqno = 8,
          .submitted = at_us(0),
          .device_start = at_us(50),
          .device_end = at_us(60),
          .woken = at_us(120)};
}

std::vector<TraceEvent> events() {
  return parse_trace(std::string(kHeader) + std::string(kEvents));
}

TEST(RoundTripStages, ParsesEventsWithTimesAndFields) {
  const std::vector<TraceEvent> parsed = events();
  ASSERT_EQ(parsed.size(), 10U);
  EXPECT_EQ(parsed[0].name, "knpu_job_submit");
  EXPECT_EQ(parsed[0].time, at_us(10));
  EXPECT_EQ(parsed[0].fields.at("queue"), "1");
  EXPECT_EQ(parsed[6].name, "irq_handler_entry");
  EXPECT_EQ(parsed[6].fields.at("name"), "knpu-q0");
}

TEST(RoundTripStages, EveryStageIsFoundInOrderAndTheyAddUpToTheRoundTrip) {
  const std::optional<RoundTripBoundaries> b = round_trip_boundaries(job8(), events());
  ASSERT_TRUE(b.has_value());
  const RoundTripBoundaries expected{at_us(0),  at_us(10), at_us(30), at_us(35), at_us(50),
                                     at_us(60), at_us(80), at_us(90), at_us(92), at_us(120)};
  EXPECT_EQ(*b, expected);

  const StageBreakdown breakdown = break_down({job8()}, events());
  EXPECT_EQ(breakdown.total.samples, 1U);
  EXPECT_EQ(breakdown.incomplete, 0U);
  EXPECT_EQ(breakdown.unordered, 0U);
  const double sum =
      std::accumulate(breakdown.stages.begin(), breakdown.stages.end(), 0.0,
                      [](double s, const LatencyStats& l) { return s + l.median_us; });
  EXPECT_DOUBLE_EQ(sum, breakdown.total.median_us);
  EXPECT_DOUBLE_EQ(breakdown.total.median_us, 120.0);
  for (const LatencyStats& stage : breakdown.stages) {
    EXPECT_EQ(stage.samples, 1U);
    EXPECT_GE(stage.median_us, 0.0);
  }
  EXPECT_EQ(stages_csv(breakdown),
            "submit,sched_run_job,ring_write,device_pickup,device_run,fence_irq,irq_handler,"
            "fence_signal,waiter_wake\n10,20,5,15,10,20,10,2,28\n");
}

TEST(RoundTripStages, AMissingEventLeavesTheSampleOutAsIncomplete) {
  std::vector<TraceEvent> without_doorbell = events();
  std::erase_if(without_doorbell,
                [](const TraceEvent& e) { return e.name == "knpu_hwq_doorbell"; });
  const StageBreakdown breakdown = break_down({job8()}, without_doorbell);
  EXPECT_EQ(breakdown.incomplete, 1U);
  EXPECT_EQ(breakdown.total.samples, 0U);
}

TEST(RoundTripStages, OutOfOrderDeviceTimesLeaveTheSampleOutAsUnordered) {
  RoundTripSample early = job8();
  early.device_start = at_us(34);  // before the doorbell
  const StageBreakdown breakdown = break_down({early, job8()}, events());
  EXPECT_EQ(breakdown.unordered, 1U);
  EXPECT_EQ(breakdown.total.samples, 1U);
}

TEST(RoundTripStages, AnotherJobsEventsAreNotTaken) {
  RoundTripSample other = job8();
  other.queue_id = 2;
  EXPECT_FALSE(round_trip_boundaries(other, events()).has_value());
}

}  // namespace
}  // namespace npu_bench
