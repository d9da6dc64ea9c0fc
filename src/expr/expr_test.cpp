// Behaviour weft relies on: paths over run context, errors with codes and
// positions, bindings, limits, and concurrent evaluation of one expression.
#include "expr/expr.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace weft::expr {
namespace {

Json RunContext() {
  return Json::parse(R"({
    "trigger": {"type": "webhook", "body": {"asset_id": "a-17", "count": 3}},
    "steps": {"fetch": {"status": "succeeded", "output": {"status": 200, "body": {"items": [
      {"name": "hat", "price": 5, "tags": ["a"]},
      {"name": "cloak", "price": 25, "tags": ["b", "c"]},
      {"name": "boots", "price": 12.5, "tags": []}
    ]}}}},
    "run": {"id": "r1", "flow_id": "f1", "flow_version": 2}
  })");
}

EvalResult Eval(const std::string& src, const Json& input = RunContext(),
                const std::map<std::string, Json>& bindings = {}, EvalLimits limits = {}) {
  CompileResult c = Expression::Compile(src);
  if (c.error) return EvalResult{std::nullopt, c.error};
  return c.expression->Evaluate(input, bindings, limits);
}

TEST(Expr, FiltersAndMapsStepOutput) {
  EvalResult r = Eval("steps.fetch.output.body.items[price > 10].name");
  ASSERT_TRUE(r.ok()) << r.error->message;
  EXPECT_EQ(*r.value, Json::parse(R"(["cloak", "boots"])"));
}

TEST(Expr, SingleMatchIsAValueNotAnArray) {
  EvalResult r = Eval("steps.fetch.output.body.items[price > 20].name");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r.value, "cloak");
  r = Eval("steps.fetch.output.body.items[price > 20].name[]");
  EXPECT_EQ(*r.value, Json::parse(R"(["cloak"])"));
}

TEST(Expr, KeepsJsonTypesAndIntegers) {
  EXPECT_EQ(*Eval("trigger.body.count * 2").value, 6);
  EXPECT_TRUE(Eval("trigger.body.count * 2").value->is_number_integer());
  EXPECT_EQ(*Eval("$sum(steps.fetch.output.body.items.price)").value, 42.5);
  EXPECT_EQ(*Eval("steps.fetch.status = 'succeeded'").value, true);
  EXPECT_EQ(*Eval("{'id': run.id, 'n': $count(steps.fetch.output.body.items)}").value,
            Json::parse(R"({"id": "r1", "n": 3})"));
}

TEST(Expr, MissingPathIsUndefined) {
  EvalResult r = Eval("steps.nope.output");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r.value.has_value());
}

TEST(Expr, BindingsAreVariables) {
  EvalResult r = Eval("$item.name & ' #' & $string($index)", Json::object(),
                      {{"item", Json{{"name", "hat"}}}, {"index", 2}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r.value, "hat #2");
}

TEST(Expr, SyntaxErrorHasCodeAndPosition) {
  CompileResult c = Expression::Compile("steps.fetch.output[");
  ASSERT_TRUE(c.error);
  EXPECT_EQ(c.error->code, "S0203");  // "expected ] before end", as jsonata-js
  EXPECT_EQ(c.error->position, 19);
  c = Expression::Compile("a + )");
  ASSERT_TRUE(c.error);
  EXPECT_EQ(c.error->code, "S0211");
  EXPECT_FALSE(c.error->message.empty());
}

TEST(Expr, RuntimeErrorHasCodeAndPosition) {
  EvalResult r = Eval("'x' - 1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error->code, "T2001");
  EXPECT_EQ(r.error->position, 5);
  r = Eval("$error('stop here')");
  EXPECT_EQ(r.error->code, "D3137");
  EXPECT_EQ(r.error->message, "stop here");
}

TEST(Expr, DeepRecursionStopsWithU1001) {
  EvalResult r = Eval("($f := function($n){ $n + $f($n - 1) }; $f(1))", Json::object());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error->code, "U1001");
}

TEST(Expr, EndlessLoopStopsAtTheTimeout) {
  EvalLimits limits;
  limits.timeout = std::chrono::milliseconds(50);
  EvalResult r = Eval("($f := function($n){ $f($n + 1) }; $f(0))", Json::object(), {}, limits);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error->code, "U1001");
}

