# instances.sh, sourced by haproxy.sh and nginx.sh (from the repository's
# root): a work directory removed on exit with every process started here,
# freeport and secs, the proactor binary built into the work directory, and
# three `serve echo` instances with the PROXY protocol and a control socket
# each: their addresses in addr[1..3], their PIDs in pid[1..3].

work=$(mktemp -d)
pids=()
cleanup() {
	for pid in "${pids[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

freeport() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# secs turns a Go duration such as 12s or 1m into whole seconds.
secs() {
	case $1 in
	*m) echo $((${1%m} * 60)) ;;
	*s) echo "${1%s}" ;;
	*) echo "$1" ;;
	esac
}

echo "== building proactor" >&2
go build -o "$work/proactor" ./cmd/proactor

# Three instances, each on a port of its own, each with a control socket.
declare -A addr pid
for i in 1 2 3; do
	"$work/proactor" serve echo --listen 127.0.0.1:0 --loops 1 --proxy-protocol \
		--control "$work/s$i.ctl" --shutdown-timeout 5s >"$work/s$i.out" 2>"$work/s$i.err" &
	pid[$i]=$!
	pids+=("$!")
done
for i in 1 2 3; do
	a=""
	for _ in $(seq 100); do
		a=$(sed -n 's/^proactor: echo listening on \([^ ]*\) .*/\1/p' "$work/s$i.out")
		[ -n "$a" ] && break
		sleep 0.05
	done
	[ -n "$a" ] || { echo "instance $i did not start:" >&2; cat "$work/s$i.err" >&2; exit 1; }
	addr[$i]=$a
	echo "instance s$i: pid ${pid[$i]}, $a" >&2
done
