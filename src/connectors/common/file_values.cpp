#include "connectors/common/file_values.h"

#include <algorithm>
#include <cctype>
#include <map>

namespace weft::connectors {
namespace {

std::string Extension(const std::string& name) {
  std::string base = BaseName(name);
  size_t dot = base.rfind('.');
  if (dot == std::string::npos || dot + 1 == base.size()) return "";
  std::string ext = base.substr(dot + 1);
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return ext;
}

const std::map<std::string, std::string>& Types() {
  static const auto* types = new std::map<std::string, std::string>{
      {"jpg", "image/jpeg"},
      {"jpeg", "image/jpeg"},
      {"png", "image/png"},
      {"gif", "image/gif"},
      {"webp", "image/webp"},
      {"svg", "image/svg+xml"},
      {"bmp", "image/bmp"},
      {"ico", "image/x-icon"},
      {"tif", "image/tiff"},
      {"tiff", "image/tiff"},
      {"heic", "image/heic"},
      {"avif", "image/avif"},
      {"pdf", "application/pdf"},
      {"csv", "text/csv"},
      {"tsv", "text/tab-separated-values"},
      {"json", "application/json"},
      {"ndjson", "application/x-ndjson"},
      {"xml", "application/xml"},
      {"txt", "text/plain"},
      {"log", "text/plain"},
      {"md", "text/markdown"},
      {"html", "text/html"},
      {"htm", "text/html"},
      {"css", "text/css"},
      {"js", "text/javascript"},
      {"yaml", "application/yaml"},
      {"yml", "application/yaml"},
      {"zip", "application/zip"},
      {"gz", "application/gzip"},
      {"tgz", "application/gzip"},
      {"tar", "application/x-tar"},
      {"7z", "application/x-7z-compressed"},
      {"mp3", "audio/mpeg"},
      {"wav", "audio/wav"},
      {"ogg", "audio/ogg"},
      {"mp4", "video/mp4"},
      {"m4v", "video/mp4"},
      {"mov", "video/quicktime"},
      {"webm", "video/webm"},
      {"avi", "video/x-msvideo"},
      {"doc", "application/msword"},
      {"docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
      {"xls", "application/vnd.ms-excel"},
      {"xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
      {"ppt", "application/vnd.ms-powerpoint"},
      {"pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"},
      {"parquet", "application/vnd.apache.parquet"},
      {"bin", "application/octet-stream"},
  };
  return *types;
}

}  // namespace

std::string BaseName(const std::string& path) {
  std::string p = path;
  while (!p.empty() && p.back() == '/') p.pop_back();
  size_t slash = p.rfind('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

std::string GuessContentType(const std::string& name) {
  auto it = Types().find(Extension(name));
  return it == Types().end() ? "application/octet-stream" : it->second;
}

bool IsTextContentType(const std::string& content_type) {
  std::string t = content_type.substr(0, content_type.find(';'));
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return std::tolower(c); });
  while (!t.empty() && t.back() == ' ') t.pop_back();
  if (t.starts_with("text/")) return true;
  return t == "application/json" || t == "application/xml" || t == "application/x-ndjson" ||
         t == "application/yaml" || t == "application/x-yaml" || t == "application/javascript" ||
         t == "image/svg+xml" || t.ends_with("+json") || t.ends_with("+xml");
}

bool IsBinaryName(const std::string& name) {
  auto it = Types().find(Extension(name));
  return it != Types().end() && !IsTextContentType(it->second);
}

Result<FileInfo> FileInput(const Json& in, const std::string& key, FileStore* files,
                           const std::string& what_in) {
  std::string what = what_in.empty() ? "with." + key : what_in;
  auto it = in.find(key);
  if (it == in.end() || it->is_null())
    return Fail(ErrorCode::kValidation, what + " is required", {{what, "is required"}});
  auto info = FileInfoFromJson(*it, what);
  if (!info) return Fail(ErrorCode::kValidation, info.error().message, {{what, "is not a file"}});
  if (!files)
    return Fail(ErrorCode::kValidation, what + ": files are off on this server",
                {{what, "files are off"}});
  auto stat = files->Stat(info->id);
  if (!stat) {
    if (stat.error().code == ErrorCode::kNotFound) {
      std::string m = what + ": file " + info->id + " does not exist";
      return Fail(ErrorCode::kValidation, m, {{what, "file " + info->id + " does not exist"}});
    }
    return Fail(stat.error().code, what + ": " + stat.error().message);
  }
  return *stat;
}

ActionOutcome FileFailure(const Error& e, const std::string& what) {
  ErrorCode code = e.code == ErrorCode::kNotFound ? ErrorCode::kStepFailed : e.code;
  return ActionOutcome::Failed(code, what + ": " + e.message, e.code == ErrorCode::kUnavailable);
}

Result<std::string> ReadAs(const Json& in, bool files_on) {
  // `as` wins, except that a form's default (auto) does not hide an older `encoding`.
  std::string as = GetString(in, "as", "auto");
  if (as == "auto") as = GetString(in, "encoding", "auto");
  if (as != "auto" && as != "text" && as != "base64" && as != "file")
    return Fail(ErrorCode::kValidation, "as must be file, text, base64 or auto",
                {{"with.as", "must be file, text, base64 or auto"}});
  if (as == "file" && !files_on)
    return Fail(ErrorCode::kValidation, "as: file needs files, which are off on this server",
                {{"with.as", "files are off"}});
  return as;
}

Result<void> TextSniffer::Write(const char* data, size_t n) {
  if (auto w = inner_->Write(data, n); !w) return w;
  if (complete_) {
    if (head_.size() + n <= keep_) {
      head_.append(data, n);
    } else {
      complete_ = false;
      std::string().swap(head_);
    }
  }
  return Ok();
}

}  // namespace weft::connectors
