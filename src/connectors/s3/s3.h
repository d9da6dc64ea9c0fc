// The `s3` connector: list, get, put and delete objects in a bucket of AWS S3
// or any S3-compatible store (MinIO, Ceph, s3rver), signed with AWS
// Signature Version 4; path-style or virtual-hosted URLs. Only app/ calls
// RegisterS3. Thread-safe.
#pragma once

#include "connectors/s3/s3_request.h"  // SignV4, for tests
#include "core/action.h"

namespace weft::connectors {

void RegisterS3(ActionCatalog& catalog);

}  // namespace weft::connectors
