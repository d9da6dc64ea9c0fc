// An S3-compatible server for the connector tests (npm s3rver), on loopback.
// Usage: node s3_server.js DIR. Bucket "test-bucket"; access key S3RVER,
// secret S3RVER (s3rver's own account). Prints "READY <port>".
'use strict';
const S3rver = require('s3rver');

const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  silent: true,
  directory: process.argv[2],
  configureBuckets: [{ name: 'test-bucket' }],
});
server.run().then((address) => {
  console.log(`READY ${address.port}`);
});
process.on('SIGTERM', () => process.exit(0));
