#!/usr/bin/env python3
"""An application with a rate limit, for the rate-limit tests, on loopback.

Usage: rate_server.py LIMIT   (requests per second)

Prints "READY <port>" once listening. Counts the requests of every sliding
1 s window (a stricter count than fixed windows): a request that would make
more than LIMIT in the last second is answered 429 with Retry-After: 1 and
counted as over the limit. Other paths:
  GET /__stats       {"ok", "over", "max_in_window", "times"}: the requests
                     answered 200, those over the limit, the most seen in
                     one second, and each request's arrival (unix seconds)
  /busy?wait=S       answers 429 with Retry-After: S the first time, then 200
                     (records arrivals like any other request)
  anything else      200 {"ok": true, "n": <count>} unless over the limit
"""
import collections
import json
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LIMIT = int(sys.argv[1]) if len(sys.argv) > 1 else 5
lock = threading.Lock()
window = collections.deque()  # monotonic arrival times of accepted requests, last 1 s
stats = {"ok": 0, "over": 0, "max_in_window": 0, "times": []}
busy_sent = set()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body, headers=None):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def handle_any(self):
        url = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        if url.path == "/__stats":
            with lock:
                return self.reply(200, stats)
        query = urllib.parse.parse_qs(url.query)
        with lock:
            now = time.monotonic()
            stats["times"].append(time.time())
            while window and window[0] <= now - 1.0:
                window.popleft()
            if len(window) >= LIMIT:
                stats["over"] += 1
                return self.reply(429, {"error": "rate limited"}, {"Retry-After": "1"})
            if url.path == "/busy" and "busy" not in busy_sent:
                busy_sent.add("busy")
                wait = query.get("wait", ["2"])[0]
                return self.reply(429, {"error": "slow down"}, {"Retry-After": wait})
            window.append(now)
            stats["ok"] += 1
            stats["max_in_window"] = max(stats["max_in_window"], len(window))
            n = stats["ok"]
        return self.reply(200, {"ok": True, "n": n})

    do_GET = do_POST = do_PUT = handle_any


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128


if __name__ == "__main__":
    server = Server(("127.0.0.1", 0), Handler)
    print("READY %d" % server.server_address[1], flush=True)
    server.serve_forever()
