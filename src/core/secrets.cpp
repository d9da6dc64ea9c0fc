#include "core/secrets.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/base64.h"

namespace weft {
namespace {

void InitSodium() {
  static const int ok = sodium_init();
  (void)ok;
}

template <typename Fn>
void ForEachSecretField(Connection& c, const ConnectorSpec& spec, Fn fn) {
  auto visit = [&](Json& obj, const std::vector<FieldSpec>& fields, const std::string& where) {
    if (!obj.is_object()) return;
    for (const auto& f : fields) {
      if (!f.secret) continue;
      auto it = obj.find(f.name);
      if (it == obj.end() || it->is_null()) continue;
      fn(*it, where + "." + f.name);
    }
  };
  visit(c.settings, spec.fields, "settings");
  std::string type = GetString(c.auth, "type");
  for (const auto& a : spec.auth_types)
    if (a.name == type) visit(c.auth, a.fields, "auth");
}

}  // namespace

SecretBox::SecretBox(const std::array<unsigned char, kKeyBytes>& key) : key_(key) { InitSodium(); }
SecretBox::~SecretBox() { sodium_memzero(key_.data(), key_.size()); }

Result<SecretBox> SecretBox::FromHex(std::string_view hex) {
  InitSodium();
  std::array<unsigned char, kKeyBytes> key{};
  size_t len = 0;
  const char* end = nullptr;
  if (hex.size() != kKeyBytes * 2 ||
      sodium_hex2bin(key.data(), key.size(), hex.data(), hex.size(), nullptr, &len, &end) != 0 ||
      len != kKeyBytes)
    return Fail(ErrorCode::kValidation,
                "a secret key must be 64 hexadecimal characters (32 bytes)");
  SecretBox box(key);
  sodium_memzero(key.data(), key.size());
  return box;
}

Result<SecretBox> SecretBox::FromKeyFile(const std::string& path) {
  InitSodium();
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd >= 0) {  // first start: a new random key
    std::array<unsigned char, kKeyBytes> key;
    randombytes_buf(key.data(), key.size());
    std::string hex(kKeyBytes * 2 + 1, '\0');
    sodium_bin2hex(hex.data(), hex.size(), key.data(), key.size());
    hex.back() = '\n';
    bool ok =
        ::write(fd, hex.data(), hex.size()) == static_cast<ssize_t>(hex.size()) && ::fsync(fd) == 0;
    ::close(fd);
    sodium_memzero(hex.data(), hex.size());
    if (!ok) {
      ::unlink(path.c_str());
      return Fail(ErrorCode::kInternal, "cannot write the secret key file " + path);
    }
    SecretBox box(key);
    sodium_memzero(key.data(), key.size());
    return box;
  }
  if (errno != EEXIST)
    return Fail(ErrorCode::kInternal,
                "cannot create the secret key file " + path + ": " + std::strerror(errno));
  std::ifstream f(path);
  if (!f) return Fail(ErrorCode::kInternal, "cannot read the secret key file " + path);
  std::string hex;
  f >> hex;
  auto box = FromHex(hex);
  sodium_memzero(hex.data(), hex.size());
  if (!box)
    return Fail(ErrorCode::kValidation,
                "the secret key file " + path + " does not hold 64 hexadecimal characters");
  return box;
}

Result<SecretBox> SecretBox::Open(const std::string& data_dir) {
  if (const char* env = std::getenv("WEFT_SECRET_KEY"); env && *env) {
    auto box = FromHex(env);
    if (!box)
      return Fail(ErrorCode::kValidation,
                  "WEFT_SECRET_KEY must be 64 hexadecimal characters (32 bytes)");
    return box;
  }
  return FromKeyFile((std::filesystem::path(data_dir) / "secret.key").string());
}

std::string SecretBox::Encrypt(const Json& value) const {
  std::string plain = value.dump();
  std::string buf(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + plain.size(), '\0');
  auto* nonce = reinterpret_cast<unsigned char*>(buf.data());
  randombytes_buf(nonce, crypto_secretbox_NONCEBYTES);
  crypto_secretbox_easy(nonce + crypto_secretbox_NONCEBYTES,
                        reinterpret_cast<const unsigned char*>(plain.data()), plain.size(), nonce,
                        key_.data());
  sodium_memzero(plain.data(), plain.size());
  return std::string(kPrefix) + Base64Encode(buf);
}

Result<Json> SecretBox::Decrypt(std::string_view sealed) const {
  if (!sealed.starts_with(kPrefix)) return Fail(ErrorCode::kInternal, "not a sealed secret");
  sealed.remove_prefix(kPrefix.size());
  auto decoded = Base64Decode(sealed);
  if (!decoded || decoded->size() < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES)
    return Fail(ErrorCode::kInternal, "a sealed secret is damaged");
  const auto* nonce = reinterpret_cast<const unsigned char*>(decoded->data());
  const size_t len = decoded->size();
  std::string plain(len - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES, '\0');
  if (crypto_secretbox_open_easy(reinterpret_cast<unsigned char*>(plain.data()),
                                 nonce + crypto_secretbox_NONCEBYTES,
                                 len - crypto_secretbox_NONCEBYTES, nonce, key_.data()) != 0)
    return Fail(ErrorCode::kInternal,
                "a sealed secret cannot be opened with this key (was the secret key changed?)");
  auto value = ParseJson(plain);
  sodium_memzero(plain.data(), plain.size());
  if (!value) return Fail(ErrorCode::kInternal, "a sealed secret is damaged");
  return *value;
}

bool SecretBox::IsSealed(const Json& value) {
  return value.is_string() && value.get_ref<const std::string&>().starts_with(kPrefix);
}

void SealConnectionSecrets(Connection& c, const ConnectorSpec& spec, const SecretBox& box) {
  ForEachSecretField(c, spec, [&](Json& v, const std::string&) {
    if (!SecretBox::IsSealed(v)) v = box.Encrypt(v);
  });
}

Result<void> OpenConnectionSecrets(Connection& c, const ConnectorSpec& spec, const SecretBox& box) {
  std::optional<Error> failure;
  ForEachSecretField(c, spec, [&](Json& v, const std::string& path) {
    if (!SecretBox::IsSealed(v) || failure) return;
    auto plain = box.Decrypt(v.get<std::string>());
    if (!plain) {
      failure = Error(ErrorCode::kInternal,
                      "connection \"" + c.name + "\": " + path + ": " + plain.error().message);
      return;
    }
    v = std::move(*plain);
  });
  if (failure) return Fail(*failure);
  return Ok();
}

}  // namespace weft
