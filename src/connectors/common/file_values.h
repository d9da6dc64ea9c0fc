// Helpers for actions that read or write file values (core/files.h): the
// file input a step names, a content type guessed from a name, and the sink
// `get` actions download into when they may answer text or a file. Pure
// functions, except that FileInput asks the store; thread-safe. A TextSniffer
// is used by one transfer at a time.
#pragma once

#include <string>
#include <string_view>

#include "common/json.h"
#include "common/result.h"
#include "common/utf8.h"  // ValidUtf8, for the `auto` decisions
#include "core/action.h"
#include "core/files.h"

namespace weft::connectors {

// The last segment of a remote path or key ("a/b/c.csv" -> "c.csv").
std::string BaseName(const std::string& path);
// A content type from a name's extension (jpg, png, pdf, csv, json, ...);
// application/octet-stream when the extension is not in the table.
std::string GuessContentType(const std::string& name);
// True for a content type whose bytes are text (text/*, JSON, XML, CSV, YAML, JavaScript).
bool IsTextContentType(const std::string& content_type);
// True when `name`'s extension is in the table and is not text (images, PDF,
// archives, audio, video, office files): `auto` then downloads a file without looking.
bool IsBinaryName(const std::string& name);

// The file value at `in[key]` as the store knows it (its size and sha256 from
// the store, not from the value). kValidation naming with.<key> (or `what`)
// when the value is not a file value, when files are off, or when the store
// holds no such file ("with.file: file fil_... does not exist").
Result<FileInfo> FileInput(const Json& in, const std::string& key, FileStore* files,
                           const std::string& what = "");
// The outcome for a FileStore error (size limit, full disk): its code, with
// `what` in front; kUnavailable is retryable.
ActionOutcome FileFailure(const Error& e, const std::string& what);

// What a `get` action answers: `as` (file | text | base64 | auto), falling
// back to the older `encoding` input; auto when neither is given.
Result<std::string> ReadAs(const Json& in, bool files_on);

// A FileSink that passes every byte to `inner` and keeps the first bytes in
// memory while they are at most `keep` bytes in all, so that `auto` can give
// small UTF-8 content as text (the sink then is not committed) and anything
// else as the file it has already written. Never holds more than `keep`.
class TextSniffer : public FileSink {
 public:
  TextSniffer(FileSink* inner, size_t keep) : inner_(inner), keep_(keep) {}
  Result<void> Write(const char* data, size_t n) override;
  Result<FileInfo> Commit() override { return inner_->Commit(); }
  uint64_t written() const override { return inner_->written(); }
  // True while every byte so far is in head() (at most `keep`).
  bool complete() const { return complete_; }
  const std::string& head() const { return head_; }

 private:
  FileSink* inner_;
  size_t keep_;
  bool complete_ = true;
  std::string head_;
};

// `auto` keeps content as text up to this size (and when it is UTF-8).
constexpr size_t kAutoTextMax = 1u << 20;

}  // namespace weft::connectors
