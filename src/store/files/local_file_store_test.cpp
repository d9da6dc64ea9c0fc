// LocalFileStore against a real folder: what a commit makes visible, what an
// unfinished write leaves, the size limit, reads from an offset.
#include "store/files/local_file_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace weft {
namespace {

namespace fs = std::filesystem;

class LocalFileStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("weft-files-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    LocalFileStoreOptions o;
    o.dir = dir_;
    o.max_file_size = 1 << 20;
    o.sync = true;
    auto s = LocalFileStore::Open(o);
    ASSERT_TRUE(s) << s.error().message;
    store_ = std::move(*s);
  }
  void TearDown() override { fs::remove_all(dir_); }

  size_t Entries(const fs::path& p) {
    size_t n = 0;
    for (auto it = fs::recursive_directory_iterator(p); it != fs::recursive_directory_iterator();
         ++it)
      if (it->is_regular_file()) ++n;
    return n;
  }

  fs::path dir_;
  std::unique_ptr<LocalFileStore> store_;
};

TEST_F(LocalFileStoreTest, ACommittedFileReadsBackWithItsValue) {
  auto sink = store_->Create("hello.txt", "text/plain");
  ASSERT_TRUE(sink);
  ASSERT_TRUE((*sink)->Write("ab", 2));
  ASSERT_TRUE((*sink)->Write("c", 1));
  auto info = (*sink)->Commit();
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_TRUE(IsFileId(info->id));
  EXPECT_EQ(info->size, 3u);
  EXPECT_EQ(info->sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(info->name, "hello.txt");

  Json v = info->ToJson();
  EXPECT_EQ(v["type"], "file");
  EXPECT_EQ(v["content_type"], "text/plain");
  auto back = FileInfoFromJson(v, "x");
  ASSERT_TRUE(back);
  EXPECT_EQ(back->sha256, info->sha256);

  auto whole = ReadWholeFile(*store_, info->id, 100, "the file");
  ASSERT_TRUE(whole);
  EXPECT_EQ(*whole, "abc");
  auto src = store_->Open(info->id, 1);
  ASSERT_TRUE(src);
  char buf[8];
  auto n = (*src)->Read(buf, sizeof buf);
  ASSERT_TRUE(n);
  EXPECT_EQ(std::string(buf, *n), "bc");

  auto capped = ReadWholeFile(*store_, info->id, 2, "steps.get.output.file");
  ASSERT_FALSE(capped);
  EXPECT_EQ(capped.error().code, ErrorCode::kPayloadTooLarge);
  EXPECT_NE(capped.error().message.find("steps.get.output.file"), std::string::npos);
}

TEST_F(LocalFileStoreTest, AnAbandonedWriteLeavesNothing) {
  {
    auto sink = store_->Create("big.bin", "");
    ASSERT_TRUE(sink);
    ASSERT_TRUE((*sink)->Write("xyz", 3));
  }
  EXPECT_EQ(Entries(dir_), 0u);
  int seen = 0;
  ASSERT_TRUE(store_->ForEach([&](const FileInfo&) { ++seen; }));
  EXPECT_EQ(seen, 0);
}

TEST_F(LocalFileStoreTest, WhatACrashLeftIsDroppedAtStart) {
  std::ofstream(dir_ / "tmp" / "fil_crashedmidwaythrough1.part") << "partial";
  auto info = WriteWholeFile(*store_, "kept.txt", "text/plain", "kept");
  ASSERT_TRUE(info);
  // A value renamed into place whose bytes never followed.
  fs::path orphan_meta = fs::path(store_->PathOf(info->id)).concat(".json");
  std::string other = "fil_" + std::string(22, 'Q');
  fs::create_directories(store_->PathOf(other).parent_path());
  fs::copy_file(orphan_meta, fs::path(store_->PathOf(other)).concat(".json"));

  auto dropped = store_->DropUnfinished();
  ASSERT_TRUE(dropped);
  EXPECT_EQ(*dropped, 2);
  EXPECT_TRUE(store_->Stat(info->id));
  EXPECT_EQ(store_->Stat(other).error().code, ErrorCode::kNotFound);
}

TEST_F(LocalFileStoreTest, TheSizeLimitFailsTheWriteAndKeepsNothing) {
  std::string mb(1 << 20, 'x');
  {
    auto sink = store_->Create("too-big", "");
    ASSERT_TRUE(sink);
    ASSERT_TRUE((*sink)->Write(mb.data(), mb.size()));
    auto over = (*sink)->Write("y", 1);
    ASSERT_FALSE(over);
    EXPECT_EQ(over.error().code, ErrorCode::kPayloadTooLarge);
    EXPECT_NE(over.error().message.find("--max-file-size"), std::string::npos);
  }
  EXPECT_EQ(Entries(dir_), 0u);
}

TEST_F(LocalFileStoreTest, RemoveAndUnknownIds) {
  auto info = WriteWholeFile(*store_, "a", "", "a");
  ASSERT_TRUE(info);
  std::vector<std::string> ids;
  ASSERT_TRUE(store_->ForEach([&](const FileInfo& f) { ids.push_back(f.id); }));
  EXPECT_EQ(ids, std::vector<std::string>{info->id});
  ASSERT_TRUE(store_->Remove(info->id));
  EXPECT_EQ(store_->Open(info->id).error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(store_->Remove(info->id));  // gone already
  EXPECT_EQ(store_->Open("../../etc/passwd").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store_->Open("fil_" + std::string(22, 'a')).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(Entries(dir_), 0u);
}

TEST(FileValues, CollectFindsFileValuesAtAnyDepth) {
  std::string a = "fil_" + std::string(22, 'a'), b = "fil_" + std::string(22, 'b');
  Json v = {{"file", {{"type", "file"}, {"id", a}}},
            {"list", Json::array({1, {{"nested", {{"type", "file"}, {"id", b}}}}})},
            {"fake", {{"type", "file"}, {"id", "../x"}}},
            {"not", {{"type", "text"}, {"id", a}}}};
  std::vector<std::string> ids;
  CollectFileIds(v, &ids);
  EXPECT_EQ(ids, (std::vector<std::string>{a, b}));
  EXPECT_FALSE(FileInfoFromJson(Json{{"type", "file"}, {"id", "x"}}, "with.file"));
  EXPECT_EQ(FileInfoFromJson(Json("text"), "with.file").error().message.rfind("with.file", 0), 0u);
}

}  // namespace
}  // namespace weft
