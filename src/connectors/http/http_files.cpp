#include "connectors/http/http_files.h"

#include <algorithm>
#include <cctype>

namespace weft::connectors::http {

namespace {

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string MediaType(const std::string& content_type) {
  std::string t = content_type.substr(0, content_type.find(';'));
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) t.pop_back();
  return t;
}

std::string HeaderValue(const Headers& headers, const std::string& lower_name) {
  for (auto it = headers.rbegin(); it != headers.rend(); ++it)
    if (it->first == lower_name) return it->second;
  return "";
}

std::string PercentDecode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out.push_back(static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// A name safe to show and to use on a file system: no path, no control characters.
std::string CleanName(std::string name) {
  auto slash = name.find_last_of("/\\");
  if (slash != std::string::npos) name = name.substr(slash + 1);
  std::erase_if(name, [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
  if (name == "." || name == "..") name.clear();
  if (name.size() > 255) name.resize(255);
  return name;
}

}  // namespace

bool TextLike(const std::string& content_type) {
  std::string t = Lower(MediaType(content_type));
  if (t.empty()) return false;
  if (t.rfind("text/", 0) == 0) return true;
  for (const char* s : {"json", "xml", "javascript", "yaml", "x-www-form-urlencoded", "csv"})
    if (t.find(s) != std::string::npos) return true;
  return false;
}

std::string DownloadName(const Headers& headers, const std::string& url) {
  std::string cd = HeaderValue(headers, "content-disposition");
  std::string lcd = Lower(cd);
  std::string name;
  if (auto star = lcd.find("filename*="); star != std::string::npos) {
    std::string v = cd.substr(star + 10);
    v = v.substr(0, v.find(';'));
    if (auto q = v.find("''"); q != std::string::npos) v = v.substr(q + 2);
    name = PercentDecode(v);
  } else if (auto plain = lcd.find("filename="); plain != std::string::npos) {
    std::string v = cd.substr(plain + 9);
    if (!v.empty() && v.front() == '"') {
      v = v.substr(1, v.find('"', 1) == std::string::npos ? std::string::npos : v.find('"', 1) - 1);
    } else {
      v = v.substr(0, v.find(';'));
    }
    name = v;
  }
  name = CleanName(name);
  if (name.empty()) {
    std::string path = url.substr(0, url.find_first_of("?#"));
    auto scheme = path.find("://");
    auto first = scheme == std::string::npos ? 0 : path.find('/', scheme + 3);
    if (first != std::string::npos) {
      path = path.substr(first);
      while (!path.empty() && path.back() == '/') path.pop_back();
      name = CleanName(PercentDecode(path));
    }
  }
  return name.empty() ? "download" : name;
}

void BodyReceiver::Attach(CURL* h) {
  h_ = h;
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &BodyReceiver::Write);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, this);
}

bool BodyReceiver::Decide() {
  decided_ = true;
  if (!files_) return true;
  long status = 0;
  curl_easy_getinfo(h_, CURLINFO_RESPONSE_CODE, &status);
  if (status < 200 || status > 299) return true;  // an error's body stays readable
  std::string type = HeaderValue(*headers_, "content-type");
  if (!forced_ && (type.empty() || TextLike(type))) return true;
  auto sink = files_->Create(DownloadName(*headers_, url_),
                             type.empty() ? "application/octet-stream" : MediaType(type));
  if (!sink) {
    error_ = sink.error();
    return false;
  }
  sink_ = std::move(*sink);
  return true;
}

size_t BodyReceiver::Write(char* data, size_t size, size_t n, void* self) {
  auto* r = static_cast<BodyReceiver*>(self);
  size_t len = size * n;
  if (!r->decided_ && !r->Decide()) return 0;
  if (r->sink_) {
    if (auto w = r->sink_->Write(data, len); !w) {
      r->error_ = w.error();
      return 0;
    }
    return len;
  }
  if (r->memory_->size() + len > (256u << 20)) {
    r->error_ = Error(ErrorCode::kPayloadTooLarge,
                      "the response is too large to keep in the run (use response_type: file)");
    return 0;
  }
  r->memory_->append(data, len);
  return len;
}

Result<std::optional<FileInfo>> BodyReceiver::Finish(long status) {
  if (!decided_ && forced_ && files_ && status >= 200 && status <= 299) {
    // No body at all: an empty file, as asked.
    if (!Decide()) return Fail(*error_);
  }
  if (!sink_) return std::optional<FileInfo>();
  auto info = sink_->Commit();
  sink_.reset();
  if (!info) return Fail(info.error());
  return std::optional<FileInfo>(std::move(*info));
}

Result<std::optional<FileInfo>> FileInput(FileStore* files, const Json& v,
                                          const std::string& what) {
  const Json* value = nullptr;
  std::string path = what;
  if (IsFileValue(v)) {
    value = &v;
  } else if (v.is_object() && v.contains("file") && IsFileValue(v["file"])) {
    value = &v["file"];
    path += ".file";
  }
  if (!value) return std::optional<FileInfo>();
  if (!files) return Fail(ErrorCode::kValidation, path + ": files are not enabled on this server");
  auto parsed = FileInfoFromJson(*value, path);
  if (!parsed) return Fail(parsed.error());
  auto stored = files->Stat(parsed->id);
  if (!stored) {
    if (stored.error().code == ErrorCode::kNotFound)
      return Fail(ErrorCode::kValidation,
                  path + ": file " + parsed->id + " does not exist (deleted with its runs?)");
    return Fail(stored.error());
  }
  return std::optional<FileInfo>(std::move(*stored));
}

}  // namespace weft::connectors::http
