// WebhookJournal: the file alone (records, recovery, holes, starting over).
// The store's use of it (import, crash, reads) is in sqlite_store_test.cpp.
#include "store/sqlite/webhook_journal.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

namespace weft::sqlite {
namespace {

namespace fs = std::filesystem;

class JournalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "weft-journal-XXXXXX").string();
    dir_ = mkdtemp(tmpl.data());
    path_ = dir_ + "/webhooks.journal";
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::unique_ptr<WebhookJournal> MustOpen() {
    auto j = WebhookJournal::Open(path_);
    EXPECT_TRUE(j.has_value()) << (j ? "" : j.error().message);
    return j ? std::move(*j) : nullptr;
  }
  std::string dir_, path_;
};

TEST_F(JournalTest, RecordsComeBackWholeAndInOrder) {
  auto j = MustOpen();
  ASSERT_TRUE(j);
  EXPECT_EQ(j->end(), WebhookJournal::kHeaderSize);
  std::string big(100000, 'x');
  ASSERT_TRUE(j->Append("one"));
  ASSERT_TRUE(j->Append(big));
  ASSERT_TRUE(j->Append(""));
  EXPECT_EQ(j->appended(), 3u);
  // A small budget still gives at least one record, and the large one whole.
  auto a = j->Read(WebhookJournal::kHeaderSize, 16);
  ASSERT_TRUE(a.has_value());
  ASSERT_EQ(a->records.size(), 1u);
  EXPECT_EQ(a->records[0], "one");
  auto b = j->Read(a->next, 16);
  ASSERT_TRUE(b.has_value());
  ASSERT_EQ(b->records.size(), 1u);
  EXPECT_EQ(b->records[0], big);
  auto c = j->Read(b->next, 1 << 20);
  ASSERT_TRUE(c.has_value());
  ASSERT_EQ(c->records.size(), 1u);
  EXPECT_EQ(c->records[0], "");
  EXPECT_EQ(c->next, j->end());
  auto none = j->Read(c->next, 1 << 20);
  ASSERT_TRUE(none.has_value());
  EXPECT_TRUE(none->records.empty());
}

TEST_F(JournalTest, RecoverKeepsWholeRecordsAndCutsATornOrDamagedTail) {
  uint64_t after_two = 0;
  {
    auto j = MustOpen();
    ASSERT_TRUE(j->Append("first"));
    ASSERT_TRUE(j->Append("second"));
    after_two = j->end();
    ASSERT_TRUE(j->Append("third, to be damaged"));
  }
  {
    // Flip a byte of the third record's payload (a write the crash cut short
    // leaves the same: bytes that do not match their checksum).
    FILE* f = fopen(path_.c_str(), "r+b");
    ASSERT_TRUE(f);
    fseek(f, static_cast<long>(after_two + 12 + 3), SEEK_SET);
    fputc('#', f);
    fclose(f);
  }
  auto j = MustOpen();
  ASSERT_TRUE(j->Recover(WebhookJournal::kHeaderSize));
  EXPECT_EQ(j->end(), after_two);
  EXPECT_EQ(fs::file_size(path_), after_two);
  auto all = j->Read(WebhookJournal::kHeaderSize, 1 << 20);
  ASSERT_TRUE(all.has_value());
  ASSERT_EQ(all->records.size(), 2u);
  EXPECT_EQ(all->records[1], "second");
  // New records go where the damaged one was.
  ASSERT_TRUE(j->Append("again"));
  auto next = j->Read(after_two, 1 << 20);
  ASSERT_EQ(next->records.size(), 1u);
  EXPECT_EQ(next->records[0], "again");
}

TEST_F(JournalTest, AFileThatIsNotAJournalIsRefusedNotOverwritten) {
  {
    FILE* f = fopen(path_.c_str(), "wb");
    fputs("something else entirely", f);
    fclose(f);
  }
  auto j = WebhookJournal::Open(path_);
  ASSERT_FALSE(j.has_value());
  EXPECT_NE(j.error().message.find("not a weft webhook journal"), std::string::npos)
      << j.error().message;
  EXPECT_EQ(fs::file_size(path_), 23u);
}

TEST_F(JournalTest, ReleasedRecordsLeaveTheDiskAndRestartStartsANewGeneration) {
  auto j = MustOpen();
  std::string record(4000, 'r');
  for (int i = 0; i < 2000; ++i) ASSERT_TRUE(j->Append(record));  // ~8 MB
  struct stat before {};
  ASSERT_EQ(stat(path_.c_str(), &before), 0);
  uint64_t end = j->end();
  j->Release(end);
  struct stat after {};
  ASSERT_EQ(stat(path_.c_str(), &after), 0);
  EXPECT_EQ(after.st_size, before.st_size);  // offsets stay
  EXPECT_LT(after.st_blocks * 512, 1 << 20)
      << "the released records still take " << after.st_blocks * 512
      << " bytes (a file system without holes?)";
  // Records past the released part still read.
  ASSERT_TRUE(j->Append("after the hole"));
  auto tail = j->Read(end, 1 << 20);
  ASSERT_EQ(tail->records.size(), 1u);
  EXPECT_EQ(tail->records[0], "after the hole");

  uint64_t generation = j->generation();
  auto refused = j->Restart(end);  // something was appended since `end`
  ASSERT_TRUE(refused.has_value());
  EXPECT_FALSE(*refused);
  auto restarted = j->Restart(j->end());
  ASSERT_TRUE(restarted.has_value());
  EXPECT_TRUE(*restarted);
  EXPECT_EQ(j->generation(), generation + 1);
  EXPECT_EQ(j->end(), WebhookJournal::kHeaderSize);
  EXPECT_EQ(fs::file_size(path_), WebhookJournal::kHeaderSize);
  j.reset();
  auto reopened = MustOpen();
  EXPECT_EQ(reopened->generation(), generation + 1);
}

}  // namespace
}  // namespace weft::sqlite
