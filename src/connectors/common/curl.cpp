#include "connectors/common/curl.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <mutex>

namespace weft::connectors {
namespace {

// One process-wide share: the connection cache, DNS and TLS sessions, so a
// step reuses the connection an earlier step (on any worker) left open.
struct Share {
  CURLSH* share = nullptr;
  std::mutex locks[CURL_LOCK_DATA_LAST];

  Share() {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    share = curl_share_init();
    curl_share_setopt(share, CURLSHOPT_LOCKFUNC, &Lock);
    curl_share_setopt(share, CURLSHOPT_UNLOCKFUNC, &Unlock);
    curl_share_setopt(share, CURLSHOPT_USERDATA, this);
    curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
  }
  static void Lock(CURL*, curl_lock_data data, curl_lock_access, void* self) {
    static_cast<Share*>(self)->locks[data].lock();
  }
  static void Unlock(CURL*, curl_lock_data data, void* self) {
    static_cast<Share*>(self)->locks[data].unlock();
  }
};

Share& TheShare() {
  static Share* share =
      new Share();  // never destroyed: handles may outlive static destruction order
  return *share;
}

}  // namespace

CallEnv EnvOf(const ActionContext& ctx) {
  return CallEnv{ctx.clock, ctx.deadline, ctx.cancelled,
                 ctx.before_request ? &ctx.before_request : nullptr};
}

HeaderList::~HeaderList() {
  if (list_) curl_slist_free_all(list_);
}
void HeaderList::Add(const std::string& line) { list_ = curl_slist_append(list_, line.c_str()); }

int ProgressCallback(void* p, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(p);
  if (t->env_.cancelled.load()) return 1;
  if (t->env_.clock.Now() >= t->env_.deadline) {
    t->deadline_hit_ = true;
    return 1;
  }
  return 0;
}

size_t WriteCallback(char* data, size_t size, size_t n, void* p) {
  auto* t = static_cast<Transfer*>(p);
  size_t len = size * n;
  if (t->body_->size() + len > t->max_body_) {
    t->body_too_large_ = true;
    return 0;
  }
  t->body_->append(data, len);
  return len;
}

size_t ReadCallback(char* out, size_t size, size_t n, void* p) {
  auto* t = static_cast<Transfer*>(p);
  size_t len = std::min(size * n, t->upload_->size() - t->upload_pos_);
  std::copy_n(t->upload_->data() + t->upload_pos_, len, out);
  t->upload_pos_ += len;
  return len;
}

size_t SinkCallback(char* data, size_t size, size_t n, void* p) {
  auto* t = static_cast<Transfer*>(p);
  size_t len = size * n;
  if (auto w = t->sink_->Write(data, len); !w) {
    t->file_error_ = w.error();
    return 0;
  }
  return len;
}

size_t FileReader::Read(char* out, size_t size, size_t n, void* self) {
  auto* r = static_cast<FileReader*>(self);
  if (!r->source_) {
    auto src = r->files_->Open(r->file_.id, 0);
    if (!src) {
      r->error_ = src.error();
      return CURL_READFUNC_ABORT;
    }
    r->source_ = std::move(*src);
  }
  auto got = r->source_->Read(out, size * n);
  if (!got) {
    r->error_ = got.error();
    return CURL_READFUNC_ABORT;
  }
  return *got;
}

int FileReader::Seek(void* self, curl_off_t offset, int origin) {
  auto* r = static_cast<FileReader*>(self);
  if (origin != SEEK_SET || offset < 0) return CURL_SEEKFUNC_CANTSEEK;
  auto src = r->files_->Open(r->file_.id, static_cast<uint64_t>(offset));
  if (!src) {
    r->error_ = src.error();
    return CURL_SEEKFUNC_FAIL;
  }
  r->source_ = std::move(*src);
  return CURL_SEEKFUNC_OK;
}

namespace {
size_t DiscardCallback(char*, size_t size, size_t n, void*) { return size * n; }

size_t HeaderCallback(char* data, size_t size, size_t n, void* p) {
  auto* headers = static_cast<std::vector<std::pair<std::string, std::string>>*>(p);
  std::string line(data, size * n);
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
  if (line.rfind("HTTP/", 0) == 0) {
    headers->clear();  // a new response (after a redirect or 100 Continue)
    return size * n;
  }
  auto colon = line.find(':');
  if (colon == std::string::npos) return size * n;
  std::string name = line.substr(0, colon);
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  size_t v = colon + 1;
  while (v < line.size() && (line[v] == ' ' || line[v] == '\t')) ++v;
  headers->emplace_back(name, line.substr(v));
  return size * n;
}
}  // namespace

Transfer::Transfer(const CallEnv& env, bool reuse, std::optional<Millis> timeout) : env_(env) {
  Share& share = TheShare();
  curl_ = curl_easy_init();
  curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl_, CURLOPT_ERRORBUFFER, error_);
  curl_easy_setopt(curl_, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl_, CURLOPT_XFERINFOFUNCTION, &ProgressCallback);
  curl_easy_setopt(curl_, CURLOPT_XFERINFODATA, this);
  curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, &DiscardCallback);
  curl_easy_setopt(curl_, CURLOPT_CONNECTTIMEOUT_MS, 30'000L);
  if (reuse) {
    curl_easy_setopt(curl_, CURLOPT_SHARE, share.share);
  } else {
    curl_easy_setopt(curl_, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(curl_, CURLOPT_FRESH_CONNECT, 1L);
  }
  // The real clock's remaining time bounds the transfer too, so a stalled
  // transfer ends even between progress callbacks.
  Millis left = std::chrono::duration_cast<Millis>(env.deadline - env.clock.Now());
  if (timeout && *timeout < left) left = *timeout;
  if (left < Millis(1)) left = Millis(1);
  curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(std::min<int64_t>(left.count(), 24LL * 3600 * 1000)));
}

