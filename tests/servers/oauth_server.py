#!/usr/bin/env python3
"""A fake OAuth2 provider for the authorization-code tests, on loopback.

Prints "READY <port>" once listening.
  GET  /authorize   checks response_type, client_id, redirect_uri, state and the
                    PKCE challenge, then redirects the browser back to
                    redirect_uri?code=...&state=... (as a real provider does
                    after the user clicked Allow). ?deny=1 answers error=access_denied.
  POST /token       authorization_code (checks the code is fresh, the same
                    redirect_uri and the PKCE verifier) and refresh_token grants;
                    client credentials by HTTP Basic. Access tokens live
                    TTL seconds (argv[1], default 2); with argv[2] "rotate"
                    a refresh also replaces the refresh token.
  GET  /api/me      a protected resource: 200 {user, call} when the bearer token
                    is known and unexpired (the log keeps which), else 401.
  GET  /__log       what happened: grants and the tokens /api/me saw.
"""
import base64
import hashlib
import json
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TTL = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
ROTATE = "rotate" in sys.argv[2:]  # each refresh hands out a new refresh token and retires the old one
CLIENT_ID, CLIENT_SECRET = "weft-client", "weft-secret"

lock = threading.Lock()
codes = {}     # code -> {redirect_uri, challenge}
tokens = {}    # access token -> expiry (monotonic)
refresh = set()
log = {"authorize": [], "grants": [], "api_tokens": [], "api_refused": []}
counter = [0]


def next_id(prefix):
    with lock:
        counter[0] += 1
        return "%s-%d" % (prefix, counter[0])


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
        self.wfile.write(body)

    def issue(self):
        access = next_id("oauth-access-token")
        with lock:
            tokens[access] = time.monotonic() + TTL
        return access

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        q = {k: v[0] for k, v in urllib.parse.parse_qs(url.query, keep_blank_values=True).items()}
        if url.path == "/authorize":
            with lock:
                log["authorize"].append(q)
            redirect = q.get("redirect_uri", "")
            if q.get("response_type") != "code" or q.get("client_id") != CLIENT_ID or not redirect or not q.get("state"):
                return self.reply(400, {"error": "invalid_request", "got": q})
            if q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
                return self.reply(400, {"error": "invalid_request", "error_description": "PKCE S256 required"})
            sep = "&" if "?" in redirect else "?"
            if q.get("deny") == "1":
                back = redirect + sep + urllib.parse.urlencode({"error": "access_denied", "state": q["state"]})
            else:
                code = next_id("code")
                with lock:
                    codes[code] = {"redirect_uri": redirect, "challenge": q["code_challenge"]}
                back = redirect + sep + urllib.parse.urlencode({"code": code, "state": q["state"]})
            return self.reply(302, b"", headers={"Location": back})
        if url.path == "/api/me":
            auth = self.headers.get("Authorization", "")
            tok = auth[7:] if auth.startswith("Bearer ") else ""
            with lock:
                ok = tok in tokens and tokens[tok] > time.monotonic()
                (log["api_tokens"] if ok else log["api_refused"]).append(tok)
            if not ok:
                return self.reply(401, {"error": "invalid_token"})
            return self.reply(200, {"user": "ada", "call": len(log["api_tokens"])})  # the token itself stays here
        if url.path == "/__log":
            with lock:
                return self.reply(200, log)
        return self.reply(404, {"error": "no route"})

    def do_POST(self):
        url = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in urllib.parse.parse_qs(self.rfile.read(length).decode()).items()}
        if url.path != "/token":
            return self.reply(404, {"error": "no route"})
        auth = self.headers.get("Authorization", "")
        cid, secret = None, None
        if auth.startswith("Basic "):
            cid, secret = base64.b64decode(auth[6:]).decode().split(":", 1)
        grant = form.get("grant_type")
        with lock:
            log["grants"].append({"grant_type": grant, "code": form.get("code"), "refresh_token": form.get("refresh_token")})
        if cid != CLIENT_ID or secret != CLIENT_SECRET:
            return self.reply(401, {"error": "invalid_client"})
        if grant == "authorization_code":
            with lock:
                entry = codes.pop(form.get("code", ""), None)  # a code works once
            if not entry or entry["redirect_uri"] != form.get("redirect_uri"):
                return self.reply(400, {"error": "invalid_grant"})
            verifier = form.get("code_verifier", "")
            challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
            if challenge != entry["challenge"]:
                return self.reply(400, {"error": "invalid_grant", "error_description": "PKCE verifier does not match"})
            rt = next_id("oauth-refresh-token")
            with lock:
                refresh.add(rt)
            return self.reply(200, {"access_token": self.issue(), "token_type": "Bearer", "expires_in": TTL,
                                    "refresh_token": rt})
        if grant == "refresh_token":
            with lock:
                known = form.get("refresh_token") in refresh
            if not known:
                return self.reply(400, {"error": "invalid_grant"})
            answer = {"access_token": self.issue(), "token_type": "Bearer", "expires_in": TTL}
            if ROTATE:
                rt = next_id("oauth-refresh-token")
                with lock:
                    refresh.discard(form.get("refresh_token"))
                    refresh.add(rt)
                answer["refresh_token"] = rt
            return self.reply(200, answer)
        return self.reply(400, {"error": "unsupported_grant_type"})


class Server(ThreadingHTTPServer):
    daemon_threads = True


if __name__ == "__main__":
    server = Server(("127.0.0.1", 0), Handler)
    print("READY %d" % server.server_address[1], flush=True)
    server.serve_forever()
