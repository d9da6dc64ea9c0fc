// Every connector and utility weft ships, registered into one catalog: the
// one place that names them all (serve, validate), and the user's connector
// manifests (<data>/connectors/, POST /api/v1/connectors).
#pragma once

#include <string>
#include <vector>

#include "common/json.h"
#include "common/result.h"
#include "core/action.h"

namespace weft::app {

// The connectors in code and the manifests compiled into the binary
// (connectors/<app>/connector.yaml). A built-in manifest that does not load
// is a bug of the build: it aborts (a test loads every one).
void RegisterAllConnectors(ActionCatalog& catalog);

// Registers each manifest of <data_dir>/connectors/ (*.yaml, *.yml, *.json),
// in name order. A file that does not load is left out whole; the answer
// holds one line per such file ("connectors/x.yaml: actions.y.path: is required").
std::vector<std::string> LoadUserManifests(ActionCatalog& catalog, const std::string& data_dir);

// POST /api/v1/connectors: checks the manifest, writes it to
// <data_dir>/connectors/<name>.yaml (a temp file renamed into place) and
// registers it, in place of an earlier user manifest of that name. Answers
// the connector's catalog entry.
Result<Json> InstallManifest(ActionCatalog& catalog, const std::string& data_dir,
                             const std::string& text);

// POST /api/v1/connectors/import-openapi: {manifest (YAML text), actions
// (their names), operations (how many the document has), notes}.
Result<Json> ImportOpenApiText(const std::string& spec, const std::vector<std::string>& tags,
                               const std::vector<std::string>& operations, const std::string& name);

// weft connector import-openapi: prints (or writes to `out`) the manifest
// made from `spec_file`, with a summary on stderr. Exit status 0 or 1.
int ImportOpenApiCommand(const std::string& spec_file, const std::vector<std::string>& tags,
                         const std::vector<std::string>& operations, const std::string& name,
                         const std::string& out);

}  // namespace weft::app
