// The `s3` connector: list, get, put and delete objects in a bucket of AWS S3
// or any S3-compatible store (MinIO, Ceph, s3rver), signed with AWS
// Signature Version 4; path-style or virtual-hosted URLs. Only app/ calls
// RegisterS3. Thread-safe.
#pragma once

#include <map>
#include <string>

#include "common/clock.h"
#include "core/action.h"

namespace weft::connectors {

void RegisterS3(ActionCatalog& catalog);

// SigV4 for one request: the headers to add (authorization, x-amz-date,
// x-amz-content-sha256, x-amz-security-token when given). `path` is already
// URI-encoded; `query` holds decoded names and values. For tests.
struct SigV4Request {
  std::string method;
  std::string host;  // as sent in Host (with :port when not the default)
  std::string path;
  std::map<std::string, std::string> query;
  std::string payload;
  // When set, the payload's lowercase hex sha256, and `payload` is ignored
  // (a body streamed from a file).
  std::string payload_sha256;
  std::string region;
  std::string access_key_id, secret_access_key, session_token;
  TimePoint now;
};
std::map<std::string, std::string> SignV4(const SigV4Request& r);

}  // namespace weft::connectors
