#!/usr/bin/env bash
# HTTP/1.1 side by side: wrk against `proactor serve http` /plaintext, a
# fasthttp server and a net/http server (bench/cmd/httppeer), on loopback.
# Every server is pinned to CPU 0 with GOMAXPROCS=1 (proactor with one
# loop), wrk to CPU 1: one core each. Two loads, 100 connections for 5 s
# each: one request at a time per connection, and 16 pipelined. Rounds are
# interleaved (each load against each server in turn, the order rotated
# every round); the table gives medians over the rounds (p99 for the
# sequential load only: wrk's latency histogram is not valid when a script
# pipelines), and the server's CPU time (user + system, from /proc) per
# request: the figure that holds on a busy machine, where requests per
# second do not. Markdown on stdout, progress on stderr.
#   bench/http.sh            # 3 rounds
#   bench/http.sh 5          # 5 rounds
#   BUSY_POLL=50us bench/http.sh   # proactor with `serve --busy-poll 50us`
# Needs wrk and taskset; about 35 s per round.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
duration=${DURATION:-5s}
conns=${CONNS:-100}
busy=()
[[ -n ${BUSY_POLL:-} ]] && busy=(--busy-poll "$BUSY_POLL")

tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

go build -o "$tmp/proactor" ./cmd/proactor
(cd bench && go build -o "$tmp/httppeer" ./cmd/httppeer)
cat >"$tmp/pipeline.lua" <<'LUA'
-- Sends args[1] requests (default 16) in one write, as a pipelining client.
init = function(args)
	local depth = tonumber(args[1]) or 16
	local r = {}
	for i = 1, depth do r[i] = wrk.format(nil) end
	req = table.concat(r)
end
request = function() return req end
LUA

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
servers=(proactor fasthttp nethttp)
declare -A port pid
for s in "${servers[@]}"; do port[$s]=$(free_port); done
GOMAXPROCS=1 taskset -c 0 "$tmp/proactor" serve http --listen "127.0.0.1:${port[proactor]}" --loops 1 --control off "${busy[@]}" \
	>"$tmp/proactor.log" 2>&1 &
pids+=($!)
pid[proactor]=$!
for s in fasthttp nethttp; do
	GOMAXPROCS=1 taskset -c 0 "$tmp/httppeer" -server "$s" -listen "127.0.0.1:${port[$s]}" >"$tmp/$s.log" 2>&1 &
	pids+=($!)
	pid[$s]=$!
done
hz=$(getconf CLK_TCK)
# cputicks SERVER: the server's user + system time so far, in clock ticks.
cputicks() { awk '{ print $14 + $15 }' "/proc/${pid[$1]}/stat"; }
for s in "${servers[@]}"; do
	for _ in $(seq 100); do
		curl -sf "http://127.0.0.1:${port[$s]}/plaintext" >/dev/null && break
		sleep 0.1
	done
	curl -sf "http://127.0.0.1:${port[$s]}/plaintext" >/dev/null || { echo "$s did not start" >&2; exit 1; }
done

# run SERVER LOAD: one wrk run; prints "req/s p99_ms cpu_us_per_req errors".
run() {
	local url="http://127.0.0.1:${port[$1]}/plaintext" out t0 t1
	local args=(-t1 -c"$conns" -d"$duration" --latency --timeout 5s)
	t0=$(cputicks "$1")
	if [[ $2 == pipelined ]]; then
		out=$(taskset -c 1 wrk "${args[@]}" -s "$tmp/pipeline.lua" "$url" -- 16 2>&1)
	else
		out=$(taskset -c 1 wrk "${args[@]}" "$url" 2>&1)
	fi
	t1=$(cputicks "$1")
	echo "$out" | awk -v ticks=$((t1 - t0)) -v hz="$hz" '
		/requests in/ { n = $1 }
		/Requests\/sec/ { rps = $2 }
		$1 == "99%" { v = $2; u = v; sub(/[a-z]+$/, "", v); sub(/^[0-9.]+/, "", u)
			p99 = (u == "us") ? v / 1000 : (u == "s") ? v * 1000 : v }
		/Non-2xx|Socket errors/ { err = err $0 "; " }
		END { printf "%s %.2f %.2f %s\n", rps, p99, (n ? ticks / hz * 1e6 / n : 0), (err == "" ? "0" : "\"" err "\"") }'
}

loads=(sequential pipelined)
for r in $(seq "$rounds"); do
	order=("${servers[@]:$(( (r - 1) % 3 ))}" "${servers[@]:0:$(( (r - 1) % 3 ))}")
	for load in "${loads[@]}"; do
		for s in "${order[@]}"; do
			res=$(run "$s" "$load")
			echo "round $r $load $s: $res" >&2
			echo "$s $load $res" >>"$tmp/results"
		done
	done
done

median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
echo "| server | load | requests/s (median) | p99 latency ms (median) | server CPU µs/request (median) | errors |"
echo "|---|---|---:|---:|---:|---|"
for load in "${loads[@]}"; do
	for s in "${servers[@]}"; do
		rps=$(awk -v s="$s" -v l="$load" '$1 == s && $2 == l { print $3 }' "$tmp/results" | median)
		p99=$(awk -v s="$s" -v l="$load" '$1 == s && $2 == l { print $4 }' "$tmp/results" | median)
		cpu=$(awk -v s="$s" -v l="$load" '$1 == s && $2 == l { print $5 }' "$tmp/results" | median)
		errs=$(awk -v s="$s" -v l="$load" '$1 == s && $2 == l && $6 != "0" { n++ } END { print n + 0 }' "$tmp/results")
		name=$s; [[ $s == nethttp ]] && name=net/http
		[[ $s == proactor ]] && name="proactor serve http"
		# wrk's latency distribution is not valid with a pipeline script
		# (it prints 0 for most percentiles): no p99 for that load.
		[[ $load == pipelined ]] && p99=n/a || p99=$(printf '%.2f' "$p99")
		printf '| %s | %s | %.0f | %s | %.2f | %s |\n' "$name" "$load (c$conns)" "$rps" "$p99" "$cpu" \
			"$([[ $errs == 0 ]] && echo none || echo "in $errs runs")"
	done
done
