#include "connectors/common/file_transfer.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "common/base64.h"
#include "connectors/common/curl.h"
#include "connectors/common/file_values.h"
#include "connectors/common/redact.h"
#include "connectors/common/spec.h"
#include "core/poll.h"

namespace weft::connectors {
namespace {

// A private key written to a 0600 temp file for the length of one call.
class KeyFile {
 public:
  explicit KeyFile(const std::string& key) {
    if (key.empty()) return;
    std::string tmpl = (std::filesystem::temp_directory_path() / "weft-key-XXXXXX").string();
    int fd = mkstemp(tmpl.data());
    if (fd < 0) return;
    std::string text = key.back() == '\n' ? key : key + "\n";
    bool ok = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    close(fd);
    if (ok)
      path_ = tmpl;
    else
      unlink(tmpl.c_str());
  }
  ~KeyFile() {
    if (!path_.empty()) unlink(path_.c_str());
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

class Session {
 public:
  Session(const Connection& c, FileProtocol protocol, const ConnectorSpec& spec)
      : c_(c), protocol_(protocol), redact_(c, spec), key_(GetString(c.auth, "private_key")) {}

  // The URL of `path` on the server (a directory when `dir`).
  std::string Url(std::string path, bool dir) const {
    std::string host = GetString(c_.settings, "host");
    auto configured = OptInt(c_.settings, "port");
    int64_t port = configured && configured->has_value()
                       ? **configured
                       : (protocol_ == FileProtocol::kSftp ? 22 : 21);
    std::string scheme =
        protocol_ == FileProtocol::kSftp ? "sftp" : (Security() == "implicit_tls" ? "ftps" : "ftp");
    if (dir && (path.empty() || path.back() != '/')) path += '/';
    std::string encoded;
    if (protocol_ == FileProtocol::kSftp) {
      // Absolute paths; "~/x" is relative to the user's home.
      if (path.starts_with("~"))
        encoded = "/~" + UrlEncodePath(path.substr(1));
      else
        encoded = "/" + UrlEncodePath(path.starts_with("/") ? path.substr(1) : path);
    } else {
      // Relative to the login directory ("/" at the start is that directory).
      encoded = "/" + UrlEncodePath(path.starts_with("/") ? path.substr(1) : path);
    }
    return scheme + "://" + host + ":" + std::to_string(port) + encoded;
  }

  std::string Security() const { return GetString(c_.settings, "security", "none"); }

  void Configure(Transfer& t, const std::string& url) const {
    CURL* h = t.handle();
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    std::string user = GetString(c_.auth, "username");
    if (!user.empty()) curl_easy_setopt(h, CURLOPT_USERNAME, user.c_str());
    std::string type = GetString(c_.auth, "type");
    if (type == "password" || type.empty()) {
      curl_easy_setopt(h, CURLOPT_PASSWORD, GetString(c_.auth, "password").c_str());
      if (protocol_ == FileProtocol::kSftp)
        curl_easy_setopt(h, CURLOPT_SSH_AUTH_TYPES,
                         static_cast<long>(CURLSSH_AUTH_PASSWORD | CURLSSH_AUTH_KEYBOARD));
    } else if (type == "private_key") {
      curl_easy_setopt(h, CURLOPT_SSH_AUTH_TYPES, static_cast<long>(CURLSSH_AUTH_PUBLICKEY));
      curl_easy_setopt(h, CURLOPT_SSH_PRIVATE_KEYFILE, key_.path().c_str());
      curl_easy_setopt(h, CURLOPT_SSH_PUBLIC_KEYFILE, "");
      std::string pass = GetString(c_.auth, "passphrase");
      if (!pass.empty()) curl_easy_setopt(h, CURLOPT_KEYPASSWD, pass.c_str());
    }
    if (protocol_ == FileProtocol::kSftp) {
      std::string fingerprint = GetString(c_.settings, "host_key_sha256");
      if (!fingerprint.empty())
        curl_easy_setopt(h, CURLOPT_SSH_HOST_PUBLIC_KEY_SHA256, fingerprint.c_str());
    } else {
      if (Security() == "explicit_tls")
        curl_easy_setopt(h, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
      if (c_.settings.value("verify_tls", true) == false) {
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
      }
    }
  }

  ActionOutcome Failure(const Transfer& t, CURLcode rc, const std::string& what) const {
    ActionOutcome o = t.Failure(rc, what);
    if (rc == CURLE_LOGIN_DENIED) o.error->message = what + ": the server refused the login";
    if (rc == CURLE_REMOTE_FILE_NOT_FOUND) o.error->message = what + ": no such file or directory";
    o.error->message = redact_(o.error->message);
    return o;
  }

  // A quote command naming paths, in the protocol's syntax.
  std::vector<std::string> Commands(const std::string& op, const std::string& a,
                                    const std::string& b = "") const {
    if (protocol_ == FileProtocol::kSftp) {
      auto q = [](const std::string& p) { return "\"" + p + "\""; };
      if (op == "delete") return {"rm " + q(a)};
      if (op == "rmdir") return {"rmdir " + q(a)};
      return {"rename " + q(a) + " " + q(b)};
    }
    if (op == "delete") return {"DELE " + a};
    if (op == "rmdir") return {"RMD " + a};
    return {"RNFR " + a, "RNTO " + b};
  }

  const Connection& c_;
  FileProtocol protocol_;
  Redactor redact_;
  KeyFile key_;
};

bool BadPath(const std::string& p) {
  return p.find('"') != std::string::npos || p.find('\n') != std::string::npos ||
         p.find('\r') != std::string::npos;
}

class FileAction : public Action {
 public:
  FileAction(std::string op, FileProtocol protocol, ConnectorSpec spec)
      : op_(std::move(op)), protocol_(protocol), spec_(std::move(spec)) {}

  ActionOutcome Execute(ActionContext& ctx) override {
    if (!ctx.connection)
      return ActionOutcome::Failed(ErrorCode::kValidation,
                                   spec_.name + "." + op_ + " needs a connection");
    Session s(*ctx.connection, protocol_, spec_);
    CallEnv env = EnvOf(ctx);
    const Json& in = ctx.input;
    auto timeout = OptDuration(ctx.connection->settings, "timeout");
    std::optional<Millis> limit =
        timeout && timeout->has_value() ? **timeout : std::optional<Millis>();

    if (op_ == "move") {
      auto from = ReqString(in, "from");
      if (!from) return InputError(from.error());
      auto to = ReqString(in, "to");
      if (!to) return InputError(to.error());
      if (BadPath(*from) || BadPath(*to))
        return ActionOutcome::Failed(ErrorCode::kValidation,
                                     "paths cannot hold quotes or line breaks");
      return Quote(s, env, limit, s.Commands("move", *from, *to),
                   Json{{"from", *from}, {"to", *to}}, "moving " + *from);
    }
    auto path = op_ == "list" ? OptString(in, "path") : OptString(in, "path");
    if (!path) return InputError(path.error());
    std::string p = path->value_or("");
    if (op_ != "list" && p.empty())
      return InputError(
          Error(ErrorCode::kValidation, "path is required", {{"with.path", "is required"}}));
    if (BadPath(p))
      return ActionOutcome::Failed(ErrorCode::kValidation,
                                   "a path cannot hold quotes or line breaks");

    if (op_ == "delete")
      return Quote(s, env, limit, s.Commands("delete", p), Json{{"path", p}, {"deleted", true}},
                   "deleting " + p);

    Transfer t(env, true, limit);
    if (op_ == "list") {
      std::string url = s.Url(p.empty() ? (protocol_ == FileProtocol::kSftp ? "~/" : "") : p, true);
      s.Configure(t, url);
      std::string listing;
      t.CaptureBody(&listing, 64u << 20);
      CURLcode rc = t.Perform();
      if (rc != CURLE_OK)
        return s.Failure(t, rc, "listing " + (p.empty() ? std::string("the home directory") : p));
      Json entries = Json::array();
      std::istringstream lines(listing);
      std::string line;
      while (std::getline(lines, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        Json e = ParseListLine(line);
        if (e.is_null() || e["name"] == "." || e["name"] == "..") continue;
        entries.push_back(std::move(e));
      }
      return ActionOutcome::Ok(Json{{"path", p}, {"entries", entries}});
    }
    if (op_ == "get") {
      auto as = ReadAs(in, ctx.files != nullptr);
      if (!as) return InputError(as.error());
      s.Configure(t, s.Url(p, false));
      if (*as == "file" || (*as == "auto" && ctx.files)) return GetFile(ctx, t, s, p, *as);
      std::string content;
      t.CaptureBody(&content, 64u << 20);
      CURLcode rc = t.Perform();
      if (rc != CURLE_OK) return s.Failure(t, rc, "reading " + p);
      std::string encoding = *as;
      if (encoding == "auto") encoding = ValidUtf8(content) ? "text" : "base64";
      if (encoding == "text" && !ValidUtf8(content))
        return ActionOutcome::Failed(ErrorCode::kStepFailed,
                                     p + " is not UTF-8 text; read it with encoding: base64");
      Json out = {{"path", p}, {"size", content.size()}, {"encoding", encoding}};
      out["content"] = encoding == "base64" ? Base64Encode(content) : content;
      return ActionOutcome::Ok(std::move(out));
    }
    if (in.contains("file") && !in["file"].is_null()) {
      auto file = FileInput(in, "file", ctx.files);
      if (!file) return InputError(file.error());
      s.Configure(t, s.Url(p, false));
      t.UploadFile(ctx.files, *file);
      if (in.value("create_dirs", true) != false)
        curl_easy_setopt(t.handle(), CURLOPT_FTP_CREATE_MISSING_DIRS,
                         static_cast<long>(CURLFTP_CREATE_DIR_RETRY));
      CURLcode rc = t.Perform();
      if (rc != CURLE_OK) return s.Failure(t, rc, "writing " + p);
      ctx.log("info", "wrote " + std::to_string(file->size) + " bytes of " + file->id + " to " + p);
      return ActionOutcome::Ok(Json{{"path", p}, {"size", file->size}, {"sha256", file->sha256}});
    }
    // put
    Json content = in.value("content", Json(nullptr));
    if (content.is_null())
      return InputError(Error(ErrorCode::kValidation, "content or file is required",
                              {{"with.content", "content or file is required"}}));
    std::string data = content.is_string() ? content.get<std::string>() : content.dump();
    if (GetString(in, "encoding", "text") == "base64") {
      auto bytes = Base64Decode(data);
      if (!bytes) return ActionOutcome::Failed(ErrorCode::kValidation, "content is not base64");
      data = std::move(*bytes);
    }
    s.Configure(t, s.Url(p, false));
    t.Upload(&data);
    if (in.value("create_dirs", true) != false)
      curl_easy_setopt(t.handle(), CURLOPT_FTP_CREATE_MISSING_DIRS,
                       static_cast<long>(CURLFTP_CREATE_DIR_RETRY));
    CURLcode rc = t.Perform();
    if (rc != CURLE_OK) return s.Failure(t, rc, "writing " + p);
    ctx.log("info", "wrote " + std::to_string(data.size()) + " bytes to " + p);
    return ActionOutcome::Ok(Json{{"path", p}, {"size", data.size()}});
  }

 private:
  // Downloads `p` into a new file, streamed. With `auto`, content that is
  // UTF-8 and at most kAutoTextMax bytes (and whose name is not a known
  // binary type) comes back as text instead, and the file is never committed.
  ActionOutcome GetFile(ActionContext& ctx, Transfer& t, Session& s, const std::string& p,
                        const std::string& as) {
    std::string name = BaseName(p);
    auto sink = ctx.files->Create(name, GuessContentType(name));
    if (!sink) return FileFailure(sink.error(), "reading " + p);
    bool sniff = as == "auto" && !IsBinaryName(name);
    TextSniffer sniffer(sink->get(), sniff ? kAutoTextMax : 0);
    t.SinkBody(&sniffer);
    CURLcode rc = t.Perform();
    if (rc != CURLE_OK) return s.Failure(t, rc, "reading " + p);
    if (sniff && sniffer.complete() && ValidUtf8(sniffer.head()))
      return ActionOutcome::Ok(Json{{"path", p},
                                    {"size", sniffer.head().size()},
                                    {"encoding", "text"},
                                    {"content", sniffer.head()}});
    auto file = (*sink)->Commit();
    if (!file) return FileFailure(file.error(), "reading " + p);
    ctx.log("info", "read " + std::to_string(file->size) + " bytes of " + p + " into " + file->id);
    return ActionOutcome::Ok(Json{{"path", p}, {"size", file->size}, {"file", file->ToJson()}});
  }

  ActionOutcome Quote(Session& s, const CallEnv& env, std::optional<Millis> limit,
                      const std::vector<std::string>& commands, Json output,
                      const std::string& what) {
    Transfer t(env, true, limit);
    s.Configure(t, s.Url(protocol_ == FileProtocol::kSftp ? "/" : "", true));
    HeaderList quote;
    for (const auto& c : commands) quote.Add(c);
    curl_easy_setopt(t.handle(), CURLOPT_QUOTE, quote.get());
    curl_easy_setopt(t.handle(), CURLOPT_NOBODY, 1L);
    CURLcode rc = t.Perform();
    if (rc != CURLE_OK) {
      ActionOutcome o = s.Failure(t, rc, what);
      if (rc == CURLE_QUOTE_ERROR)
        o.error->message = s.redact_(what + ": the server refused (" + t.Message(rc) + ")");
      return o;
    }
    return ActionOutcome::Ok(std::move(output));
  }

  std::string op_;
  FileProtocol protocol_;
  ConnectorSpec spec_;
};

ConnectionTestResult TestFiles(const Connection& c, Clock& clock, FileProtocol protocol,
                               const ConnectorSpec& spec) {
  std::atomic<bool> cancelled{false};
  CallEnv env{clock, clock.Now() + Millis(15'000), cancelled};
  Session s(c, protocol, spec);
  Transfer t(env, false);
  std::string url = s.Url(protocol == FileProtocol::kSftp ? "~/" : "", true);
  s.Configure(t, url);
  curl_easy_setopt(t.handle(), CURLOPT_NOBODY, 1L);
  CURLcode rc = t.Perform();
  if (rc != CURLE_OK)
    return {false,
            s.Failure(t, rc, "connecting to " + GetString(c.settings, "host")).error->message};
  return {true,
          "logged in to " + GetString(c.settings, "host") + " as " + GetString(c.auth, "username")};
}

// ---- the new_files poll source (docs/polling.md) -------------------------------------

// A glob over a file name: `*`, `?`, `[abc]`, `[a-z]`, `[!a]`. The usual
// backtrack to the last `*`, so a hostile pattern costs at most
// pattern x name steps (never exponential, unlike a recursive matcher).
bool MatchClass(const std::string& p, size_t& i, char c) {
  // p[i] is '['; on return i is past the closing ']'.
  size_t j = i + 1;
  bool negate = j < p.size() && (p[j] == '!' || p[j] == '^');
  if (negate) ++j;
  bool found = false;
  size_t start = j;
  while (j < p.size() && (p[j] != ']' || j == start)) {
    if (j + 2 < p.size() && p[j + 1] == '-' && p[j + 2] != ']') {
      if (c >= p[j] && c <= p[j + 2]) found = true;
      j += 3;
    } else {
      if (p[j] == c) found = true;
      ++j;
    }
  }
  if (j >= p.size()) {  // no closing bracket: '[' is a literal
    ++i;
    return c == '[';
  }
  i = j + 1;
  return found != negate;
}

bool GlobMatch(const std::string& p, const std::string& s) {
  size_t pi = 0, si = 0, star = std::string::npos, mark = 0;
  while (si < s.size()) {
    if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      mark = si;
      continue;
    }
    if (pi < p.size() && p[pi] == '?') {
      ++pi, ++si;
      continue;
    }
    if (pi < p.size() && p[pi] == '[') {
      size_t next = pi;
      if (MatchClass(p, next, s[si])) {
        pi = next, ++si;
        continue;
      }
    } else if (pi < p.size() && p[pi] == s[si]) {
      ++pi, ++si;
      continue;
    }
    if (star == std::string::npos) return false;
    pi = star + 1;
    si = ++mark;
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

std::string JoinPath(const std::string& dir, const std::string& name) {
  if (dir.empty()) return name;
  return dir.back() == '/' ? dir + name : dir + "/" + name;
}

// Lists the files under `folder` on the server (subfolders too when
// `recursive`, skipping `skip`), at most `max_entries`. Each {path, name,
// size, modified}.
constexpr size_t kMaxListed = 1'000'000;
constexpr size_t kMaxFolders = 10'000;

class NewFilesSource : public PollSource {
 public:
  NewFilesSource(FileProtocol protocol, ConnectorSpec spec)
      : protocol_(protocol), spec_(std::move(spec)) {}

  bool HasAfter(const Json& with) const override {
    std::string after = GetString(with, "after", "keep");
    return after == "delete" || after == "move";
  }

  Result<PollResult> Poll(PollContext& ctx) override {
    if (!ctx.connection)
      return Fail(ErrorCode::kValidation, spec_.name + ".new_files needs a connection");
    auto opts = Options(ctx.with);
    if (!opts) return Fail(opts.error());
    Session s(*ctx.connection, protocol_, spec_);
    CallEnv env{ctx.clock, ctx.deadline, ctx.cancelled};
    auto limit = Timeout(*ctx.connection);

    // 1. List.
    std::vector<Json> files;
    std::vector<std::string> folders{opts->folder};
    for (size_t f = 0; f < folders.size(); ++f) {
      if (ctx.cancelled) return Fail(ErrorCode::kCancelled, "the poll was stopped");
      Transfer t(env, true, limit);
      s.Configure(t, s.Url(folders[f], true));
      std::string listing;
      t.CaptureBody(&listing, 256u << 20);
      CURLcode rc = t.Perform();
      if (rc != CURLE_OK) return Fail(*s.Failure(t, rc, "listing " + folders[f]).error);
      std::istringstream lines(listing);
      std::string line;
      while (std::getline(lines, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        Json e = ParseListLine(line);
        if (e.is_null()) continue;
        const std::string& name = e["name"].get_ref<const std::string&>();
        if (name == "." || name == "..") continue;
        std::string path = JoinPath(folders[f], name);
        if (e["type"] == "dir") {
          if (opts->recursive && path != opts->move_to && folders.size() < kMaxFolders)
            folders.push_back(path);
          continue;
        }
        if (e["type"] != "file" || !GlobMatch(opts->pattern, name)) continue;
        if (files.size() >= kMaxListed) break;
        files.push_back(Json{{"path", path},
                             {"name", name},
                             {"folder", folders[f]},
                             {"size", e["size"]},
                             {"modified", e["modified"]}});
      }
    }

    // 2. Which were emitted before: one indexed lookup each, before any download.
    std::vector<std::string> keys;
    keys.reserve(files.size());
    for (const auto& f : files)
      keys.push_back(f["path"].get<std::string>() + "|" + std::to_string(f["size"].get<int64_t>()) +
                     "|" + f["modified"].get<std::string>());
    std::vector<bool> seen(keys.size(), false);
    if (ctx.seen) {
      auto r = ctx.seen(keys);
      if (!r) return Fail(r.error());
      seen = std::move(*r);
    }

    // 3. New files, once stable: seen with the same size and time for stable_for.
    PollResult out;
    const int64_t now_ms = ToUnixMs(ctx.clock.Now());
    const Json old_pending =
        ctx.cursor.is_object() ? ctx.cursor.value("pending", Json::object()) : Json::object();
    Json pending = Json::object();
    std::vector<size_t> picked;
    for (size_t i = 0; i < files.size(); ++i) {
      if (seen[i]) {
        out.known.push_back(keys[i]);
        continue;
      }
      if (opts->stable_for.count() > 0) {
        const std::string& path = files[i]["path"].get_ref<const std::string&>();
        auto was = old_pending.find(path);
        bool same = was != old_pending.end() && was->is_object() &&
                    was->value("size", Json()) == files[i]["size"] &&
                    was->value("modified", Json()) == files[i]["modified"];
        int64_t since = same ? was->value("since", now_ms) : now_ms;
        if (!same || now_ms - since < opts->stable_for.count()) {
          pending[path] = {
              {"size", files[i]["size"]}, {"modified", files[i]["modified"]}, {"since", since}};
          continue;
        }
      }
      if (picked.size() >= ctx.max_items) {
        out.more = true;
        continue;
      }
      picked.push_back(i);
    }
    if (opts->stable_for.count() > 0 || !old_pending.empty())
      out.cursor = Json{{"pending", pending}};

    // 4. Download (a real poll only), whole: a file whose size changed since
    // it was listed is left for the next poll (it has another key by then).
    for (size_t i : picked) {
      Json item = files[i];
      if (opts->download && ctx.files && !ctx.dry_run) {
        const std::string path = item["path"].get<std::string>();
        auto sink = ctx.files->Create(item["name"].get<std::string>(),
                                      GuessContentType(item["name"].get<std::string>()));
        if (!sink) return Fail(sink.error());
        Transfer t(env, true, limit);
        s.Configure(t, s.Url(path, false));
        t.SinkBody(sink->get());
        CURLcode rc = t.Perform();
        if (rc == CURLE_REMOTE_FILE_NOT_FOUND) {
          if (ctx.log) ctx.log("info", path + " went away before it was read");
          continue;
        }
        if (rc != CURLE_OK) {
          if (t.file_error()) return Fail(*t.file_error());
          return Fail(*s.Failure(t, rc, "reading " + path).error);
        }
        if (static_cast<int64_t>((*sink)->written()) != item["size"].get<int64_t>()) {
          if (ctx.log) ctx.log("info", path + " changed while it was read; next poll");
          continue;
        }
        auto file = (*sink)->Commit();
        if (!file) return Fail(file.error());
        item["file"] = file->ToJson();
      }
      out.items.push_back({keys[i], std::move(item)});
    }
    return out;
  }

  Result<void> AfterCommit(PollContext& ctx, const std::vector<PollItem>& items) override {
    if (!ctx.connection || items.empty()) return Ok();
    auto opts = Options(ctx.with);
    if (!opts) return Fail(opts.error());
    if (opts->after != "delete" && opts->after != "move") return Ok();
    Session s(*ctx.connection, protocol_, spec_);
    CallEnv env{ctx.clock, ctx.deadline, ctx.cancelled};
    auto limit = Timeout(*ctx.connection);
    // Many commands on one connection; "*" lets the rest go on when one
    // fails (a file already moved or deleted before a crash).
    constexpr size_t kPerTransfer = 200;
    for (size_t start = 0; start < items.size(); start += kPerTransfer) {
      HeaderList quote;
      for (size_t i = start; i < std::min(items.size(), start + kPerTransfer); ++i) {
        std::string path = GetString(items[i].item, "path");
        if (path.empty() || BadPath(path)) continue;
        auto cmds = opts->after == "delete"
                        ? s.Commands("delete", path)
                        : s.Commands("move", path,
                                     JoinPath(opts->move_to, GetString(items[i].item, "name")));
        for (auto& c : cmds) quote.Add("*" + c);
      }
      if (!quote.get()) continue;
      Transfer t(env, true, limit);
      s.Configure(t, s.Url(protocol_ == FileProtocol::kSftp ? "/" : "", true));
      curl_easy_setopt(t.handle(), CURLOPT_QUOTE, quote.get());
      curl_easy_setopt(t.handle(), CURLOPT_NOBODY, 1L);
      CURLcode rc = t.Perform();
      if (rc != CURLE_OK)
        return Fail(*s.Failure(t, rc,
                               opts->after == "move" ? "moving files to " + opts->move_to
                                                     : "deleting files")
                         .error);
    }
    return Ok();
  }

 private:
  struct Opts {
    std::string folder, pattern = "*", after = "keep", move_to;
    bool recursive = false, download = true;
    Millis stable_for{0};
  };

  static Result<Opts> Options(const Json& with) {
    Opts o;
    auto folder = ReqString(with, "folder");
    if (!folder) return Fail(folder.error());
    o.folder = *folder;
    while (o.folder.size() > 1 && o.folder.back() == '/') o.folder.pop_back();
    if (auto p = OptString(with, "pattern"); !p)
      return Fail(p.error());
    else if (*p && !(*p)->empty())
      o.pattern = **p;
    if (o.pattern.size() > 1000)
      return Fail(ErrorCode::kValidation, "pattern is longer than 1000 characters",
                  {{"with.pattern", "is longer than 1000 characters"}});
    if (auto r = OptBool(with, "recursive"); !r)
      return Fail(r.error());
    else
      o.recursive = r->value_or(false);
    if (auto d = OptBool(with, "download"); !d)
      return Fail(d.error());
    else
      o.download = d->value_or(true);
    if (auto st = OptDuration(with, "stable_for"); !st)
      return Fail(st.error());
    else
      o.stable_for = st->value_or(Millis(0));
    o.after = GetString(with, "after", "keep");
    if (o.after != "keep" && o.after != "delete" && o.after != "move")
      return Fail(ErrorCode::kValidation, "after must be keep, delete or move",
                  {{"with.after", "must be keep, delete or move"}});
    o.move_to = GetString(with, "move_to");
    while (o.move_to.size() > 1 && o.move_to.back() == '/') o.move_to.pop_back();
    if (o.after == "move" && o.move_to.empty())
      return Fail(ErrorCode::kValidation, "move_to is required for after: move",
                  {{"with.move_to", "is required for after: move"}});
    if (BadPath(o.folder) || BadPath(o.move_to))
      return Fail(ErrorCode::kValidation, "paths cannot hold quotes or line breaks");
    return o;
  }

  static std::optional<Millis> Timeout(const Connection& c) {
    auto timeout = OptDuration(c.settings, "timeout");
    return timeout && timeout->has_value() ? **timeout : std::optional<Millis>();
  }

  FileProtocol protocol_;
  ConnectorSpec spec_;
};

PollSpec NewFilesSpec(const std::string& path_help) {
  return {
      "new_files",
      "New files",
      "A file that appears in a folder, or changes (by path, size and modification time).",
      {Field("folder", "Folder", "string", true, path_help),
       Field("pattern", "Pattern", "string", false,
             "A glob on the file name: *.csv, report-??.xml, [a-c]*. Default: every file."),
       Field("recursive", "Subfolders too", "boolean", false, "", false),
       Field("stable_for", "Stable for", "duration", false,
             "Pick a file only once its size and time have not changed for this long (a file "
             "still being written is left alone)."),
       Field("download", "Download", "boolean", false,
             "Put the content into trigger.item.file (a file value); off: metadata only.", true),
       Field("after", "After the run is recorded", "enum", false,
             "What happens to the file once its run is committed.", "keep",
             {"keep", "delete", "move"}),
       Field("move_to", "Move to", "string", false, "The folder after: move moves files to.")},
      "{path, name, folder, size, modified, file}"};
}

}  // namespace

bool MatchGlob(const std::string& pattern, const std::string& name) {
  return GlobMatch(pattern, name);
}

Json ParseListLine(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> tokens;
  std::string tok;
  size_t consumed = 0;
  // perms links owner group size month day time-or-year, then the name (spaces kept).
  for (int i = 0; i < 8; ++i) {
    if (!(in >> tok)) return nullptr;
    tokens.push_back(tok);
  }
  consumed = static_cast<size_t>(in.tellg());
  if (consumed >= line.size()) return nullptr;
  std::string name = line.substr(consumed);
  size_t start = name.find_first_not_of(' ');
  if (start == std::string::npos) return nullptr;
  name = name.substr(start);
  const std::string& perms = tokens[0];
  if (perms.size() < 10) return nullptr;
  std::string type = perms[0] == 'd' ? "dir" : perms[0] == 'l' ? "link" : "file";
  if (type == "link") {
    size_t arrow = name.find(" -> ");
    if (arrow != std::string::npos) name = name.substr(0, arrow);
  }
  char* end = nullptr;
  long long size = std::strtoll(tokens[4].c_str(), &end, 10);
  if (*end != '\0') return nullptr;
  return Json{{"name", name},
              {"type", type},
              {"size", size},
              {"modified", tokens[5] + " " + tokens[6] + " " + tokens[7]},
              {"permissions", perms}};
}

std::vector<ActionSpec> FileTransferActions(const std::string& path_help) {
  return {
      {"list",
       "List a directory",
       "Lists the files and folders of a directory.",
       {Field("path", "Directory", "string", false, path_help)},
       "{path, entries: [{name, type: file|dir|link, size, modified, permissions}]}",
       {}},
      {"get",
       "Download a file",
       "Reads a file, streamed into a file value or as text.",
       {Field("path", "File", "string", true, path_help),
        Field("as", "Read as", "enum", false,
              "file streams the content into a file value (any size); text and base64 put it in "
              "the output (up to 64 MiB); auto gives text for UTF-8 content up to 1 MiB whose name "
              "is not an image, PDF, archive or video, and a file otherwise (text or base64 when "
              "files are off).",
              "auto", {"auto", "file", "text", "base64"}),
        Field("encoding", "Encoding", "enum", false, "Older name of as (auto, text, base64).",
              nullptr, {"auto", "text", "base64"})},
       "{path, size, file} with a file; {path, size, encoding, content} with text or base64",
       {}},
      {"put",
       "Upload a file",
       "Writes a file, replacing it when it exists.",
       {Field("path", "File", "string", true, path_help),
        Field("file", "File", "any", false,
              "A file value, e.g. {{ steps.download.output.file }}; streamed from the file store. "
              "Give this or content."),
        Field("content", "Content", "any", false, "Small text, or base64 (see encoding)."),
        Field("encoding", "Encoding", "enum", false, "How content is written.", "text",
              {"text", "base64"}),
        Field("create_dirs", "Create folders", "boolean", false, "Create missing parent folders.",
              true)},
       "{path, size} (and sha256 with a file)",
       {}},
      {"delete",
       "Delete a file",
       "Removes a file.",
       {Field("path", "File", "string", true, path_help)},
       "{path, deleted}",
       {}},
      {"move",
       "Move or rename",
       "Renames a file or moves it to another folder.",
       {Field("from", "From", "string", true, path_help),
        Field("to", "To", "string", true, path_help)},
       "{from, to}",
       {}},
  };
}

void RegisterFileTransfer(ActionCatalog& catalog, ConnectorSpec spec, FileProtocol protocol) {
  std::map<std::string, std::shared_ptr<Action>> actions;
  for (const char* op : {"list", "get", "put", "delete", "move"})
    actions[op] = std::make_shared<FileAction>(op, protocol, spec);
  ConnectorSpec tester_spec = spec;
  std::string name = spec.name;
  auto source = std::make_shared<NewFilesSource>(protocol, spec);
  catalog.Register(std::move(spec), std::move(actions),
                   [protocol, tester_spec](const Connection& c, Clock& clock) {
                     return TestFiles(c, clock, protocol, tester_spec);
                   });
  catalog.RegisterPollSource(
      name,
      NewFilesSpec(protocol == FileProtocol::kSftp
                       ? "Absolute (/srv/outbound), or ~/outbound for the user's home."
                       : "From the login folder (/outbound)."),
      source);
}

}  // namespace weft::connectors
