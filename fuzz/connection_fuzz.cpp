// libFuzzer harness: a connection document in JSON or YAML, as
// POST/PUT /api/v1/connections and the CLI take it: read
// (ParseDocumentText), validated against every real connector's spec and
// written by ConnectionService (secrets sealed) to a SQLite store in a
// temporary directory, shown as the API shows it (secrets masked), put back
// as a PUT of that masked view and of the document itself, its secrets opened
// as the engine opens them, then deleted. Nothing may throw past these
// functions: bad input is an error value.
#include <stdlib.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "connectors/data/data.h"
#include "connectors/ftp/ftp.h"
#include "connectors/http/http.h"
#include "connectors/postgres/postgres.h"
#include "connectors/s3/s3.h"
#include "connectors/sftp/sftp.h"
#include "connectors/smtp/smtp.h"
#include "connectors/sqlite/sqlite.h"
#include "connectors/utilities/utilities.h"
#include "core/api_json.h"
#include "core/connection_service.h"
#include "core/document.h"
#include "store/sqlite/sqlite_store.h"

namespace {

struct Env {
  std::string dir;
  std::unique_ptr<weft::SqliteStore> store;
  weft::ActionCatalog catalog;
  weft::SecretBox box{*weft::SecretBox::FromHex(std::string(64, 'a'))};
  weft::FakeClock clock{weft::FromUnixMs(1'780'000'000'000)};
  std::unique_ptr<weft::ConnectionService> service;

  Env() {
    char tmpl[] = "/tmp/weft-connection-fuzz-XXXXXX";
    dir = mkdtemp(tmpl);
    weft::SqliteOptions options;
    options.data_dir = dir;
    options.webhook_journal = false;
    options.readers = 1;
    options.clock = &clock;
    store = std::move(*weft::SqliteStore::Open(options));
    weft::connectors::RegisterUtilities(catalog);
    weft::connectors::RegisterDataFormats(catalog);
    weft::connectors::RegisterHttp(catalog);
    weft::connectors::RegisterSmtp(catalog);
    weft::connectors::RegisterFtp(catalog);
    weft::connectors::RegisterSftp(catalog);
    weft::connectors::RegisterS3(catalog);
    weft::connectors::RegisterPostgres(catalog);
    weft::connectors::RegisterSqlite(catalog);
    service = std::make_unique<weft::ConnectionService>(*store, catalog, box, clock);
  }
  ~Env() {
    service.reset();
    store.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

Env& TheEnv() {
  static Env env;
  return env;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 16384) return 0;
  Env& env = TheEnv();
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto doc = weft::ParseDocumentText(text);
  if (!doc) return 0;
  auto created = env.service->Create(*doc, "fuzz");
  if (!created) return 0;
  const std::string id = created->id;
  weft::Json shown = weft::ConnectionToJson(*created, env.catalog);
  (void)shown.dump();
  (void)env.service->Update(id, shown, "fuzz");
  (void)env.service->Update(id, *doc, "fuzz");
  if (auto c = env.service->Get(id)) {
    (void)weft::ConnectionToJson(*c, env.catalog).dump();
    (void)env.service->Open(*c);
  }
  (void)env.service->Resolve(created->name);
  (void)env.service->Delete(id);
  return 0;
}
