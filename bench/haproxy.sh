#!/usr/bin/env bash
# Puts HAProxy (Debian's haproxy package) in front of three `proactor serve
# echo` instances that take the PROXY protocol (send-proxy-v2) and answer
# its health checks, runs `proactor bench --churn` through it, and midway
# stops one instance gracefully (SIGTERM) and kills another (SIGKILL). It
# then reports whether any acknowledged reply was lost or wrong, and where
# the new connections went. Not part of CI: run it by hand,
#   bench/haproxy.sh                 # 12 s of load, 8 workers
#   DURATION=30s CONNS=32 bench/haproxy.sh
#   DRAIN=1 bench/haproxy.sh         # drain s1 in HAProxy before its SIGTERM
# A bare SIGTERM closes the connections that have sent nothing yet (see
# Server.Shutdown), and a request already on its way to one of them is
# cut: bench counts it failed. DRAIN=1 follows docs/DEPLOY.md's procedure
# instead: HAProxy first stops giving s1 new connections ("set server ...
# state drain" on its runtime API), and s1 gets its SIGTERM once its
# sessions have ended.
# Needs haproxy, curl and python3 (to pick free ports); exits 2 without.
# Everything listens on 127.0.0.1 only; everything it starts it stops.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-12s}
DRAIN=${DRAIN:-0}
CONNS=${CONNS:-8}
for tool in haproxy curl python3 go; do
	command -v "$tool" >/dev/null || { echo "haproxy.sh: needs $tool (apt-get install haproxy curl)" >&2; exit 2; }
done

# shellcheck source=bench/instances.sh
source bench/instances.sh

fe=$(freeport)
stats=$(freeport)
cat >"$work/haproxy.cfg" <<EOF
global
	maxconn 4096
	stats socket $work/haproxy.sock mode 600 level admin

defaults
	mode tcp
	timeout connect 1s
	timeout client 10s
	timeout server 10s
	# A connection refused by an instance that is going or gone is tried
	# again, on another instance.
	retries 3
	option redispatch 1

frontend echo
	bind 127.0.0.1:$fe
	default_backend echo

backend echo
	balance roundrobin
	# The health check speaks the protocol: PROXY header, a line, its echo.
	option tcp-check
	tcp-check connect default
	tcp-check send "ping\n"
	tcp-check expect string "ping"
	default-server send-proxy-v2 check-send-proxy check inter 200ms fall 2 rise 2
	server s1 ${addr[1]}
	server s2 ${addr[2]}
	server s3 ${addr[3]}

frontend stats
	mode http
	bind 127.0.0.1:$stats
	stats enable
	stats uri /stats
EOF
haproxy -c -q -f "$work/haproxy.cfg"
haproxy -db -f "$work/haproxy.cfg" >"$work/haproxy.log" 2>&1 &
hpid=$!
pids+=("$hpid")

# csv prints, per instance, "name status sessions-total connection-errors
# redispatches" from HAProxy's statistics.
csv() {
	curl -fsS "http://127.0.0.1:$stats/stats;csv" |
		awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
			$1 == "echo" && $2 ~ /^s[0-9]$/ { print $2, $col["status"], $col["stot"], $col["econ"], $col["wredis"] }'
}
for _ in $(seq 100); do
	up=$(csv 2>/dev/null | grep -c ' UP ' || true)
	[ "$up" = 3 ] && break
	sleep 0.1
done
[ "$up" = 3 ] || { echo "HAProxy did not see three healthy instances:" >&2; csv >&2 || cat "$work/haproxy.log" >&2; exit 1; }
echo "HAProxy: pid $hpid, 127.0.0.1:$fe; all three instances UP" >&2

total=$(secs "$DURATION")
echo "== proactor bench --churn --conns $CONNS --duration $DURATION through HAProxy" >&2
"$work/proactor" bench --churn --conns "$CONNS" --duration "$DURATION" --warmup 0s --progress 1s --json \
	"127.0.0.1:$fe" >"$work/bench.json" 2>"$work/bench.err" &
bpid=$!
pids+=("$bpid")

# failed prints the churn cycles failed so far, from bench's last progress
# line (a second old at most).
failed() {
	sed -n 's/.* \([0-9]*\) failed$/\1/p' "$work/bench.err" | tail -1 | grep . || echo 0
}
# runtime sends a command to HAProxy's runtime API and prints the answer.
runtime() {
	python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n")
print(s.makefile().read(), end="")' "$work/haproxy.sock" "$1"
}
# sessions prints an instance's current sessions in HAProxy.
sessions() {
	curl -fsS "http://127.0.0.1:$stats/stats;csv" | awk -F, -v s="$1" 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
		$1 == "echo" && $2 == s { print $col["scur"] }'
}
accepted() { # an instance's accepted connections, from its control socket
	"$work/proactor" ctl --control "$work/s$1.ctl" stats --json | sed -n 's/.*"accepted": \([0-9]*\).*/\1/p' | head -1
}

