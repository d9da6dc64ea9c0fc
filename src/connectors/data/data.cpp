#include "connectors/data/data.h"

#include <expat.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>

#include <type_traits>
#include <vector>

#include "common/base64.h"
#include "connectors/common/file_values.h"
#include "connectors/common/spec.h"

namespace weft::connectors {
namespace {

std::string Text(const Json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

// ---- XML ------------------------------------------------------------------------

// Builds JSON while expat walks the document: an element is an object of its
// attributes ("@name"), children (repeated names become arrays) and text
// ("#text"); an element with only text is that string; an empty one is "".
struct XmlBuilder {
  struct Frame {
    std::string name;
    Json obj = Json::object();
    std::string text;
  };
  std::vector<Frame> stack;
  Json root;
  std::string error;
  XML_Parser parser = nullptr;

  static void Start(void* p, const XML_Char* name, const XML_Char** attrs) {
    auto* b = static_cast<XmlBuilder*>(p);
    if (b->stack.size() > 256) {
      b->error = "the XML is nested too deeply";
      XML_StopParser(b->parser, XML_FALSE);
      return;
    }
    Frame f;
    f.name = name;
    for (int i = 0; attrs[i]; i += 2) f.obj[std::string("@") + attrs[i]] = attrs[i + 1];
    b->stack.push_back(std::move(f));
  }
  static void End(void* p, const XML_Char*) {
    auto* b = static_cast<XmlBuilder*>(p);
    Frame f = std::move(b->stack.back());
    b->stack.pop_back();
    std::string trimmed = f.text;
    size_t s = trimmed.find_first_not_of(" \t\r\n");
    trimmed = s == std::string::npos
                  ? ""
                  : trimmed.substr(s, trimmed.find_last_not_of(" \t\r\n") - s + 1);
    Json value;
    if (f.obj.empty()) {
      value = trimmed;
    } else {
      if (!trimmed.empty()) f.obj["#text"] = trimmed;
      value = std::move(f.obj);
    }
    if (b->stack.empty()) {
      b->root = Json::object();
      b->root[f.name] = std::move(value);
      return;
    }
    Json& parent = b->stack.back().obj;
    auto it = parent.find(f.name);
    if (it == parent.end()) {
      parent[f.name] = std::move(value);
    } else if (it->is_array()) {
      it->push_back(std::move(value));
    } else {
      *it = Json::array({std::move(*it), std::move(value)});
    }
  }
  static void Chars(void* p, const XML_Char* s, int len) {
    auto* b = static_cast<XmlBuilder*>(p);
    if (!b->stack.empty()) b->stack.back().text.append(s, len);
  }
};

std::string XmlEscape(const std::string& s, bool attribute) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += attribute ? "&quot;" : "\"";
        break;
      default:
        out += c;
    }
  }
  return out;
}

bool ValidXmlName(const std::string& name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0])) || name[0] == '-' ||
      name[0] == '.')
    return false;
  for (unsigned char c : name)
    if (!(std::isalnum(c) || c == '_' || c == '-' || c == '.' || c == ':' || c >= 0x80))
      return false;
  return true;
}

Result<void> WriteElement(const std::string& name, const Json& v, bool pretty, int depth,
                          std::string& out) {
  if (!ValidXmlName(name))
    return Fail(ErrorCode::kValidation, "\"" + name + "\" is not a valid XML element name");
  if (depth > 256) return Fail(ErrorCode::kValidation, "the value is nested too deeply");
  if (v.is_array()) {
    for (const auto& e : v) {
      auto r = WriteElement(name, e, pretty, depth, out);
      if (!r) return r;
    }
    return Ok();
  }
  std::string indent = pretty ? std::string(depth * 2, ' ') : "";
  out += indent + "<" + name;
  if (!v.is_object()) {
    if (v.is_null() || v == "") {
      out += "/>";
    } else {
      out += ">" + XmlEscape(Text(v), false) + "</" + name + ">";
    }
    if (pretty) out += "\n";
    return Ok();
  }
  bool children = false;
  for (auto& [k, c] : v.items()) {
    if (k.starts_with("@")) {
      if (!ValidXmlName(k.substr(1)))
        return Fail(ErrorCode::kValidation, "\"" + k + "\" is not a valid XML attribute name");
      out += " " + k.substr(1) + "=\"" + XmlEscape(Text(c), true) + "\"";
    } else if (k != "#text") {
      children = true;
    }
  }
  std::string text = v.contains("#text") ? XmlEscape(Text(v["#text"]), false) : "";
  if (!children && text.empty()) {
    out += "/>";
    if (pretty) out += "\n";
    return Ok();
  }
  out += ">" + text;
  if (children) {
    if (pretty) out += "\n";
    for (auto& [k, c] : v.items()) {
      if (k.starts_with("@") || k == "#text") continue;
      auto r = WriteElement(k, c, pretty, depth + 1, out);
      if (!r) return r;
    }
    out += indent;
  }
  out += "</" + name + ">";
  if (pretty) out += "\n";
  return Ok();
}

