// Runs every case of the JSONata reference suite (tests/data/jsonata, from
// jsonata-js 2.2.2) and requires each of its 1,686 cases to pass: a case that
// regresses, or a case file that goes missing, fails the test.
// Set WEFT_EXPR_VERBOSE=1 to list failures, WEFT_EXPR_GROUP=name to run one group.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "expr/expr.h"

namespace weft::expr {
namespace {

namespace fs = std::filesystem;

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool SameJson(const Json& a, const Json& b) {
  if (a.is_number() && b.is_number()) {
    double x = a.get<double>(), y = b.get<double>();
    if (x == y) return true;
    return std::fabs(x - y) <= 1e-13 * std::max(std::fabs(x), std::fabs(y));
  }
  if (a.type() != b.type()) return false;
  if (a.is_array()) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
      if (!SameJson(a[i], b[i])) return false;
    return true;
  }
  if (a.is_object()) {
    if (a.size() != b.size()) return false;
    for (auto it = a.begin(); it != a.end(); ++it) {
      auto o = b.find(it.key());
      if (o == b.end() || !SameJson(it.value(), *o)) return false;
    }
    return true;
  }
  return a == b;
}

// jsonata-js 2.2.2's suite: 1,349 files holding this many cases.
constexpr int kSuiteCases = 1686;

struct Tally {
  int passed = 0;
  int failed = 0;
};

TEST(ExprConformance, ReferenceSuite) {
  fs::path root = fs::path(WEFT_SOURCE_DIR) / "tests" / "data" / "jsonata";
  ASSERT_TRUE(fs::exists(root / "groups")) << "missing reference data: " << (root / "groups");
  ASSERT_TRUE(fs::exists(root / "datasets")) << "missing reference data: " << (root / "datasets");
  bool verbose = std::getenv("WEFT_EXPR_VERBOSE") != nullptr;
  const char* only = std::getenv("WEFT_EXPR_GROUP");
  std::map<std::string, Json> datasets;
  for (const auto& e : fs::directory_iterator(root / "datasets"))
    datasets[e.path().stem().string()] = Json::parse(ReadFile(e.path()));

  std::map<std::string, Tally> groups;
  std::vector<fs::path> files;
  for (const auto& e : fs::recursive_directory_iterator(root / "groups"))
    if (e.path().extension() == ".json") files.push_back(e.path());
  std::sort(files.begin(), files.end());

  for (const fs::path& file : files) {
    std::string group = file.parent_path().filename().string();
    if (only && group != only) continue;
    Json doc;
    std::string text = ReadFile(file);
    try {
      try {
        doc = Json::parse(text);
      } catch (const std::exception&) {
        // nlohmann rejects lone UTF-16 surrogates (\uD800): give them to the JSONata lexer
        // as an escape inside the expression instead, which denotes the same string
        std::string fixed;
        for (size_t i = 0; i < text.size(); ++i) {
          if (text.compare(i, 3, "\\uD") == 0) fixed += '\\';
          fixed += text[i];
        }
        doc = Json::parse(fixed);
      }
    } catch (const std::exception& e) {
      // nlohmann rejects lone UTF-16 surrogates (\uD800), which only JavaScript strings can hold
      int n = 0;
      for (size_t p = text.find("\"expr\""); p != std::string::npos;
           p = text.find("\"expr\"", p + 1))
        ++n;
      groups[group].failed += n;
      if (verbose)
        std::cout << "FAIL " << file.string() << ": unreadable case file: " << e.what() << "\n";
      continue;
    }
    std::vector<Json> cases;
    if (doc.is_array()) {
      for (auto& c : doc) cases.push_back(c);
    } else {
      cases.push_back(doc);
    }
    for (size_t ci = 0; ci < cases.size(); ++ci) {
      Json c = cases[ci];
      if (c.contains("error") && c["error"].is_object() && c["error"].contains("code"))
        c["code"] = c["error"]["code"];
      std::string expr;
      if (c.contains("expr")) {
        expr = c["expr"].get<std::string>();
      } else if (c.contains("expr-file")) {
        expr = ReadFile(file.parent_path() / c["expr-file"].get<std::string>());
      }
      Json input(Json::value_t::discarded);
      if (c.contains("data")) {
        input = c["data"];
      } else if (c.contains("dataset") && c["dataset"].is_string()) {
        input = datasets[c["dataset"].get<std::string>()];
      }
      std::map<std::string, Json> bindings;
      if (c.contains("bindings") && c["bindings"].is_object())
        for (auto it = c["bindings"].begin(); it != c["bindings"].end(); ++it)
          bindings[it.key()] = it.value();
      EvalLimits limits;
      limits.max_depth = c.contains("depth") ? c["depth"].get<int>() : 2000;
      // The suite checks semantics, not weft's budget: its largest case is a
      // ten-million-item range (160 MB of values), over the 64 MiB default.
      limits.max_memory = size_t{1} << 30;
      limits.timeout =
          std::chrono::milliseconds(c.contains("timelimit") ? c["timelimit"].get<int>() : 10000);

      bool ok = false;
      std::string got;
      CompileResult cr = Expression::Compile(expr);
      if (cr.error) {
        ok = c.contains("code") && c["code"] == cr.error->code;
        got = "compile error " + cr.error->code + " " + cr.error->message;
      } else {
        EvalResult r = cr.expression->Evaluate(input, bindings, limits);
        if (r.error) {
          ok = c.contains("code") && c["code"] == r.error->code;
          got = "error " + r.error->code + " " + r.error->message;
        } else if (c.contains("undefinedResult")) {
          ok = !r.value.has_value();
          got = r.value ? r.value->dump() : "undefined";
        } else if (c.contains("result")) {
          ok = r.value.has_value() && SameJson(*r.value, c["result"]);
          got = r.value ? r.value->dump() : "undefined";
        } else {
          got = r.value ? r.value->dump() : "undefined";
        }
      }
      Tally& t = groups[group];
      if (ok) {
        ++t.passed;
      } else {
        ++t.failed;
        if (verbose) {
          std::string want = c.contains("code")     ? "error " + c["code"].get<std::string>()
                             : c.contains("result") ? c["result"].dump()
                                                    : "undefined";
          std::cout << "FAIL " << file.filename().string() << "[" << ci << "] " << group << ": "
                    << expr.substr(0, 300) << "\n   want " << want.substr(0, 300) << "\n   got  "
                    << got.substr(0, 300) << "\n";
        }
      }
    }
  }
  int passed = 0, failed = 0;
  for (const auto& [name, t] : groups) {
    passed += t.passed;
    failed += t.failed;
    if (t.failed > 0 || verbose)
      std::cout << "  " << name << ": " << t.passed << " passed, " << t.failed << " failed\n";
  }
  std::cout << "JSONata conformance: " << passed << " passed, " << failed << " failed\n";
  if (!only) {
    // Every case of the suite, no known exceptions.
    EXPECT_EQ(passed + failed, kSuiteCases) << "the suite's case count changed";
    EXPECT_EQ(failed, 0) << failed << " cases fail (WEFT_EXPR_VERBOSE=1 lists them)";
  } else {
    EXPECT_EQ(failed, 0);
  }
}

}  // namespace
}  // namespace weft::expr
