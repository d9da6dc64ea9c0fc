#!/usr/bin/env python3
"""A loopback HTTP server for file tests and benchmarks: serves the files of a
folder and takes uploads, streaming both (never a whole file in memory).

  blob_server.py DIR      prints "READY <port>" once listening
  GET /files/NAME         the file DIR/NAME (application/octet-stream unless
                          the extension says otherwise), Content-Length set
  PUT|POST /upload/NAME   reads the body (Content-Length or chunked), hashes
                          it, keeps it as DIR/uploads/NAME, answers
                          {"size": N, "sha256": "..."}
  GET /uploads            {NAME: {"size", "sha256"}} of every upload so far
"""
import hashlib
import json
import mimetypes
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = sys.argv[1]
CHUNK = 1 << 20
lock = threading.Lock()
uploads = {}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply_json(self, status, value):
        body = json.dumps(value).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/uploads":
            with lock:
                return self.reply_json(200, uploads)
        if not self.path.startswith("/files/"):
            return self.reply_json(404, {"error": "not found"})
        name = os.path.basename(self.path[len("/files/"):].split("?")[0])
        path = os.path.join(ROOT, name)
        if not os.path.isfile(path):
            return self.reply_json(404, {"error": "no file " + name})
        size = os.path.getsize(path)
        ctype = mimetypes.guess_type(name)[0] or "application/octet-stream"
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(size))
        self.end_headers()
        with open(path, "rb") as f:
            while True:
                block = f.read(CHUNK)
                if not block:
                    break
                self.wfile.write(block)

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                line = self.rfile.readline().strip()
                n = int(line.split(b";")[0], 16)
                if n == 0:
                    self.rfile.readline()
                    return
                left = n
                while left:
                    block = self.rfile.read(min(left, CHUNK))
                    if not block:
                        return
                    left -= len(block)
                    yield block
                self.rfile.readline()
        left = int(self.headers.get("Content-Length") or 0)
        while left:
            block = self.rfile.read(min(left, CHUNK))
            if not block:
                return
            left -= len(block)
            yield block

    def do_PUT(self):
        if not self.path.startswith("/upload/"):
            return self.reply_json(404, {"error": "not found"})
        name = os.path.basename(self.path[len("/upload/"):].split("?")[0])
        os.makedirs(os.path.join(ROOT, "uploads"), exist_ok=True)
        h = hashlib.sha256()
        size = 0
        with open(os.path.join(ROOT, "uploads", name), "wb") as out:
            for block in self.read_body():
                h.update(block)
                size += len(block)
                out.write(block)
        result = {"size": size, "sha256": h.hexdigest(),
                  "content_type": self.headers.get("Content-Type", "")}
        with lock:
            uploads[name] = result
        self.reply_json(200, result)

    do_POST = do_PUT


class Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # a client that went away mid-file (the kill -9 test) is expected


server = Server(("127.0.0.1", 0), Handler)
server.daemon_threads = True
print("READY %d" % server.server_address[1], flush=True)
server.serve_forever()
