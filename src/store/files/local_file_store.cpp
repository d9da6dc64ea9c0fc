#include "store/files/local_file_store.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "common/json.h"
#include "common/log.h"

namespace weft {

namespace fs = std::filesystem;

namespace {

std::string Hex(const unsigned char* p, size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kHex[p[i] >> 4]);
    out.push_back(kHex[p[i] & 15]);
  }
  return out;
}

Unexpected IoError(const std::string& what, int err) {
  if (err == ENOSPC || err == EDQUOT)
    return Fail(ErrorCode::kUnavailable, what + ": the disk is full");
  return Fail(ErrorCode::kUnavailable, what + ": " + std::strerror(err));
}

// Writes all of `data` to `fd`; an errno on failure, 0 on success.
int WriteAll(int fd, const char* data, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, data, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    data += w;
    n -= static_cast<size_t>(w);
  }
  return 0;
}

int SyncDir(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno;
  int rc = ::fsync(fd) == 0 ? 0 : errno;
  ::close(fd);
  return rc;
}

Result<FileInfo> ReadInfo(const fs::path& meta) {
  int fd = ::open(meta.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Fail(ErrorCode::kNotFound, "no such file");
    return IoError("reading " + meta.string(), errno);
  }
  std::string text;
  char buf[4096];
  for (;;) {
    ssize_t r = ::read(fd, buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    text.append(buf, static_cast<size_t>(r));
  }
  ::close(fd);
  std::string error;
  auto j = ParseJson(text, &error);
  if (!j) return Fail(ErrorCode::kInternal, "the value of " + meta.string() + " is unreadable");
  return FileInfoFromJson(*j, "the stored file value");
}

class LocalSink : public FileSink {
 public:
  LocalSink(const LocalFileStore& store, const LocalFileStoreOptions& o, FileInfo info,
            fs::path part, int fd)
      : store_(store), o_(o), info_(std::move(info)), part_(std::move(part)), fd_(fd) {
    md_ = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md_, EVP_sha256(), nullptr);
  }
  ~LocalSink() override {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) {
      std::error_code ec;
      fs::remove(part_, ec);
    }
    EVP_MD_CTX_free(md_);
  }

  Result<void> Write(const char* data, size_t n) override {
    if (fd_ < 0) return Fail(ErrorCode::kInternal, "the file is closed");
    if (info_.size + n > o_.max_file_size)
      return Fail(ErrorCode::kPayloadTooLarge, "the file is larger than the limit of " +
                                                   std::to_string(o_.max_file_size) +
                                                   " bytes (--max-file-size)");
    if (int err = WriteAll(fd_, data, n)) return IoError("writing a file", err);
    EVP_DigestUpdate(md_, data, n);
    info_.size += n;
    return Ok();
  }

  Result<FileInfo> Commit() override {
    if (fd_ < 0) return Fail(ErrorCode::kInternal, "the file is closed");
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    EVP_DigestFinal_ex(md_, digest, &len);
    info_.sha256 = Hex(digest, len);
    if (o_.sync && ::fdatasync(fd_) != 0) return IoError("writing a file", errno);
    ::close(fd_);
    fd_ = -1;

    const fs::path data = store_.PathOf(info_.id);
    const fs::path meta = fs::path(data).concat(".json");
    const fs::path meta_part = fs::path(part_).concat(".json");
    std::error_code ec;
    fs::create_directories(data.parent_path(), ec);
    if (ec) return IoError("creating " + data.parent_path().string(), ec.value());
    const std::string text = info_.ToJson().dump();
    int mfd = ::open(meta_part.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (mfd < 0) return IoError("writing a file", errno);
    int err = WriteAll(mfd, text.data(), text.size());
    if (!err && o_.sync && ::fdatasync(mfd) != 0) err = errno;
    ::close(mfd);
    if (err || ::rename(meta_part.c_str(), meta.c_str()) != 0) {
      int e = err ? err : errno;
      fs::remove(meta_part, ec);
      return IoError("writing a file", e);
    }
    if (::rename(part_.c_str(), data.c_str()) != 0) {
      int e = errno;
      fs::remove(meta, ec);
      return IoError("writing a file", e);
    }
    committed_ = true;
    if (o_.sync) {
      if (int e = SyncDir(data.parent_path())) return IoError("writing a file", e);
    }
    return info_;
  }

  uint64_t written() const override { return info_.size; }

 private:
  const LocalFileStore& store_;
  const LocalFileStoreOptions& o_;
  FileInfo info_;
  fs::path part_;
  int fd_;
  EVP_MD_CTX* md_ = nullptr;
  bool committed_ = false;
};

class LocalSource : public FileSource {
 public:
  LocalSource(FileInfo info, int fd) : info_(std::move(info)), fd_(fd) {}
  ~LocalSource() override { ::close(fd_); }
  const FileInfo& info() const override { return info_; }
  Result<size_t> Read(char* data, size_t n) override {
    for (;;) {
      ssize_t r = ::read(fd_, data, n);
      if (r >= 0) return static_cast<size_t>(r);
      if (errno != EINTR) return IoError("reading file " + info_.id, errno);
    }
  }

 private:
  FileInfo info_;
  int fd_;
};

}  // namespace

