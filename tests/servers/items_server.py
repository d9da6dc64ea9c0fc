#!/usr/bin/env python3
"""An "items changed since" API for the http.new_items poll tests, on loopback.

Prints "READY <port>" once listening. Items live in memory; each write gives
the item the next revision (`updated`, a counter shared by all items), as an
API's updated_at would.

  GET  /items?since=R&page_token=T&limit=N
       Bearer token "items-token" required (401 otherwise). Items with
       updated >= R (all without since), ordered by (updated, id), N a page
       (default 10): {"data": [...], "next": token or null}. The page token
       is the (updated, id) of the page's last item, so an item updated while
       the pages are read moves behind the reader and is listed again later.
       delay_ms=D makes the answer wait D ms (a slow API).
  POST /admin/put   {"id": ..., ...fields}: creates or updates the item
  GET  /admin/log   the query of every GET /items, in order
  GET  /admin/busy  {"busy": n}: GET /items being answered right now
"""
import json
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

lock = threading.Lock()
items = {}  # id -> item
revision = 0
log = []
busy = 0
QUIET = "--quiet" in sys.argv  # the benchmark: keep no log


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        global busy
        url = urllib.parse.urlsplit(self.path)
        query = {k: v[0] for k, v in urllib.parse.parse_qs(url.query).items()}
        if url.path == "/admin/log":
            with lock:
                return self.reply(200, log)
        if url.path == "/admin/busy":
            with lock:
                return self.reply(200, {"busy": busy})
        if url.path != "/items":
            return self.reply(404, {"error": "no such path"})
        if self.headers.get("Authorization") != "Bearer items-token":
            return self.reply(401, {"error": "a bearer token is required"})
        with lock:
            busy += 1
        try:
            return self.list_items(query)
        finally:
            with lock:
                busy -= 1

    def list_items(self, query):
        if "delay_ms" in query:
            time.sleep(int(query["delay_ms"]) / 1000.0)
        limit = int(query.get("limit", "10"))
        since = int(query["since"]) if "since" in query else None
        after = None
        if "page_token" in query:
            rev, _, ident = query["page_token"].partition(":")
            after = (int(rev), ident)
        with lock:
            if not QUIET:
                log.append(query)
            ordered = sorted(items.values(), key=lambda i: (i["updated"], str(i["id"])))
            picked = [
                dict(i) for i in ordered
                if (since is None or i["updated"] >= since)
                and (after is None or (i["updated"], str(i["id"])) > after)
            ]
        page = picked[:limit]
        more = len(picked) > limit
        next_token = "%d:%s" % (page[-1]["updated"], page[-1]["id"]) if more else None
        return self.reply(200, {"data": page, "next": next_token})

    def do_POST(self):
        global revision
        url = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        if url.path != "/admin/put":
            return self.reply(404, {"error": "no such path"})
        with lock:
            revision += 1
            item = dict(items.get(str(body["id"]), {}))
            item.update(body)
            item["updated"] = revision
            items[str(body["id"])] = item
        return self.reply(200, item)


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print("READY %d" % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
