// SecretBox: encrypts secret values at rest with libsodium's crypto_secretbox
// (XSalsa20-Poly1305) under one 32-byte key, read from WEFT_SECRET_KEY (64 hex
// characters) or from <data>/secret.key, which is created with mode 0600 on
// first start. And helpers that seal and open every secret field of a
// Connection (as its ConnectorSpec marks them). Immutable once built:
// thread-safe.
#pragma once

#include <array>
#include <string>
#include <string_view>

#include "common/json.h"
#include "common/result.h"
#include "core/action.h"
#include "core/model.h"

namespace weft {

class SecretBox {
 public:
  static constexpr size_t kKeyBytes = 32;
  // A sealed value is a string that starts with this.
  static constexpr std::string_view kPrefix = "enc:v1:";

  explicit SecretBox(const std::array<unsigned char, kKeyBytes>& key);
  ~SecretBox();

  // The key from env WEFT_SECRET_KEY when set, else from <data_dir>/secret.key
  // (created when missing). kValidation when the env value or the file is malformed.
  static Result<SecretBox> Open(const std::string& data_dir);
  static Result<SecretBox> FromHex(std::string_view hex);
  // Reads the key file, or creates it (mode 0600) with a new random key.
  static Result<SecretBox> FromKeyFile(const std::string& path);

  // "enc:v1:" + base64(nonce || ciphertext of value.dump()).
  std::string Encrypt(const Json& value) const;
  // The value a sealed string holds. kInternal when it was sealed under another key or is damaged.
  Result<Json> Decrypt(std::string_view sealed) const;
  static bool IsSealed(const Json& value);

 private:
  std::array<unsigned char, kKeyBytes> key_;
};

// Replaces every secret field of `c` (settings, and the auth fields of its
// auth type) by its sealed form; already sealed values are left as they are.
void SealConnectionSecrets(Connection& c, const ConnectorSpec& spec, const SecretBox& box);
// The reverse, for the engine and the connection test. Plain values pass through.
Result<void> OpenConnectionSecrets(Connection& c, const ConnectorSpec& spec, const SecretBox& box);

}  // namespace weft
