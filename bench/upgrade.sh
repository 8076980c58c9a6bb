#!/usr/bin/env bash
# Upgrades a `proactor serve echo` three times, 2.5 s apart, while two
# `proactor bench` runs go through it for 10 s: one churning connections
# (connect, one message, close; a refused or reset connection fails the
# run), one keeping 16 streams of 1 KiB messages, 4 in flight each, open
# across the upgrades (a lost or wrong reply fails it). One line per
# engine; docs/DEPLOY.md, "Zero-downtime upgrade", has a recorded run.
#   bench/upgrade.sh              # every engine
#   bench/upgrade.sh epoll std    # those
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'kill $(cat "$tmp"/*.pid 2>/dev/null) 2>/dev/null || true; rm -rf "$tmp"' EXIT
go build -o "$tmp/proactor" ./cmd/proactor
p="$tmp/proactor"
engines=("$@")
[ ${#engines[@]} -gt 0 ] || engines=(epoll uring std)

field() { grep -o "\"$2\": [0-9.]*" "$1" | head -1 | awk '{print $2}'; }

for e in "${engines[@]}"; do
	d="$tmp/$e"
	mkdir "$d"
	"$p" serve echo --listen 127.0.0.1:0 --engine "$e" --loops 2 --control "$d/c.sock" --upgrade-drain 30s >"$d/out" 2>"$d/err" &
	echo $! >"$tmp/first.pid"
	for _ in $(seq 100); do grep -q 'control on' "$d/out" && break; sleep 0.1; done
	addr=$(grep -o '127\.0\.0\.1:[0-9]*' "$d/out" | head -1)
	[ -n "$addr" ] || { echo "$e: serve did not start: $(cat "$d/err")"; continue; }
	"$p" bench --json --progress 0 --warmup 0 --conns 16 --depth 4 --size 1KiB --duration 10s "$addr" >"$d/streams.json" 2>"$d/streams.err" &
	s=$!
	"$p" bench --json --progress 0 --warmup 0 --churn --conns 8 --duration 10s "$addr" >"$d/churn.json" 2>"$d/churn.err" &
	c=$!
	ups=0
	for _ in 1 2 3; do
		sleep 2.5
		"$p" ctl --control "$d/c.sock" upgrade --ready-timeout 10s >/dev/null && ups=$((ups + 1))
	done
	sst=0; wait $s || sst=$?
	cst=0; wait $c || cst=$?
	"$p" ctl --control "$d/c.sock" shutdown >/dev/null || true
	# The last process exits once its connections have gone; its stdout
	# is the first's, closed when every process of the line has exited.
	for _ in $(seq 100); do [ -S "$d/c.sock" ] || break; sleep 0.1; done
	printf '%-6s %d upgrades; streams: %s msg (%.0f/s), p99 %.0f µs, max %.0f µs, exit %d%s; churn: %s connections (%.0f/s), %s failed, max %.0f µs, exit %d%s\n' \
		"$e" "$ups" "$(field "$d/streams.json" ops)" "$(field "$d/streams.json" rate)" "$(field "$d/streams.json" p99_us)" \
		"$(field "$d/streams.json" max_us)" "$sst" "$(grep -o '"error": .*' "$d/streams.json" | sed 's/^/, /' || true)" \
		"$(field "$d/churn.json" ops)" "$(field "$d/churn.json" rate)" "$(f=$(field "$d/churn.json" failed); echo "${f:-0}")" \
		"$(field "$d/churn.json" max_us)" "$cst" "$(grep -o '"error": .*' "$d/churn.json" | sed 's/^/, /' || true)"
done
