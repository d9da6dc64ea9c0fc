// libFuzzer harness: connector manifests and the OpenAPI import, as
// POST /api/v1/connectors, POST /api/v1/connectors/import-openapi and
// `weft connector import-openapi` take them. A document with an `openapi` or
// `swagger` key is imported, and the manifest the import makes must read
// back (ImportOpenApi promises it always passes ParseManifest: a manifest it
// makes that does not is a finding). Any other document is read as a
// manifest, turned into its catalog entry and registered. Nothing may throw
// past these functions: bad input is an error value.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "connectors/manifest/manifest.h"
#include "connectors/manifest/openapi_import.h"
#include "core/document.h"

namespace manifest = weft::connectors::manifest;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 65536) return 0;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (!manifest::CheckDocumentSize(text, 100'000)) return 0;
  auto doc = weft::ParseDocumentText(text);
  if (!doc) return 0;
  if (doc->is_object() && (doc->contains("openapi") || doc->contains("swagger"))) {
    auto imported = manifest::ImportOpenApi(*doc, {});
    if (!imported) return 0;
    std::string yaml = weft::ToYaml(imported->manifest);
    auto back = manifest::ParseManifest(yaml);
    if (!back) {
      std::fprintf(stderr, "the import made a manifest that does not read back: %s\n%s\n",
                   back.error().message.c_str(), yaml.c_str());
      std::abort();
    }
    return 0;
  }
  auto m = manifest::ParseManifest(text);
  if (!m) return 0;
  (void)manifest::ToConnectorSpec(**m);
  weft::ActionCatalog catalog;
  (void)manifest::RegisterManifest(catalog, *m);
  (void)catalog.ToJson().dump();
  return 0;
}