// ---- actions --------------------------------------------------------------------------

template <typename Fn>
class FnAction : public Action {
 public:
  explicit FnAction(Fn fn) : fn_(std::move(fn)) {}
  ActionOutcome Execute(ActionContext& ctx) override {
    if constexpr (std::is_invocable_v<Fn, ActionContext&>)
      return fn_(ctx);
    else
      return fn_(ctx.input);
  }

 private:
  Fn fn_;
};
template <typename Fn>
std::shared_ptr<Action> MakeAction(Fn fn) {
  return std::make_shared<FnAction<Fn>>(std::move(fn));
}

ActionOutcome FromResult(Result<Json> r) {
  if (!r) return InputError(r.error());
  return ActionOutcome::Ok(std::move(*r));
}

Result<CsvOptions> ReadCsvOptions(const Json& in) {
  CsvOptions o;
  auto delimiter = OptString(in, "delimiter");
  if (!delimiter) return Fail(std::move(delimiter).error());
  if (delimiter->has_value()) {
    std::string d = **delimiter == "\\t" || **delimiter == "tab" ? "\t" : **delimiter;
    if (d.size() != 1)
      return Fail(ErrorCode::kValidation, "delimiter must be one character",
                  {{"with.delimiter", "must be one character"}});
    o.delimiter = d[0];
  }
  auto quote = OptString(in, "quote");
  if (!quote) return Fail(std::move(quote).error());
  if (quote->has_value()) {
    if ((*quote)->size() != 1)
      return Fail(ErrorCode::kValidation, "quote must be one character",
                  {{"with.quote", "must be one character"}});
    o.quote = (**quote)[0];
  }
  auto header = OptBool(in, "header");
  if (!header) return Fail(std::move(header).error());
  o.header = header->value_or(true);
  o.quoting = GetString(in, "quoting", "minimal");
  if (o.quoting != "minimal" && o.quoting != "all" && o.quoting != "none")
    return Fail(ErrorCode::kValidation, "quoting must be minimal, all or none",
                {{"with.quoting", "must be minimal, all or none"}});
  return o;
}

std::string Hex(const unsigned char* data, size_t len) {
  std::string out(len * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), data, len);
  out.pop_back();
  return out;
}

// ---- files ----------------------------------------------------------------------------

// Reads file `id` in 1 MiB pieces, handing each to `fn` until it returns
// false or the file ends; stops early when the step is cancelled or out of time.
Result<void> ReadPieces(ActionContext& ctx, const FileInfo& file,
                        const std::function<bool(std::string_view)>& fn) {
  auto src = ctx.files->Open(file.id);
  if (!src) return Fail(src.error());
  std::vector<char> buf(1u << 20);
  for (;;) {
    if (ctx.cancelled.load()) return Fail(ErrorCode::kCancelled, "cancelled");
    if (ctx.clock.Now() >= ctx.deadline)
      return Fail(ErrorCode::kTimeout, "timed out reading " + file.id);
    auto got = (*src)->Read(buf.data(), buf.size());
    if (!got) return Fail(got.error());
    if (*got == 0) return Ok();
    if (!fn(std::string_view(buf.data(), *got))) return Ok();
  }
}

struct Slice {
  int64_t offset = 0;
  int64_t limit = 1000;
};

Result<Slice> ReadSlice(const Json& in) {
  Slice s;
  auto offset = OptInt(in, "offset");
  if (!offset) return Fail(std::move(offset).error());
  auto limit = OptInt(in, "limit");
  if (!limit) return Fail(std::move(limit).error());
  s.offset = offset->value_or(0);
  s.limit = limit->value_or(1000);
  if (s.offset < 0)
    return Fail(ErrorCode::kValidation, "offset must be 0 or more",
                {{"with.offset", "must be 0 or more"}});
  if (s.limit < 1)
    return Fail(ErrorCode::kValidation, "limit must be 1 or more",
                {{"with.limit", "must be 1 or more"}});
  return s;
}

