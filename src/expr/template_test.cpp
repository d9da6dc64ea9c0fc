// {{ }} templates in step inputs: type-keeping single expressions, string
// rendering, and compile errors positioned in the whole template.
#include <gtest/gtest.h>

#include "expr/expr.h"

namespace weft::expr {
namespace {

const Json kCtx = Json::parse(R"({
  "trigger": {"body": {"asset_id": "a-17", "count": 3, "tags": ["x", "y"], "ok": true}},
  "steps": {"fetch": {"output": {"body": {"type": "image", "size": null}}}}
})");

std::shared_ptr<const Template> Must(const std::string& text) {
  auto c = Template::Compile(text);
  if (auto* e = std::get_if<Template::CompileError>(&c)) {
    ADD_FAILURE() << text << ": " << e->error.code << " " << e->error.message;
    return nullptr;
  }
  return std::get<std::shared_ptr<const Template>>(c);
}

Json Render(const std::string& text) {
  auto t = Must(text);
  if (!t) return nullptr;
  EvalResult r = t->Render(kCtx);
  EXPECT_TRUE(r.ok());
  return r.value.value_or(Json("<undefined>"));
}

TEST(Template, SingleExpressionKeepsItsJsonType) {
  EXPECT_EQ(Render("{{ trigger.body.count }}"), 3);
  EXPECT_EQ(Render("  {{trigger.body.tags}} "), Json::parse(R"(["x","y"])"));
  EXPECT_EQ(Render("{{ trigger.body.ok }}"), true);
  EXPECT_EQ(Render("{{ steps.fetch.output.body }}"),
            Json::parse(R"({"type":"image","size":null})"));
  EXPECT_EQ(Render("{{ steps.fetch.output.body.type = 'image' }}"), true);
}

TEST(Template, MixedTextRendersIntoAString) {
  EXPECT_EQ(Render("/assets/{{ trigger.body.asset_id }}"), "/assets/a-17");
  EXPECT_EQ(Render("n={{ trigger.body.count }} tags={{ trigger.body.tags }}"),
            "n=3 tags=[\"x\",\"y\"]");
  EXPECT_EQ(Render("[{{ trigger.body.missing }}]"), "[]");
  EXPECT_EQ(Render("no expressions here"), "no expressions here");
}

TEST(Template, UndefinedSingleExpressionIsAbsent) {
  auto t = Must("{{ trigger.body.missing }}");
  ASSERT_TRUE(t);
  EvalResult r = t->Render(kCtx);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r.value.has_value());
}

TEST(Template, BracesInsideTheExpression) {
  EXPECT_EQ(Render("{{ {'id': trigger.body.asset_id} }}"), Json::parse(R"({"id":"a-17"})"));
  EXPECT_EQ(Render("{{ 'a}}b' }}"), "a}}b");
}

TEST(Template, CompileErrorPositionIsInTheWholeTemplate) {
  auto c = Template::Compile("/assets/{{ trigger.body. }}");
  auto* e = std::get_if<Template::CompileError>(&c);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->error.code, "S0207");
  EXPECT_GE(e->error.position, 10);
  EXPECT_LE(e->error.position, 26);
  c = Template::Compile("x {{ 1 + 2");
  ASSERT_NE(std::get_if<Template::CompileError>(&c), nullptr);
}

TEST(Template, HasExpressions) {
  EXPECT_TRUE(Template::HasExpressions("a {{ b }}"));
  EXPECT_FALSE(Template::HasExpressions("plain"));
}

TEST(Template, RuntimeErrorsComeBackAsValues) {
  auto t = Must("total: {{ trigger.body.asset_id * 2 }}");
  ASSERT_TRUE(t);
  EvalResult r = t->Render(kCtx);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error->code, "T2001");
}

}  // namespace
}  // namespace weft::expr
