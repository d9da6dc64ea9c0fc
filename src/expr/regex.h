// JSONata regular expressions (JavaScript syntax) on PCRE2: compiled once per
// literal, shared read-only between threads; matching never recurses on the
// machine stack, so a long subject cannot crash a worker.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace weft::expr {

class Regex {
 public:
  struct Match {
    size_t pos = 0;  // byte offsets in the subject
    size_t len = 0;
    std::vector<std::string> groups;  // "" for groups that did not take part
  };

  // `flags` holds JSONata's i and m. Returns null and sets *error on a bad pattern.
  static std::shared_ptr<const Regex> Compile(const std::string& pattern, const std::string& flags,
                                              std::string* error);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // First match at or after byte offset `start`; false when there is none.
  // Throws JError U1003 when PCRE2 gives up (match or heap limit).
  bool Search(const std::string& subject, size_t start, Match* m) const;

 private:
  Regex() = default;
  void* code_ = nullptr;  // pcre2_code_8
};

}  // namespace weft::expr
