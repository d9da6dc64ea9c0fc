#include "connectors/files/files.h"

#include <functional>

#include "common/base64.h"
#include "common/utf8.h"
#include "connectors/common/spec.h"
#include "core/files.h"

namespace weft::connectors {
namespace {

constexpr int64_t kDefaultCap = 1 << 20;  // 1 MiB
constexpr int64_t kHardCap = 16ll << 20;  // what --max-step-output would refuse anyway

class FileAction : public Action {
 public:
  using Fn = std::function<ActionOutcome(const Json&, FileStore&)>;
  explicit FileAction(Fn fn) : fn_(std::move(fn)) {}
  ActionOutcome Execute(ActionContext& ctx) override {
    if (!ctx.files)
      return ActionOutcome::Failed(ErrorCode::kStepFailed, "files are not enabled on this server");
    return fn_(ctx.input, *ctx.files);
  }

 private:
  Fn fn_;
};

ActionOutcome StoreFailure(const Error& e) {
  return ActionOutcome::Failed(e.code == ErrorCode::kNotFound ? ErrorCode::kStepFailed : e.code,
                               e.message, e.code == ErrorCode::kUnavailable);
}

ActionOutcome Write(FileStore& files, const Json& in, std::string_view bytes,
                    const std::string& default_type) {
  auto name = OptString(in, "name");
  if (!name) return InputError(name.error());
  auto type = OptString(in, "content_type");
  if (!type) return InputError(type.error());
  auto info = WriteWholeFile(files, name->value_or("file"), type->value_or(default_type), bytes);
  if (!info) return StoreFailure(info.error());
  return ActionOutcome::Ok(Json{{"file", info->ToJson()}});
}

// The file named by with.file, and the cap on reading it whole.
Result<std::pair<FileInfo, size_t>> ReadInputs(const Json& in, FileStore& files) {
  if (!in.contains("file")) return Fail(ErrorCode::kValidation, "with.file is required");
  auto info = FileInfoFromJson(in["file"], "with.file");
  if (!info) return Fail(info.error());
  auto cap = OptInt(in, "max_bytes");
  if (!cap) return Fail(cap.error());
  int64_t c = cap->value_or(kDefaultCap);
  if (c <= 0 || c > kHardCap)
    return Fail(ErrorCode::kValidation,
                "with.max_bytes must be between 1 and " + std::to_string(kHardCap));
  auto stored = files.Stat(info->id);
  if (!stored) {
    if (stored.error().code == ErrorCode::kNotFound)
      return Fail(ErrorCode::kValidation,
                  "with.file: file " + info->id + " does not exist (deleted with its runs?)");
    return Fail(stored.error());
  }
  return std::make_pair(std::move(*stored), static_cast<size_t>(c));
}

}  // namespace

void RegisterFileUtilities(ActionCatalog& catalog) {
  FieldSpec file_in =
      Field("file", "File", "any", true, "A file value, e.g. {{ steps.get.output.body }}.");
  FieldSpec cap = Field("max_bytes", "Largest size read", "integer", false,
                        "Fail past this many bytes (default 1 MiB, at most 16 MiB): a run's JSON "
                        "is no place for large files.",
                        kDefaultCap);
  FieldSpec name = Field("name", "File name", "string", false, "Default: file.");
  ConnectorSpec spec{
      "file",
      "Files",
      "Make files from text and read small files back (files travel as file values; see the "
      "files guide).",
      "file",
      false,
      {},
      {},
      {{"from_text",
        "File from text",
        "Writes text to a new file.",
        {Field("text", "Text", "text", true, "The content (UTF-8)."), name,
         Field("content_type", "Content type", "string", false, "Default: text/plain.")},
        "{file}: the new file's value."},
       {"from_base64",
        "File from base64",
        "Decodes base64 into a new file.",
        {Field("base64", "Base64", "text", true, "The bytes, base64-encoded."), name,
         Field("content_type", "Content type", "string", false,
               "Default: application/octet-stream.")},
        "{file}: the new file's value."},
       {"read_text",
        "Read file as text",
        "Reads a (small) UTF-8 file into the run.",
        {file_in, cap},
        "{text, size}"},
       {"to_base64",
        "Read file as base64",
        "Reads a (small) file into the run as base64.",
        {file_in, cap},
        "{base64, size}"}}};

  std::map<std::string, std::shared_ptr<Action>> actions;
  actions["from_text"] = std::make_shared<FileAction>([](const Json& in, FileStore& files) {
    auto text = ReqString(in, "text");
    if (!text) return InputError(text.error());
    return Write(files, in, *text, "text/plain");
  });
  actions["from_base64"] = std::make_shared<FileAction>([](const Json& in, FileStore& files) {
    auto text = ReqString(in, "base64");
    if (!text) return InputError(text.error());
    auto bytes = Base64Decode(*text);
    if (!bytes)
      return ActionOutcome::Failed(ErrorCode::kValidation, "with.base64 is not valid base64");
    return Write(files, in, *bytes, "application/octet-stream");
  });
  actions["read_text"] = std::make_shared<FileAction>([](const Json& in, FileStore& files) {
    auto what = ReadInputs(in, files);
    if (!what) return InputError(what.error());
    auto bytes = ReadWholeFile(files, what->first.id, what->second, "with.file");
    if (!bytes) return StoreFailure(bytes.error());
    if (!ValidUtf8(*bytes))
      return ActionOutcome::Failed(ErrorCode::kValidation,
                                   "with.file is not UTF-8 text (use file.to_base64)");
    size_t size = bytes->size();
    return ActionOutcome::Ok(Json{{"text", std::move(*bytes)}, {"size", size}});
  });
  actions["to_base64"] = std::make_shared<FileAction>([](const Json& in, FileStore& files) {
    auto what = ReadInputs(in, files);
    if (!what) return InputError(what.error());
    auto bytes = ReadWholeFile(files, what->first.id, what->second, "with.file");
    if (!bytes) return StoreFailure(bytes.error());
    return ActionOutcome::Ok(Json{{"base64", Base64Encode(*bytes)}, {"size", bytes->size()}});
  });
  catalog.Register(std::move(spec), std::move(actions));
}

}  // namespace weft::connectors
