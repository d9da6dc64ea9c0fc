#!/bin/sh
# Poll triggers: emit rate and unchanged-listing cost (bench_poll), then the
# lag from a file appearing on a real sshd to its run starting (lag.py), and
# http.new_items against a local items API (http_items.py).
# Usage: bench/poll/run.sh [files-for-the-lag, default 30]
set -e
cd "$(dirname "$0")/../.."
build/bench/poll/bench_poll 100000 2>/dev/null
python3 bench/poll/lag.py "${1:-30}"
python3 bench/poll/http_items.py 20000 100
