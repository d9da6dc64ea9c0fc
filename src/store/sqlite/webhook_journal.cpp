#include "store/sqlite/webhook_journal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace weft::sqlite {

namespace {

constexpr char kMagic[8] = {'W', 'E', 'F', 'T', 'J', 'N', 'L', '1'};
constexpr size_t kRecordHeader = 12;  // u32 length, u64 checksum

// A checksum that finds a record cut short or overwritten (not an attacker:
// the file is the store's own). Eight bytes a step; FNV-1a a byte a step was
// 2.5 % of a webhook's CPU.
uint64_t Checksum(std::string_view data) {
  constexpr uint64_t kMul = 0x9E3779B97F4A7C15ull;
  uint64_t h = 0xCBF29CE484222325ull ^ data.size();
  size_t i = 0;
  for (; i + 8 <= data.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, data.data() + i, 8);
    h = (h ^ w) * kMul;
    h ^= h >> 29;
  }
  uint64_t tail = 0;
  std::memcpy(&tail, data.data() + i, data.size() - i);
  h = (h ^ tail) * kMul;
  return h ^ (h >> 32);
}

void PutU32(char* at, uint32_t v) {
  for (int i = 0; i < 4; ++i) at[i] = static_cast<char>(v >> (8 * i));
}
void PutU64(char* at, uint64_t v) {
  for (int i = 0; i < 8; ++i) at[i] = static_cast<char>(v >> (8 * i));
}
uint32_t GetU32(const char* at) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(at[i]);
  return v;
}
uint64_t GetU64(const char* at) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(at[i]);
  return v;
}

Unexpected IoError(const std::string& what, const std::string& path, int err) {
  return Fail(ErrorCode::kUnavailable, "cannot " + what + " " + path + ": " + std::strerror(err));
}

// Reads exactly n bytes at `offset` (fewer only at the end of the file).
ssize_t ReadAt(int fd, char* out, size_t n, uint64_t offset) {
  size_t done = 0;
  while (done < n) {
    ssize_t got = pread(fd, out + done, n - done, static_cast<off_t>(offset + done));
    if (got < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (got == 0) break;
    done += static_cast<size_t>(got);
  }
  return static_cast<ssize_t>(done);
}

bool WriteAt(int fd, const char* data, size_t n, uint64_t offset) {
  size_t done = 0;
  while (done < n) {
    ssize_t put = pwrite(fd, data + done, n - done, static_cast<off_t>(offset + done));
    if (put < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (put == 0) {
      errno = ENOSPC;
      return false;
    }
    done += static_cast<size_t>(put);
  }
  return true;
}

}  // namespace

WebhookJournal::WebhookJournal(std::string path, int fd, uint64_t generation, uint64_t end)
    : path_(std::move(path)), fd_(fd), generation_(generation), end_(end) {}

WebhookJournal::~WebhookJournal() { close(fd_); }

Result<std::unique_ptr<WebhookJournal>> WebhookJournal::Open(const std::string& path) {
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return IoError("open", path, errno);
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    int err = errno;
    close(fd);
    return IoError("stat", path, err);
  }
  uint64_t size = static_cast<uint64_t>(st.st_size);
  char header[kHeaderSize];
  if (size < kHeaderSize) {
    // New (or cut off while it was first written): generation 1, no records.
    std::unique_ptr<WebhookJournal> j(new WebhookJournal(path, fd, 1, kHeaderSize));
    if (ftruncate(fd, 0) != 0) return IoError("truncate", path, errno);
    if (auto w = j->WriteHeader(1); !w) return Fail(w.error());
    return j;
  }
  if (ReadAt(fd, header, kHeaderSize, 0) != static_cast<ssize_t>(kHeaderSize) ||
      std::memcmp(header, kMagic, sizeof kMagic) != 0) {
    close(fd);
    return Fail(ErrorCode::kUnavailable,
                path + " is not a weft webhook journal; move it away to start");
  }
  uint64_t generation = GetU64(header + 8);
  return std::unique_ptr<WebhookJournal>(new WebhookJournal(path, fd, generation, size));
}

Result<void> WebhookJournal::Recover(uint64_t from) {
  std::lock_guard lock(mu_);
  uint64_t size = end_;
  uint64_t end = std::clamp(from, kHeaderSize, size);
  std::string buf;
  while (end + kRecordHeader <= size) {
    char rec[kRecordHeader];
    if (ReadAt(fd_, rec, kRecordHeader, end) != static_cast<ssize_t>(kRecordHeader)) break;
    uint64_t len = GetU32(rec);
    if (end + kRecordHeader + len > size) break;
    buf.resize(len);
    if (ReadAt(fd_, buf.data(), len, end + kRecordHeader) != static_cast<ssize_t>(len)) break;
    if (Checksum(buf) != GetU64(rec + 4)) break;
    end += kRecordHeader + len;
  }
  if (end != size && ftruncate(fd_, static_cast<off_t>(end)) != 0)
    return IoError("truncate", path_, errno);
  end_ = end;
  return Ok();
}

