// Flow documents: reading them from JSON or YAML, validating them with every
// problem's path, and writing their canonical JSON. Pure functions over the
// read-only catalog; thread-safe.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"
#include "common/result.h"
#include "core/action.h"
#include "core/model.h"

namespace weft {

// What reading one document may build. A flow or connection document has
// hundreds of values; an OpenAPI spec of a large vendor a few million.
struct DocumentLimits {
  size_t max_values = 1'000'000;  // YAML aliases expanded
  size_t max_depth = kMaxJsonNesting;
};

// Reads a document in JSON, or YAML when it does not parse as JSON.
// kBadRequest with the parser's message when it is neither, or when it is
// beyond `limits` (then without building it: a YAML alias bomb of a few
// lines is refused after max_values values).
Result<Json> ParseDocumentText(std::string_view text, const DocumentLimits& limits = {});

// Writes JSON as YAML (for export).
std::string ToYaml(const Json& value);

struct ValidationContext {
  const ActionCatalog& catalog;
  // True when a connection of that name exists (unknown names are warnings).
  std::function<bool(const std::string& name)> connection_exists;
  std::string default_timezone = "UTC";
  TimePoint now{};
  // The previous version's document when saving an existing flow (null when
  // creating): a `once` time in the past is refused only when `at` changed.
  const Json* previous = nullptr;
  // (Last, so positional initialisers stay valid.) When set, used instead of connection_exists: the
  // connector of the connection of that name, or nullopt when none exists. A step naming a
  // connection of another connector than its action's is an error.
  std::function<std::optional<std::string>(const std::string& name)> connection_connector;
};

struct ValidatedFlow {
  FlowDocument document;
  Json canonical;                    // canonical JSON of `document`
  std::vector<FieldError> warnings;  // e.g. a connection that does not exist yet
};

// Parses and validates a flow document. On failure kValidation with every
// problem in details, each with its path ("steps[2].with.url").
Result<ValidatedFlow> ValidateFlowDocument(const Json& doc, const ValidationContext& ctx);

// Parses a stored (already valid) canonical document.
Result<FlowDocument> ParseStoredDocument(const Json& canonical);

// The canonical JSON of a document: known fields only, in a fixed order,
// defaults left out, so equal documents compare equal.
Json CanonicalJson(const FlowDocument& doc);

// settings.expression_memory (or --expr-memory) as bytes: a whole number of
// bytes or a size such as "64MiB", from 64KiB to 4GiB; nullopt otherwise.
inline constexpr uint64_t kMinExpressionMemory = uint64_t{64} << 10;
inline constexpr uint64_t kMaxExpressionMemory = uint64_t{4} << 30;
inline constexpr Millis kMaxExpressionTimeout{600'000};
std::optional<size_t> ExpressionMemory(const Json& v);

// Calls fn for every step, nested lists included, depth first in document order.
void ForEachStep(const std::vector<Step>& steps, const std::function<void(const Step&)>& fn);

// The connection names a document's steps use, in first-use order.
std::vector<std::string> ConnectionsUsed(const FlowDocument& doc);

}  // namespace weft