ActionOutcome StepError(const Error& e, const std::string& what) {
  if (e.code == ErrorCode::kValidation) return InputError(Error(e.code, what + ": " + e.message));
  if (e.code == ErrorCode::kCancelled || e.code == ErrorCode::kTimeout)
    return ActionOutcome::Failed(e.code, what + ": " + e.message, e.code == ErrorCode::kTimeout);
  return FileFailure(e, what);
}

// data.csv_parse over a file: rows [offset, offset + limit) of it, streamed.
ActionOutcome CsvFromFile(ActionContext& ctx, const CsvOptions& o) {
  const Json& in = ctx.input;
  auto file = FileInput(in, "file", ctx.files);
  if (!file) return InputError(file.error());
  auto slice = ReadSlice(in);
  if (!slice) return InputError(slice.error());
  std::vector<std::string> names;
  bool have_names = !o.header;
  int64_t index = 0;  // data rows seen
  bool more = false;
  Json rows = Json::array();
  auto on_row = [&](std::vector<std::string>& row) {
    if (!have_names) {
      names = std::move(row);
      have_names = true;
      return true;
    }
    int64_t i = index++;
    if (i < slice->offset) return true;
    if (static_cast<int64_t>(rows.size()) == slice->limit) {
      more = true;
      return false;
    }
    if (!o.header) {
      rows.push_back(row);
      return true;
    }
    Json obj = Json::object();
    for (size_t k = 0; k < names.size(); ++k)
      obj[names[k]] = k < row.size() ? Json(row[k]) : Json("");
    for (size_t k = names.size(); k < row.size(); ++k)
      obj["column_" + std::to_string(k + 1)] = row[k];
    rows.push_back(std::move(obj));
    return true;
  };
  CsvReader reader(o);
  bool stopped = false;
  auto read = ReadPieces(ctx, *file, [&](std::string_view piece) {
    stopped = !reader.Feed(piece, on_row);
    return !stopped;
  });
  if (!read) return StepError(read.error(), "reading " + file->id);
  if (!stopped) {
    if (auto done = reader.Finish(on_row); !done) return StepError(done.error(), file->id);
  }
  int64_t count = static_cast<int64_t>(rows.size());
  Json out = {{"rows", std::move(rows)},
              {"count", count},
              {"offset", slice->offset},
              {"next_offset", slice->offset + count},
              {"more", more}};
  if (o.header) out["columns"] = names;
  return ActionOutcome::Ok(std::move(out));
}

// data.xml_parse over a file: the records (the root's children, or every
// element named `record`) [offset, offset + limit), streamed through expat.
struct XmlRecords {
  std::string record;  // empty: the root's children
  Slice slice;
  XML_Parser parser = nullptr;
  int depth = 0;
  int record_depth = 0;  // the depth of the record being read; 0: none
  bool building = false;
  XmlBuilder builder;
  std::string root;
  int64_t index = 0;
  Json records = Json::array();
  bool more = false;

  bool IsRecord(const XML_Char* name) const { return record.empty() ? depth == 2 : record == name; }
  static void Start(void* p, const XML_Char* name, const XML_Char** attrs) {
    auto* r = static_cast<XmlRecords*>(p);
    ++r->depth;
    if (r->depth == 1) r->root = name;
    if (r->record_depth == 0 && r->IsRecord(name)) {
      int64_t i = r->index++;
      if (i >= r->slice.offset && static_cast<int64_t>(r->records.size()) == r->slice.limit) {
        r->more = true;
        XML_StopParser(r->parser, XML_FALSE);
        return;
      }
      r->record_depth = r->depth;
      r->building = i >= r->slice.offset;
      if (r->building) {
        r->builder = XmlBuilder();
        r->builder.parser = r->parser;
      }
    }
    if (r->building) XmlBuilder::Start(&r->builder, name, attrs);
  }
  static void End(void* p, const XML_Char* name) {
    auto* r = static_cast<XmlRecords*>(p);
    if (r->building) XmlBuilder::End(&r->builder, name);
    if (r->record_depth == r->depth) {
      if (r->building && r->builder.error.empty()) {
        r->records.push_back(std::move(r->builder.root.begin().value()));
        r->builder.root = Json();
      }
      r->record_depth = 0;
      r->building = false;
    }
    --r->depth;
  }
  static void Chars(void* p, const XML_Char* s, int len) {
    auto* r = static_cast<XmlRecords*>(p);
    if (r->building) XmlBuilder::Chars(&r->builder, s, len);
  }
};

