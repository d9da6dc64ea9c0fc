// libFuzzer harness: the webhook journal's reader. The input is written as a
// journal file after a valid header (a torn or damaged tail, as a crash
// leaves one), recovered and read; every record read, and the input itself,
// goes through the record decoder the import uses.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "store/sqlite/sqlite_store.h"
#include "store/sqlite/webhook_journal.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 65536) return 0;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  (void)weft::DecodesAsWebhookRecord(in);

  static const std::string path = "/tmp/weft-journal-fuzz-" + std::to_string(getpid()) + ".journal";
  std::string file = "WEFTJNL1";
  file.append("\x01\0\0\0\0\0\0\0", 8);  // generation 1
  file.append(in);
  if (FILE* f = std::fopen(path.c_str(), "wb")) {
    std::fwrite(file.data(), 1, file.size(), f);
    std::fclose(f);
  }
  auto journal = weft::sqlite::WebhookJournal::Open(path);
  if (journal && (*journal)->Recover(weft::sqlite::WebhookJournal::kHeaderSize)) {
    uint64_t from = weft::sqlite::WebhookJournal::kHeaderSize;
    for (int i = 0; i < 64 && from < (*journal)->end(); ++i) {
      auto chunk = (*journal)->Read(from, 4096);
      if (!chunk || chunk->next <= from) break;
      for (std::string_view record : chunk->records) (void)weft::DecodesAsWebhookRecord(record);
      from = chunk->next;
    }
  }
  std::remove(path.c_str());
  return 0;
}
