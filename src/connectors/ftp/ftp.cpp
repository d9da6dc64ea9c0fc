#include "connectors/ftp/ftp.h"

#include "connectors/common/file_transfer.h"
#include "connectors/common/spec.h"

namespace weft::connectors {

void RegisterFtp(ActionCatalog& catalog) {
  ConnectorSpec s;
  s.name = "ftp";
  s.title = "FTP";
  s.description = "Files on an FTP or FTPS server.";
  s.icon = "folder";
  s.needs_connection = true;
  s.fields = {
      Field("host", "Host", "string", true, ""), Field("port", "Port", "integer", false, "", 21),
      Field("security", "Security", "enum", false,
            "explicit_tls upgrades with AUTH TLS (FTPES); implicit_tls is FTPS on port 990.",
            "none", {"none", "explicit_tls", "implicit_tls"}),
      Field("verify_tls", "Verify TLS certificates", "boolean", false, "", true),
      Field("timeout", "Timeout", "duration", false, "", "60s")};
  s.auth_types = {{"password",
                   "User and password",
                   {Field("username", "User", "string", true, "anonymous for anonymous FTP"),
                    SecretField("password", "Password", false, "")}}};
  s.actions = FileTransferActions("Relative to the login directory, e.g. reports/2026/nov.csv");
  RegisterFileTransfer(catalog, std::move(s), FileProtocol::kFtp);
}

}  // namespace weft::connectors