ActionOutcome XmlFromFile(ActionContext& ctx) {
  const Json& in = ctx.input;
  auto file = FileInput(in, "file", ctx.files);
  if (!file) return InputError(file.error());
  auto slice = ReadSlice(in);
  if (!slice) return InputError(slice.error());
  XmlRecords r;
  r.record = GetString(in, "record");
  r.slice = *slice;
  XML_Parser p = XML_ParserCreate("UTF-8");
  r.parser = p;
  XML_SetUserData(p, &r);
  XML_SetElementHandler(p, &XmlRecords::Start, &XmlRecords::End);
  XML_SetCharacterDataHandler(p, &XmlRecords::Chars);
  std::string error;
  bool stopped = false;
  auto fail = [&] {
    if (!r.builder.error.empty()) {
      error = r.builder.error;
    } else {
      error = std::string("the XML is not well-formed: ") + XML_ErrorString(XML_GetErrorCode(p)) +
              " at line " + std::to_string(XML_GetCurrentLineNumber(p)) + ", column " +
              std::to_string(XML_GetCurrentColumnNumber(p));
    }
  };
  auto read = ReadPieces(ctx, *file, [&](std::string_view piece) {
    XML_Status st = XML_Parse(p, piece.data(), static_cast<int>(piece.size()), XML_FALSE);
    if (r.more) {
      stopped = true;
      return false;
    }
    if (st != XML_STATUS_OK || !r.builder.error.empty()) {
      fail();
      return false;
    }
    return true;
  });
  if (read && error.empty() && !stopped) {
    if (XML_Parse(p, nullptr, 0, XML_TRUE) != XML_STATUS_OK || !r.builder.error.empty()) fail();
  }
  XML_ParserFree(p);
  if (!read) return StepError(read.error(), "reading " + file->id);
  if (!error.empty()) return InputError(Error(ErrorCode::kValidation, file->id + ": " + error));
  int64_t count = static_cast<int64_t>(r.records.size());
  return ActionOutcome::Ok(Json{{"root", r.root},
                                {"records", std::move(r.records)},
                                {"count", count},
                                {"offset", slice->offset},
                                {"next_offset", slice->offset + count},
                                {"more", r.more}});
}

// The text an action made, as its output or (with `as: file`) as a new file.
ActionOutcome TextOrFile(ActionContext& ctx, std::string text, const std::string& default_name,
                         const std::string& content_type) {
  const Json& in = ctx.input;
  std::string as = GetString(in, "as", "text");
  if (as == "text") return ActionOutcome::Ok(std::move(text));
  if (as != "file")
    return InputError(Error(ErrorCode::kValidation, "as must be text or file",
                            {{"with.as", "must be text or file"}}));
  if (!ctx.files)
    return InputError(Error(ErrorCode::kValidation, "as: file needs files, which are off",
                            {{"with.as", "files are off"}}));
  std::string name = GetString(in, "name", default_name);
  auto file = WriteWholeFile(*ctx.files, name, content_type, text);
  if (!file) return FileFailure(file.error(), "writing " + name);
  return ActionOutcome::Ok(Json{{"file", file->ToJson()}, {"size", file->size}});
}

}  // namespace

// ---- CSV ------------------------------------------------------------------------------

void CsvReader::EndField() {
  row_.push_back(std::move(field_));
  field_.clear();
  field_started_ = false;
}

bool CsvReader::EndRow(const RowFn& on_row) {
  EndField();
  bool go_on = true;
  if (!(row_.size() == 1 && row_[0].empty())) go_on = on_row(row_);  // skip blank lines
  row_.clear();
  return go_on;
}

