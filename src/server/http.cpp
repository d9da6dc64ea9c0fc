#include "server/http.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

namespace weft::server {

namespace {
const std::string kEmpty;

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

namespace {

// An unnamed read-write file in `dir`, or -1.
int OpenUnnamedFile(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0) return fd;
  // A file system without O_TMPFILE: a named file, unlinked at once.
  std::string path = dir + "/weft-body-XXXXXX";
  fd = ::mkostemp(path.data(), O_CLOEXEC);
  if (fd >= 0) ::unlink(path.c_str());
  return fd;
}

}  // namespace

std::unique_ptr<SpooledBody> SpooledBody::Create(const std::string& dir) {
  std::unique_ptr<SpooledBody> b(new SpooledBody());
  if (!dir.empty()) b->fd_ = OpenUnnamedFile(dir);
  if (b->fd_ < 0) {
    const char* tmp = std::getenv("TMPDIR");
    b->fd_ = OpenUnnamedFile(tmp && *tmp ? tmp : "/tmp");
  }
  if (b->fd_ < 0) return nullptr;
  return b;
}

SpooledBody::~SpooledBody() {
  if (map_) ::munmap(map_, size_);
  if (fd_ >= 0) ::close(fd_);
}

bool SpooledBody::Write(const char* data, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd_, data, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += w;
    n -= static_cast<size_t>(w);
    size_ += static_cast<uint64_t>(w);
  }
  return true;
}

bool SpooledBody::Finish() {
  if (size_ == 0 || map_) return true;
  void* m = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd_, 0);
  if (m == MAP_FAILED) return false;
  ::madvise(m, size_, MADV_SEQUENTIAL);
  map_ = m;
  return true;
}

std::string_view SpooledBody::view() const {
  return map_ ? std::string_view(static_cast<const char*>(map_), size_) : std::string_view();
}

const std::string* HttpRequest::Header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return &value;
  }
  return nullptr;
}

const std::string& HttpRequest::Param(std::string_view name) const {
  for (const auto& [key, value] : params) {
    if (key == name) return value;
  }
  return kEmpty;
}

std::optional<std::string> HttpRequest::Query(std::string_view name) const {
  std::string_view qs = query_string;
  while (!qs.empty()) {
    size_t amp = qs.find('&');
    std::string_view part = qs.substr(0, amp);
    qs = amp == std::string_view::npos ? std::string_view() : qs.substr(amp + 1);
    size_t eq = part.find('=');
    std::string key = UrlDecode(part.substr(0, eq), true);
    if (key != name) continue;
    return eq == std::string_view::npos ? std::string() : UrlDecode(part.substr(eq + 1), true);
  }
  return std::nullopt;
}

HttpResponse HttpResponse::FromJson(int status, const Json& body) {
  HttpResponse r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, Json::error_handler_t::replace);
  return r;
}

HttpResponse HttpResponse::Text(int status, std::string body, std::string content_type) {
  HttpResponse r;
  r.status = status;
  r.content_type = std::move(content_type);
  r.body = std::move(body);
  return r;
}

std::string UrlDecode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%' && i + 2 < s.size()) {
      int hi = HexValue(s[i + 1]);
      int lo = HexValue(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(plus_is_space && c == '+' ? ' ' : c);
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> ParseQueryString(std::string_view qs) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!qs.empty()) {
    size_t amp = qs.find('&');
    std::string_view part = qs.substr(0, amp);
    qs = amp == std::string_view::npos ? std::string_view() : qs.substr(amp + 1);
    if (part.empty()) continue;
    size_t eq = part.find('=');
    out.emplace_back(
        UrlDecode(part.substr(0, eq), true),
        eq == std::string_view::npos ? std::string() : UrlDecode(part.substr(eq + 1), true));
  }
  return out;
}

}  // namespace weft::server
