#!/usr/bin/env python3
"""http.new_items throughput (docs/polling.md): `weft serve` on a temp data dir
(SQLite) polls tests/servers/items_server.py, an "items since" API on
loopback holding N items in cursor pages of PAGE; the flow (start: all, no
steps) is activated and the time until all N items are committed as runs
(weft_poll_items_total) is measured, then one poll of the unchanged API
(the committed cursor: one page, every item on it known).

Run: python3 bench/poll/http_items.py [N, default 20000] [PAGE, default 100]
(needs build/weft)
"""
import json, os, shutil, socket, subprocess, sys, tempfile, time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WEFT = os.environ.get("WEFT", os.path.join(ROOT, "build", "weft"))
N = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
PAGE = int(sys.argv[2]) if len(sys.argv) > 2 else 100


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def call(base, method, path, body=None, raw=False):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        text = r.read()
        return text.decode() if raw else json.loads(text or b"null")


def polled_items(base):
    for line in call(base, "GET", "/metrics", raw=True).splitlines():
        if line.startswith("weft_poll_items_total"):
            return float(line.split()[-1])
    return 0.0


def main():
    tmp = tempfile.mkdtemp(prefix="weft-bench-http-items-")
    procs = []
    try:
        items = subprocess.Popen([sys.executable, os.path.join(ROOT, "tests/servers/items_server.py"),
                                  "--quiet"], stdout=subprocess.PIPE, text=True)
        procs.append(items)
        api = "http://127.0.0.1:" + items.stdout.readline().split()[1]
        for i in range(N):
            call(api, "POST", "/admin/put", {"id": f"item-{i:06d}", "title": "x" * 40})
        # The test API's own cost of a page (it sorts every item per request).
        t0 = time.time()
        for i in range(10):
            req = urllib.request.Request(f"{api}/items?limit={PAGE}",
                                         headers={"Authorization": "Bearer items-token"})
            urllib.request.urlopen(req, timeout=60).read()
        page_ms = (time.time() - t0) * 100
        port = free_port()
        log = open(f"{tmp}/weft.log", "w")
        procs.append(subprocess.Popen([WEFT, "serve", "--data", f"{tmp}/data", "--listen",
                                       f"127.0.0.1:{port}"], stdout=log, stderr=log))
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                call(base, "GET", "/healthz")
                break
            except Exception:
                time.sleep(0.1)
        call(base, "POST", "/api/v1/connections", {
            "name": "items", "connector": "http", "settings": {"base_url": api},
            "auth": {"type": "bearer", "token": "items-token"}})
        flow = call(base, "POST", "/api/v1/flows", {
            "name": "items",
            "trigger": {"type": "poll", "poll": {
                "every": "1h", "start": "all",
                "source": {"uses": "http.new_items", "connection": "items", "with": {
                    "url": "/items", "query": {"limit": PAGE},
                    "paginate": {"type": "cursor", "cursor": "next",
                                 "cursor_param": "page_token", "max_pages": 100000},
                    "items": "data", "key": "id & \"@\" & $string(updated)",
                    "cursor": "$max(items.updated)", "ordered": True}}}},
            "steps": []})
        start = time.time()
        call(base, "POST", f"/api/v1/flows/{flow['id']}/activate")
        while polled_items(base) < N and time.time() - start < 600:
            time.sleep(0.05)
        took = time.time() - start
        got = polled_items(base)
        print(f"http.new_items: {int(got)} items listed (pages of {PAGE}) and committed as runs "
              f"in {took:.1f} s: {got / took:,.0f} items/s (the test API alone: {page_ms:.0f} ms "
              f"a page, {N / PAGE * page_ms / 1000:.1f} s of the total)")
        t0 = time.time()
        check = call(base, "POST", f"/api/v1/flows/{flow['id']}/poll/check")
        print(f"a Check now of the unchanged API from the committed cursor: "
              f"{(time.time() - t0) * 1000:.0f} ms, {len(check['items'])} new, "
              f"{check['known']} known")
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=20)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
