// The contents of one webhook-journal record (webhook_journal.h holds the
// file; this, what a record says): a webhook's new queued run and its
// delivery, encoded by RecordWebhook and decoded by the import. A record is
// a version byte, then each field as a u64 length and bytes, numbers as 8
// bytes, little-endian. Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/store.h"

namespace weft::sqlite {

// A webhook's run and delivery as RecordWebhook writes them, with their JSON
// already text: the direct write and the journal's import share it.
struct WebhookRows {
  std::optional<Run> run;
  std::optional<std::string> trigger_text, input_text;  // nullopt: NULL
  std::optional<Delivery> delivery;
  std::string headers_text, query_text;
};

// Whether RecordWebhook may take `r` into the journal: a new queued run
// without a key (a key is checked against the database), as the receiver
// makes them, and a delivery whose id the store gives.
bool Journalable(const WebhookRecord& r);

// The record of `w`, which must hold a run Journalable accepted.
std::string EncodeWebhook(const WebhookRows& w);
// Fills `w` from a record; false when the record is unreadable.
bool DecodeWebhook(std::string_view payload, WebhookRows& w);

}  // namespace weft::sqlite
