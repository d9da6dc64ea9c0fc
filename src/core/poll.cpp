#include "core/poll.h"

#include <algorithm>

#include "common/time_format.h"

namespace weft {

Result<PollTrigger> ParsePollTrigger(const Json& trigger) {
  if (!trigger.is_object() || GetString(trigger, "type") != "poll")
    return Fail(ErrorCode::kValidation, "the flow's trigger is not a poll trigger");
  auto p = trigger.find("poll");
  if (p == trigger.end() || !p->is_object())
    return Fail(ErrorCode::kValidation, "trigger.poll is missing",
                {{"trigger.poll", "is required for a poll trigger"}});
  PollTrigger t;
  t.every = p->value("every", Json("1m"));
  if (auto s = p->find("source"); s != p->end() && s->is_object()) {
    t.uses = GetString(*s, "uses");
    t.connection = GetString(*s, "connection");
    if (auto w = s->find("with"); w != s->end() && w->is_object()) t.with = *w;
  }
  if (t.uses.empty())
    return Fail(ErrorCode::kValidation, "trigger.poll.source.uses is missing",
                {{"trigger.poll.source.uses", "is required"}});
  t.start_all = GetString(*p, "start", "new") == "all";
  t.batch = GetString(*p, "emit", "each") == "batch";
  if (auto b = p->find("batch_size"); b != p->end() && b->is_number_integer())
    t.batch_size = static_cast<int>(std::clamp<int64_t>(b->get<int64_t>(), 1, 10'000));
  if (auto r = ParseDuration(GetString(*p, "remember", ""))) t.remember = *r;
  return t;
}

}  // namespace weft
