// What the s3 connector (s3.cpp) and the shared file store (s3_file_store.*)
// both need to talk to a bucket: where a key lives (URL, Host and the path
// that is signed, path-style or virtual-hosted), AWS Signature Version 4, and
// S3's error body in words. Pure functions; thread-safe.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "common/clock.h"

namespace weft::connectors {

// The URL of `key` in `bucket` at `endpoint` ("https://s3.eu-west-1.amazonaws.com",
// "http://127.0.0.1:9000"; a path after the host is kept). `query` holds
// decoded names and values.
struct S3Target {
  std::string url;   // what libcurl fetches
  std::string host;  // as sent in Host (with :port when not the default)
  std::string path;  // URI-encoded, as signed
};
S3Target S3Url(const std::string& endpoint, const std::string& bucket, bool path_style,
               const std::string& key, const std::map<std::string, std::string>& query);

// SigV4 for one request: the headers to add (authorization, x-amz-date,
// x-amz-content-sha256, x-amz-security-token when given). `path` is already
// URI-encoded; `query` holds decoded names and values.
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
  // Further x-amz-* headers (x-amz-copy-source): signed, and sent with the others.
  std::map<std::string, std::string> amz_headers = {};
};
std::map<std::string, std::string> SignV4(const SigV4Request& r);

// Lowercase hex of `n` bytes, and the sha256 of `data` in it.
std::string HexOf(const unsigned char* d, size_t n);
std::string Sha256Hex(std::string_view data);

// "Code: Message" from S3's <Error> body, else an excerpt of the body ("" when empty).
std::string S3ErrorDetail(const std::string& body);

}  // namespace weft::connectors
