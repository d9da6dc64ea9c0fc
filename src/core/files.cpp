#include "core/files.h"

#include "common/ids.h"
#include "common/time_format.h"

namespace weft {

namespace {
constexpr std::string_view kPrefix = "fil_";
constexpr int kIdChars = 22;  // base62: 22 * log2(62) = 131 bits
}  // namespace

Json FileInfo::ToJson() const {
  return Json{{"type", "file"},
              {"id", id},
              {"name", name},
              {"size", size},
              {"content_type", content_type},
              {"sha256", sha256},
              {"created_at", FormatIso(created_at)}};
}

bool IsFileValue(const Json& v) {
  if (!v.is_object()) return false;
  auto t = v.find("type");
  if (t == v.end() || !t->is_string() || t->get_ref<const std::string&>() != "file") return false;
  auto id = v.find("id");
  return id != v.end() && id->is_string();
}

Result<FileInfo> FileInfoFromJson(const Json& v, const std::string& what) {
  if (!IsFileValue(v))
    return Fail(ErrorCode::kValidation,
                what + " must be a file value ({\"type\": \"file\", \"id\": \"fil_...\", ...})");
  FileInfo f;
  f.id = v["id"].get<std::string>();
  if (!IsFileId(f.id)) return Fail(ErrorCode::kValidation, what + ".id is not a file id");
  f.name = GetString(v, "name");
  if (auto s = v.find("size"); s != v.end() && s->is_number_unsigned()) f.size = s->get<uint64_t>();
  f.content_type = GetString(v, "content_type", "application/octet-stream");
  f.sha256 = GetString(v, "sha256");
  if (auto t = ParseIso(GetString(v, "created_at"))) f.created_at = *t;
  return f;
}

void CollectFileIds(const Json& v, std::vector<std::string>* ids) {
  if (v.is_object()) {
    if (IsFileValue(v)) {
      const auto& id = v["id"].get_ref<const std::string&>();
      if (IsFileId(id)) ids->push_back(id);
      return;
    }
    for (const auto& [k, e] : v.items()) CollectFileIds(e, ids);
  } else if (v.is_array()) {
    for (const auto& e : v) CollectFileIds(e, ids);
  }
}

std::string NewFileId() { return std::string(kPrefix) + RandomToken(128); }

bool IsFileId(std::string_view id) {
  if (id.size() != kPrefix.size() + kIdChars || id.substr(0, kPrefix.size()) != kPrefix)
    return false;
  for (char c : id.substr(kPrefix.size())) {
    bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (!ok) return false;
  }
  return true;
}

Result<std::string> ReadWholeFile(FileStore& files, const std::string& id, size_t cap,
                                  const std::string& what) {
  auto src = files.Open(id);
  if (!src) return Fail(src.error());
  if ((*src)->info().size > cap)
    return Fail(ErrorCode::kPayloadTooLarge, what + " is " + std::to_string((*src)->info().size) +
                                                 " bytes, over the cap of " + std::to_string(cap) +
                                                 " bytes for reading a file whole");
  std::string out;
  out.resize((*src)->info().size);
  size_t got = 0;
  while (got < out.size()) {
    auto n = (*src)->Read(out.data() + got, out.size() - got);
    if (!n) return Fail(n.error());
    if (*n == 0) break;
    got += *n;
  }
  out.resize(got);
  return out;
}

Result<FileInfo> WriteWholeFile(FileStore& files, const std::string& name,
                                const std::string& content_type, std::string_view bytes) {
  auto sink = files.Create(name, content_type);
  if (!sink) return Fail(sink.error());
  if (auto w = (*sink)->Write(bytes.data(), bytes.size()); !w) return Fail(w.error());
  return (*sink)->Commit();
}

}  // namespace weft
