// Input schemas: the JSON-Schema subset connector manifests declare their
// actions' inputs in (type, required, enum, default, description, title,
// properties, items, format). CheckSchema checks a schema itself (a
// manifest's, at load time); CheckValue checks a step's `with` value against
// one, at save time (strings holding {{ }} are left for run time) and again
// at run time on the resolved value. Pure functions; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "common/json.h"
#include "common/result.h"

namespace weft {

// Nesting deeper than this is refused in a schema (and not descended into in a value).
inline constexpr int kMaxSchemaDepth = 32;
// CheckValue stops adding errors after this many.
inline constexpr size_t kMaxSchemaErrors = 50;

// Appends one error per problem of `schema` (at `path`, e.g. "actions.send.input").
// Types: string, integer, number, boolean, object, array, file (a file value), any.
void CheckSchema(const Json& schema, const std::string& path, std::vector<FieldError>& errors);

// Appends one error per way `value` (at `path`, e.g. "steps[0].with.blocks")
// breaks `schema`. `templates_resolved` is false at save time: a string with
// {{ }} then stands for any value.
void CheckValue(const Json& schema, const Json& value, const std::string& path,
                std::vector<FieldError>& errors, bool templates_resolved);

// `value` with the schema's defaults filled in where a property is absent (objects, nested).
Json WithDefaults(const Json& schema, Json value);

}  // namespace weft
