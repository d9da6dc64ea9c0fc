// Which runs reference which files (run_files, migration 0011).
#include "store/sqlite/sqlite_store_impl.h"

namespace weft {

void InsertFileRefs(Conn& c, const std::string& run_id, const std::vector<std::string>& ids) {
  for (const auto& id : ids) {
    Stmt s(c, "INSERT OR IGNORE INTO run_files (file_id, run_id) VALUES (:file_id, :run_id)");
    s.Text(":file_id", id).Text(":run_id", run_id).Run();
  }
}

Result<std::vector<std::string>> SqliteStore::UnreferencedFiles(
    const std::vector<std::string>& ids) {
  return impl_->ReadRuns([&](Conn& c) -> Result<std::vector<std::string>> {
    std::vector<std::string> out;
    for (const auto& id : ids) {
      Stmt s(c, "SELECT 1 FROM run_files WHERE file_id = :file_id LIMIT 1");
      s.Text(":file_id", id);
      if (!s.Step()) out.push_back(id);
    }
    return out;
  });
}

Result<std::vector<std::string>> SqliteStore::FilesOfRun(const std::string& run_id) {
  return impl_->ReadRuns([&](Conn& c) -> Result<std::vector<std::string>> {
    Stmt s(c, "SELECT file_id FROM run_files WHERE run_id = :run_id ORDER BY file_id");
    s.Text(":run_id", run_id);
    std::vector<std::string> out;
    while (s.Step()) out.push_back(s.ColText(0));
    return out;
  });
}

}  // namespace weft
