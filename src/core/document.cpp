#include "core/document.h"

#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <set>

#include "common/time_format.h"
#include "common/utf8.h"
#include "core/input_schema.h"
#include "core/poll.h"
#include "expr/expr.h"
#include "schedule/schedule.h"

namespace weft {
namespace {

// ---- YAML <-> JSON -----------------------------------------------------------

// A YAML number JSON cannot hold (1e99999 overflows a double): refused with
// the path where it is. Thrown and caught inside this file only.
struct BadYamlNumber {
  std::string path;
  std::string text;
};

// YAML 1.2 core-schema integers and floats, checked by hand: std::regex
// recurses per character and a long scalar would overflow the stack.
bool IsYamlInt(const std::string& s) {
  size_t i = (!s.empty() && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
  if (i == s.size()) return false;
  for (; i < s.size(); ++i)
    if (s[i] < '0' || s[i] > '9') return false;
  return true;
}
bool IsYamlFloat(const std::string& s) {
  size_t i = (!s.empty() && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
  size_t int_digits = 0, frac_digits = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++int_digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++frac_digits;
  }
  if (int_digits == 0 && frac_digits == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    size_t exp_digits = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++exp_digits;
    if (exp_digits == 0) return false;
  }
  return i == s.size();
}

Json ScalarFromYaml(const YAML::Node& node, const std::string& path) {
  const std::string& s = node.Scalar();
  if (node.Tag() == "!") return s;  // quoted: always a string
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  bool is_int = IsYamlInt(s);
  if (!is_int && !IsYamlFloat(s)) return s;
  if (is_int) {
    errno = 0;
    char* end = nullptr;
    long long v = std::strtoll(s.c_str(), &end, 10);
    if (errno == 0 && end == s.c_str() + s.size()) return static_cast<int64_t>(v);
  }
  double d = std::strtod(s.c_str(), nullptr);
  if (!std::isfinite(d)) throw BadYamlNumber{path, s};
  return d;
}

// Thrown when a YAML document would build more than the limits allow.
struct YamlTooLarge {
  std::string what;
};

// Converts a YAML tree to JSON, aliases expanded, counting what it builds: a
// few lines of aliases (a "billion laughs") expand to billions of values,
// and deep nesting recurses once per level here and in every later copy.
struct YamlToJson {
  size_t values_left;
  size_t max_depth;

  Json Convert(const YAML::Node& node, const std::string& path, size_t depth) {
    if (values_left == 0)
      throw YamlTooLarge{"the document expands to more than its limit of values (YAML aliases?)"};
    --values_left;
    if (depth > max_depth)
      throw YamlTooLarge{"the document nests more than " + std::to_string(max_depth) +
                         " levels deep"};
    switch (node.Type()) {
      case YAML::NodeType::Null:
      case YAML::NodeType::Undefined:
        return nullptr;
      case YAML::NodeType::Scalar:
        return ScalarFromYaml(node, path);
      case YAML::NodeType::Sequence: {
        Json arr = Json::array();
        for (const auto& item : node)
          arr.push_back(Convert(item, path + "[" + std::to_string(arr.size()) + "]", depth + 1));
        return arr;
      }
      case YAML::NodeType::Map: {
        Json obj = Json::object();
        for (const auto& kv : node) {
          std::string key = kv.first.as<std::string>();
          obj[key] = Convert(kv.second, path.empty() ? key : path + "." + key, depth + 1);
        }
        return obj;
      }
    }
    return nullptr;
  }
};

bool LooksLikeNonString(const std::string& s) {
  if (s.empty()) return true;
  YAML::Node n = YAML::Load(s);
  if (!n.IsScalar()) return true;
  Json back;
  try {
    back = ScalarFromYaml(n, "");
  } catch (const BadYamlNumber&) {
    return true;  // a number (too large for JSON) is not a plain string
  }
  return !back.is_string() || back.get<std::string>() != s;
}

void EmitYaml(YAML::Emitter& out, const Json& v) {
  switch (v.type()) {
    case Json::value_t::object:
      out << YAML::BeginMap;
      for (auto it = v.begin(); it != v.end(); ++it) {
        out << YAML::Key << it.key() << YAML::Value;
        EmitYaml(out, it.value());
      }
      out << YAML::EndMap;
      break;
    case Json::value_t::array:
      out << YAML::BeginSeq;
      for (const auto& item : v) EmitYaml(out, item);
      out << YAML::EndSeq;
      break;
    case Json::value_t::string: {
      const auto& s = v.get_ref<const std::string&>();
      bool quote = false;
      try {
        quote = LooksLikeNonString(s);
      } catch (...) {
        quote = true;
      }
      if (quote)
        out << YAML::DoubleQuoted << s;
      else if (s.find('\n') != std::string::npos)
        out << YAML::Literal << s;
      else
        out << s;
      break;
    }
    case Json::value_t::boolean:
      out << (v.get<bool>() ? "true" : "false");
      break;
    case Json::value_t::null:
      out << YAML::Null;
      break;
    default:
      out << v.dump();
      break;
  }
}

// ---- validation ---------------------------------------------------------------

const std::set<std::string> kServerManagedFields = {
    "id",          "version",          "active",       "webhook_url",  "next_run_at",  "created_at",
    "updated_at",  "updated_by",       "base_version", "missed_fires", "trigger_type", "last_run",
    "connections", "schedule_summary", "warnings",     "created_by"};
const std::set<std::string> kStepFields = {"id",       "name", "uses",  "connection",
                                           "with",     "if",   "retry", "timeout",
                                           "on_error", "then", "else",  "do"};
// [a-z][a-z0-9_]*, checked by hand: std::regex recurses once per character,
// and a step id of a few hundred thousand characters overflowed the stack.
bool IsStepId(const std::string& id) {
  if (id.empty() || id[0] < 'a' || id[0] > 'z') return false;
  for (char c : id)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  return true;
}
const std::set<std::string> kMethods = {"GET", "POST", "PUT", "PATCH", "DELETE"};

class Validator {
 public:
  explicit Validator(const ValidationContext& ctx) : ctx_(ctx) {}

  void Error(const std::string& path, const std::string& message) {
    errors_.push_back({path, message});
  }
  void Warn(const std::string& path, const std::string& message) {
    warnings_.push_back({path, message});
  }

  std::optional<Millis> Duration(const Json& v, const std::string& path) {
    if (!v.is_string()) {
      Error(path, "must be a duration such as \"30s\" or \"1.5m\"");
      return std::nullopt;
    }
    auto d = ParseDuration(v.get<std::string>());
    if (!d)
      Error(path,
            "\"" + v.get<std::string>() + "\" is not a duration (a number and ms, s, m, h or d)");
    return d;
  }

  // Compiles every {{ }} in a string found anywhere inside `v`.
  void CheckTemplates(const Json& v, const std::string& path) {
    if (v.is_string()) {
      const auto& s = v.get_ref<const std::string&>();
      if (!expr::Template::HasExpressions(s)) return;
      auto compiled = expr::Template::Compile(s);
      if (auto* err = std::get_if<expr::Template::CompileError>(&compiled))
        ExprError(path, err->error);
    } else if (v.is_object()) {
      for (auto it = v.begin(); it != v.end(); ++it)
        CheckTemplates(it.value(), path + "." + it.key());
    } else if (v.is_array()) {
      for (size_t i = 0; i < v.size(); ++i)
        CheckTemplates(v[i], path + "[" + std::to_string(i) + "]");
    }
  }

  // `{{ steps.<id> }}` must name a step that exists and runs before the step
  // reading it: one earlier in document order (an earlier sibling, an
  // enclosing step, a step nested in either). Visits steps in that order;
  // `earlier` holds the ids seen so far.
  void CheckStepRefs(const std::vector<Step>& steps, const std::string& path,
                     std::set<std::string>& earlier) {
    for (size_t i = 0; i < steps.size(); ++i) {
      const Step& s = steps[i];
      std::string at = path + "[" + std::to_string(i) + "]";
      CheckRefsIn(s.with, at + ".with", s.id, earlier);
      if (!s.if_expr.empty()) CheckRefsIn(Json(s.if_expr), at + ".if", s.id, earlier);
      if (!s.id.empty()) earlier.insert(s.id);
      CheckStepRefs(s.then_steps, at + ".then", earlier);
      CheckStepRefs(s.else_steps, at + ".else", earlier);
      CheckStepRefs(s.do_steps, at + ".do", earlier);
    }
  }

  void CheckRefsIn(const Json& v, const std::string& path, const std::string& self,
                   const std::set<std::string>& earlier) {
    if (v.is_string()) {
      const auto& text = v.get_ref<const std::string&>();
      if (!expr::Template::HasExpressions(text)) return;
      auto compiled = expr::Template::Compile(text);
      auto* tpl = std::get_if<std::shared_ptr<const expr::Template>>(&compiled);
      if (!tpl) return;  // CheckTemplates reported it
      std::set<std::string> reported;
      for (const auto& ref : (*tpl)->RootFields("steps")) {
        if (earlier.count(ref.name) || !reported.insert(ref.name).second) continue;
        std::string quoted = "\"" + ref.name.substr(0, 64) + "\"";
        if (ref.name == self)
          Error(path, "refers to its own step " + quoted + " (steps.<id> reads an earlier step)");
        else if (ids_.count(ref.name))
          Error(path, "refers to step " + quoted + ", which runs after this step");
        else
          Error(path, "refers to step " + quoted + ", which does not exist");
      }
    } else if (v.is_object()) {
      for (auto it = v.begin(); it != v.end(); ++it)
        CheckRefsIn(it.value(), path + "." + it.key(), self, earlier);
    } else if (v.is_array()) {
      for (size_t i = 0; i < v.size(); ++i)
        CheckRefsIn(v[i], path + "[" + std::to_string(i) + "]", self, earlier);
    }
  }

  void ExprError(const std::string& path, const expr::ExprError& e) {
    std::string msg = e.code + ": " + e.message;
    if (e.position >= 0) msg += " (at position " + std::to_string(e.position) + ")";
    Error(path, msg);
  }

  bool IsExpression(const Json& v) {
    return v.is_string() && expr::Template::HasExpressions(v.get_ref<const std::string&>());
  }

  void CheckInputType(const FieldSpec& spec, const Json& v, const std::string& path) {
    if (v.is_null() || IsExpression(v)) return;
    if (spec.schema.is_object()) {
      std::vector<FieldError> problems;
      CheckValue(spec.schema, v, path, problems, false);
      for (auto& p : problems) Error(p.path, p.message);
      return;
    }
    const std::string& t = spec.type;
    bool ok = true;
    if (t == "string" || t == "text")
      ok = v.is_string();
    else if (t == "number")
      ok = v.is_number();
    else if (t == "integer")
      ok = v.is_number_integer() ||
           (v.is_number() && std::floor(v.get<double>()) == v.get<double>());
    else if (t == "boolean")
      ok = v.is_boolean();
    else if (t == "object")
      ok = v.is_object();
    else if (t == "array")
      ok = v.is_array();
    else if (t == "duration") {
      Duration(v, path);
      return;
    } else if (t == "enum") {
      ok = v.is_string() && std::find(spec.enum_values.begin(), spec.enum_values.end(),
                                      v.get<std::string>()) != spec.enum_values.end();
      if (!ok) {
        std::string list;
        for (const auto& e : spec.enum_values) list += (list.empty() ? "" : ", ") + e;
        Error(path, "must be one of " + list);
      }
      return;
    } else if (t == "expression") {
      if (!v.is_string()) {
        Error(path, "must be a JSONata expression (a string)");
        return;
      }
      auto compiled = expr::Expression::Compile(v.get<std::string>());
      if (compiled.error) ExprError(path, *compiled.error);
      return;
    }
    if (!ok) Error(path, "must be " + std::string(t == "integer" ? "an " : "a ") + t);
  }

  // `with` against the inputs an action or a poll source declares.
  void CheckWith(const std::vector<FieldSpec>& inputs, const Json& with, const std::string& path,
                 const std::string& uses) {
    for (const auto& input : inputs) {
      auto w = with.find(input.name);
      bool blank = w != with.end() && w->is_string() && w->get_ref<const std::string&>().empty() &&
                   (input.type == "string" || input.type == "text" || input.type == "expression");
      if (w == with.end() || w->is_null() || blank) {
        if (input.required) Error(path + "." + input.name, "is required");
        continue;
      }
      CheckInputType(input, *w, path + "." + input.name);
    }
    for (auto it = with.begin(); it != with.end(); ++it) {
      bool known = std::any_of(inputs.begin(), inputs.end(),
                               [&](const FieldSpec& f) { return f.name == it.key(); });
      if (!known) Error(path + "." + it.key(), "is not an input of \"" + uses + "\"");
    }
  }

  // A connection a step or a poll source names: that it exists (a warning
  // when not yet) and belongs to the connector of `uses`.
  void CheckConnection(const std::string& name, const ConnectorSpec* connector,
                       const std::string& uses, const std::string& path) {
    if (ctx_.connection_connector) {
      auto of = ctx_.connection_connector(name);
      if (!of)
        Warn(path, "connection \"" + name + "\" does not exist yet");
      else if (connector && *of != connector->name)
        Error(path, "connection \"" + name + "\" is a connection of the " + *of + " connector; \"" +
                        uses + "\" needs one of the " + connector->name + " connector");
    } else if (ctx_.connection_exists && !ctx_.connection_exists(name)) {
      Warn(path, "connection \"" + name + "\" does not exist yet");
    }
  }

  // trigger.poll (docs/polling.md): every, source {uses, connection, with},
  // start, emit, batch_size, remember.
  void ParsePoll(const Json& p, const std::string& path) {
    if (!p.is_object()) {
      Error(path, "must be an object {every, source: {uses, connection, with}}");
      return;
    }
    static const std::set<std::string> kFields = {"every", "source",     "start",
                                                  "emit",  "batch_size", "remember"};
    for (auto it = p.begin(); it != p.end(); ++it)
      if (!kFields.count(it.key()))
        Error(path + "." + it.key(),
              "is not a poll field (every, source, start, emit, batch_size, remember)");
    auto every = p.find("every");
    if (every == p.end() || every->is_null()) {
      Error(path + ".every", "is required: a duration such as \"1m\", or a schedule object");
    } else if (every->is_object()) {
      auto parsed = ParseSchedule(*every, ctx_.default_timezone);
      if (!parsed) {
        for (const auto& d : parsed.error().details)
          Error(path + ".every" + (d.path.empty() ? "" : "." + d.path), d.message);
        if (parsed.error().details.empty()) Error(path + ".every", parsed.error().message);
      } else if (parsed->kind == ScheduleKind::kOnce) {
        Error(path + ".every.kind", "a poll repeats: use predefined, custom or cron");
      }
    } else if (auto d = Duration(*every, path + ".every")) {
      if (*d < Millis(1000) || *d > Millis(7LL * 24 * 3600 * 1000))
        Error(path + ".every", "must be from 1s to 7d");
    }
    auto source = p.find("source");
    if (source == p.end() || !source->is_object()) {
      Error(path + ".source", "is required: {uses, connection, with}");
    } else {
      const std::string sp = path + ".source";
      for (auto it = source->begin(); it != source->end(); ++it)
        if (it.key() != "uses" && it.key() != "connection" && it.key() != "with")
          Error(sp + "." + it.key(), "is not a source field (uses, connection, with)");
      const PollSpec* spec = nullptr;
      const ConnectorSpec* connector = nullptr;
      std::string uses;
      if (auto u = source->find("uses");
          u == source->end() || !u->is_string() || u->get_ref<const std::string&>().empty()) {
        Error(sp + ".uses", "is required");
      } else {
        uses = u->get<std::string>();
        spec = ctx_.catalog.FindPollSpec(uses);
        connector = ctx_.catalog.ConnectorOf(uses);
        if (!spec) {
          std::string list;
          for (const auto& n : ctx_.catalog.PollSourceNames())
            list += (list.empty() ? "" : ", ") + n;
          Error(sp + ".uses", "unknown source \"" + uses.substr(0, 100) + "\"" +
                                  (list.empty() ? "" : " (the sources: " + list + ")"));
        }
      }
      if (auto c = source->find("connection"); c != source->end() && !c->is_null()) {
        if (!c->is_string() || c->get_ref<const std::string&>().empty())
          Error(sp + ".connection", "must be a connection name");
        else if (connector && !connector->needs_connection)
          Error(sp + ".connection", "\"" + uses + "\" takes no connection");
        else
          CheckConnection(c->get<std::string>(), connector, uses, sp + ".connection");
      } else if (spec && connector && connector->needs_connection) {
        Error(sp + ".connection", "is required by \"" + uses + "\"");
      }
      if (auto w = source->find("with"); w != source->end() && !w->is_null()) {
        if (!w->is_object()) {
          Error(sp + ".with", "must be an object");
        } else {
          if (spec) CheckWith(spec->inputs, *w, sp + ".with", uses);
          NoTemplates(*w, sp + ".with");
        }
      } else if (spec) {
        CheckWith(spec->inputs, Json::object(), sp + ".with", uses);
      }
    }
    if (auto it = p.find("start"); it != p.end() && !it->is_null())
      if (*it != "new" && *it != "all") Error(path + ".start", "must be new or all");
    if (auto it = p.find("emit"); it != p.end() && !it->is_null())
      if (*it != "each" && *it != "batch") Error(path + ".emit", "must be each or batch");
    if (auto it = p.find("batch_size"); it != p.end() && !it->is_null()) {
      if (!it->is_number_integer() || it->get<int64_t>() < 1 || it->get<int64_t>() > 10'000)
        Error(path + ".batch_size", "must be a whole number from 1 to 10000");
      else if (GetString(p, "emit", "each") != "batch")
        Error(path + ".batch_size", "is for emit: batch");
    }
    if (auto it = p.find("remember"); it != p.end() && !it->is_null()) {
      if (auto d = Duration(*it, path + ".remember"); d && *d < Millis(60'000))
        Error(path + ".remember", "must be at least 1m");
    }
  }

  // A poll source's `with` is read as written: there is no run to evaluate
  // {{ }} against yet.
  void NoTemplates(const Json& v, const std::string& path) {
    if (v.is_string()) {
      if (expr::Template::HasExpressions(v.get_ref<const std::string&>()))
        Error(path, "a poll source takes plain values: {{ }} has no run to read from here");
    } else if (v.is_object()) {
      for (auto it = v.begin(); it != v.end(); ++it) NoTemplates(it.value(), path + "." + it.key());
    } else if (v.is_array()) {
      for (size_t i = 0; i < v.size(); ++i) NoTemplates(v[i], path + "[" + std::to_string(i) + "]");
    }
  }

  std::vector<Step> Steps(const Json& list, const std::string& path) {
    std::vector<Step> out;
    if (!list.is_array()) {
      Error(path, "must be a list of steps");
      return out;
    }
    for (size_t i = 0; i < list.size(); ++i)
      out.push_back(ParseStep(list[i], path + "[" + std::to_string(i) + "]"));
    return out;
  }

  Step ParseStep(const Json& j, const std::string& path) {
    Step s;
    if (!j.is_object()) {
      Error(path, "must be an object with id and uses");
      return s;
    }
    for (auto it = j.begin(); it != j.end(); ++it)
      if (!kStepFields.count(it.key())) Error(path + "." + it.key(), "is not a step field");

    if (auto it = j.find("id");
        it == j.end() || !it->is_string() || it->get<std::string>().empty()) {
      Error(path + ".id", "is required");
    } else {
      s.id = it->get<std::string>();
      if (!IsStepId(s.id))
        Error(path + ".id", "\"" + s.id.substr(0, 64) + (s.id.size() > 64 ? "..." : "") +
                                "\" must match [a-z][a-z0-9_]*");
      else if (!ids_.insert(s.id).second)
        Error(path + ".id", "duplicate step id \"" + s.id + "\"");
    }
    if (auto it = j.find("name"); it != j.end()) {
      if (it->is_string())
        s.name = it->get<std::string>();
      else if (!it->is_null())
        Error(path + ".name", "must be a string");
    }
    const ActionSpec* spec = nullptr;
    const ConnectorSpec* connector = nullptr;
    if (auto it = j.find("uses");
        it == j.end() || !it->is_string() || it->get<std::string>().empty()) {
      Error(path + ".uses", "is required");
    } else {
      s.uses = it->get<std::string>();
      spec = ctx_.catalog.FindActionSpec(s.uses);
      connector = ctx_.catalog.ConnectorOf(s.uses);
      if (!spec) Error(path + ".uses", "unknown action \"" + s.uses + "\"");
    }
    if (auto it = j.find("connection"); it != j.end() && !it->is_null()) {
      if (!it->is_string() || it->get<std::string>().empty()) {
        Error(path + ".connection", "must be a connection name");
      } else {
        s.connection = it->get<std::string>();
        if (connector && !connector->needs_connection)
          Error(path + ".connection", "\"" + s.uses + "\" takes no connection");
        else
          CheckConnection(s.connection, connector, s.uses, path + ".connection");
      }
    } else if (connector && connector->needs_connection && !(spec && spec->connection_optional)) {
      Error(path + ".connection", "is required by \"" + s.uses + "\"");
    }
    if (auto it = j.find("with"); it != j.end() && !it->is_null()) {
      if (!it->is_object())
        Error(path + ".with", "must be an object");
      else
        s.with = *it;
    }
    if (spec) CheckWith(spec->inputs, s.with, path + ".with", s.uses);
    CheckTemplates(s.with, path + ".with");
    if (auto it = j.find("if"); it != j.end() && !it->is_null()) {
      if (!it->is_string()) {
        Error(path + ".if", "must be an expression string such as \"{{ trigger.body.ok }}\"");
      } else {
        s.if_expr = it->get<std::string>();
        CheckTemplates(*it, path + ".if");
      }
    }
    if (auto it = j.find("retry"); it != j.end() && !it->is_null())
      ParseRetry(*it, path + ".retry", &s.retry);
    if (auto it = j.find("timeout"); it != j.end() && !it->is_null()) {
      s.timeout = Duration(*it, path + ".timeout");
      if (s.timeout && s.timeout->count() == 0) Error(path + ".timeout", "must be more than 0");
    }
    if (auto it = j.find("on_error"); it != j.end() && !it->is_null()) {
      if (*it == "continue")
        s.on_error = OnError::kContinue;
      else if (*it != "fail")
        Error(path + ".on_error", "must be fail or continue");
    }
    auto allows = [&](const std::string& list) {
      return spec && std::find(spec->containers.begin(), spec->containers.end(), list) !=
                         spec->containers.end();
    };
    for (const char* list : {"then", "else", "do"}) {
      auto it = j.find(list);
      if (it == j.end() || it->is_null()) continue;
      if (!allows(list)) {
        if (spec) Error(path + "." + list, "\"" + s.uses + "\" has no \"" + list + "\" steps");
        continue;
      }
      auto steps = Steps(*it, path + "." + list);
      if (std::string(list) == "then")
        s.then_steps = std::move(steps);
      else if (std::string(list) == "else")
        s.else_steps = std::move(steps);
      else
        s.do_steps = std::move(steps);
    }
    return s;
  }

  void ParseRetry(const Json& j, const std::string& path, RetryPolicy* r) {
    if (!j.is_object()) {
      Error(path, "must be an object {attempts, backoff, delay, max_delay}");
      return;
    }
    for (auto it = j.begin(); it != j.end(); ++it) {
      const std::string& k = it.key();
      const Json& v = it.value();
      if (k == "attempts") {
        if (!v.is_number_integer() || v.get<int64_t>() < 1 || v.get<int64_t>() > 100)
          Error(path + ".attempts", "must be a whole number from 1 to 100");
        else
          r->attempts = v.get<int>();
      } else if (k == "backoff") {
        if (v == "fixed")
          r->backoff = Backoff::kFixed;
        else if (v == "exponential")
          r->backoff = Backoff::kExponential;
        else
          Error(path + ".backoff", "must be fixed or exponential");
      } else if (k == "delay") {
        if (auto d = Duration(v, path + ".delay")) r->delay = *d;
      } else if (k == "max_delay") {
        if (auto d = Duration(v, path + ".max_delay")) r->max_delay = *d;
      } else {
        Error(path + "." + k, "is not a retry field");
      }
    }
    if (!j.contains("max_delay"))
      r->max_delay = std::max(r->max_delay, r->delay);
    else if (r->max_delay < r->delay)
      Error(path + ".max_delay", "must not be less than delay");
  }

  // The fields each webhook auth type needs; secrets must be non-empty strings.
  void ParseWebhookAuth(const Json& a, const std::string& type, const std::string& path) {
    auto need = [&](const char* key, const std::string& why) {
      auto f = a.find(key);
      if (f == a.end() || !f->is_string() || f->get<std::string>().empty())
        Error(path + "." + key, "is required for " + why);
    };
    if (type == "header") {
      need("name", "header auth");
      need("value", "header auth");
    } else if (type == "basic") {
      need("username", "basic auth");
      need("password", "basic auth");
    } else if (type == "hmac") {
      need("secret", "hmac");
      std::string scheme = GetString(a, "scheme", "standard-webhooks");
      if (scheme != "standard-webhooks" && scheme != "github" && scheme != "custom") {
        Error(path + ".scheme", "must be standard-webhooks, github or custom");
      } else if (scheme == "custom") {
        need("header", "the custom scheme");
        std::string alg = GetString(a, "algorithm", "sha256");
        if (alg != "sha256" && alg != "sha1" && alg != "sha512")
          Error(path + ".algorithm", "must be sha256, sha1 or sha512");
        std::string enc = GetString(a, "encoding", "hex");
        if (enc != "hex" && enc != "base64") Error(path + ".encoding", "must be hex or base64");
      }
    }
  }

  void ParseWebhook(const Json& w, const std::string& path) {
    if (!w.is_object()) {
      Error(path, "must be an object");
      return;
    }
    if (auto it = w.find("methods"); it != w.end() && !it->is_null()) {
      if (!it->is_array() || it->empty())
        Error(path + ".methods", "must be a non-empty list of methods");
      else
        for (size_t i = 0; i < it->size(); ++i)
          if (!(*it)[i].is_string() || !kMethods.count((*it)[i].get<std::string>()))
            Error(path + ".methods[" + std::to_string(i) + "]",
                  "must be one of GET, POST, PUT, PATCH, DELETE");
    }
    if (auto it = w.find("response"); it != w.end() && !it->is_null()) {
      if (!it->is_object()) {
        Error(path + ".response", "must be an object {mode, timeout}");
      } else {
        std::string mode = GetString(*it, "mode", "accepted");
        if (mode != "accepted" && mode != "sync")
          Error(path + ".response.mode", "must be accepted or sync");
        if (auto t = it->find("timeout"); t != it->end() && !t->is_null())
          Duration(*t, path + ".response.timeout");
      }
    }
    if (auto it = w.find("max_body"); it != w.end() && !it->is_null()) {
      if (!it->is_number_integer() || it->get<int64_t>() <= 0)
        Error(path + ".max_body", "must be a positive number of bytes");
    }
    if (auto it = w.find("auth"); it != w.end() && !it->is_null()) {
      if (!it->is_object()) {
        Error(path + ".auth", "must be an object with a type");
        return;
      }
      std::string type = GetString(*it, "type", "none");
      static const std::set<std::string> kAuth = {"none", "header", "basic", "hmac"};
      if (!kAuth.count(type)) Error(path + ".auth.type", "must be none, header, basic or hmac");
      ParseWebhookAuth(*it, type, path + ".auth");
    }
  }

  FlowDocument ParseDocument(const Json& doc) {
    FlowDocument d;
    if (!doc.is_object()) {
      Error("", "a flow document must be an object");
      return d;
    }
    for (auto it = doc.begin(); it != doc.end(); ++it) {
      const std::string& k = it.key();
      if (k != "name" && k != "description" && k != "trigger" && k != "steps" && k != "settings" &&
          k != "sample" && !kServerManagedFields.count(k))
        Error(k, "is not a flow field");
    }
    auto name = doc.find("name");
    if (name == doc.end() || !name->is_string() ||
        name->get<std::string>().find_first_not_of(" \t") == std::string::npos) {
      Error("name", "is required");
    } else {
      d.name = name->get<std::string>();
      if (d.name.size() > 200) Error("name", "must be at most 200 characters");
    }
    if (auto it = doc.find("description"); it != doc.end() && !it->is_null()) {
      if (!it->is_string())
        Error("description", "must be a string");
      else
        d.description = it->get<std::string>();
    }
    if (auto it = doc.find("trigger"); it != doc.end() && !it->is_null()) {
      if (!it->is_object()) {
        Error("trigger", "must be an object with a type");
      } else {
        d.trigger = *it;
        std::string type = GetString(*it, "type", "");
        if (type == "webhook") {
          if (auto w = it->find("webhook"); w != it->end() && !w->is_null())
            ParseWebhook(*w, "trigger.webhook");
        } else if (type == "schedule") {
          auto s = it->find("schedule");
          if (s == it->end() || !s->is_object())
            Error("trigger.schedule", "is required for a schedule trigger");
        } else if (type == "poll") {
          auto p = it->find("poll");
          if (p == it->end() || p->is_null())
            Error("trigger.poll", "is required for a poll trigger");
          else
            ParsePoll(*p, "trigger.poll");
        } else if (type != "manual") {
          Error("trigger.type", "must be manual, webhook, schedule or poll");
        }
      }
    }
    if (auto it = doc.find("steps"); it != doc.end() && !it->is_null()) {
      d.steps = Steps(*it, "steps");
      std::set<std::string> earlier;
      CheckStepRefs(d.steps, "steps", earlier);
    }
    if (auto it = doc.find("settings"); it != doc.end() && !it->is_null()) {
      if (!it->is_object())
        Error("settings", "must be an object");
      else {
        d.settings = *it;
        Settings(*it, d.name);
      }
    }
    if (auto it = doc.find("sample"); it != doc.end() && !it->is_null()) Sample(*it, d);
    return d;
  }

  // The editor's pinned sample: {trigger: object, steps: {<id>: {output: any}}}, at most
  // kMaxSampleBytes as JSON. Never read by a run; kept as written.
  void Sample(const Json& s, FlowDocument& d) {
    constexpr size_t kMaxSampleBytes = 1 << 20;
    if (!s.is_object()) return Error("sample", "must be an object {trigger, steps}");
    bool ok = true;
    for (auto it = s.begin(); it != s.end(); ++it) {
      if (it.key() == "trigger") {
        if (!it->is_object() && !it->is_null()) {
          Error("sample.trigger", "must be an object");
          ok = false;
        }
      } else if (it.key() == "steps") {
        if (!it->is_object() && !it->is_null()) {
          Error("sample.steps", "must be an object of step id to {output}");
          ok = false;
          continue;
        }
        if (it->is_null()) continue;
        for (auto st = it->begin(); st != it->end(); ++st) {
          if (!st->is_object()) {
            Error("sample.steps." + st.key(), "must be an object {output}");
            ok = false;
          }
        }
      } else {
        Error("sample." + it.key(), "is not a sample field (trigger, steps)");
        ok = false;
      }
    }
    if (ok && s.dump().size() > kMaxSampleBytes) {
      Error("sample", "is larger than 1 MiB");
      ok = false;
    }
    if (ok) d.sample = s;
  }

  // The settings weft itself reads; other keys are kept as written.
  void Settings(const Json& s, const std::string& flow_name) {
    if (auto it = s.find("error_flow"); it != s.end() && !it->is_null()) {
      if (!it->is_string() || it->get_ref<const std::string&>().empty())
        Error("settings.error_flow", "must be the name of another flow");
      else if (it->get_ref<const std::string&>() == flow_name)
        Error("settings.error_flow", "must name another flow, not this one");
    }
    if (auto it = s.find("max_concurrency"); it != s.end() && !it->is_null()) {
      if (!it->is_number_integer() || it->get<int64_t>() < 1 || it->get<int64_t>() > 1'000'000)
        Error("settings.max_concurrency", "must be a whole number from 1 to 1000000");
    }
    if (auto it = s.find("timeout"); it != s.end() && !it->is_null()) {
      if (auto d = Duration(*it, "settings.timeout"); d && d->count() <= 0)
        Error("settings.timeout", "must be longer than zero");
    }
    // Budgets of each expression evaluation in this flow (docs/hardening.md).
    if (auto it = s.find("expression_timeout"); it != s.end() && !it->is_null()) {
      if (auto d = Duration(*it, "settings.expression_timeout");
          d && (d->count() <= 0 || *d > kMaxExpressionTimeout))
        Error("settings.expression_timeout", "must be longer than zero and at most 10m");
    }
    if (auto it = s.find("expression_memory"); it != s.end() && !it->is_null()) {
      if (!ExpressionMemory(*it))
        Error("settings.expression_memory",
              "must be a size from 64KiB to 4GiB, such as \"64MiB\" or a number of bytes");
    }
    if (auto it = s.find("retention"); it != s.end() && !it->is_null()) {
      if (!it->is_object()) {
        Error("settings.retention",
              "must be an object such as {runs: 30d, keep: 1000, keep_failed: 90d}");
        return;
      }
      for (auto r = it->begin(); r != it->end(); ++r) {
        const std::string path = "settings.retention." + r.key();
        if (r.key() == "runs" || r.key() == "keep_failed") {
          if (auto d = Duration(r.value(), path); d && d->count() <= 0)
            Error(path, "must be longer than zero");
        } else if (r.key() == "keep") {
          if (!r.value().is_number_integer() || r.value().get<int64_t>() < 1)
            Error(path, "must be a whole number of runs, at least 1");
        } else {
          Error(path, "is not a retention setting (runs, keep, keep_failed)");
        }
      }
    }
  }

  std::vector<FieldError> errors_, warnings_;

 private:
  const ValidationContext& ctx_;
  std::set<std::string> ids_;
};

Json StepToJson(const Step& s) {
  Json j = Json::object();
  j["id"] = s.id;
  if (!s.name.empty()) j["name"] = s.name;
  j["uses"] = s.uses;
  if (!s.connection.empty()) j["connection"] = s.connection;
  if (!s.with.empty()) j["with"] = s.with;
  if (!s.if_expr.empty()) j["if"] = s.if_expr;
  RetryPolicy def;
  const RetryPolicy& r = s.retry;
  if (r.attempts != def.attempts || r.backoff != def.backoff || r.delay != def.delay ||
      r.max_delay != def.max_delay) {
    j["retry"] = {{"attempts", r.attempts},
                  {"backoff", r.backoff == Backoff::kFixed ? "fixed" : "exponential"},
                  {"delay", FormatDuration(r.delay)},
                  {"max_delay", FormatDuration(r.max_delay)}};
  }
  if (s.timeout) j["timeout"] = FormatDuration(*s.timeout);
  if (s.on_error == OnError::kContinue) j["on_error"] = "continue";
  auto list = [](const std::vector<Step>& steps) {
    Json a = Json::array();
    for (const auto& c : steps) a.push_back(StepToJson(c));
    return a;
  };
  if (s.uses == "flow.if") {
    j["then"] = list(s.then_steps);
    j["else"] = list(s.else_steps);
  }
  if (s.uses == "flow.foreach") j["do"] = list(s.do_steps);
  return j;
}

}  // namespace

Result<Json> ParseDocumentText(std::string_view text, const DocumentLimits& limits) {
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && (text[first] == '{' || text[first] == '[')) {
    std::string err;
    if (auto j = ParseJson(text, &err)) return *j;
    if (JsonNesting(text) > kMaxJsonNesting)
      return Fail(ErrorCode::kBadRequest, "the document's " + err);
    return Fail(ErrorCode::kBadRequest, "the document is not valid JSON: " + err);
  }
  // JSON text must be UTF-8 (ParseJson refuses it otherwise), and so must
  // YAML text, but yaml-cpp does not check: a string that is not would make
  // each later dump() of what holds it throw (sealing a connection's secret,
  // an answer of the API). Found by connection_fuzz.
  if (!ValidUtf8(text)) return Fail(ErrorCode::kBadRequest, "the document is not valid UTF-8");
  try {
    YAML::Node node = YAML::Load(std::string(text));
    Json doc = YamlToJson{limits.max_values, limits.max_depth}.Convert(node, "", 0);
    // yaml-cpp may still hand back strings that are not UTF-8 (NUL bytes make
    // it read parts of the text as UTF-16 or UTF-32): check what it made.
    try {
      (void)doc.dump();
    } catch (const Json::type_error&) {
      return Fail(ErrorCode::kBadRequest, "the document is not valid UTF-8 once read as YAML");
    }
    return doc;
  } catch (const BadYamlNumber& e) {
    FieldError fe{e.path, "the number " + e.text.substr(0, 40) + " is too large"};
    return Fail(ErrorCode::kBadRequest,
                "the document holds a number too large to read" +
                    (e.path.empty() ? std::string() : " at " + e.path) + ": " +
                    e.text.substr(0, 40),
                {fe});
  } catch (const YamlTooLarge& e) {
    return Fail(ErrorCode::kBadRequest, e.what);
  } catch (const YAML::Exception& e) {
    return Fail(ErrorCode::kBadRequest,
                std::string("the document is neither JSON nor YAML: ") + e.what());
  } catch (const std::exception& e) {
    return Fail(ErrorCode::kBadRequest, std::string("the document cannot be read: ") + e.what());
  }
}

std::string ToYaml(const Json& value) {
  YAML::Emitter out;
  EmitYaml(out, value);
  return std::string(out.c_str()) + "\n";
}

Result<ValidatedFlow> ValidateFlowDocument(const Json& doc, const ValidationContext& ctx) {
  Validator v(ctx);
  ValidatedFlow out;
  out.document = v.ParseDocument(doc);
  if (!v.errors_.empty()) {
    size_t n = v.errors_.size();
    std::string message = "the flow has " + std::to_string(n) + (n == 1 ? " problem" : " problems");
    return Fail(ErrorCode::kValidation, std::move(message), std::move(v.errors_));
  }
  out.canonical = CanonicalJson(out.document);
  out.warnings = std::move(v.warnings_);
  return out;
}

Result<FlowDocument> ParseStoredDocument(const Json& canonical) {
  // Stored documents were validated on save; parse structure only.
  struct Lenient {
    static Step ParseStep(const Json& j) {
      Step s;
      s.id = GetString(j, "id");
      s.name = GetString(j, "name");
      s.uses = GetString(j, "uses");
      s.connection = GetString(j, "connection");
      if (auto it = j.find("with"); it != j.end() && it->is_object()) s.with = *it;
      s.if_expr = GetString(j, "if");
      if (auto it = j.find("retry"); it != j.end() && it->is_object()) {
        s.retry.attempts = it->value("attempts", 1);
        s.retry.backoff = GetString(*it, "backoff", "fixed") == "exponential"
                              ? Backoff::kExponential
                              : Backoff::kFixed;
        if (auto d = ParseDuration(GetString(*it, "delay", "1s"))) s.retry.delay = *d;
        if (auto d = ParseDuration(GetString(*it, "max_delay", "1m"))) s.retry.max_delay = *d;
      }
      if (auto t = ParseDuration(GetString(j, "timeout"))) s.timeout = *t;
      if (GetString(j, "on_error") == "continue") s.on_error = OnError::kContinue;
      auto list = [&](const char* key, std::vector<Step>* out) {
        if (auto it = j.find(key); it != j.end() && it->is_array())
          for (const auto& c : *it) out->push_back(ParseStep(c));
      };
      list("then", &s.then_steps);
      list("else", &s.else_steps);
      list("do", &s.do_steps);
      return s;
    }
  };
  if (!canonical.is_object())
    return Fail(ErrorCode::kInternal, "stored flow document is not an object");
  FlowDocument d;
  d.name = GetString(canonical, "name");
  d.description = GetString(canonical, "description");
  if (auto it = canonical.find("trigger"); it != canonical.end() && it->is_object())
    d.trigger = *it;
  if (auto it = canonical.find("steps"); it != canonical.end() && it->is_array())
    for (const auto& s : *it) d.steps.push_back(Lenient::ParseStep(s));
  if (auto it = canonical.find("settings"); it != canonical.end() && it->is_object())
    d.settings = *it;
  if (auto it = canonical.find("sample"); it != canonical.end() && it->is_object()) d.sample = *it;
  return d;
}

Json CanonicalJson(const FlowDocument& doc) {
  Json j = Json::object();
  j["name"] = doc.name;
  if (!doc.description.empty()) j["description"] = doc.description;
  j["trigger"] = doc.trigger;
  Json steps = Json::array();
  for (const auto& s : doc.steps) steps.push_back(StepToJson(s));
  j["steps"] = steps;
  if (!doc.settings.empty()) j["settings"] = doc.settings;
  if (doc.sample.is_object() && !doc.sample.empty()) j["sample"] = doc.sample;
  return j;
}

void ForEachStep(const std::vector<Step>& steps, const std::function<void(const Step&)>& fn) {
  for (const auto& s : steps) {
    fn(s);
    ForEachStep(s.then_steps, fn);
    ForEachStep(s.else_steps, fn);
    ForEachStep(s.do_steps, fn);
  }
}

std::vector<std::string> ConnectionsUsed(const FlowDocument& doc) {
  std::vector<std::string> out;
  if (doc.TriggerType() == "poll")
    if (auto p = ParsePollTrigger(doc.trigger); p && !p->connection.empty())
      out.push_back(p->connection);
  ForEachStep(doc.steps, [&](const Step& s) {
    if (!s.connection.empty() && std::find(out.begin(), out.end(), s.connection) == out.end())
      out.push_back(s.connection);
  });
  return out;
}

std::optional<size_t> ExpressionMemory(const Json& v) {
  std::optional<uint64_t> bytes;
  if (v.is_number_unsigned() || (v.is_number_integer() && v.get<int64_t>() > 0))
    bytes = v.get<uint64_t>();
  else if (v.is_string())
    bytes = ParseByteSize(v.get_ref<const std::string&>());
  if (!bytes || *bytes < kMinExpressionMemory || *bytes > kMaxExpressionMemory) return std::nullopt;
  return static_cast<size_t>(*bytes);
}

}  // namespace weft
