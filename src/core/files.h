// Files: bytes that travel through a flow beside the run, not inside its JSON.
// A step output or a trigger holds a *file value*, a small JSON object
//   {"type": "file", "id": "fil_…", "name", "size", "content_type", "sha256", "created_at"}
// and the bytes live in a FileStore (the data dir's files/ folder, or a
// bucket shared by several nodes). Files are immutable: a step that changes
// bytes writes a new file. Ids carry 128 random bits, so a file value from
// outside (a webhook body) reaches bytes only when its sender knew the id.
// See docs/files.md.
//
// FileStore implementations are thread-safe; a FileSink or FileSource is used
// by one thread at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/json.h"
#include "common/result.h"

namespace weft {

struct FileInfo {
  std::string id;  // "fil_" + 22 base62 characters (128+ random bits)
  std::string name;
  uint64_t size = 0;
  std::string content_type = "application/octet-stream";
  std::string sha256;  // lowercase hex
  TimePoint created_at{};

  Json ToJson() const;  // the file value
};

// True for an object with "type": "file" and a string "id".
bool IsFileValue(const Json& v);
// The file value's fields; kValidation naming `what` when `v` is not one.
Result<FileInfo> FileInfoFromJson(const Json& v, const std::string& what);
// Every file id `v` holds (file values at any depth), in document order.
void CollectFileIds(const Json& v, std::vector<std::string>* ids);
// A new file id.
std::string NewFileId();
// True when `id` has the shape NewFileId gives (and so is safe in a path).
bool IsFileId(std::string_view id);

// Receives the bytes of a new file. Nothing is visible until Commit; a sink
// destroyed without Commit leaves nothing behind.
class FileSink {
 public:
  virtual ~FileSink() = default;
  // kPayloadTooLarge past the store's maximum file size (--max-file-size);
  // kUnavailable when the disk or bucket refuses (full, gone).
  virtual Result<void> Write(const char* data, size_t n) = 0;
  // Makes the file durable and visible; returns its value.
  virtual Result<FileInfo> Commit() = 0;
  virtual uint64_t written() const = 0;
};

// Reads a file's bytes from an offset on.
class FileSource {
 public:
  virtual ~FileSource() = default;
  virtual const FileInfo& info() const = 0;
  // Up to `n` bytes; 0 at the end.
  virtual Result<size_t> Read(char* data, size_t n) = 0;
};

class FileStore {
 public:
  virtual ~FileStore() = default;
  // A new file named `name` (kept as given, for downloads and uploads).
  virtual Result<std::unique_ptr<FileSink>> Create(const std::string& name,
                                                   const std::string& content_type) = 0;
  // kNotFound when the store holds no file `id`.
  virtual Result<std::unique_ptr<FileSource>> Open(const std::string& id, uint64_t offset = 0) = 0;
  virtual Result<FileInfo> Stat(const std::string& id) = 0;
  // Removing a file that is not there succeeds.
  virtual Result<void> Remove(const std::string& id) = 0;
  // Every committed file (for the sweep), in no particular order.
  virtual Result<void> ForEach(const std::function<void(const FileInfo&)>& fn) = 0;
  // Drops what unfinished writes left (a crash mid-download); called at start.
  virtual Result<int64_t> DropUnfinished() = 0;
  // True when several nodes read and write it (a bucket), so a file is only
  // known to be abandoned after a grace period, not at start-up.
  virtual bool Shared() const = 0;
  virtual uint64_t max_file_size() const = 0;
  virtual std::string Describe() const = 0;  // "local /data/files", "s3://bucket/prefix"
};

// Reads a whole (small) file into memory: kPayloadTooLarge naming `what` past `cap` bytes.
Result<std::string> ReadWholeFile(FileStore& files, const std::string& id, size_t cap,
                                  const std::string& what);
// Writes `bytes` as a new file.
Result<FileInfo> WriteWholeFile(FileStore& files, const std::string& name,
                                const std::string& content_type, std::string_view bytes);

}  // namespace weft