Result<void> WebhookJournal::WriteHeader(uint64_t generation) {
  char header[kHeaderSize];
  std::memcpy(header, kMagic, sizeof kMagic);
  PutU64(header + 8, generation);
  if (!WriteAt(fd_, header, kHeaderSize, 0)) return IoError("write", path_, errno);
  return Ok();
}

Result<void> WebhookJournal::Append(std::string_view payload) {
  if (payload.size() > UINT32_MAX)
    return Fail(ErrorCode::kBadRequest, "webhook record too large for the journal");
  // One write per record: the header and the payload together.
  std::string rec(kRecordHeader + payload.size(), '\0');
  PutU32(rec.data(), static_cast<uint32_t>(payload.size()));
  PutU64(rec.data() + 4, Checksum(payload));
  std::memcpy(rec.data() + kRecordHeader, payload.data(), payload.size());
  std::lock_guard lock(mu_);
  if (!WriteAt(fd_, rec.data(), rec.size(), end_)) {
    int err = errno;
    // Nothing of a record that failed may stay: the next one goes where it began.
    [[maybe_unused]] int rc = ftruncate(fd_, static_cast<off_t>(end_));
    return IoError("write", path_, err);
  }
  end_ += rec.size();
  ++appended_;
  return Ok();
}

Result<WebhookJournal::Chunk> WebhookJournal::Read(uint64_t from, size_t max_bytes) const {
  Chunk chunk;
  chunk.next = from;
  uint64_t end = this->end();
  if (from >= end) return chunk;
  size_t want = static_cast<size_t>(std::min<uint64_t>(end - from, max_bytes));
  want = std::max(want, kRecordHeader);
  chunk.bytes.resize(want);
  ssize_t got = ReadAt(fd_, chunk.bytes.data(), want, from);
  if (got < 0) return IoError("read", path_, errno);
  chunk.bytes.resize(static_cast<size_t>(got));
  // The first record may be larger than max_bytes: read it whole.
  if (chunk.bytes.size() >= kRecordHeader) {
    size_t first = kRecordHeader + GetU32(chunk.bytes.data());
    if (first > chunk.bytes.size() && from + first <= end) {
      chunk.bytes.resize(first);
      got = ReadAt(fd_, chunk.bytes.data(), first, from);
      if (got != static_cast<ssize_t>(first)) return IoError("read", path_, got < 0 ? errno : EIO);
    }
  }
  size_t at = 0;
  while (at + kRecordHeader <= chunk.bytes.size()) {
    size_t len = GetU32(chunk.bytes.data() + at);
    if (at + kRecordHeader + len > chunk.bytes.size()) break;
    std::string_view payload(chunk.bytes.data() + at + kRecordHeader, len);
    if (Checksum(payload) != GetU64(chunk.bytes.data() + at + 4)) {
      return Fail(ErrorCode::kInternal,
                  path_ + ": damaged record at offset " + std::to_string(from + at));
    }
    chunk.records.push_back(payload);
    at += kRecordHeader + len;
  }
  chunk.next = from + at;
  return chunk;
}

Result<bool> WebhookJournal::Restart(uint64_t end) {
  std::lock_guard lock(mu_);
  if (end_ != end) return false;
  // Cut first, then the new header: a crash in between leaves an empty file
  // of the old generation, which the store reads as imported.
  if (ftruncate(fd_, static_cast<off_t>(kHeaderSize)) != 0)
    return IoError("truncate", path_, errno);
  if (auto w = WriteHeader(generation_ + 1); !w) return Fail(w.error());
  ++generation_;
  end_ = kHeaderSize;
  released_ = 0;
  return true;
}

void WebhookJournal::Release(uint64_t upto) {
  constexpr uint64_t kBlock = 4096;  // the header's block is never released
  uint64_t until = upto / kBlock * kBlock;
  std::lock_guard lock(mu_);
  if (!can_release_ || until <= std::max(released_, kBlock)) return;
  uint64_t from = std::max(released_, kBlock);
  if (fallocate(fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(from),
                static_cast<off_t>(until - from)) != 0) {
    can_release_ = false;  // not on this file system: Restart alone keeps it small
    return;
  }
  released_ = until;
}

uint64_t WebhookJournal::generation() const {
  std::lock_guard lock(mu_);
  return generation_;
}

uint64_t WebhookJournal::end() const {
  std::lock_guard lock(mu_);
  return end_;
}

uint64_t WebhookJournal::appended() const {
  std::lock_guard lock(mu_);
  return appended_;
}

}  // namespace weft::sqlite
