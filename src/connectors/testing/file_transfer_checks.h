// The checks the ftp and sftp tests share: each action against a real server
// whose files live in `root` on this machine, so the test sees what a user
// would find on the server.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>

#include "connectors/testing/child_server.h"
#include "connectors/testing/run_action.h"

namespace weft::testing {

// `prefix` turns a path under root into the path the connector uses.
inline void CheckFileActions(const ActionCatalog& catalog, const std::string& connector,
                             const Connection& c, const std::string& root,
                             const std::string& prefix) {
  auto act = [&](const std::string& action, const Json& in) {
    return RunAction(catalog, connector + "." + action, in, &c);
  };
  auto put = act("put", {{"path", prefix + "in/sub/hello.txt"}, {"content", "héllo, files"}});
  ASSERT_FALSE(put.outcome.error) << put.error();
  EXPECT_EQ(ReadFile(root + "/in/sub/hello.txt"), "héllo, files");  // the folder was created
  EXPECT_EQ(put.output()["size"], 13);

  auto bin =
      act("put", {{"path", prefix + "in/blob.bin"}, {"content", "AAH/"}, {"encoding", "base64"}});
  ASSERT_FALSE(bin.outcome.error) << bin.error();
  EXPECT_EQ(ReadFile(root + "/in/blob.bin"), std::string("\x00\x01\xff", 3));

  auto get = act("get", {{"path", prefix + "in/sub/hello.txt"}});
  ASSERT_FALSE(get.outcome.error) << get.error();
  EXPECT_EQ(get.output()["content"], "héllo, files");
  EXPECT_EQ(get.output()["encoding"], "text");
  auto getbin = act("get", {{"path", prefix + "in/blob.bin"}});
  EXPECT_EQ(getbin.output()["content"], "AAH/");
  EXPECT_EQ(getbin.output()["encoding"], "base64");

  auto list = act("list", {{"path", prefix + "in"}});
  ASSERT_FALSE(list.outcome.error) << list.error();
  std::map<std::string, Json> entries;
  for (const auto& e : list.output()["entries"]) entries[e["name"]] = e;
  ASSERT_EQ(entries.size(), 2u) << list.output().dump();
  EXPECT_EQ(entries["sub"]["type"], "dir");
  EXPECT_EQ(entries["blob.bin"]["type"], "file");
  EXPECT_EQ(entries["blob.bin"]["size"], 3);

  auto move = act("move", {{"from", prefix + "in/sub/hello.txt"}, {"to", prefix + "in/done.txt"}});
  ASSERT_FALSE(move.outcome.error) << move.error();
  EXPECT_FALSE(std::filesystem::exists(root + "/in/sub/hello.txt"));
  EXPECT_EQ(ReadFile(root + "/in/done.txt"), "héllo, files");

  auto del = act("delete", {{"path", prefix + "in/done.txt"}});
  ASSERT_FALSE(del.outcome.error) << del.error();
  EXPECT_FALSE(std::filesystem::exists(root + "/in/done.txt"));

  auto missing = act("get", {{"path", prefix + "in/nope.txt"}});
  ASSERT_TRUE(missing.outcome.error);
  auto del_missing = act("delete", {{"path", prefix + "in/nope.txt"}});
  ASSERT_TRUE(del_missing.outcome.error);
  EXPECT_NE(del_missing.error().find("deleting"), std::string::npos) << del_missing.error();
}

}  // namespace weft::testing
