// Compiled-expression evaluations per second for the expression shapes weft
// runs most. `bench_expr --dump` prints the cases (expression and
// input) as JSON so bench_jsonata.js can time the reference implementation on
// exactly the same work; `bench_expr` prints "name evals_per_second" lines.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include "expr/expr.h"

namespace {

using weft::Json;

struct Case {
  std::string name;
  std::string expr;
  Json input;
};

// The Account document of the JSONata suite's dataset5, written out here so
// the benchmark needs no test data.
const char* kAccount = R"({
  "Account": {
    "Account Name": "Firefly",
    "Order": [
      {"OrderID": "order103", "Product": [
        {"Product Name": "Bowler Hat", "ProductID": 858383, "SKU": "0406654608",
         "Description": {"Colour": "Purple", "Width": 300, "Height": 200, "Depth": 210, "Weight": 0.75},
         "Price": 34.45, "Quantity": 2},
        {"Product Name": "Trilby hat", "ProductID": 858236, "SKU": "0406634348",
         "Description": {"Colour": "Orange", "Width": 300, "Height": 200, "Depth": 210, "Weight": 0.6},
         "Price": 21.67, "Quantity": 1}]},
      {"OrderID": "order104", "Product": [
        {"Product Name": "Bowler Hat", "ProductID": 858383, "SKU": "040657863",
         "Description": {"Colour": "Purple", "Width": 300, "Height": 200, "Depth": 210, "Weight": 0.75},
         "Price": 34.45, "Quantity": 4},
        {"ProductID": 345664, "SKU": "0406654603", "Product Name": "Cloak",
         "Description": {"Colour": "Black", "Width": 30, "Height": 20, "Depth": 210, "Weight": 2},
         "Price": 107.99, "Quantity": 1}]}]}})";

Json Items(int n) {
  Json items = Json::array();
  const char* kNames[] = {"widget", "gadget", "sprocket", "flange", "gizmo", "doohickey"};
  for (int i = 0; i < n; ++i) {
    items.push_back({{"id", i},
                     {"name", std::string(kNames[i % 6]) + " " + std::to_string(i)},
                     {"price", (i * 37 % 100) + 0.5},
                     {"qty", i % 7 + 1},
                     {"desc", "  item number " + std::to_string(i) + "   in stock  "},
                     {"active", i % 3 != 0}});
  }
  return items;
}

Json Order() {
  Json lines = Json::array();
  for (int i = 0; i < 24; ++i) {
    lines.push_back({{"line", i + 1},
                     {"sku", "SKU-" + std::to_string(1000 + i * 17)},
                     {"title", "Product title number " + std::to_string(i)},
                     {"unit_price", 3.25 * (i + 1)},
                     {"quantity", i % 4 + 1},
                     {"tax_rate", 0.2}});
  }
  return Json{
      {"id", "ord_8f3a2b"},
      {"created_at", "2026-11-28T10:15:00Z"},
      {"currency", "EUR"},
      {"customer",
       {{"id", "cus_12"},
        {"first_name", "Ada"},
        {"last_name", "Lovelace"},
        {"email", "ada@example.com"},
        {"phone", "+44 20 7946 0000"}}},
      {"billing",
       {{"street", "12 Analytical Row"}, {"city", "London"}, {"zip", "N1 9GU"}, {"country", "GB"}}},
      {"shipping",
       {{"street", "1 Engine House"},
        {"city", "Cambridge"},
        {"zip", "CB2 1TN"},
        {"country", "GB"}}},
      {"lines", lines},
      {"notes", "Leave at the door"}};
}

std::vector<Case> Cases() {
  Json account = Json::parse(kAccount);
  std::vector<Case> cases;
  cases.push_back({"path", "Account.Order[0].Product[0].Price", account});
  cases.push_back({"filter_map_1000",
                   "items[price > 50 and active].{\"name\": name, \"total\": price * qty}",
                   Json{{"items", Items(1000)}}});
  cases.push_back({"sum_products", "$sum(Order.Product.(Price*Quantity))", account["Account"]});
  cases.push_back(
      {"string_transform",
       "$join(items.($uppercase($substring(name, 0, 3)) & \"-\" & $string(id) & \":\" & "
       "$trim(desc)), \", \")",
       Json{{"items", Items(100)}}});
  cases.push_back(
      {"reshape_5kb",
       "{\"orderId\": id, \"customer\": customer.(first_name & \" \" & last_name), "
       "\"email\": $lowercase(customer.email), \"ship_to\": shipping.{\"line1\": street, "
       "\"city\": city, \"postcode\": zip}, \"items\": lines.{\"sku\": sku, \"qty\": quantity, "
       "\"amount\": $round(unit_price * quantity * (1 + tax_rate), 2)}, \"total\": "
       "$round($sum(lines.(unit_price * quantity * (1 + tax_rate))), 2), \"count\": $count(lines)}",
       Order()});
  return cases;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<Case> cases = Cases();
  if (argc > 1 && std::strcmp(argv[1], "--dump") == 0) {
    Json out = Json::array();
    for (const Case& c : cases)
      out.push_back({{"name", c.name}, {"expr", c.expr}, {"input", c.input}});
    std::printf("%s\n", out.dump().c_str());
    return 0;
  }
  double seconds = 1.0;
  if (argc > 1) seconds = std::atof(argv[1]);
  std::printf("expression benchmark (weft C++), compiled once, evaluations per CPU-second\n");
  const char* only = argc > 2 ? argv[2] : nullptr;
  for (const Case& c : cases) {
    if (only && c.name != only) continue;
    weft::expr::CompileResult cr = weft::expr::Expression::Compile(c.expr);
    if (cr.error) {
      std::printf("%s: compile error %s\n", c.name.c_str(), cr.error->message.c_str());
      return 1;
    }
    weft::expr::EvalResult check = cr.expression->Evaluate(c.input);
    if (!check.ok() || !check.value) {
      std::printf("%s: evaluation failed\n", c.name.c_str());
      return 1;
    }
    // CPU time of the process: the build machine is shared, so wall time would
    // measure the other engineers' compiles as much as this code.
    auto cpu_now = [] {
      timespec ts;
      clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
      return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
    };
    double start = cpu_now();
    long n = 0;
    double elapsed = 0;
    size_t sink = 0;
    while (elapsed < seconds) {
      for (int i = 0; i < 50; ++i) {
        weft::expr::EvalResult r = cr.expression->Evaluate(c.input);
        sink += r.value ? r.value->size() : 0;
      }
      n += 50;
      elapsed = cpu_now() - start;
    }
    std::printf("%-18s %12.0f\n", c.name.c_str(), static_cast<double>(n) / elapsed);
    if (sink == 0) std::printf("(no output)\n");
  }
  return 0;
}
