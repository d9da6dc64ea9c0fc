#!/usr/bin/env python3
"""A small HTTP server for the connector tests and benchmarks, on loopback.

Prints "READY <port>" once listening. Records every request; GET /__requests
answers them as JSON. Speaks HTTP/1.1 with keep-alive, so reuse can be seen
in the recorded client ports.
"""
import base64
import json
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

lock = threading.Lock()
requests = []
issued = set()
token_count = 0
QUIET = "--quiet" in sys.argv  # the benchmark: record nothing


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body=b"", content_type="application/json", headers=None):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def handle_any(self):
        global token_count
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if url.path == "/bench":
            return self.reply(200, b'{"ok":true}')
        if url.path == "/__requests":
            with lock:
                return self.reply(200, requests)
        record = {
            "method": self.command,
            "path": url.path,
            "query": {k: v if len(v) > 1 else v[0] for k, v in query.items()},
            "raw_query": url.query,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body.decode("utf-8", "replace"),
            "client_port": self.client_address[1],
        }
        if not QUIET:
            with lock:
                requests.append(record)
        p = url.path
        if p == "/echo" or p.startswith("/echo/"):
            return self.reply(200, record)
        if p.startswith("/status/"):
            code = int(p.split("/")[2])
            headers = {"Retry-After": "7"} if code in (429, 503) else {}
            return self.reply(code, {"error": "boom %d" % code, "echo": record["headers"].get("authorization", "")},
                              headers=headers)
        if p == "/token":
            form = urllib.parse.parse_qs(body.decode())
            cid = form.get("client_id", [None])[0]
            secret = form.get("client_secret", [None])[0]
            auth = self.headers.get("Authorization", "")
            if auth.startswith("Basic "):
                cid, secret = base64.b64decode(auth[6:]).decode().split(":", 1)
            grant = form.get("grant_type", [""])[0]
            if cid != "cid" or secret != "csecret":
                return self.reply(401, {"error": "invalid_client"})
            if grant == "refresh_token" and form.get("refresh_token", [""])[0] != "rt-1":
                return self.reply(400, {"error": "invalid_grant"})
            with lock:
                token_count += 1
                tok = "tok-%d" % token_count
                issued.add(tok)
            ttl = int(query.get("ttl", ["3600"])[0])
            return self.reply(200, {"access_token": tok, "token_type": "Bearer", "expires_in": ttl})
        if p == "/__revoke":
            with lock:
                issued.clear()
            return self.reply(200, {})
        if p == "/protected":
            auth = self.headers.get("Authorization", "")
            if not auth.startswith("Bearer ") or auth[7:] not in issued:
                return self.reply(401, {"error": "bad token"})
            return self.reply(200, {"token": auth[7:]})
        if p == "/pages/link":
            page = int(query.get("page", ["1"])[0])
            headers = {}
            if page < 3:
                host = self.headers.get("Host")
                headers["Link"] = '<http://%s/pages/link?page=%d>; rel="next", <http://%s/pages/link?page=3>; rel="last"' % (
                    host, page + 1, host)
            return self.reply(200, {"items": [page * 10 + 1, page * 10 + 2]}, headers=headers)
        if p == "/pages/cursor":
            cursor = query.get("cursor", [""])[0]
            nxt = {"": "b", "b": "c", "c": None}[cursor]
            return self.reply(200, {"data": [{"id": cursor or "a"}], "meta": {"next": nxt}})
        if p == "/pages/number":
            page = int(query.get("page", ["1"])[0])
            return self.reply(200, [page] if page <= 3 else [])
        if p == "/pages/offset":
            # Seven items, `limit` at a time from `offset` (connector manifests' offset style).
            offset = int(query.get("offset", ["0"])[0])
            limit = int(query.get("limit", ["3"])[0])
            return self.reply(200, {"results": list(range(offset, min(offset + limit, 7)))})
        if p == "/pages/next":
            # A next_url style: the body names the next page, as a path from the root.
            n = int(query.get("n", ["1"])[0])
            nxt = "/pages/next?n=%d" % (n + 1) if n < 3 else None
            return self.reply(200, {"items": [n], "next_page_uri": nxt})
        if p == "/pages/forever":
            # A cursor that never ends (as Prism's static examples): max_pages must stop it.
            return self.reply(200, {"items": [1], "next": "again"})
        if p == "/pages/elsewhere":
            return self.reply(200, {"items": [1], "next": "http://example.invalid/steal"})
        if p == "/vendor/failure":
            # A vendor that answers 200 with {ok: false} on failure (Slack).
            return self.reply(200, {"ok": False, "error": "channel_not_found"})
        if p == "/slow":
            time.sleep(float(query.get("s", ["3"])[0]))
            return self.reply(200, {"slow": True})
        if p == "/redirect":
            return self.reply(302, b"", headers={"Location": "/echo"})
        if p == "/binary":
            return self.reply(200, bytes(range(256)), content_type="application/octet-stream")
        if p == "/text":
            return self.reply(200, "plain words", content_type="text/plain")
        return self.reply(404, {"error": "no route " + p})

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = handle_any


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128


if __name__ == "__main__":
    server = Server(("127.0.0.1", 0), Handler)
    print("READY %d" % server.server_address[1], flush=True)
    server.serve_forever()
