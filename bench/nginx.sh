#!/usr/bin/env bash
# Puts nginx's stream module (Debian's nginx-light + libnginx-mod-stream)
# in front of three `proactor serve echo --proxy-protocol` instances
# (nginx sends PROXY protocol v1), checks that the instances see the
# clients' addresses from the header, runs `proactor bench --churn`
# through it, and midway stops one instance gracefully (ctl shutdown) and
# kills another (SIGKILL). It reports whether any acknowledged reply was
# lost or wrong and whether new connections reached the live instance.
# Not part of CI: run it by hand,
#   bench/nginx.sh                   # 12 s of load, 8 workers
#   DURATION=30s CONNS=32 bench/nginx.sh
# Needs nginx with the stream module, ss and python3; exits 2 without.
# Everything listens on 127.0.0.1 only; everything it starts it stops.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-12s}
CONNS=${CONNS:-8}
for tool in nginx ss python3 go bc; do
	command -v "$tool" >/dev/null || { echo "nginx.sh: needs $tool (apt-get install nginx-light libnginx-mod-stream)" >&2; exit 2; }
done
mod=""
if ! nginx -V 2>&1 | grep -q -- '--with-stream '; then
	mod=/usr/lib/nginx/modules/ngx_stream_module.so
	[ -f "$mod" ] || { echo "nginx.sh: nginx has no stream module (apt-get install libnginx-mod-stream)" >&2; exit 2; }
fi

# shellcheck source=bench/instances.sh
source bench/instances.sh

fe=$(freeport)
mkdir -p "$work/nginx/logs"
{
	[ -n "$mod" ] && echo "load_module $mod;"
	cat <<EOF
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log notice;
worker_processes 1;
events { worker_connections 4096; }

stream {
    upstream proactor_echo {
        server ${addr[1]} max_fails=2 fail_timeout=5s;
        server ${addr[2]} max_fails=2 fail_timeout=5s;
        server ${addr[3]} max_fails=2 fail_timeout=5s;
    }

    server {
        listen 127.0.0.1:$fe;
        proxy_pass proactor_echo;
        proxy_protocol on;
        proxy_connect_timeout 1s;
        proxy_next_upstream on;
        proxy_next_upstream_tries 3;
        proxy_timeout 60s;
    }
}
EOF
} >"$work/nginx.conf"
nginx -t -q -p "$work/nginx" -c "$work/nginx.conf" 2>"$work/nginx-t.err" || { cat "$work/nginx-t.err" >&2; exit 1; }
nginx -p "$work/nginx" -c "$work/nginx.conf" >"$work/nginx.log" 2>&1 &
npid=$!
pids+=("$npid")
for _ in $(seq 100); do
	ss -tlnH "sport = :$fe" | grep -q . && break
	sleep 0.05
done
ss -tlnH "sport = :$fe" | grep -q . || { echo "nginx did not listen:" >&2; cat "$work/nginx.log" "$work/nginx/logs/error.log" >&2; exit 1; }
echo "nginx $(nginx -v 2>&1 | sed 's/.*\///'): pid $npid, 127.0.0.1:$fe" >&2

accepted() {
	"$work/proactor" ctl --control "$work/s$1.ctl" stats --json | sed -n 's/.*"accepted": \([0-9]*\).*/\1/p' | head -1
}

# The PROXY header: long-lived streams through nginx; each instance must
# list as its peers the bench's own ports (the header's source), not
# nginx's ports towards it.
echo "== proactor bench --conns 6 --duration 3s (streams) through nginx" >&2
"$work/proactor" bench --conns 6 --duration 3s --warmup 0s --json "127.0.0.1:$fe" >"$work/streams.json" 2>"$work/streams.err" &
spid=$!
pids+=("$spid")
sleep 1.5
clients=$(ss -tnH state established "dport = :$fe" | awk '{print $3}' | sort)
upstream=$(for i in 1 2 3; do ss -tnH state established "dst ${addr[$i]}" | awk '{print $3}'; done | sort)
seen=$(for i in 1 2 3; do "$work/proactor" ctl --control "$work/s$i.ctl" conns; done | grep -o '127\.0\.0\.1:[0-9]*' | sort -u)
streams_status=0
wait "$spid" || streams_status=$?
from_header=$(comm -12 <(echo "$seen") <(echo "$clients") | grep -c . || true)
from_nginx=$(comm -12 <(echo "$seen") <(echo "$upstream") | grep -c . || true)
sops=$(sed -n 's/.*"ops": \([0-9]*\).*/\1/p' "$work/streams.json" | head -1)
echo "streams: status $streams_status, ${sops:-0} replies; the instances list $from_header peers that are bench's own addresses, $from_nginx that are nginx's"

