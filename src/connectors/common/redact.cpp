#include "connectors/common/redact.h"

#include <algorithm>

namespace weft::connectors {
namespace {

void Collect(const Json& obj, const std::vector<FieldSpec>& fields, std::vector<std::string>& out) {
  if (!obj.is_object()) return;
  for (const auto& f : fields) {
    if (!f.secret) continue;
    auto it = obj.find(f.name);
    if (it == obj.end() || it->is_null()) continue;
    out.push_back(it->is_string() ? it->get<std::string>() : it->dump());
  }
}

}  // namespace

Redactor::Redactor(const Connection& connection, const ConnectorSpec& spec) {
  Collect(connection.settings, spec.fields, secrets_);
  std::string type = GetString(connection.auth, "type");
  for (const auto& a : spec.auth_types)
    if (a.name == type) Collect(connection.auth, a.fields, secrets_);
  std::erase_if(secrets_, [](const std::string& s) { return s.size() < 3; });
  // Longest first, so a secret containing another is hidden whole.
  std::sort(secrets_.begin(), secrets_.end(),
            [](const auto& a, const auto& b) { return a.size() > b.size(); });
}

void Redactor::Add(const std::string& secret) {
  if (secret.size() < 3) return;
  secrets_.push_back(secret);
  std::sort(secrets_.begin(), secrets_.end(),
            [](const auto& a, const auto& b) { return a.size() > b.size(); });
}

std::string Redactor::operator()(std::string text) const {
  for (const auto& s : secrets_) {
    size_t pos = 0;
    while ((pos = text.find(s, pos)) != std::string::npos) {
      text.replace(pos, s.size(), "********");
      pos += 8;
    }
  }
  return text;
}

std::string Excerpt(const std::string& body, size_t max) {
  if (body.size() <= max) return body;
  size_t cut = max;
  // Do not split a UTF-8 sequence.
  while (cut > 0 && (static_cast<unsigned char>(body[cut]) & 0xC0) == 0x80) --cut;
  return body.substr(0, cut) + "…";
}

}  // namespace weft::connectors
