// The `weft` client commands against a real server.
#include <fstream>

#include "harness.h"

namespace weft::itest {
namespace {

std::string WriteFile(const std::string& dir, const std::string& name, const std::string& text) {
  std::string path = dir + "/" + name;
  std::ofstream(path) << text;
  return path;
}

TEST_F(WeftTest, CliAppliesListsRunsAndShows) {
  std::string name = UniqueName("cli");
  std::string file = WriteFile(server().temp_dir(), "flow.yaml",
                               "name: " + name +
                                   "\n"
                                   "steps:\n"
                                   "  - id: a\n"
                                   "    uses: data.set\n"
                                   "    with: { value: \"{{ trigger.body.x }}\" }\n"
                                   "  - id: b\n"
                                   "    uses: data.set\n"
                                   "    with: { value: \"{{ steps.a.output * 2 }}\" }\n");
  const std::string url = server().base_url();
  auto r = RunWeft({"flow", "apply", file, "--server", url});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("created flow " + name), std::string::npos) << r.output;
  // Applying again updates by name.
  r = RunWeft({"flow", "apply", file, "--server", url});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("saved flow " + name), std::string::npos) << r.output;

  r = RunWeft({"flow", "list", "--server", url});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find(name), std::string::npos) << r.output;

  r = RunWeft(
      {"flow", "run", name, "--input", R"({"x": 21})", "--wait", "--json", "--server", url});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto run = ParseJson(r.output);
  ASSERT_TRUE(run) << r.output;
  EXPECT_EQ((*run)["status"], "succeeded");
  EXPECT_EQ(StepOf(*run, "b")["output"], 42);

  r = RunWeft({"run", "show", GetString(*run, "id"), "--server", url});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("succeeded"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("42"), std::string::npos) << r.output;

  r = RunWeft({"flow", "run", "no-such-flow", "--server", url});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("no-such-flow"), std::string::npos) << r.output;
}

TEST_F(WeftTest, CliValidateNamesEveryBadField) {
  std::string good =
      WriteFile(server().temp_dir(), "good.yaml",
                "name: ok\nsteps:\n  - id: a\n    uses: data.set\n    with: { value: 1 }\n");
  auto r = RunWeft({"validate", good});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  // Connector actions are known too, not only utilities.
  std::string http = WriteFile(server().temp_dir(), "http.yaml",
                               "name: ok\nsteps:\n  - id: a\n    uses: http.request\n"
                               "    with: { url: \"https://example.com/x\" }\n"
                               "  - id: b\n    uses: file.from_text\n    with: { text: hi }\n");
  r = RunWeft({"validate", http});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  std::string bad = WriteFile(
      server().temp_dir(), "bad.yaml",
      "name: bad\nsteps:\n  - id: a\n    uses: nope.nothing\n  - id: a\n    uses: data.set\n"
      "    with: {}\n    timeout: soon\n");
  r = RunWeft({"validate", bad});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  for (const char* path :
       {"steps[0].uses", "steps[1].id", "steps[1].timeout", "steps[1].with.value"}) {
    EXPECT_NE(r.output.find(path), std::string::npos) << path << " in " << r.output;
  }
}

TEST(CliTest, ClientCommandsSayWhenNoServerAnswers) {
  auto r = RunWeft({"flow", "list", "--server", "http://127.0.0.1:1"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("cannot reach weft"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace weft::itest