sleep "$(echo "$total / 3" | bc -l)"
if [ "$DRAIN" = 1 ]; then
	echo "== $(date +%T) draining s1 in HAProxy" >&2
	runtime "set server echo/s1 state drain"
	for _ in $(seq 100); do
		[ "$(sessions s1)" = 0 ] && break
		sleep 0.05
	done
	echo "   s1 has $(sessions s1) sessions left" >&2
fi
echo "== $(date +%T) SIGTERM to s1 (graceful: stops accepting, drains, exits)" >&2
before_term=$(csv)
failed_before_term=$(failed)
kill -TERM "${pid[1]}"
sleep "$(echo "$total / 3" | bc -l)"
echo "== $(date +%T) SIGKILL to s2 (no goodbye: its connections are cut)" >&2
before_kill=$(csv)
failed_before_kill=$(failed)
s3_before_kill=$(accepted 3)
kill -KILL "${pid[2]}"
wait "${pid[1]}" && s1_status=0 || s1_status=$?
wait "${pid[2]}" 2>/dev/null && s2_status=0 || s2_status=$?
bench_status=0
wait "$bpid" || bench_status=$?
after=$(csv)
s3_after=$(accepted 3)

echo
echo "HAProxy per instance (name status sessions connect-errors redispatches):"
echo "  before SIGTERM to s1:"
sed 's/^/    /' <<<"$before_term"
echo "  before SIGKILL to s2:"
sed 's/^/    /' <<<"$before_kill"
echo "  at the end:"
sed 's/^/    /' <<<"$after"
echo
echo "s1 exited with status $s1_status after SIGTERM (0: a clean graceful shutdown)"
echo "s2 exited with status $s2_status after SIGKILL (137: killed)"
echo "s3 accepted $((s3_after - s3_before_kill)) connections after the kill, $s3_after in all"
echo
ops=$(sed -n 's/.*"ops": \([0-9]*\).*/\1/p' "$work/bench.json" | head -1)
failed=$(sed -n 's/.*"failed": \([0-9]*\).*/\1/p' "$work/bench.json" | head -1)
error=$(sed -n 's/.*"error": "\(.*\)".*/\1/p' "$work/bench.json" | head -1)
rate=$(sed -n 's/.*"rate": \([0-9.]*\).*/\1/p' "$work/bench.json" | head -1)
echo "bench: status $bench_status, ${ops:-0} cycles with the right reply (${rate:-0}/s), ${failed:-0} cycles failed"
echo "  failed cycles by phase (from bench's progress, +-1 s): $failed_before_term before SIGTERM," \
	"$((failed_before_kill - failed_before_term)) after SIGTERM to s1, $((${failed:-0} - failed_before_kill)) after SIGKILL to s2"
echo "  first failure: ${error:-none}"

# The verdict. A cycle is acknowledged once its reply came back whole and
# right; a wrong reply ends bench at once with ErrMismatch ("differs from
# the one expected"), so its absence means no acknowledged reply was lost
# or wrong. Failed cycles (bench exits 1 when there are any) are
# connections cut before their reply came: never acknowledged, and
# reported above by phase. New connections must have moved to
# the live instance: s1 and s2 DOWN, s3 UP and accepting after the kill.
ok=1
if [ -z "$ops" ] || [ "$ops" = 0 ] || grep -q 'differs from the one expected' "$work/bench.err" "$work/bench.json"; then
	echo "FAIL: a wrong reply, or no reply at all"
	ok=0
fi
[ "$s1_status" = 0 ] || { echo "FAIL: s1 did not shut down cleanly"; ok=0; }
grep -q '^s1 DOWN' <<<"$after" && grep -q '^s2 DOWN' <<<"$after" && grep -q '^s3 UP' <<<"$after" ||
	{ echo "FAIL: HAProxy does not see s1 and s2 down and s3 up"; ok=0; }
[ "$((s3_after - s3_before_kill))" -gt 0 ] || { echo "FAIL: s3 took no new connections after the kill"; ok=0; }
if [ "$ok" = 1 ]; then
	echo "PASS: no acknowledged reply lost or wrong; new connections moved to the live instance"
else
	exit 1
fi
