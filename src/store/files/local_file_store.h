// LocalFileStore: the FileStore of one node, in a folder of the data dir
// (<data>/files/). A file is two entries in a fan-out folder named by the id's
// first two random characters: the bytes (`<id>`) and its value (`<id>.json`).
// Writes go to `tmp/<id>.part` while the sha256 is computed, then the value
// and the bytes are renamed into place (value first: bytes are never visible
// without it). With `sync`, data and folders are fsynced before a commit
// returns, as the SQLite store's synchronous=full; without, a process crash
// loses nothing committed (rename is atomic) and an OS crash may lose the
// latest files, as synchronous=normal may lose the latest runs.
// Thread-safe.
#pragma once

#include <filesystem>
#include <memory>

#include "common/clock.h"
#include "core/files.h"

namespace weft {

struct LocalFileStoreOptions {
  std::filesystem::path dir;            // <data>/files
  uint64_t max_file_size = 5ull << 30;  // --max-file-size
  bool sync = false;                    // fsync before a commit returns
  Clock* clock = nullptr;               // created_at; null: the system clock
};

class LocalFileStore : public FileStore {
 public:
  static Result<std::unique_ptr<LocalFileStore>> Open(const LocalFileStoreOptions& options);

  Result<std::unique_ptr<FileSink>> Create(const std::string& name,
                                           const std::string& content_type) override;
  Result<std::unique_ptr<FileSource>> Open(const std::string& id, uint64_t offset = 0) override;
  Result<FileInfo> Stat(const std::string& id) override;
  Result<void> Remove(const std::string& id) override;
  Result<void> ForEach(const std::function<void(const FileInfo&)>& fn) override;
  Result<int64_t> DropUnfinished() override;
  bool Shared() const override { return false; }
  uint64_t max_file_size() const override { return options_.max_file_size; }
  std::string Describe() const override { return "local " + options_.dir.string(); }

  std::filesystem::path PathOf(const std::string& id) const;  // the bytes

 private:
  explicit LocalFileStore(LocalFileStoreOptions options);
  LocalFileStoreOptions options_;
};

}  // namespace weft
