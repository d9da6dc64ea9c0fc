#include "server/api/body.h"

#include "core/document.h"

namespace weft::server {

Result<Json> ParseJsonBody(const HttpRequest& req, bool allow_yaml,
                           std::optional<Json> empty_value) {
  bool blank = req.body.find_first_not_of(" \t\r\n") == std::string::npos;
  if (blank) {
    if (empty_value) return *empty_value;
    return Fail(ErrorCode::kBadRequest, "the request needs a JSON body");
  }
  const std::string* type = req.Header("content-type");
  bool yaml_type = type && (type->find("yaml") != std::string::npos);
  if (allow_yaml && yaml_type) return ParseDocumentText(req.body);
  std::string error;
  auto parsed = ParseJson(req.body, &error);
  if (parsed) return std::move(*parsed);
  if (allow_yaml) {
    // Not JSON: a YAML document is welcome here; keep the JSON message when
    // the text is neither, since JSON is what most clients send.
    auto doc = ParseDocumentText(req.body);
    if (doc && doc->is_object()) return doc;
  }
  return Fail(ErrorCode::kBadRequest, "malformed JSON body: " + error);
}

Error FieldProblem(const std::string& path, const std::string& message) {
  return Error(ErrorCode::kValidation, path + ": " + message, {FieldError{path, message}});
}

}  // namespace weft::server
