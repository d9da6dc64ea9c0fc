// WebhookJournal: the append-only file that takes in accepted webhooks ahead
// of the database (<data_dir>/webhooks.journal). SqliteStore::RecordWebhook
// appends one record per request, on the request's own thread, and answers
// once the bytes are in the file (as durable as a commit under synchronous
// NORMAL: they survive the process, not the machine); a thread of the store
// imports the records into runs and deliveries, many per transaction. Only
// the file is here: a record's contents are webhook_record.h's, and the
// import is SqliteStore's (sqlite_store_journal.cpp).
//
// The file: a 16-byte header ("WEFTJNL1", then the generation, a u64), then
// records, each a u32 payload length, a u64 checksum of the payload,
// and the payload. Imported records become a hole in the file (Release), and
// once every record has been imported the file starts over with the next
// generation; the store keeps the
// (generation, offset) it has imported up to in the database, in the import's
// own transaction.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace weft::sqlite {

class WebhookJournal {
 public:
  static constexpr uint64_t kHeaderSize = 16;

  // Opens (or creates) the journal at `path`; then Recover from where the
  // store's import got to.
  static Result<std::unique_ptr<WebhookJournal>> Open(const std::string& path);
  // Walks the records from `from` (a record boundary: where the import got
  // to). A record cut short or damaged (a crash during its write) ends the
  // file: it and anything after it are cut off, as they were never
  // acknowledged.
  Result<void> Recover(uint64_t from);
  ~WebhookJournal();
  WebhookJournal(const WebhookJournal&) = delete;
  WebhookJournal& operator=(const WebhookJournal&) = delete;

  // Appends one record. When this returns ok the record is in the file; on a
  // failure (a full disk) the file is left as it was.
  Result<void> Append(std::string_view payload);

  struct Chunk {
    std::string bytes;                      // owns what `records` point into
    std::vector<std::string_view> records;  // payloads, in order
    uint64_t next = 0;                      // the offset after the last one
  };
  // The records from `from` on, whole, about `max_bytes` of them (at least
  // one when there is one). `from` must be a record boundary of this
  // generation.
  Result<Chunk> Read(uint64_t from, size_t max_bytes) const;

  // Starts the file over with the next generation when nothing has been
  // appended past `end` (every record read and imported); false otherwise.
  Result<bool> Restart(uint64_t end);

  // Gives the disk blocks of the records before `upto` (all imported) back
  // to the file system (a hole: offsets stay as they are), so a journal that
  // never catches up under steady load does not grow on disk. Where the
  // file system cannot punch holes, the file waits for Restart.
  void Release(uint64_t upto);

  uint64_t generation() const;
  uint64_t end() const;       // the offset after the last record
  uint64_t appended() const;  // records appended by this process
  const std::string& path() const { return path_; }

 private:
  WebhookJournal(std::string path, int fd, uint64_t generation, uint64_t end);
  Result<void> WriteHeader(uint64_t generation);

  const std::string path_;
  const int fd_;
  mutable std::mutex mu_;
  uint64_t generation_;
  uint64_t end_;
  uint64_t appended_ = 0;
  uint64_t released_ = 0;  // Release: the blocks before this are holes
  bool can_release_ = true;
};

}  // namespace weft::sqlite