total=$(secs "$DURATION")
echo "== proactor bench --churn --conns $CONNS --duration $DURATION through nginx" >&2
"$work/proactor" bench --churn --conns "$CONNS" --duration "$DURATION" --warmup 0s --progress 1s --json \
	"127.0.0.1:$fe" >"$work/bench.json" 2>"$work/bench.err" &
bpid=$!
pids+=("$bpid")
failed() {
	sed -n 's/.* \([0-9]*\) failed$/\1/p' "$work/bench.err" | tail -1 | grep . || echo 0
}

sleep "$(echo "$total / 3" | bc -l)"
echo "== $(date +%T) ctl shutdown to s1 (graceful: stops accepting, drains, exits)" >&2
failed_before_term=$(failed)
s1_acc=$(accepted 1)
"$work/proactor" ctl --control "$work/s1.ctl" shutdown >/dev/null
sleep "$(echo "$total / 3" | bc -l)"
echo "== $(date +%T) SIGKILL to s2 (no goodbye: its connections are cut)" >&2
failed_before_kill=$(failed)
s2_acc=$(accepted 2)
s3_before_kill=$(accepted 3)
kill -KILL "${pid[2]}"
wait "${pid[1]}" && s1_status=0 || s1_status=$?
wait "${pid[2]}" 2>/dev/null && s2_status=0 || s2_status=$?
bench_status=0
wait "$bpid" || bench_status=$?
s3_after=$(accepted 3)

echo
echo "s1 accepted $s1_acc connections, then exited with status $s1_status after ctl shutdown (0: clean)"
echo "s2 accepted $s2_acc connections, then exited with status $s2_status after SIGKILL (137: killed)"
echo "s3 accepted $((s3_after - s3_before_kill)) connections after the kill, $s3_after in all"
echo "nginx logged $(grep -c 'connect() failed' "$work/nginx/logs/error.log" || true) failed connects to an instance (retried on the next)"
ops=$(sed -n 's/.*"ops": \([0-9]*\).*/\1/p' "$work/bench.json" | head -1)
failed=$(sed -n 's/.*"failed": \([0-9]*\).*/\1/p' "$work/bench.json" | head -1)
error=$(sed -n 's/.*"error": "\(.*\)".*/\1/p' "$work/bench.json" | head -1)
rate=$(sed -n 's/.*"rate": \([0-9.]*\).*/\1/p' "$work/bench.json" | head -1)
echo "bench --churn: status $bench_status, ${ops:-0} cycles with the right reply (${rate:-0}/s), ${failed:-0} cycles failed"
echo "  failed cycles by phase (from bench's progress, +-1 s): $failed_before_term before shutdown," \
	"$((failed_before_kill - failed_before_term)) after shutdown of s1, $((${failed:-0} - failed_before_kill)) after SIGKILL to s2"
echo "  first failure: ${error:-none}"

ok=1
if [ -z "$ops" ] || [ "$ops" = 0 ] || [ -z "$sops" ] || [ "$sops" = 0 ] ||
	grep -q 'differs from the one expected' "$work/bench.err" "$work/bench.json" "$work/streams.err" "$work/streams.json"; then
	echo "FAIL: a wrong reply, or no reply at all"
	ok=0
fi
[ "$from_header" -gt 0 ] && [ "$from_nginx" = 0 ] || { echo "FAIL: the instances do not see the clients' addresses from the PROXY header"; ok=0; }
[ "$s1_status" = 0 ] || { echo "FAIL: s1 did not shut down cleanly"; ok=0; }
[ "$((s3_after - s3_before_kill))" -gt 0 ] || { echo "FAIL: s3 took no new connections after the kill"; ok=0; }
if [ "$ok" = 1 ]; then
	echo "PASS: PROXY header read; no acknowledged reply lost or wrong; new connections reached the live instance"
else
	exit 1
fi