TEST(Expr, TailCallsDoNotGrowTheStack) {
  EvalResult r = Eval(
      "($loop := function($n, $acc){ $n = 0 ? $acc : $loop($n - 1, $acc + 1) }; "
      "$loop(5000, 0))",
      Json::object());
  ASSERT_TRUE(r.ok()) << r.error->code;
  EXPECT_EQ(*r.value, 5000);
}

TEST(Expr, DatesAndNumbers) {
  EXPECT_EQ(*Eval("$fromMillis(1509380732935, '[D01]/[M01]/[Y0001] [H01]:[m01]')").value,
            "30/10/2017 16:25");
  EXPECT_EQ(*Eval("$toMillis('2017-10-30T16:25:32.935Z')").value, 1509380732935);
  EXPECT_EQ(*Eval("$formatNumber(1234.5, '#,##0.00')").value, "1,234.50");
}

TEST(Expr, OneCompiledExpressionManyThreads) {
  CompileResult c = Expression::Compile("$sum(steps.fetch.output.body.items[price > $min].price)");
  ASSERT_FALSE(c.error);
  Json ctx = RunContext();
  std::vector<std::thread> threads;
  std::atomic<int> good{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) {
        EvalResult r = c.expression->Evaluate(ctx, {{"min", t % 2 == 0 ? 0 : 10}});
        double want = t % 2 == 0 ? 42.5 : 37.5;
        if (r.ok() && r.value && r.value->get<double>() == want) ++good;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(good.load(), 2000);
}

// The examples of docs/expressions.md.
TEST(Expr, DocumentationExamples) {
  Json ctx = Json::parse(
      R"({"trigger": {"body": {"order": {"id": "A-1001", "created": "2026-11-28T09:30:00Z",
    "customer": {"first": "Ada", "last": "Lovelace", "email": "ADA@Example.com"},
    "lines": [{"sku": "HAT-1", "qty": 2, "price": 34.45}, {"sku": "CLK-9", "qty": 1, "price": 107.99},
              {"sku": "GFT-0", "qty": 1, "price": 0}]}}},
    "steps": {"users": {"output": {"body": [{"id": 1, "name": "Ada"}, {"id": 2, "name": "Grace"}]}},
              "orders": {"output": {"body": [{"user_id": 2, "total": 10}, {"user_id": 1, "total": 7}]}}},
    "run": {"id": "r1"}})");
  EvalResult r = Eval(R"(trigger.body.order.{
     "external_id": id,
     "name": customer.first & " " & customer.last,
     "email": $lowercase(customer.email),
     "items": lines.{"sku": sku, "quantity": qty},
     "total": $sum(lines.(qty * price))})",
                      ctx);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r.value)["name"], "Ada Lovelace");
  EXPECT_EQ((*r.value)["email"], "ada@example.com");
  EXPECT_EQ((*r.value)["items"].size(), 3u);
  EXPECT_NEAR((*r.value)["total"].get<double>(), 176.89, 1e-9);
  EXPECT_EQ(*Eval("trigger.body.order.lines[price > 0].sku", ctx).value,
            Json::parse(R"(["HAT-1","CLK-9"])"));
  EXPECT_EQ(*Eval("trigger.body.order.lines[price > 100].sku[]", ctx).value,
            Json::parse(R"(["CLK-9"])"));
  Json joined = Json::parse(R"([{"user": "Grace", "total": 10}, {"user": "Ada", "total": 7}])");
  EXPECT_EQ(*Eval(R"(steps.orders.output.body.(
     $o := $;
     {"user": $$.steps.users.output.body[id = $o.user_id].name, "total": total}))",
                  ctx)
                 .value,
            joined);
  EXPECT_EQ(*Eval(R"((
  $names := steps.users.output.body{ $string(id): name };
  steps.orders.output.body.{"user": $lookup($names, $string(user_id)), "total": total}))",
                  ctx)
                 .value,
            joined);
  EXPECT_EQ(
      *Eval("$fromMillis($toMillis(trigger.body.order.created), '[D01]/[M01]/[Y0001] [H01]:[m01]')",
            ctx)
           .value,
      "28/11/2026 09:30");
  EXPECT_EQ(
      *Eval("$fromMillis($toMillis(trigger.body.order.created), '[FNn], [D1o] [MNn] [Y]')", ctx)
           .value,
      "Saturday, 28th November 2026");
  EXPECT_EQ(*Eval("trigger.body.priority ?? 'normal'", ctx).value, "normal");
  EXPECT_EQ(*Eval("$formatNumber(1234.5, '#,##0.00')", ctx).value, "1,234.50");
}

}  // namespace
}  // namespace weft::expr
