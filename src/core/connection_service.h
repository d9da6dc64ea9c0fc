// ConnectionService: the use cases of connections (DESIGN.md §5
// /connections), shared by the HTTP API and the CLI. It validates a
// connection against its connector's spec before writing, seals every secret
// field with the SecretBox before the store sees it, keeps a stored secret
// when a PUT sends the mask "********", refuses to delete or rename a
// connection a flow uses, and runs the connector's own test. Thread-safe.
#pragma once

#include <string>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "core/action.h"
#include "core/secrets.h"
#include "core/store.h"

namespace weft {

struct ConnectionTestReport {
  bool ok = false;
  std::string message;
  int64_t duration_ms = 0;
};

class ConnectionService {
 public:
  ConnectionService(Store& store, const ActionCatalog& catalog, const SecretBox& box, Clock& clock);

  // `body` is {name, connector, settings, auth, active}. kValidation with
  // paths (`name`, `connector`, `settings.base_url`, `auth.token`, `auth.type`);
  // kConflict when the name is taken. Answers the stored connection, its
  // secrets sealed (show it with ConnectionToJson, which masks them).
  Result<Connection> Create(const Json& body, const std::string& actor);
  // Replaces the connection's name, settings, auth and active flag. A secret
  // sent as "********" keeps its stored value. Renaming a connection that a
  // flow uses is kConflict naming the flows.
  Result<Connection> Update(const std::string& id, const Json& body, const std::string& actor);
  Result<Connection> Get(const std::string& id);
  Result<std::vector<Connection>> List();
  // kConflict naming the flows that use it.
  Result<void> Delete(const std::string& id);
  // Runs the connector's test on the stored (decrypted) connection.
  Result<ConnectionTestReport> Test(const std::string& id);

  // For the engine: the connection of that name with its secrets opened.
  // kNotFound when none; the caller checks `active`.
  Result<Connection> Resolve(const std::string& name);
  // The same for a connection already read from the store.
  Result<Connection> Open(Connection c) const;

  // Names of flows whose latest version uses the connection `name`.
  Result<std::vector<std::string>> FlowsUsing(const std::string& name);

 private:
  Result<Connection> FromBody(const Json& body, const Connection* stored);

  Store& store_;
  const ActionCatalog& catalog_;
  const SecretBox& box_;
  Clock& clock_;
};

}  // namespace weft
