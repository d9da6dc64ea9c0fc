#include "app/catalog.h"

#include "connectors/data/data.h"
#include "connectors/files/files.h"
#include "connectors/ftp/ftp.h"
#include "connectors/http/http.h"
#include "connectors/postgres/postgres.h"
#include "connectors/s3/s3.h"
#include "connectors/sftp/sftp.h"
#include "connectors/smtp/smtp.h"
#include "connectors/sqlite/sqlite.h"
#include "connectors/utilities/utilities.h"

namespace weft::app {

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
}

}  // namespace weft::app