Transfer::~Transfer() { curl_easy_cleanup(curl_); }

void Transfer::CaptureBody(std::string* body, size_t max_bytes) {
  body_ = body;
  max_body_ = max_bytes;
  curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, &WriteCallback);
  curl_easy_setopt(curl_, CURLOPT_WRITEDATA, this);
}

void Transfer::CaptureHeaders(std::vector<std::pair<std::string, std::string>>* headers) {
  curl_easy_setopt(curl_, CURLOPT_HEADERFUNCTION, &HeaderCallback);
  curl_easy_setopt(curl_, CURLOPT_HEADERDATA, headers);
}

void Transfer::Upload(const std::string* data) {
  upload_ = data;
  upload_pos_ = 0;
  curl_easy_setopt(curl_, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(curl_, CURLOPT_READFUNCTION, &ReadCallback);
  curl_easy_setopt(curl_, CURLOPT_READDATA, this);
  curl_easy_setopt(curl_, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(data->size()));
}

void Transfer::UseFileBuffers() {
  curl_easy_setopt(curl_, CURLOPT_BUFFERSIZE, 256L << 10);
  curl_easy_setopt(curl_, CURLOPT_UPLOAD_BUFFERSIZE, 256L << 10);
}

void Transfer::SinkBody(FileSink* sink) {
  UseFileBuffers();
  sink_ = sink;
  curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, &SinkCallback);
  curl_easy_setopt(curl_, CURLOPT_WRITEDATA, this);
}

void Transfer::UploadFile(FileStore* files, const FileInfo& file) {
  UseFileBuffers();
  file_reader_ = std::make_unique<FileReader>(files, file);
  curl_easy_setopt(curl_, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(curl_, CURLOPT_READFUNCTION, &FileReader::Read);
  curl_easy_setopt(curl_, CURLOPT_READDATA, file_reader_.get());
  curl_easy_setopt(curl_, CURLOPT_SEEKFUNCTION, &FileReader::Seek);
  curl_easy_setopt(curl_, CURLOPT_SEEKDATA, file_reader_.get());
  curl_easy_setopt(curl_, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(file.size));
}

CURLcode Transfer::Perform() {
  error_[0] = '\0';
  return curl_easy_perform(curl_);
}

long Transfer::Status() const {
  long status = 0;
  curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &status);
  return status;
}

std::string Transfer::Message(CURLcode code) const {
  if (code == CURLE_ABORTED_BY_CALLBACK) return env_.cancelled.load() ? "cancelled" : "timed out";
  if (code == CURLE_WRITE_ERROR && body_too_large_) return "the response is too large";
  std::string m = error_[0] ? std::string(error_) : std::string(curl_easy_strerror(code));
  while (!m.empty() && (m.back() == '\n' || m.back() == '\r')) m.pop_back();
  return m;
}

ActionOutcome Transfer::Failure(CURLcode code, const std::string& what) const {
  // The file store ended it (size limit, full disk, a file gone): say so.
  const std::optional<Error>& fe =
      file_error_ ? file_error_ : (file_reader_ ? file_reader_->error() : file_error_);
  if (fe && (code == CURLE_WRITE_ERROR || code == CURLE_ABORTED_BY_CALLBACK ||
             code == CURLE_READ_ERROR || code == CURLE_SEND_FAIL_REWIND)) {
    bool retryable = fe->code == ErrorCode::kUnavailable;
    return ActionOutcome::Failed(
        fe->code == ErrorCode::kNotFound ? ErrorCode::kStepFailed : fe->code,
        what + ": " + fe->message, retryable);
  }
  std::string message = what + ": " + Message(code);
  switch (code) {
    case CURLE_ABORTED_BY_CALLBACK:
      if (env_.cancelled.load()) return ActionOutcome::Failed(ErrorCode::kCancelled, message);
      return ActionOutcome::Failed(ErrorCode::kTimeout, message, true);
    case CURLE_OPERATION_TIMEDOUT:
      return ActionOutcome::Failed(ErrorCode::kTimeout, message, true);
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return ActionOutcome::Failed(ErrorCode::kUnavailable, message, true);
    default:
      return ActionOutcome::Failed(ErrorCode::kStepFailed, message);
  }
}

std::string UrlEncodePath(const std::string& path) {
  std::string out;
  size_t start = 0;
  while (true) {
    size_t slash = path.find('/', start);
    out += UrlEncode(
        path.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
    if (slash == std::string::npos) break;
    out += '/';
    start = slash + 1;
  }
  return out;
}

}  // namespace weft::connectors
