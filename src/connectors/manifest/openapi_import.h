// OpenAPI import: a vendor's OpenAPI 3.0 / 3.1 or Swagger 2.0 document turned
// into a connector manifest (`weft connector import-openapi`): servers become
// the base URL, the security scheme the connection's auth, each operation an
// action named from its operationId, its parameters and request body (with
// $refs resolved, cycles and depth bounded) its input schema, pagination
// where the spec makes it evident. Pure functions; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "common/json.h"
#include "common/result.h"

namespace weft::connectors::manifest {

struct ImportOptions {
  std::vector<std::string> tags;        // only operations with one of these tags
  std::vector<std::string> operations;  // only these operationIds (or action names)
  std::string name;                     // the manifest's name; default: from info.title
};

struct ImportResult {
  Json manifest;  // the manifest document (ToYaml prints it)
  size_t operations_seen = 0;
  // Every operation of the document, filtered or not, in document order (what a UI offers to
  // choose from): {operation (the value ?operation= takes), action, method, path, tags, title,
  // selected}.
  Json operation_list = Json::array();
  std::vector<std::string> notes;  // what was left out and why (one line each)
};

// Converts a parsed spec. kValidation when it is not OpenAPI / Swagger or no
// operation is left after the filters. The manifest always passes ParseManifest.
Result<ImportResult> ImportOpenApi(const Json& spec, const ImportOptions& options);

// "chat.postMessage" -> "chat_post_message", "GetFolderItems" -> "get_folder_items".
std::string SnakeCase(const std::string& s);

}  // namespace weft::connectors::manifest
