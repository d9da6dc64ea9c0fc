// libFuzzer harness: flow documents in JSON or YAML, read and validated
// against a small catalog, then written back as canonical JSON and YAML.
// Nothing may throw past these functions: bad input is an error value.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/document.h"

namespace {

const weft::ActionCatalog& Catalog() {
  static const weft::ActionCatalog catalog = [] {
    weft::ActionCatalog c;
    weft::ConnectorSpec data{"data", "Data", "", "table", false, {}, {}, {}};
    data.actions.push_back({"set", "Set data", "", {{"value", "Value", "any", true}}, "value", {}});
    data.actions.push_back(
        {"transform", "Transform", "", {{"expression", "Expression", "expression", true}}, "", {}});
    c.Register(data, {});
    weft::ConnectorSpec flow{"flow", "Flow", "", "flow", false, {}, {}, {}};
    flow.actions.push_back(
        {"if", "If", "", {{"condition", "Condition", "any", true}}, "", {"then", "else"}});
    flow.actions.push_back(
        {"foreach", "For each", "", {{"items", "Items", "any", true}}, "", {"do"}});
    flow.actions.push_back(
        {"delay", "Delay", "", {{"duration", "Duration", "duration", true}}, "", {}});
    c.Register(flow, {});
    weft::ConnectorSpec http{"http", "HTTP", "", "globe", true, {}, {}, {}};
    http.actions.push_back({"request",
                            "Request",
                            "",
                            {{"url", "URL", "string", true},
                             {"method", "Method", "enum", false, false, {"GET", "POST"}},
                             {"timeout", "Timeout", "duration", false}},
                            "",
                            {}});
    c.Register(http, {});
    return c;
  }();
  return catalog;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 16384) return 0;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto doc = weft::ParseDocumentText(text);
  if (!doc) return 0;
  weft::ValidationContext ctx{Catalog()};
  ctx.connection_exists = [](const std::string& name) { return name == "api"; };
  ctx.now = weft::FromUnixMs(1'780'000'000'000);
  auto valid = weft::ValidateFlowDocument(*doc, ctx);
  if (!valid) return 0;
  (void)weft::ToYaml(valid->canonical);
  (void)weft::ParseStoredDocument(valid->canonical);
  (void)weft::ConnectionsUsed(valid->document);
  return 0;
}
