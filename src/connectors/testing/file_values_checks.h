// Test helpers for actions that move file values (core/files.h): a file
// store in a temp folder (the data dir's LocalFileStore, as `weft serve` has
// it), random bytes, peak memory, and the file checks the ftp and sftp tests
// share against a real server whose files live in `root` on this machine.
// Test binaries using it link weft_file_store. One thread.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "connectors/testing/child_server.h"
#include "connectors/testing/run_action.h"
#include "store/files/local_file_store.h"

namespace weft::testing {

// A LocalFileStore in a fresh temp folder, removed with the object.
class TempFileStore {
 public:
  explicit TempFileStore(uint64_t max_file_size = 5ull << 30) {
    dir_ = MakeTempDir("weft-files");
    LocalFileStoreOptions o;
    o.dir = dir_;
    o.max_file_size = max_file_size;
    auto s = LocalFileStore::Open(o);
    EXPECT_TRUE(s) << s.error().message;
    if (s) store_ = std::move(*s);
  }
  ~TempFileStore() { RemoveTree(dir_); }
  LocalFileStore* get() { return store_.get(); }
  LocalFileStore* operator->() { return store_.get(); }
  // Committed files, and entries an unfinished write left in tmp/.
  size_t Committed() {
    size_t n = 0;
    (void)store_->ForEach([&](const FileInfo&) { ++n; });
    return n;
  }
  size_t Unfinished() {
    size_t n = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir_ + "/tmp")) (void)e, ++n;
    return n;
  }
  std::string Bytes(const FileInfo& f) {
    auto b = ReadWholeFile(*store_, f.id, 1u << 30, f.id);
    EXPECT_TRUE(b) << b.error().message;
    return b ? *b : "";
  }

 private:
  std::string dir_;
  std::unique_ptr<LocalFileStore> store_;
};

inline std::string RandomBytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string out(n, '\0');
  for (size_t i = 0; i < n; i += 8) {
    uint64_t v = rng();
    for (size_t k = 0; k < 8 && i + k < n; ++k) out[i + k] = static_cast<char>(v >> (8 * k));
  }
  return out;
}

// Writes `mib` MiB of random bytes to `path` a MiB at a time (never whole in memory).
inline void WriteRandomFile(const std::string& path, size_t mib, uint64_t seed) {
  std::ofstream f(path, std::ios::binary);
  for (size_t i = 0; i < mib; ++i) {
    std::string chunk = RandomBytes(1u << 20, seed + i);
    f.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
  }
}

// A field of /proc/self/status in KiB (VmRSS, VmHWM).
inline int64_t StatusKb(const std::string& field) {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind(field + ":", 0) == 0) return std::stoll(line.substr(field.size() + 1));
  return -1;
}
// False in an AddressSanitizer build: freed memory waits in its quarantine
// (256 MB) and every block carries redzones, so RSS says nothing about what
// the code keeps. Memory checks hold only in ordinary builds.
constexpr bool kRssMeansSomething =
#if defined(__SANITIZE_ADDRESS__)
    false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    false;
#else
    true;
#endif
#else
    true;
#endif

// Resets VmHWM to the current RSS (Linux 4.0+); false when the kernel refuses.
inline bool ResetPeakRss() {
  std::ofstream f("/proc/self/clear_refs");
  f << "5";
  f.close();
  return !f.fail();
}

