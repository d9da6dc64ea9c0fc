#include "connectors/sftp/sftp.h"

#include "connectors/common/file_transfer.h"
#include "connectors/common/spec.h"

namespace weft::connectors {

void RegisterSftp(ActionCatalog& catalog) {
  ConnectorSpec s;
  s.name = "sftp";
  s.title = "SFTP";
  s.description = "Files on a server over SSH (SFTP).";
  s.icon = "folder-lock";
  s.needs_connection = true;
  s.fields = {
      Field("host", "Host", "string", true, ""), Field("port", "Port", "integer", false, "", 22),
      Field(
          "host_key_sha256", "Host key fingerprint", "string", false,
          "The server key's SHA256 fingerprint in base64 (ssh-keygen -lf shows it after SHA256:). "
          "When set, a server with another key is refused."),
      Field("timeout", "Timeout", "duration", false, "", "60s")};
  s.auth_types = {{"password",
                   "User and password",
                   {Field("username", "User", "string", true, ""),
                    SecretField("password", "Password", true, "")}},
                  {"private_key",
                   "Private key",
                   {Field("username", "User", "string", true, ""),
                    SecretField("private_key", "Private key", true,
                                "The key file's text (PEM or OpenSSH format)."),
                    SecretField("passphrase", "Passphrase", false, "")}}};
  s.actions = FileTransferActions("Absolute (/srv/in/a.csv), or ~/a.csv for the user's home.");
  RegisterFileTransfer(catalog, std::move(s), FileProtocol::kSftp);
}

}  // namespace weft::connectors
