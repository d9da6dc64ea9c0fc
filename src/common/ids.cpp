#include "common/ids.h"

#include <pthread.h>
#include <sys/random.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>

namespace weft {

void RandomBytes(void* out, size_t n) {
  auto* p = static_cast<unsigned char*>(out);
  while (n > 0) {
    ssize_t got = getrandom(p, n, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      std::abort();  // no entropy source: nothing safe to do
    }
    p += got;
    n -= static_cast<size_t>(got);
  }
}

namespace {

// Random bits for ids, fetched from the kernel 32 ids at a time: one
// getrandom per id was a syscall on every webhook (~2 % of its CPU). A forked
// child starts with an empty pool, so it never repeats its parent's bits.
thread_local uint64_t id_pool[32];
thread_local int id_pool_left = 0;

uint64_t IdRandom() {
  static const bool registered = [] {
    pthread_atfork(nullptr, nullptr, [] { id_pool_left = 0; });
    return true;
  }();
  (void)registered;
  if (id_pool_left == 0) {
    RandomBytes(id_pool, sizeof id_pool);
    id_pool_left = 32;
  }
  return id_pool[--id_pool_left];
}

}  // namespace

std::string NewId(int64_t unix_ms) {
  static constexpr char kDigits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::string id(20, '0');
  uint64_t t = static_cast<uint64_t>(unix_ms) & ((uint64_t{1} << 48) - 1);
  for (int i = 9; i >= 0; --i) {  // 10 base-36 digits hold 48 bits
    id[i] = kDigits[t % 36];
    t /= 36;
  }
  uint64_t r = IdRandom();
  for (int i = 19; i >= 10; --i) {
    id[i] = kDigits[r % 36];
    r /= 36;
  }
  return id;
}

std::string RandomToken(int bits) {
  static constexpr char kDigits[] =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  int chars = static_cast<int>(std::ceil(bits / std::log2(62.0)));
  std::string out;
  out.reserve(chars);
  while (static_cast<int>(out.size()) < chars) {
    unsigned char buf[64];
    RandomBytes(buf, sizeof buf);
    for (unsigned char b : buf) {
      if (b >= 248) continue;  // 248 = 4*62: keeps the digits uniform
      out.push_back(kDigits[b % 62]);
      if (static_cast<int>(out.size()) == chars) break;
    }
  }
  return out;
}

std::string RedactToken(const std::string& token) {
  if (token.size() <= 4) return "****";
  return token.substr(0, 4) + "…";
}

}  // namespace weft
