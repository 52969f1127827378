#include "round_trip_stages.hpp"

#include <algorithm>
#include <regex>
#include <sstream>

namespace npu_bench {
namespace {

using std::chrono::nanoseconds;

// "<task>-<pid> [<cpu>] <flags> <seconds>.<fraction>: <event>: <fields>"
const std::regex& event_line() {
  static const std::regex line(R"(\s(\d+)\.(\d+): ([A-Za-z0-9_]+): ?(.*)$)");
  return line;
}

nanoseconds parse_time(const std::string& seconds, std::string fraction) {
  fraction.resize(9, '0');  // to nanoseconds, whatever the resolution
  return std::chrono::seconds(std::stoll(seconds)) + nanoseconds(std::stoll(fraction));
}

std::map<std::string, std::string, std::less<>> parse_fields(const std::string& text) {
  std::map<std::string, std::string, std::less<>> fields;
  std::istringstream words(text);
  std::string word;
  while (words >> word) {
    if (const std::size_t eq = word.find('='); eq != std::string::npos && eq > 0) {
      fields.emplace(word.substr(0, eq), word.substr(eq + 1));
    }
  }
  return fields;
}

bool field_is(const TraceEvent& event, std::string_view key, std::string_view value) {
  const auto it = event.fields.find(key);
  return it != event.fields.end() && it->second == value;
}

// The first event from `from` on, not after `until`, that `matches`.
template <class Match>
const TraceEvent* find_event(const std::vector<TraceEvent>& events, nanoseconds from,
                             nanoseconds until, Match&& matches) {
  auto it = std::ranges::lower_bound(events, from, {}, &TraceEvent::time);
  for (; it != events.end() && it->time <= until; ++it) {
    if (matches(*it)) {
      return &*it;
    }
  }
  return nullptr;
}

}  // namespace

std::vector<TraceEvent> parse_trace(std::string_view text) {
  std::vector<TraceEvent> events;
  std::istringstream lines{std::string(text)};
  std::string line;
  std::smatch match;
  while (std::getline(lines, line)) {
    if (line.empty() || line.front() == '#' || !std::regex_search(line, match, event_line())) {
      continue;
    }
    events.push_back({parse_time(match[1], match[2]), match[3], parse_fields(match[4])});
  }
  return events;
}

std::optional<RoundTripBoundaries> round_trip_boundaries(const RoundTripSample& sample,
                                                         const std::vector<TraceEvent>& events) {
  const std::string seqno = std::to_string(sample.seqno);
  const nanoseconds until = sample.woken;
  const TraceEvent* submit = find_event(events, sample.submitted, until, [&](const auto& e) {
    return e.name == "knpu_job_submit" && field_is(e, "queue", std::to_string(sample.queue_id)) &&
           field_is(e, "seqno", seqno);
  });
  if (submit == nullptr) {
    return std::nullopt;
  }
  const std::string& asid = submit->fields.at("asid");
  const TraceEvent* run = find_event(events, submit->time, until, [&](const auto& e) {
    return e.name == "knpu_job_run" && field_is(e, "asid", asid) && field_is(e, "seqno", seqno);
  });
  if (run == nullptr) {
    return std::nullopt;
  }
  // The hardware queue's number names its interrupt and its scheduler's timeline.
  const std::string& hwq = run->fields.at("hwq");
  const std::string hwq_name = "knpu-q" + hwq;
  const TraceEvent* doorbell = find_event(events, run->time, until, [&](const auto& e) {
    return e.name == "knpu_hwq_doorbell" && field_is(e, "hwq", hwq);
  });
  const TraceEvent* irq =
      doorbell == nullptr ? nullptr : find_event(events, doorbell->time, until, [&](const auto& e) {
        return e.name == "irq_handler_entry" && field_is(e, "name", hwq_name);
      });
  const TraceEvent* complete =
      irq == nullptr ? nullptr : find_event(events, irq->time, until, [&](const auto& e) {
        return e.name == "knpu_job_complete" && field_is(e, "hwq", hwq) &&
               field_is(e, "seqno", seqno);
      });
  const TraceEvent* finished =
      complete == nullptr ? nullptr : find_event(events, complete->time, until, [&](const auto& e) {
        return e.name == "dma_fence_signaled" && field_is(e, "driver", "drm_sched") &&
               field_is(e, "timeline", hwq_name);
      });
  if (finished == nullptr) {
    return std::nullopt;
  }
  return RoundTripBoundaries{sample.submitted,    submit->time,      run->time, doorbell->time,
                             sample.device_start, sample.device_end, irq->time, complete->time,
                             finished->time,      sample.woken};
}

StageBreakdown break_down(const std::vector<RoundTripSample>& samples,
                          const std::vector<TraceEvent>& events) {
  StageBreakdown breakdown;
  breakdown.samples = samples.size();
  std::array<std::vector<nanoseconds>, kRoundTripStageCount> stages;
  std::vector<nanoseconds> totals;
  for (const RoundTripSample& sample : samples) {
    const std::optional<RoundTripBoundaries> b = round_trip_boundaries(sample, events);
    if (!b) {
      ++breakdown.incomplete;
      continue;
    }
    if (!std::ranges::is_sorted(*b)) {
      ++breakdown.unordered;
      continue;
    }
    for (std::size_t i = 0; i < kRoundTripStageCount; ++i) {
      stages[i].push_back((*b)[i + 1] - (*b)[i]);
    }
    totals.push_back(b->back() - b->front());
    breakdown.boundaries.push_back(*b);
  }
  for (std::size_t i = 0; i < kRoundTripStageCount; ++i) {
    breakdown.stages[i] = summarize(std::move(stages[i]));
  }
  breakdown.total = summarize(std::move(totals));
  return breakdown;
}

std::string stages_csv(const StageBreakdown& breakdown) {
  std::ostringstream csv;
  for (std::size_t i = 0; i < kRoundTripStageCount; ++i) {
    csv << (i == 0 ? "" : ",") << kRoundTripStages[i].key;
  }
  csv << '\n';
  for (const RoundTripBoundaries& b : breakdown.boundaries) {
    for (std::size_t i = 0; i < kRoundTripStageCount; ++i) {
      csv << (i == 0 ? "" : ",")
          << std::chrono::duration<double, std::micro>(b[i + 1] - b[i]).count();
    }
    csv << '\n';
  }
  return csv.str();
}

}  // namespace npu_bench
