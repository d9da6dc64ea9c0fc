#include "store/sqlite/webhook_record.h"

#include <cstdint>
#include <utility>

#include "store/sqlite/sqlite_store.h"

namespace weft::sqlite {

namespace {

// A journal record is a queued run with no state of its own yet, and its
// delivery if any (the layout: webhook_record.h).
constexpr char kRecordVersion = 1;

class RecordWriter {
 public:
  void Str(std::string_view v) {
    U64(v.size());
    out_.append(v);
  }
  void Opt(const std::optional<std::string>& v) {
    out_.push_back(v ? 1 : 0);
    if (v) Str(*v);
  }
  void U64(uint64_t v) {
    for (int i = 0; i < 8; ++i) out_.push_back(static_cast<char>(v >> (8 * i)));
  }
  void Byte(char b) { out_.push_back(b); }
  std::string& out() { return out_; }

 private:
  std::string out_;
};

class RecordReader {
 public:
  explicit RecordReader(std::string_view in) : in_(in) {}
  bool ok() const { return ok_; }
  std::string Str() {
    uint64_t n = U64();
    if (!ok_ || n > in_.size()) return Bad();
    std::string v(in_.substr(0, n));
    in_.remove_prefix(n);
    return v;
  }
  std::optional<std::string> Opt() {
    if (Byte() == 0) return std::nullopt;
    return Str();
  }
  uint64_t U64() {
    if (in_.size() < 8) return Bad(), 0;
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(in_[i]);
    in_.remove_prefix(8);
    return v;
  }
  char Byte() {
    if (in_.empty()) return Bad(), 0;
    char b = in_[0];
    in_.remove_prefix(1);
    return b;
  }

 private:
  std::string Bad() {
    ok_ = false;
    in_ = {};
    return {};
  }
  std::string_view in_;
  bool ok_ = true;
};

}  // namespace

bool Journalable(const WebhookRecord& r) {
  if (!r.run || !r.idempotency_key.empty()) return false;
  const Run& run = *r.run;
  return run.status == RunStatus::kQueued && run.steps.empty() && !run.scheduled_for &&
         !run.started_at && !run.finished_at && run.output.is_null() && run.error.is_null() &&
         run.claimed_by.empty() && !run.lease_until && !run.not_before && !run.cancel_requested &&
         (!r.delivery || r.delivery->id.empty());
}

std::string EncodeWebhook(const WebhookRows& w) {
  RecordWriter out;
  const Run& run = *w.run;
  out.Byte(kRecordVersion);
  out.Str(run.id);
  out.Str(run.flow_id);
  out.Str(run.flow_name);
  out.U64(static_cast<uint64_t>(run.flow_version));
  out.Str(run.trigger_type);
  out.U64(static_cast<uint64_t>(ToUnixMs(run.created_at)));
  out.Str(run.retry_of);
  out.Opt(w.trigger_text);
  out.Opt(w.input_text);
  out.Byte(w.delivery ? 1 : 0);
  if (w.delivery) {
    const Delivery& d = *w.delivery;
    out.Str(d.id);
    out.Str(d.flow_id);
    out.U64(static_cast<uint64_t>(ToUnixMs(d.received_at)));
    out.Str(d.method);
    out.Str(d.path);
    out.U64(static_cast<uint64_t>(d.status_code));
    out.Str(w.headers_text);
    out.Str(w.query_text);
    out.Str(d.body);
    out.Str(d.content_type);
    out.Byte(d.auth_passed ? 1 : 0);
  }
  return std::move(out.out());
}

bool DecodeWebhook(std::string_view payload, WebhookRows& w) {
  RecordReader in(payload);
  if (in.Byte() != kRecordVersion) return false;
  Run& run = w.run.emplace();
  run.status = RunStatus::kQueued;
  run.id = in.Str();
  run.flow_id = in.Str();
  run.flow_name = in.Str();
  run.flow_version = static_cast<int>(in.U64());
  run.trigger_type = in.Str();
  run.created_at = FromUnixMs(static_cast<int64_t>(in.U64()));
  run.retry_of = in.Str();
  w.trigger_text = in.Opt();
  w.input_text = in.Opt();
  if (in.Byte() != 0) {
    Delivery& d = w.delivery.emplace();
    d.id = in.Str();
    d.flow_id = in.Str();
    d.received_at = FromUnixMs(static_cast<int64_t>(in.U64()));
    d.method = in.Str();
    d.path = in.Str();
    d.status_code = static_cast<int>(in.U64());
    w.headers_text = in.Str();
    w.query_text = in.Str();
    d.body = in.Str();
    d.content_type = in.Str();
    d.auth_passed = in.Byte() != 0;
    d.run_id = run.id;
  }
  return in.ok();
}

}  // namespace weft::sqlite

namespace weft {

bool DecodesAsWebhookRecord(std::string_view payload) {
  sqlite::WebhookRows w;
  return sqlite::DecodeWebhook(payload, w);
}

}  // namespace weft
