#!/usr/bin/env bash
# Runs the full echo benchmark (bench/cmd/echobench) and prints the markdown
# report on stdout; progress goes to stderr. Arguments are passed on, e.g.
#   bench/run.sh --out /tmp/bench.md --json /tmp/bench.json
#   bench/run.sh --quick
# It takes 7-10 minutes with the defaults (3 rounds, 3 s windows) on a
# quiet machine, more while waiting for other work to calm down.
set -euo pipefail
cd "$(dirname "$0")"

# perf counts server instructions where the machine has hardware counters;
# install it if it is missing and we can (Debian's package is linux-perf).
if ! command -v perf >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "run.sh: installing linux-perf" >&2
	apt-get install -y linux-perf >/dev/null 2>&1 ||
		{ apt-get update >/dev/null 2>&1 && apt-get install -y linux-perf >/dev/null 2>&1; } ||
		echo "run.sh: could not install linux-perf; the report uses CPU time" >&2
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/echobench" ./cmd/echobench
"$tmp/echobench" "$@"