LocalFileStore::LocalFileStore(LocalFileStoreOptions options) : options_(std::move(options)) {}

Result<std::unique_ptr<LocalFileStore>> LocalFileStore::Open(const LocalFileStoreOptions& options) {
  std::error_code ec;
  fs::create_directories(options.dir / "tmp", ec);
  if (ec)
    return Fail(ErrorCode::kUnavailable,
                "cannot create the file store " + options.dir.string() + ": " + ec.message());
  return std::unique_ptr<LocalFileStore>(new LocalFileStore(options));
}

fs::path LocalFileStore::PathOf(const std::string& id) const {
  // The fan-out folder: the first two random characters (ids are checked
  // with IsFileId before they reach a path).
  return options_.dir / id.substr(4, 2) / id;
}

Result<std::unique_ptr<FileSink>> LocalFileStore::Create(const std::string& name,
                                                         const std::string& content_type) {
  FileInfo info;
  info.id = NewFileId();
  info.name = name;
  info.content_type = content_type.empty() ? "application/octet-stream" : content_type;
  info.created_at = options_.clock ? options_.clock->Now() : SystemClock().Now();
  fs::path part = options_.dir / "tmp" / (info.id + ".part");
  int fd = ::open(part.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return IoError("creating a file in " + options_.dir.string(), errno);
  return std::unique_ptr<FileSink>(new LocalSink(*this, options_, std::move(info), part, fd));
}

Result<std::unique_ptr<FileSource>> LocalFileStore::Open(const std::string& id, uint64_t offset) {
  if (!IsFileId(id)) return Fail(ErrorCode::kNotFound, "file " + id + " does not exist");
  const fs::path data = PathOf(id);
  auto info = ReadInfo(fs::path(data).concat(".json"));
  if (!info) {
    if (info.error().code == ErrorCode::kNotFound)
      return Fail(ErrorCode::kNotFound, "file " + id + " does not exist");
    return Fail(info.error());
  }
  int fd = ::open(data.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Fail(ErrorCode::kNotFound, "file " + id + " does not exist");
    return IoError("opening file " + id, errno);
  }
  if (offset > 0 && ::lseek(fd, static_cast<off_t>(offset), SEEK_SET) < 0) {
    int e = errno;
    ::close(fd);
    return IoError("reading file " + id, e);
  }
  return std::unique_ptr<FileSource>(new LocalSource(std::move(*info), fd));
}

Result<FileInfo> LocalFileStore::Stat(const std::string& id) {
  if (!IsFileId(id)) return Fail(ErrorCode::kNotFound, "file " + id + " does not exist");
  const fs::path data = PathOf(id);
  std::error_code ec;
  if (!fs::exists(data, ec)) return Fail(ErrorCode::kNotFound, "file " + id + " does not exist");
  auto info = ReadInfo(fs::path(data).concat(".json"));
  if (!info && info.error().code == ErrorCode::kNotFound)
    return Fail(ErrorCode::kNotFound, "file " + id + " does not exist");
  return info;
}

Result<void> LocalFileStore::Remove(const std::string& id) {
  if (!IsFileId(id)) return Ok();
  const fs::path data = PathOf(id);
  std::error_code ec;
  fs::remove(data, ec);  // bytes first: a value without bytes is not a file
  if (ec) return IoError("removing file " + id, ec.value());
  fs::remove(fs::path(data).concat(".json"), ec);
  if (ec) return IoError("removing file " + id, ec.value());
  return Ok();
}

Result<void> LocalFileStore::ForEach(const std::function<void(const FileInfo&)>& fn) {
  std::error_code ec;
  for (const auto& bucket : fs::directory_iterator(options_.dir, ec)) {
    if (!bucket.is_directory() || bucket.path().filename() == "tmp") continue;
    std::error_code ec2;
    for (const auto& e : fs::directory_iterator(bucket.path(), ec2)) {
      const std::string name = e.path().filename().string();
      if (!IsFileId(name)) continue;  // values are read with their bytes
      auto info = ReadInfo(fs::path(e.path()).concat(".json"));
      if (info) fn(*info);
    }
  }
  if (ec) return IoError("listing " + options_.dir.string(), ec.value());
  return Ok();
}

Result<int64_t> LocalFileStore::DropUnfinished() {
  int64_t dropped = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(options_.dir / "tmp", ec)) {
    std::error_code ec2;
    if (fs::remove(e.path(), ec2)) ++dropped;
  }
  if (ec) return IoError("listing " + (options_.dir / "tmp").string(), ec.value());
  // A value renamed into place whose bytes never followed (a crash between
  // the two renames) is not a file either.
  for (const auto& bucket : fs::directory_iterator(options_.dir, ec)) {
    if (!bucket.is_directory() || bucket.path().filename() == "tmp") continue;
    std::error_code ec2;
    for (const auto& e : fs::directory_iterator(bucket.path(), ec2)) {
      const auto& p = e.path();
      if (p.extension() != ".json") continue;
      fs::path data = p;
      data.replace_extension();
      std::error_code ec3;
      if (!fs::exists(data, ec3) && fs::remove(p, ec3)) ++dropped;
    }
  }
  if (dropped > 0)
    log::Info("file store: dropped unfinished writes", {{"count", std::to_string(dropped)}});
  return dropped;
}

}  // namespace weft
