#include "expr/regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "expr/ast.h"

namespace weft::expr {

std::shared_ptr<const Regex> Regex::Compile(const std::string& pattern, const std::string& flags,
                                            std::string* error) {
  uint32_t options = PCRE2_UTF | PCRE2_ALT_BSUX | PCRE2_ALLOW_EMPTY_CLASS | PCRE2_DOLLAR_ENDONLY |
                     PCRE2_MATCH_INVALID_UTF;
  if (flags.find('i') != std::string::npos) options |= PCRE2_CASELESS;
  if (flags.find('m') != std::string::npos) options |= PCRE2_MULTILINE;
  int errcode = 0;
  PCRE2_SIZE erroffset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                   options, &errcode, &erroffset, nullptr);
  if (code == nullptr) {
    PCRE2_UCHAR buf[256];
    pcre2_get_error_message(errcode, buf, sizeof buf);
    if (error) *error = reinterpret_cast<const char*>(buf);
    return nullptr;
  }
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
  std::shared_ptr<Regex> re(new Regex());  // NOLINT: private constructor
  re->code_ = code;
  return re;
}

Regex::~Regex() { pcre2_code_free(static_cast<pcre2_code*>(code_)); }

namespace {
// One JIT stack per thread, grown on demand up to 16 MiB (the default is 32 KiB,
// too small for repeated groups over long strings).
pcre2_match_context* ThreadMatchContext() {
  struct Holder {
    pcre2_jit_stack* stack = pcre2_jit_stack_create(64 * 1024, 16 * 1024 * 1024, nullptr);
    pcre2_match_context* ctx = pcre2_match_context_create(nullptr);
    Holder() { pcre2_jit_stack_assign(ctx, nullptr, stack); }
    ~Holder() {
      pcre2_match_context_free(ctx);
      pcre2_jit_stack_free(stack);
    }
  };
  thread_local Holder holder;
  return holder.ctx;
}
}  // namespace

bool Regex::Search(const std::string& subject, size_t start, Match* m) const {
  auto* code = static_cast<pcre2_code*>(code_);
  std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> md(
      pcre2_match_data_create_from_pattern(code, nullptr), &pcre2_match_data_free);
  // PCRE2 checks the whole subject is UTF-8 on every call: once is enough,
  // or a million matches over a megabyte read a terabyte. Callers search
  // from 0 first, so a later start means the subject was checked.
  uint32_t options = start > 0 ? PCRE2_NO_UTF_CHECK : 0;
  int rc = pcre2_match(code, reinterpret_cast<PCRE2_SPTR>(subject.data()), subject.size(), start,
                       options, md.get(), ThreadMatchContext());
  if (rc == PCRE2_ERROR_NOMATCH) return false;
  if (rc < 0) throw JError{"U1003", -1, "", "regular expression too complex for this input"};
  PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md.get());
  uint32_t pairs = pcre2_get_ovector_count(md.get());
  m->pos = ov[0];
  m->len = ov[1] - ov[0];
  uint32_t capture_count = 0;
  pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &capture_count);
  m->groups.clear();
  for (uint32_t g = 1; g <= capture_count; ++g) {
    if (g < pairs && static_cast<int>(g) < rc && ov[2 * g] != PCRE2_UNSET) {
      m->groups.push_back(subject.substr(ov[2 * g], ov[2 * g + 1] - ov[2 * g]));
    } else {
      m->groups.emplace_back();
    }
  }
  return true;
}

}  // namespace weft::expr
