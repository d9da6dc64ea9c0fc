#include "core/flow_secrets.h"

namespace weft {
namespace {

constexpr const char* kSecretKeys[] = {"secret", "value", "password"};

template <typename J>  // Json or const Json
J* FindAuth(J& document) {
  if (!document.is_object()) return nullptr;
  auto t = document.find("trigger");
  if (t == document.end() || !t->is_object()) return nullptr;
  auto w = t->find("webhook");
  if (w == t->end() || !w->is_object()) return nullptr;
  auto a = w->find("auth");
  if (a == w->end() || !a->is_object()) return nullptr;
  return &*a;
}

}  // namespace

void SealFlowSecrets(Json& document, const SecretBox& box, const Json* stored) {
  Json* auth = FindAuth(document);
  if (!auth) return;
  const Json* old_auth = stored ? FindAuth(*stored) : nullptr;
  for (const char* key : kSecretKeys) {
    auto it = auth->find(key);
    if (it == auth->end() || !it->is_string() || SecretBox::IsSealed(*it)) continue;
    if (old_auth) {
      if (auto old = old_auth->find(key); old != old_auth->end() && SecretBox::IsSealed(*old)) {
        auto opened = box.Decrypt(old->get_ref<const std::string&>());
        if (opened && *opened == *it) {
          *it = *old;
          continue;
        }
      }
    }
    *it = box.Encrypt(*it);
  }
}

Result<void> OpenFlowSecrets(Json& document, const SecretBox& box) {
  Json* auth = FindAuth(document);
  if (!auth) return Ok();
  for (const char* key : kSecretKeys) {
    auto it = auth->find(key);
    if (it == auth->end() || !SecretBox::IsSealed(*it)) continue;
    auto opened = box.Decrypt(it->get_ref<const std::string&>());
    if (!opened)
      return Fail(ErrorCode::kInternal,
                  std::string("trigger.webhook.auth.") + key + ": " + opened.error().message);
    *it = std::move(*opened);
  }
  return Ok();
}

}  // namespace weft
