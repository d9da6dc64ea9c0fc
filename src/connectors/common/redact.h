// Redactor: hides a connection's secret values in any text a connector
// produces (error messages, logs), so a password the far side echoes back
// never reaches a run record. Build one per call; not shared between threads.
#pragma once

#include <string>
#include <vector>

#include "core/action.h"

namespace weft::connectors {

class Redactor {
 public:
  Redactor() = default;
  // Every secret field of the connection's settings and of its auth type.
  Redactor(const Connection& connection, const ConnectorSpec& spec);
  // A value learned at run time (an OAuth access token).
  void Add(const std::string& secret);
  // `text` with every secret replaced by "********".
  std::string operator()(std::string text) const;

 private:
  std::vector<std::string> secrets_;
};

// The first `max` bytes of a body, for error messages: valid-looking UTF-8 cut, "…" when cut.
std::string Excerpt(const std::string& body, size_t max = 300);

}  // namespace weft::connectors
