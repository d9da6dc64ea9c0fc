// The editor's autocomplete lists the JSONata library functions from a file
// generated out of this module's table (scripts/gen-expr-functions): it must
// name every function of the table, with its signature and arity, and no other.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "common/json.h"
#include "expr/evaluator.h"

namespace weft::expr {
namespace {

TEST(BuiltinsList, UiListIsTheTable) {
  std::ifstream in(std::string(WEFT_SOURCE_DIR) + "/ui/src/lib/expr-functions.json");
  ASSERT_TRUE(in) << "ui/src/lib/expr-functions.json is missing: run scripts/gen-expr-functions";
  std::stringstream text;
  text << in.rdbuf();
  Json list = Json::parse(text.str());
  ASSERT_TRUE(list.is_array());
  const auto& table = Builtins();
  ASSERT_EQ(list.size(), table.size()) << "run scripts/gen-expr-functions";
  for (size_t i = 0; i < table.size(); ++i) {
    SCOPED_TRACE(table[i].name);
    EXPECT_EQ(list[i].value("name", ""), table[i].name) << "run scripts/gen-expr-functions";
    EXPECT_EQ(list[i].value("signature", ""), table[i].sig);
    EXPECT_EQ(list[i].value("arity", -1), table[i].arity);
    EXPECT_EQ(FindBuiltin(list[i].value("name", "")), &table[i]);
  }
}

}  // namespace
}  // namespace weft::expr
