#!/usr/bin/env bash
# RESP side by side: redis-benchmark against `proactor serve resp` and
# against redis-server (Debian's, persistence off), both on loopback, each
# server pinned to CPU 0 and redis-benchmark to CPU 1. Rounds are
# interleaved (each load against each server in turn, the order swapped
# every round); the table gives medians over the rounds. Markdown on
# stdout, progress on stderr.
#   bench/resp.sh            # 3 rounds
#   bench/resp.sh 5          # 5 rounds
# Needs redis-server and redis-benchmark (apt-get install redis-server
# redis-tools) and taskset; a minute or two per round on a quiet machine.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}

tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

go build -o "$tmp/proactor" ./cmd/proactor
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
declare -A port pid
port[proactor]=$(free_port)
port[redis-server]=$(free_port)

taskset -c 0 "$tmp/proactor" serve resp --listen "127.0.0.1:${port[proactor]}" --loops 1 --control off \
	>"$tmp/proactor.log" 2>&1 &
pids+=($!)
pid[proactor]=$!
taskset -c 0 redis-server --bind 127.0.0.1 --port "${port[redis-server]}" --save '' --appendonly no \
	--daemonize no --logfile "$tmp/redis.log" &
pids+=($!)
pid[redis-server]=$!
for s in proactor redis-server; do
	for _ in $(seq 100); do
		redis-cli -p "${port[$s]}" PING >/dev/null 2>&1 && break
		sleep 0.1
	done
	redis-cli -p "${port[$s]}" PING >/dev/null || { echo "resp.sh: $s did not start" >&2; exit 1; }
done

# cpu_ticks prints a process's user and system CPU time, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

# N16 and N1 set the requests per test (default 200000 and 20000): at
# -P 16 a test of 200000 lasts a quarter of a second, so a longer one
# (N16=2000000) says more.
loads=("-P 16 -n ${N16:-200000}" "-P 1 -n ${N1:-20000}")
servers=(proactor redis-server)
: >"$tmp/results.csv"
for r in $(seq "$rounds"); do
	order=("${servers[@]}")
	if ((r % 2 == 0)); then order=(redis-server proactor); fi
	for load in "${loads[@]}"; do
		for s in "${order[@]}"; do
			echo "resp.sh: round $r/$rounds, $s, $load" >&2
			before=$(cpu_ticks "${pid[$s]}")
			# shellcheck disable=SC2086 # the load is several flags
			taskset -c 1 redis-benchmark -h 127.0.0.1 -p "${port[$s]}" -c 50 $load -t ping,set,get --csv |
				tail -n +2 | tr -d '"' | awk -F, -v s="$s" -v l="$load" '{print s "," l "," $1 "," $2 "," $7}' \
				>"$tmp/run.csv"
			# The server's CPU time per request over the run's four tests
			# (PING_INLINE, PING_MBULK, SET, GET), in microseconds.
			n=${load##* }
			cpu=$(awk -v t="$(($(cpu_ticks "${pid[$s]}") - before))" -v hz="$hz" -v n="$n" 'BEGIN {print t / hz * 1e6 / (4 * n)}')
			sed "s/\$/,$cpu/" "$tmp/run.csv" | tee -a "$tmp/results.csv" >&2
		done
	done
done

echo "Each cell: requests per second · p99 latency · the server's CPU time per request (user + system, over the run's four tests), medians over $rounds rounds."
echo
echo "| load | command | proactor serve resp | redis-server | proactor / redis-server (req/s) |"
echo "|---|---|---|---|---|"
python3 - "$tmp/results.csv" <<'EOF'
import csv, statistics, sys
runs = {}
for server, load, test, rps, p99, cpu in csv.reader(open(sys.argv[1])):
    runs.setdefault((load, test), {}).setdefault(server, []).append((float(rps), float(p99), float(cpu)))
for (load, test), by in runs.items():
    med = {s: [statistics.median(x[i] for x in v) for i in range(3)] for s, v in by.items()}
    p, r = med["proactor"], med["redis-server"]
    cell = lambda m: f"{m[0]:,.0f} req/s · p99 {m[1]:.3f} ms · {m[2]:.2f} µs"
    print(f"| -c 50 {load} | {test} | {cell(p)} | {cell(r)} | {p[0] / r[0]:.2f}× |")
EOF