bool CsvReader::Feed(std::string_view piece, const RowFn& on_row) {
  static constexpr std::string_view kBom = "\xEF\xBB\xBF";
  size_t i = 0;
  // A byte-order mark, possibly split across pieces.
  while (!started_ && i < piece.size()) {
    if (piece[i] == kBom[bom_]) {
      ++i;
      if (++bom_ == kBom.size()) started_ = true;
      continue;
    }
    started_ = true;
    if (bom_ > 0) {  // not a mark after all: those bytes are data
      std::string head(kBom.substr(0, bom_));
      if (!Feed(head, on_row)) return false;
    }
  }
  for (; i < piece.size(); ++i) {
    char c = piece[i];
    if (skip_lf_) {
      skip_lf_ = false;
      if (c == '\n') continue;
    }
    if (quote_pending_) {  // a quote inside a quoted field: doubled, or the closing one
      quote_pending_ = false;
      if (c == o_.quote) {
        field_ += c;
        continue;
      }
      quoted_ = false;
    }
    if (quoted_) {
      if (c == o_.quote) {
        quote_pending_ = true;
      } else {
        if (c == '\n') ++line_;
        field_ += c;
      }
    } else if (c == o_.quote && !field_started_) {
      quoted_ = true;
      field_started_ = true;
    } else if (c == o_.delimiter) {
      EndField();
    } else if (c == '\n' || c == '\r') {
      skip_lf_ = c == '\r';
      ++line_;
      if (!EndRow(on_row)) return false;
    } else {
      field_ += c;
      field_started_ = true;
    }
  }
  return true;
}

Result<void> CsvReader::Finish(const RowFn& on_row) {
  if (!started_ && bom_ > 0) {
    started_ = true;
    std::string head(std::string_view("\xEF\xBB\xBF").substr(0, bom_));
    if (!Feed(head, on_row)) return Ok();
  }
  if (quote_pending_) {
    quote_pending_ = false;
    quoted_ = false;
  }
  if (quoted_)
    return Fail(ErrorCode::kValidation,
                "the CSV has an unclosed quote (line " + std::to_string(line_) + ")");
  if (!field_.empty() || !row_.empty() || field_started_) EndRow(on_row);
  return Ok();
}

Result<Json> ParseCsv(const std::string& text, const CsvOptions& o) {
  std::vector<std::vector<std::string>> rows;
  CsvReader reader(o);
  auto keep = [&](std::vector<std::string>& row) {
    rows.push_back(std::move(row));
    return true;
  };
  reader.Feed(text, keep);
  if (auto done = reader.Finish(keep); !done) return Fail(std::move(done).error());

  Json out = Json::array();
  if (!o.header) {
    for (auto& r : rows) out.push_back(r);
    return out;
  }
  if (rows.empty()) return out;
  const auto& names = rows[0];
  for (size_t r = 1; r < rows.size(); ++r) {
    Json obj = Json::object();
    for (size_t k = 0; k < names.size(); ++k)
      obj[names[k]] = k < rows[r].size() ? Json(rows[r][k]) : Json("");
    for (size_t k = names.size(); k < rows[r].size(); ++k)
      obj["column_" + std::to_string(k + 1)] = rows[r][k];
    out.push_back(std::move(obj));
  }
  return out;
}

Result<std::string> FormatCsv(const Json& rows, const Json& columns_in, const CsvOptions& o) {
  if (!rows.is_array())
    return Fail(ErrorCode::kValidation, "rows must be an array",
                {{"with.rows", "must be an array"}});
  std::vector<std::string> columns;
  if (columns_in.is_array()) {
    for (const auto& c : columns_in) columns.push_back(Text(c));
  } else {
    for (const auto& r : rows) {
      if (!r.is_object()) continue;
      for (auto& [k, v] : r.items())
        if (std::find(columns.begin(), columns.end(), k) == columns.end()) columns.push_back(k);
    }
  }
  auto cell = [&](const Json& v) {
    std::string s = v.is_null() ? "" : Text(v);
    bool needs =
        o.quoting == "all" ||
        (o.quoting == "minimal" &&
         (s.find(o.delimiter) != std::string::npos || s.find(o.quote) != std::string::npos ||
          s.find('\n') != std::string::npos || s.find('\r') != std::string::npos));
    if (!needs) return s;
    std::string q(1, o.quote);
    std::string out = q;
    for (char c : s) {
      if (c == o.quote) out += c;
      out += c;
    }
    return out + q;
  };
  std::string out;
  auto line = [&](const std::vector<Json>& cells) {
    for (size_t i = 0; i < cells.size(); ++i) {
      if (i) out += o.delimiter;
      out += cell(cells[i]);
    }
    out += "\r\n";
  };
  if (o.header && !columns.empty()) line(std::vector<Json>(columns.begin(), columns.end()));
  for (size_t i = 0; i < rows.size(); ++i) {
    const Json& r = rows[i];
    std::vector<Json> cells;
    if (r.is_array()) {
      for (const auto& v : r) cells.push_back(v);
    } else if (r.is_object()) {
      for (const auto& c : columns) cells.push_back(r.contains(c) ? r[c] : Json(nullptr));
    } else {
      return Fail(ErrorCode::kValidation,
                  "rows[" + std::to_string(i) + "] must be an object or an array",
                  {{"with.rows[" + std::to_string(i) + "]", "must be an object or an array"}});
    }
    line(cells);
  }
  return out;
}

