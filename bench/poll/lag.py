#!/usr/bin/env python3
"""Lag from a file appearing in an SFTP folder to its run starting, with a poll
trigger `every: 1s` (docs/polling.md). Starts sshd on a loopback port (temp
host key and user key) and `weft serve` on a temp data dir, drops N files one
at a time at random moments, and prints the lag of each run (run started_at
minus the moment the file was renamed into the folder): median, p95, max.

Run: bench/poll/run.sh [N]   (needs build/weft, /usr/sbin/sshd, ssh-keygen)
"""
import json, os, random, shutil, socket, statistics, subprocess, sys, tempfile, time
import urllib.request
from datetime import datetime

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WEFT = os.environ.get("WEFT", os.path.join(ROOT, "build", "weft"))
N = int(sys.argv[1]) if len(sys.argv) > 1 else 30


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def call(base, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read() or b"null")


def main():
    tmp = tempfile.mkdtemp(prefix="weft-bench-poll-lag-")
    procs = []
    try:
        os.makedirs(tmp + "/files/in")
        os.makedirs("/run/sshd", exist_ok=True)
        for k in ("host_key", "user_key"):
            subprocess.run(["ssh-keygen", "-q", "-t", "ecdsa", "-b", "256", "-N", "", "-f",
                            f"{tmp}/{k}"], check=True)
        shutil.copy(f"{tmp}/user_key.pub", f"{tmp}/authorized_keys")
        sshd_port = free_port()
        with open(f"{tmp}/sshd_config", "w") as f:
            f.write(f"Port {sshd_port}\nListenAddress 127.0.0.1\nHostKey {tmp}/host_key\n"
                    f"AuthorizedKeysFile {tmp}/authorized_keys\nPidFile {tmp}/sshd.pid\n"
                    "StrictModes no\nUsePAM no\nPasswordAuthentication no\n"
                    "PubkeyAuthentication yes\nPermitRootLogin yes\nSubsystem sftp internal-sftp\n")
        procs.append(subprocess.Popen(["/usr/sbin/sshd", "-D", "-f", f"{tmp}/sshd_config",
                                       "-E", f"{tmp}/sshd.log"]))
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
        user = "root" if os.getuid() == 0 else os.environ.get("USER", "root")
        call(base, "POST", "/api/v1/connections", {
            "name": "drop", "connector": "sftp",
            "settings": {"host": "127.0.0.1", "port": sshd_port},
            "auth": {"type": "private_key", "username": user,
                     "private_key": open(f"{tmp}/user_key").read()}})
        flow = call(base, "POST", "/api/v1/flows", {
            "name": "lag",
            "trigger": {"type": "poll", "poll": {
                "every": "1s", "start": "all",
                "source": {"uses": "sftp.new_files", "connection": "drop",
                           "with": {"folder": f"{tmp}/files/in", "pattern": "*.csv"}}}},
            "steps": [{"id": "note", "uses": "data.set", "with": {"value": "{{ trigger.item.name }}"}}]})
        call(base, "POST", f"/api/v1/flows/{flow['id']}/activate")
        time.sleep(2)
        dropped = {}
        for i in range(N):
            time.sleep(random.uniform(0.2, 1.2))
            name = f"f{i}.csv"
            with open(f"{tmp}/files/in/{name}.part", "w") as f:
                f.write(f"{i}\n")
            os.rename(f"{tmp}/files/in/{name}.part", f"{tmp}/files/in/{name}")
            dropped[name] = time.time()
        deadline = time.time() + 60
        runs = []
        while time.time() < deadline:
            runs = call(base, "GET", f"/api/v1/runs?limit=1000&flow_id={flow['id']}")["runs"]
            if len(runs) == N and all(r.get("started_at") for r in runs):
                break
            time.sleep(0.5)
        lags = []
        for r in runs:
            started = datetime.fromisoformat(r["started_at"].replace("Z", "+00:00")).timestamp()
            lags.append(started - dropped[r["trigger"]["item"]["name"]])
        lags.sort()
        print(f"lag file appearing -> run started, every: 1s, {len(lags)} files: "
              f"median {statistics.median(lags):.2f} s, p95 {lags[int(len(lags) * 0.95) - 1]:.2f} s, "
              f"max {lags[-1]:.2f} s")
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=20)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
