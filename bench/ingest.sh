#!/usr/bin/env bash
# Ingest benchmark: starts the stack as `make run` deploys it (honcho, Procfile: 2 uvicorn workers,
# 1 Celery worker, and beat, so the reports' fold and table maintenance run on the worker as in production)
# against a database of its own, runs the shared yardstick (wrk vs a bare FastAPI endpoint), then reports
# queue drain time, an exact ok-vs-stored check, and each process's peak RSS.
# Usage: bench/ingest.sh [seconds=10] [connections=64]     (needs wrk: apt-get install wrk)
#        BENCH_PROCS="web worker" leaves beat out (the Procfile names to start; default "web worker beat")
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
conns=${2:-64}
yardstick=${YARDSTICK:-../shared/bench/wrk_vs_bare.sh}
[ -x "$(command -v wrk)" ] || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
[ -f "$yardstick" ] || { echo "yardstick not found at $yardstick (set YARDSTICK=)" >&2; exit 1; }
make -s install
export PATH="$PWD/.venv/bin:$PATH"
port=$(python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export DATABASE_URL=${BENCH_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/tracker_bench}
export INGEST_QUEUE=ingest_bench PORT=$port WEB_WORKERS=2 ENVIRONMENT=development
log=$(mktemp -t ingest-bench.XXXX.log)

python -m common.cli migrate >/dev/null 2>&1
cid=$(python bench/stack.py campaign)
echo "machine  $(nproc) cores, $(free -g | awk '/Mem/{print $2}') GiB; load $(cut -d' ' -f1-3 /proc/loadavg); campaign $cid; log $log"
python bench/stack.py analyze "$cid"
honcho start ${BENCH_PROCS:-web worker beat} >"$log" 2>&1 &
stack=$!
trap 'kill $stack 2>/dev/null; wait $stack 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
grep -q "ready" <(timeout 30 tail -f "$log" | grep -m1 "ready") || true

read -r web0 worker0 < <(python bench/stack.py cpu "$stack")
stored0=$(python bench/stack.py drain "$cid" --timeout 0 | awk '/^stored/{print $2}')
CID=$cid PYTHON=python "$yardstick" "http://127.0.0.1:$port" "$secs" "$conns"
drained=$(python bench/stack.py drain "$cid")
echo "$drained"
read -r web1 worker1 < <(python bench/stack.py cpu "$stack")
stored1=$(awk '/^stored/{print $2}' <<<"$drained")
# CPU per event stored during the project's run and drain (the bare endpoint runs in processes of its own).
awk -v n=$((stored1 - stored0)) -v w0="$web0" -v w1="$web1" -v k0="$worker0" -v k1="$worker1" \
  'BEGIN{printf "cpu_us_per_event web %.0f worker %.0f (%d events)\n", (w1-w0)*1e6/n, (k1-k0)*1e6/n, n}'

out=$(CID=$cid wrk -t2 -c"$conns" -d5s -s bench/count_ok.lua "http://127.0.0.1:$port/api/event")
ok=$(awk '/^ok /{print $2}' <<<"$out")
python bench/stack.py drain "$cid" >/dev/null
stored=$(python bench/stack.py exact "$cid" | awk '{print $2}')
# wrk stops counting with up to $conns requests in flight: those are answered and stored, but not tallied.
verdict=$( (( stored >= ok && stored <= ok + conns )) && echo "OK (nothing lost; in flight at the stop: $((stored - ok)))" || echo MISMATCH)
echo "exact    ok $ok stored $stored $verdict"
python bench/stack.py rss "$stack"