Result<Json> ParseXml(const std::string& text) {
  XmlBuilder b;
  XML_Parser p = XML_ParserCreate("UTF-8");
  b.parser = p;
  XML_SetUserData(p, &b);
  XML_SetElementHandler(p, &XmlBuilder::Start, &XmlBuilder::End);
  XML_SetCharacterDataHandler(p, &XmlBuilder::Chars);
  XML_Status st = XML_Parse(p, text.data(), static_cast<int>(text.size()), XML_TRUE);
  std::string error;
  if (!b.error.empty()) {
    error = b.error;
  } else if (st != XML_STATUS_OK) {
    error = std::string("the XML is not well-formed: ") + XML_ErrorString(XML_GetErrorCode(p)) +
            " at line " + std::to_string(XML_GetCurrentLineNumber(p)) + ", column " +
            std::to_string(XML_GetCurrentColumnNumber(p));
  }
  XML_ParserFree(p);
  if (!error.empty()) return Fail(ErrorCode::kValidation, error);
  return b.root;
}

Result<std::string> FormatXml(const Json& value, bool declaration, bool pretty) {
  if (!value.is_object() || value.size() != 1)
    return Fail(ErrorCode::kValidation, "value must be an object with one key, the root element",
                {{"with.value", "must be an object with one key, the root element"}});
  std::string out = declaration ? "<?xml version=\"1.0\" encoding=\"UTF-8\"?>" : "";
  if (declaration && pretty) out += "\n";
  auto r = WriteElement(value.begin().key(), value.begin().value(), pretty, 0, out);
  if (!r) return Fail(std::move(r).error());
  if (value.begin().value().is_array())
    return Fail(ErrorCode::kValidation, "the root element cannot be a list",
                {{"with.value", "the root element cannot be a list"}});
  return out;
}

