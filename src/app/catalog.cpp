#include "app/catalog.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>

#include "common/log.h"
#include "connectors/data/data.h"
#include "connectors/files/files.h"
#include "connectors/ftp/ftp.h"
#include "connectors/http/http.h"
#include "connectors/manifest/manifest.h"
#include "connectors/manifest/openapi_import.h"
#include "connectors/postgres/postgres.h"
#include "connectors/s3/s3.h"
#include "connectors/sftp/sftp.h"
#include "connectors/smtp/smtp.h"
#include "connectors/sqlite/sqlite.h"
#include "connectors/utilities/utilities.h"
#include "core/document.h"

namespace weft::app {

namespace fs = std::filesystem;

void RegisterAllConnectors(ActionCatalog& catalog) {
  connectors::RegisterUtilities(catalog);
  connectors::RegisterDataFormats(catalog);
  connectors::RegisterFileUtilities(catalog);
  connectors::RegisterHttp(catalog);
  connectors::RegisterSmtp(catalog);
  connectors::RegisterFtp(catalog);
  connectors::RegisterSftp(catalog);
  connectors::RegisterS3(catalog);
  connectors::RegisterPostgres(catalog);
  connectors::RegisterSqlite(catalog);
  for (const auto& b : connectors::manifest::BuiltinManifests()) {
    auto m = connectors::manifest::ParseManifest(b.text, "builtin");
    Result<void> registered =
        m ? connectors::manifest::RegisterManifest(catalog, *m) : Fail(m.error());
    if (!registered) {
      std::fprintf(stderr, "weft: the built-in manifest %s does not load: %s\n", b.file.c_str(),
                   registered.error().message.c_str());
      std::abort();
    }
  }
}

std::vector<std::string> LoadUserManifests(ActionCatalog& catalog, const std::string& data_dir) {
  std::vector<std::string> problems;
  std::error_code ec;
  fs::path dir = fs::path(data_dir) / "connectors";
  if (!fs::is_directory(dir, ec)) return problems;
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    std::string ext = e.path().extension().string();
    if (e.is_regular_file(ec) && (ext == ".yaml" || ext == ".yml" || ext == ".json"))
      files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    std::string shown = "connectors/" + f.filename().string();
    if (fs::file_size(f, ec) > connectors::manifest::kMaxManifestBytes) {
      problems.push_back(shown + ": larger than the 4 MiB a manifest may be");
      continue;
    }
    std::ifstream in(f, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    auto m = connectors::manifest::ParseManifest(text.str(), "user");
    if (!m) {
      std::string line = shown + ": " + m.error().message;
      problems.push_back(line);
      continue;
    }
    if (auto r = connectors::manifest::RegisterManifest(catalog, *m); !r)
      problems.push_back(shown + ": " + r.error().message);
  }
  return problems;
}

Result<Json> InstallManifest(ActionCatalog& catalog, const std::string& data_dir,
                             const std::string& text) {
  // One install at a time: the check for a name taken and the write go together.
  static std::mutex mu;
  std::lock_guard lock(mu);
  auto m = connectors::manifest::ParseManifest(text, "user");
  if (!m) return Fail(std::move(m).error());
  const ConnectorSpec* existing = catalog.FindConnector((*m)->name);
  if (existing && existing->source != "user")
    return Fail(ErrorCode::kConflict,
                "a connector named \"" + (*m)->name + "\" is built into weft; choose another name",
                {{"name", "is taken"}});
  std::error_code ec;
  fs::path dir = fs::path(data_dir) / "connectors";
  fs::create_directories(dir, ec);
  if (ec) return Fail(ErrorCode::kInternal, "cannot create " + dir.string() + ": " + ec.message());
  fs::path target = dir / ((*m)->name + ".yaml");
  fs::path temp = dir / ("." + (*m)->name + ".yaml.tmp");
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out) return Fail(ErrorCode::kInternal, "cannot write " + temp.string());
  }
  fs::rename(temp, target, ec);
  if (ec)
    return Fail(ErrorCode::kInternal, "cannot write " + target.string() + ": " + ec.message());
  if (auto r = connectors::manifest::RegisterManifest(catalog, *m, true); !r)
    return Fail(std::move(r).error());
  Json all = catalog.ToJson();
  for (auto& c : all["connectors"])
    if (c["name"] == (*m)->name) return c;
  return Json::object();
}

Result<Json> ImportOpenApiText(const std::string& spec, const std::vector<std::string>& tags,
                               const std::vector<std::string>& operations,
                               const std::string& name) {
  if (spec.size() > (size_t{16} << 20))
    return Fail(ErrorCode::kValidation, "the document is larger than 16 MiB");
  if (auto sized = connectors::manifest::CheckDocumentSize(spec, 50'000'000); !sized)
    return Fail(std::move(sized).error());
  auto doc = ParseDocumentText(spec, DocumentLimits{50'000'000});
  if (!doc) return Fail(ErrorCode::kValidation, doc.error().message);
  auto imported = connectors::manifest::ImportOpenApi(*doc, {tags, operations, name});
  if (!imported) return Fail(std::move(imported).error());
  Json actions = Json::array();
  for (auto it = imported->manifest["actions"].begin(); it != imported->manifest["actions"].end();
       ++it)
    actions.push_back(it.key());
  return Json{{"manifest", ToYaml(imported->manifest)},
              {"actions", std::move(actions)},
              {"operations", imported->operations_seen},
              {"operation_list", std::move(imported->operation_list)},
              {"notes", imported->notes}};
}

int ImportOpenApiCommand(const std::string& spec_file, const std::vector<std::string>& tags,
                         const std::vector<std::string>& operations, const std::string& name,
                         const std::string& out) {
  std::ifstream in(spec_file, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "weft: cannot read %s\n", spec_file.c_str());
    return 1;
  }
  std::stringstream text;
  text << in.rdbuf();
  if (auto sized = connectors::manifest::CheckDocumentSize(text.str(), 50'000'000); !sized) {
    std::fprintf(stderr, "weft: %s: %s\n", spec_file.c_str(), sized.error().message.c_str());
    return 1;
  }
  auto spec = ParseDocumentText(text.str(), DocumentLimits{50'000'000});
  if (!spec) {
    std::fprintf(stderr, "weft: %s: %s\n", spec_file.c_str(), spec.error().message.c_str());
    return 1;
  }
  auto imported = connectors::manifest::ImportOpenApi(*spec, {tags, operations, name});
  if (!imported) {
    std::fprintf(stderr, "weft: %s: %s\n", spec_file.c_str(), imported.error().message.c_str());
    for (const auto& d : imported.error().details)
      std::fprintf(stderr, "  %s: %s\n", d.path.c_str(), d.message.c_str());
    return 1;
  }
  std::string yaml = ToYaml(imported->manifest);
  if (out.empty()) {
    std::fwrite(yaml.data(), 1, yaml.size(), stdout);
  } else {
    std::ofstream file(out, std::ios::binary | std::ios::trunc);
    file << yaml;
    file.flush();
    if (!file) {
      std::fprintf(stderr, "weft: cannot write %s\n", out.c_str());
      return 1;
    }
  }
  for (const auto& note : imported->notes) std::fprintf(stderr, "note: %s\n", note.c_str());
  std::fprintf(stderr, "%zu actions from %zu operations\n", imported->manifest["actions"].size(),
               imported->operations_seen);
  return 0;
}

}  // namespace weft::app
