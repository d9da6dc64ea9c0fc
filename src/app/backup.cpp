#include "app/backup.h"

#include <sys/stat.h>

#include <filesystem>
#include <iostream>

#include "store/sqlite/sqlite_store.h"

namespace weft::app {
namespace {

namespace fs = std::filesystem;

int Problem(const std::string& message) {
  std::cerr << "weft: " << message << "\n";
  return 1;
}

std::string Describe(const SqliteStore::FileInfo& info) {
  return std::to_string(info.flows) + " flows, " + std::to_string(info.runs) +
         " runs, schema version " + std::to_string(info.schema_version) + ", " +
         std::to_string(info.bytes) + " bytes";
}

}  // namespace

int RunBackup(const BackupOptions& o, const std::string& file) {
  if (!o.db.empty()) {
    return Problem(
        "weft backup copies the SQLite store; with PostgreSQL use pg_dump (see "
        "docs/operations.md), e.g.\n"
        "  pg_dump --format=custom --file=weft.dump \"$WEFT_DB\"");
  }
  std::error_code ec;
  if (!o.force && fs::exists(file, ec))
    return Problem(file + " exists; pass --force to replace it");
  auto info = SqliteStore::BackupDataDir(o.data_dir, file);
  if (!info) return Problem(info.error().message);
  std::cout << "backup written to " << file << " (" << Describe(*info) << ")\n";
  if (fs::exists(fs::path(o.data_dir) / "secret.key", ec)) {
    std::cout << "note: connection secrets in it are encrypted with "
              << (fs::path(o.data_dir) / "secret.key").string()
              << ", which is not in the backup; keep a copy of that file (it does not change) and "
                 "give it to "
                 "weft restore --secret-key\n";
  }
  return 0;
}

int RunRestore(const std::string& file, const std::string& data_dir,
               const std::string& secret_key) {
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) return Problem("no backup file at " + file);
  if (!secret_key.empty() && !fs::is_regular_file(secret_key, ec))
    return Problem("no key file at " + secret_key);
  if (fs::exists(data_dir, ec)) {
    if (!fs::is_directory(data_dir, ec))
      return Problem(data_dir + " exists and is not a directory");
    if (!fs::is_empty(data_dir, ec)) {
      return Problem("data dir " + data_dir +
                     " is not empty; weft restore only fills a new or empty data dir "
                     "(move the old one aside first, and stop any weft serve using it)");
    }
  }
  fs::create_directories(data_dir, ec);
  if (ec) return Problem("cannot create " + data_dir + ": " + ec.message());

  // Copy, check the copy, then give it its name: a failed restore leaves no weft.db.
  fs::path target = fs::path(data_dir) / "weft.db";
  fs::path partial = fs::path(data_dir) / "weft.db.restoring";
  fs::copy_file(file, partial, fs::copy_options::overwrite_existing, ec);
  if (ec) return Problem("cannot copy " + file + " to " + partial.string() + ": " + ec.message());
  auto info = SqliteStore::InspectFile(partial.string());
  if (!info) {
    fs::remove(partial, ec);
    return Problem("cannot restore from " + file + ": " + info.error().message);
  }
  if (!secret_key.empty()) {
    fs::path key = fs::path(data_dir) / "secret.key";
    fs::copy_file(secret_key, key, ec);
    if (ec) {
      fs::remove(partial, ec);
      return Problem("cannot copy " + secret_key + ": " + ec.message());
    }
    ::chmod(key.c_str(), 0600);
  }
  fs::rename(partial, target, ec);
  if (ec) return Problem("cannot rename " + partial.string() + ": " + ec.message());
  std::cout << "restored " << file << " into " << data_dir << " (" << Describe(*info) << ")\n";
  if (secret_key.empty()) {
    std::cout << "note: no --secret-key given; connection secrets can be read only with the key "
                 "they were "
                 "sealed with (put it at "
              << (fs::path(data_dir) / "secret.key").string() << " or set WEFT_SECRET_KEY)\n";
  }
  return 0;
}

}  // namespace weft::app
