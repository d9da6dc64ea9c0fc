// An S3-compatible server for the connector tests (npm s3rver), on loopback.
// Usage: node s3_server.js DIR. Bucket "test-bucket"; access key S3RVER,
// secret S3RVER (s3rver's own account). Prints "READY <port>".
//
// s3rver 3.7 lacks two calls of multipart uploads that weft's file store
// makes; they are added here over s3rver's own upload folders
// (<DIR>/<bucket>/._S3rver_uploads/<upload id>/{key,1,2,...}):
//   DELETE /<bucket>/<key>?uploadId=ID   AbortMultipartUpload (204, or 404 NoSuchUpload)
//   GET /<bucket>?uploads[&prefix=P]     ListMultipartUploads (every upload, one page;
//                                        Initiated is the mtime of the upload's key file)
'use strict';
const fs = require('fs');
const path = require('path');
const S3rver = require('s3rver');

const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  silent: true,
  directory: process.argv[2],
  configureBuckets: [{ name: 'test-bucket' }],
});

function uploadsDir(bucket) {
  return server.store.getResourcePath(bucket, undefined, 'uploads');
}

// Before s3rver's router (the last middleware), after its XML encoder.
server.middleware.splice(server.middleware.length - 1, 0, async (ctx, next) => {
  const parts = ctx.path.split('/').filter((p) => p.length > 0);
  if (parts.length === 0) return next();
  const bucket = decodeURIComponent(parts[0]);
  if (ctx.method === 'DELETE' && parts.length > 1 && 'uploadId' in ctx.query) {
    const dir = path.join(uploadsDir(bucket), path.basename(String(ctx.query.uploadId)));
    if (!fs.existsSync(dir)) {
      ctx.status = 404;
      ctx.type = 'application/xml';
      ctx.body =
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchUpload</Code>' +
        '<Message>The specified upload does not exist.</Message></Error>';
      return;
    }
    fs.rmSync(dir, { recursive: true, force: true });
    ctx.status = 204;
    return;
  }
  if (ctx.method === 'GET' && parts.length === 1 && 'uploads' in ctx.query) {
    const prefix = String(ctx.query.prefix || '');
    const root = uploadsDir(bucket);
    const uploads = [];
    for (const id of fs.existsSync(root) ? fs.readdirSync(root) : []) {
      const keyFile = path.join(root, id, 'key');
      if (!fs.existsSync(keyFile)) continue;
      const key = fs.readFileSync(keyFile).toString();
      if (!key.startsWith(prefix)) continue;
      uploads.push({ Key: key, UploadId: id, Initiated: fs.statSync(keyFile).mtime.toISOString() });
    }
    ctx.body = {
      ListMultipartUploadsResult: {
        '@': { xmlns: 'http://s3.amazonaws.com/doc/2006-03-01/' },
        Bucket: bucket,
        Prefix: prefix,
        IsTruncated: false,
        Upload: uploads,
      },
    };
    return;
  }
  return next();
});

server.run().then((address) => {
  console.log(`READY ${address.port}`);
});
process.on('SIGTERM', () => process.exit(0));