// get as a file, put from a file, as: text, unknown ids and the size limit.
inline void CheckFileValueActions(const ActionCatalog& catalog, const std::string& connector,
                                  const Connection& c, const std::string& root,
                                  const std::string& prefix) {
  TempFileStore files;
  auto act = [&](const std::string& action, const Json& in, FileStore* store) {
    return RunAction(catalog, connector + "." + action, in, &c, Millis(60'000), nullptr, store);
  };
  std::filesystem::create_directories(root + "/bin");
  const std::string bytes = RandomBytes(3u << 20, 42);
  { std::ofstream(root + "/bin/blob.dat", std::ios::binary) << bytes; }
  auto expected = WriteWholeFile(*files.get(), "expected", "", bytes);
  ASSERT_TRUE(expected);

  // auto: binary content becomes a file, named after the remote file.
  auto get = act("get", {{"path", prefix + "bin/blob.dat"}}, files.get());
  ASSERT_FALSE(get.outcome.error) << get.error();
  const Json& value = get.output()["file"];
  ASSERT_TRUE(IsFileValue(value)) << get.output().dump();
  EXPECT_EQ(value["sha256"], expected->sha256);
  EXPECT_EQ(value["size"], bytes.size());
  EXPECT_EQ(value["name"], "blob.dat");
  EXPECT_EQ(value["content_type"], "application/octet-stream");
  EXPECT_EQ(get.output()["size"], bytes.size());
  EXPECT_FALSE(get.output().contains("content"));

  // put it back under another name, read that back.
  auto put = act("put", {{"path", prefix + "bin/copy/photo.png"}, {"file", value}}, files.get());
  ASSERT_FALSE(put.outcome.error) << put.error();
  EXPECT_EQ(put.output()["size"], bytes.size());
  EXPECT_TRUE(ReadFile(root + "/bin/copy/photo.png") == bytes);
  auto back = act("get", {{"path", prefix + "bin/copy/photo.png"}, {"as", "file"}}, files.get());
  ASSERT_FALSE(back.outcome.error) << back.error();
  EXPECT_EQ(back.output()["file"]["sha256"], expected->sha256);
  EXPECT_EQ(back.output()["file"]["content_type"], "image/png");
  EXPECT_EQ(back.output()["file"]["name"], "photo.png");

  // Text: auto keeps small UTF-8 as text; as: text still works; as: file makes a file of it.
  { std::ofstream(root + "/bin/note.txt") << "héllo"; }
  auto text = act("get", {{"path", prefix + "bin/note.txt"}}, files.get());
  ASSERT_FALSE(text.outcome.error) << text.error();
  EXPECT_EQ(text.output()["content"], "héllo");
  EXPECT_EQ(text.output()["encoding"], "text");
  auto as_text = act("get", {{"path", prefix + "bin/note.txt"}, {"as", "text"}}, files.get());
  EXPECT_EQ(as_text.output()["content"], "héllo");
  auto as_file = act("get", {{"path", prefix + "bin/note.txt"}, {"as", "file"}}, files.get());
  ASSERT_FALSE(as_file.outcome.error) << as_file.error();
  EXPECT_EQ(as_file.output()["file"]["content_type"], "text/plain");
  EXPECT_EQ(as_file.output()["file"]["size"], 6);
  // Without a file store, as before: base64 for binary.
  auto old = act("get", {{"path", prefix + "bin/note.txt"}, {"encoding", "base64"}}, nullptr);
  EXPECT_EQ(old.output()["content"], "aMOpbGxv");

  // A file value the store does not hold.
  Json ghost = value;
  ghost["id"] = NewFileId();
  auto missing = act("put", {{"path", prefix + "bin/ghost.bin"}, {"file", ghost}}, files.get());
  ASSERT_TRUE(missing.outcome.error);
  EXPECT_EQ(missing.outcome.error->code, ErrorCode::kValidation);
  EXPECT_NE(
      missing.error().find("with.file: file " + ghost["id"].get<std::string>() + " does not exist"),
      std::string::npos)
      << missing.error();
  EXPECT_FALSE(std::filesystem::exists(root + "/bin/ghost.bin"));

  // --max-file-size below the file: kPayloadTooLarge, nothing left in the store.
  TempFileStore small(1u << 20);
  auto big = act("get", {{"path", prefix + "bin/blob.dat"}, {"as", "file"}}, small.get());
  ASSERT_TRUE(big.outcome.error);
  EXPECT_EQ(big.outcome.error->code, ErrorCode::kPayloadTooLarge) << big.error();
  EXPECT_NE(big.error().find("--max-file-size"), std::string::npos) << big.error();
  EXPECT_EQ(small.Committed(), 0u);
  EXPECT_EQ(small.Unfinished(), 0u);
}

}  // namespace weft::testing