void RegisterDataFormats(ActionCatalog& catalog) {
  ConnectorSpec data;
  data.name = "data";
  data.title = "Data";
  data.description = "Set, reshape and convert data inside a flow.";
  data.icon = "table";
  auto text_in = [](std::string help) {
    return Field("text", "Text", "text", true, std::move(help));
  };
  auto file_in = [](std::string help) {
    return Field("file", "File", "any", false, std::move(help));
  };
  FieldSpec as_in = Field("as", "Output", "enum", false,
                          "file writes the result to a new file value instead of the output.",
                          "text", {"text", "file"});
  auto name_in = [](std::string name) {
    return Field("name", "File name", "string", false, "The new file's name, with as: file.",
                 std::move(name));
  };
  std::vector<FieldSpec> csv_opts = {
      Field("delimiter", "Delimiter", "string", false, "One character; \\t for tab.", ","),
      Field("quote", "Quote character", "string", false, "", "\""),
      Field("header", "Header row", "boolean", false, "The first row names the columns.", true)};
  auto with_csv = [&](std::vector<FieldSpec> f) {
    f.insert(f.end(), csv_opts.begin(), csv_opts.end());
    return f;
  };
  data.actions = {
      {"csv_parse",
       "Parse CSV",
       "Reads CSV text or a CSV file (RFC 4180: quoted fields, doubled quotes, CRLF or LF); a file "
       "is read as a stream, a slice of rows at a time.",
       with_csv(
           {Field("text", "Text", "text", false,
                  "The CSV text, e.g. {{ steps.download.output.content }}. Give this or file."),
            file_in("A CSV file value, e.g. {{ steps.download.output.file }}; read as a "
                    "stream, any size."),
            Field("offset", "Offset", "integer", false,
                  "With a file: data rows to skip first (the header row is not counted).", 0),
            Field("limit", "Limit", "integer", false, "With a file: at most this many rows.",
                  1000)}),
       "From text: with a header row, an array of objects keyed by column name; without, an array "
       "of arrays of strings. From a file: {rows, count, offset, next_offset, more, columns}; more "
       "says rows remain after these (read them with offset: next_offset).",
       {}},
      {"csv_format",
       "Format CSV",
       "Writes rows as CSV text.",
       with_csv(
           {Field("rows", "Rows", "array", true, "Objects (columns from their keys) or arrays."),
            Field("columns", "Columns", "array", false,
                  "Column order; default: keys in order of first appearance."),
            Field("quoting", "Quoting", "enum", false, "minimal quotes only fields that need it.",
                  "minimal", {"minimal", "all", "none"}),
            as_in, name_in("data.csv")}),
       "The CSV text (CRLF line ends), or {file, size} with as: file.",
       {}},
      {"xml_parse",
       "Parse XML",
       "Reads XML into JSON; an XML file is read as a stream, a slice of records at a time.",
       {Field("text", "Text", "text", false, "The XML document. Give this or file."),
        file_in("An XML file value; read as a stream, any size, as a list of records."),
        Field("record", "Record element", "string", false,
              "With a file: the element name of one record (at any depth); default: each child "
              "of the root element."),
        Field("offset", "Offset", "integer", false, "With a file: records to skip first.", 0),
        Field("limit", "Limit", "integer", false, "With a file: at most this many records.", 1000)},
       "{root: ...}: an element with only text is a string; otherwise an object with \"@attr\" "
       "attributes, "
       "child elements (repeated ones as arrays) and \"#text\". From a file: {root (its name), "
       "records, count, offset, next_offset, more}, each record in that shape.",
       {}},
      {"xml_format",
       "Format XML",
       "Writes JSON (in the shape xml_parse gives) as XML.",
       {Field("value", "Value", "object", true,
              "{root: {...}}: \"@name\" keys become attributes, \"#text\" text, arrays repeat."),
        Field("declaration", "XML declaration", "boolean", false, "", true),
        Field("pretty", "Indent", "boolean", false, "", false), as_in, name_in("data.xml")},
       "The XML text, or {file, size} with as: file.",
       {}},
      {"json_parse",
       "Parse JSON",
       "Reads JSON text.",
       {text_in("The JSON text.")},
       "The parsed value.",
       {}},
      {"json_stringify",
       "Stringify JSON",
       "Writes a value as JSON text.",
       {Field("value", "Value", "any", true, ""),
        Field("indent", "Indent", "integer", false, "Spaces; none when absent."), as_in,
        name_in("data.json")},
       "The JSON text, or {file, size} with as: file.",
       {}},
      {"base64_encode",
       "Base64 encode",
       "Encodes text (UTF-8) as base64.",
       {text_in("The text to encode."),
        Field("variant", "Alphabet", "enum", false, "url uses - and _ without padding.", "standard",
              {"standard", "url"})},
       "The base64 string.",
       {}},
      {"base64_decode",
       "Base64 decode",
       "Decodes base64 into text.",
       {text_in("The base64 text."),
        Field("variant", "Alphabet", "enum", false, "", "standard", {"standard", "url"})},
       "The decoded text (it must be UTF-8).",
       {}},
      {"hash",
       "Hash",
       "A digest or HMAC of text.",
       {text_in("The text (its UTF-8 bytes) to hash."),
        Field("algorithm", "Algorithm", "enum", false, "", "sha256",
              {"md5", "sha1", "sha256", "sha512", "hmac-sha256", "hmac-sha512"}),
        SecretField("key", "HMAC key", false, "Required for hmac-*."),
        Field("encoding", "Encoding", "enum", false, "", "hex", {"hex", "base64"})},
       "The digest as hex or base64.",
       {}},
  };

  std::map<std::string, std::shared_ptr<Action>> actions;
  actions["csv_parse"] = MakeAction([](ActionContext& ctx) -> ActionOutcome {
    const Json& in = ctx.input;
    auto o = ReadCsvOptions(in);
    if (!o) return InputError(o.error());
    if (in.contains("file") && !in["file"].is_null()) return CsvFromFile(ctx, *o);
    auto text = OptString(in, "text");
    if (!text) return InputError(text.error());
    return FromResult(ParseCsv(text->value_or(""), *o));
  });
  actions["csv_format"] = MakeAction([](ActionContext& ctx) -> ActionOutcome {
    const Json& in = ctx.input;
    auto o = ReadCsvOptions(in);
    if (!o) return InputError(o.error());
    auto r = FormatCsv(in.value("rows", Json(nullptr)), in.value("columns", Json(nullptr)), *o);
    if (!r) return InputError(r.error());
    return TextOrFile(ctx, std::move(*r), "data.csv", "text/csv");
  });
  actions["xml_parse"] = MakeAction([](ActionContext& ctx) -> ActionOutcome {
    const Json& in = ctx.input;
    if (in.contains("file") && !in["file"].is_null()) return XmlFromFile(ctx);
    auto text = ReqString(in, "text");
    if (!text) return InputError(text.error());
    return FromResult(ParseXml(*text));
  });
  actions["xml_format"] = MakeAction([](ActionContext& ctx) -> ActionOutcome {
    const Json& in = ctx.input;
    auto decl = OptBool(in, "declaration");
    auto pretty = OptBool(in, "pretty");
    if (!decl) return InputError(decl.error());
    if (!pretty) return InputError(pretty.error());
    auto r =
        FormatXml(in.value("value", Json(nullptr)), decl->value_or(true), pretty->value_or(false));
    if (!r) return InputError(r.error());
    return TextOrFile(ctx, std::move(*r), "data.xml", "application/xml");
  });
  actions["json_parse"] = MakeAction([](const Json& in) -> ActionOutcome {
    auto text = OptString(in, "text");
    if (!text) return InputError(text.error());
    std::string error;
    auto v = ParseJson(text->value_or(""), &error);
    if (!v) return ActionOutcome::Failed(ErrorCode::kValidation, "the text is not JSON: " + error);
    return ActionOutcome::Ok(*v);
  });
  actions["json_stringify"] = MakeAction([](ActionContext& ctx) -> ActionOutcome {
    const Json& in = ctx.input;
    auto indent = OptInt(in, "indent");
    if (!indent) return InputError(indent.error());
    int n = indent->has_value() ? static_cast<int>(std::clamp<int64_t>(**indent, 0, 16)) : -1;
    return TextOrFile(ctx, in.value("value", Json(nullptr)).dump(n), "data.json",
                      "application/json");
  });
  auto alphabet = [](const Json& in) {
    return GetString(in, "variant") == "url" ? Base64Alphabet::kUrlSafe : Base64Alphabet::kStandard;
  };
  actions["base64_encode"] = MakeAction([alphabet](const Json& in) -> ActionOutcome {
    auto text = OptString(in, "text");
    if (!text) return InputError(text.error());
    return ActionOutcome::Ok(Base64Encode(text->value_or(""), alphabet(in)));
  });
  actions["base64_decode"] = MakeAction([alphabet](const Json& in) -> ActionOutcome {
    auto text = OptString(in, "text");
    if (!text) return InputError(text.error());
    auto bytes = Base64Decode(text->value_or(""), alphabet(in));
    if (!bytes)
      return ActionOutcome::Failed(ErrorCode::kValidation, "the text is not valid base64");
    if (!ValidUtf8(*bytes))
      return ActionOutcome::Failed(ErrorCode::kValidation, "the decoded bytes are not UTF-8 text");
    return ActionOutcome::Ok(*bytes);
  });
  actions["hash"] = MakeAction([](const Json& in) -> ActionOutcome {
    auto text = OptString(in, "text");
    if (!text) return InputError(text.error());
    std::string data = text->value_or("");
    std::string algorithm = GetString(in, "algorithm", "sha256");
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    auto digest = [&](const char* name) { return EVP_get_digestbyname(name); };
    if (algorithm.starts_with("hmac-")) {
      const EVP_MD* type = digest(algorithm.substr(5).c_str());
      if (!type)
        return ActionOutcome::Failed(ErrorCode::kValidation, "unknown algorithm " + algorithm);
      std::string key = GetString(in, "key");
      if (key.empty())
        return ActionOutcome::Failed(ErrorCode::kValidation, "key is required for " + algorithm);
      if (!HMAC(type, key.data(), static_cast<int>(key.size()),
                reinterpret_cast<const unsigned char*>(data.data()), data.size(), md, &len))
        return ActionOutcome::Failed(ErrorCode::kInternal, "HMAC failed");
    } else {
      const EVP_MD* type = (algorithm == "md5" || algorithm == "sha1" || algorithm == "sha256" ||
                            algorithm == "sha512")
                               ? digest(algorithm.c_str())
                               : nullptr;
      if (!type)
        return ActionOutcome::Failed(ErrorCode::kValidation, "unknown algorithm " + algorithm);
      if (!EVP_Digest(data.data(), data.size(), md, &len, type, nullptr))
        return ActionOutcome::Failed(ErrorCode::kInternal, "the digest failed");
    }
    if (GetString(in, "encoding", "hex") == "base64")
      return ActionOutcome::Ok(Base64Encode(std::string_view(reinterpret_cast<char*>(md), len)));
    return ActionOutcome::Ok(Hex(md, len));
  });
  catalog.Register(std::move(data), std::move(actions));
}

}  // namespace weft::connectors
