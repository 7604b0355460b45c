# shellcheck shell=bash
# Shell pieces for bench/nginx.sh and bench/syndrop.sh (sourced after bench/lib.sh; bash).
# The caller sets TMP (a directory of its own) and PIDS (an array) and stops every PID in
# PIDS in its trap (peer_stop_all).
#
#   peer_launch OUT NS LIMIT CMD...  CMD in namespace NS, output to OUT, ended by timeout(1)
#                                     after LIMIT s; LAST_PID is timeout's PID (a signal to it
#                                     reaches CMD), added to PIDS
#   peer_stop PID SECS                SIGTERM, a bounded wait, SIGKILL; removes it from PIDS
#   peer_stop_all                     peer_stop on every PID in PIDS
#   cpu_ticks PID                     utime + stime of PID, in clock ticks (0 if gone)
#   counter NS NAME                   a kernel SNMP/netstat counter of namespace NS (nstat -as:
#                                     absolute, no history file written)
#   nginx_start NS DIR ADDR PORT CPU BACKLOG LIMIT
#                                     Debian's nginx, 1 worker pinned to CPU, kernel stack,
#                                     serving DIR/www on ADDR:PORT with listen backlog BACKLOG;
#                                     its config, pid file and logs in DIR; waited for (10 s) until
#                                     it listens; NGINX_PID (timeout's), NGINX_WORKER
#   nginx_stop                        stops it by PID (graceful quit, then as peer_stop)
#   jget FILE KEY                     a number from the last JSON line of FILE
#   backoff_verdict FILE DROPS        for a connclose run that exited non-zero: whether it
#                                     stands all the same (prints why; status 1 if not)
#   kaddr_add / kaddr_del             the stack namespace's kernel gets the stack's address
#                                     (only while no dpwsk process runs there)

peer_launch() {
	local out=$1 ns=$2 limit=$3
	shift 3
	timeout -k 5 "$limit" ip netns exec "$ns" "$@" >"$out" 2>&1 </dev/null &
	LAST_PID=$!
	PIDS+=("$LAST_PID")
}

peer_stop() {
	local i p keep=()
	alive "$1" && kill -TERM "$1" 2>/dev/null
	for ((i = 0; i < $2 * 20; i++)); do
		alive "$1" || break
		sleep 0.05
	done
	alive "$1" && kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null || true
	for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
	PIDS=("${keep[@]}")
}

peer_stop_all() {
	local p
	for p in "${PIDS[@]}"; do peer_stop "$p" 5; done
}

cpu_ticks() {
	local f
	f=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
	set -- $f
	echo $(( ${12} + ${13} ))
}

counter() {
	ip netns exec "$1" nstat -asz "$2" 2>/dev/null | awk -v n="$2" '$1 == n { v = $2 } END { print v + 0 }'
}

# listening NS PORT: something listens on TCP PORT in NS.
listening() {
	ip netns exec "$1" ss -Hltn "sport = :$2" 2>/dev/null | grep -q .
}

nginx_start() {
	local ns=$1 dir=$2 addr=$3 port=$4 cpu=$5 backlog=$6 limit=$7 i mask
	mask=1
	for ((i = 0; i < cpu; i++)); do mask="${mask}0"; done
	mkdir -p "$dir/tmp"
	cat >"$dir/nginx.conf" <<EOF
# Written by bench/nginx.sh for one run: 1 worker, no access log, static files.
daemon off;
master_process on;
user root;
worker_processes 1;
worker_cpu_affinity $mask;
worker_rlimit_nofile 65536;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events {
    worker_connections 16384;
}
http {
    access_log off;
    default_type text/plain;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    server {
        listen $addr:$port backlog=$backlog;
        root $dir/www;
    }
}
EOF
	peer_launch "$dir/nginx.out" "$ns" "$limit" nginx -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf"
	NGINX_PID=$LAST_PID
	NGINX_WORKER=
	for ((i = 0; i < 200; i++)); do
		alive "$NGINX_PID" || break
		if listening "$ns" "$port"; then
			local master
			master=$(pgrep -P "$NGINX_PID" | head -n1)
			[ -n "$master" ] && NGINX_WORKER=$(pgrep -P "$master" | head -n1)
			[ -n "$NGINX_WORKER" ] && return 0
		fi
		sleep 0.05
	done
	cat "$dir/nginx.out" "$dir/error.log" >&2 2>/dev/null
	echo "nginx did not start" >&2
	return 1
}

nginx_stop() {
	[ -n "${NGINX_PID:-}" ] || return 0
	peer_stop "$NGINX_PID" 10
	NGINX_PID=
}

KADDR=0
kaddr_add() {
	ip -n "$DPW_NS_STACK" addr add "$DPW_IP_STACK/$DPW_PREFIX" dev "$DPW_IF_STACK"
	KADDR=1
}
kaddr_del() {
	[ $KADDR = 1 ] || return 0
	ip -n "$DPW_NS_STACK" addr del "$DPW_IP_STACK/$DPW_PREFIX" dev "$DPW_IF_STACK" 2>/dev/null || true
	KADDR=0
}

# "${CHILD_CPU[@]}" CMD...: runs CMD, then prints "child_cpu_ticks N", the CPU time (user +
# system, clock ticks) CMD and its children used; exits with CMD's status. A client's CPU per
# run: peer_launch OUT NS LIMIT "${CHILD_CPU[@]}" ab ...
# shellcheck disable=SC2016,SC2034
CHILD_CPU=(sh -c '"$@"; rc=$?; set -- $(sed "s/^.*) //" /proc/$$/stat); echo "child_cpu_ticks $((${14} + ${15}))"; exit $rc' sh)

# jconnect FILE KEY: connect_us.KEY (p99, max, ...) of a connclose JSON line of FILE (jget
# would find close_us's, the last of that name).
jconnect() { grep '^{' "$1" 2>/dev/null | tail -n1 | sed -n "s/.*\"connect_us\":{[^}]*\"$2\":\([0-9.]*\).*/\1/p"; }

# jget FILE KEY: a number from the last JSON line of FILE (a program's --json summary).
jget() { grep '^{' "$1" 2>/dev/null | tail -n1 | sed -n "s/.*\"$2\":\([-0-9.e+]*\).*/\1/p"; }

# The client's only errors are connects still waiting at its end, and the peer's kernel dropped
# DROPS SYNs meanwhile (its accept queue overflowed: ListenDrops): those connects are in their
# SYN backoff (lwIP's 3 s, then 6 s) because of the peer, so the run stands, said so, with its
# errors kept in the JSON. Any other error fails it.
backoff_verdict() {
	local f=$1 drops=$2 rate errs unfinished
	rate=$(jget "$f" conn_per_s)
	errs=$(jget "$f" errors)
	unfinished=$(jget "$f" unfinished_at_end)
	[ -n "$rate" ] && [ -n "$unfinished" ] && [ "$errs" = "$unfinished" ] && [ "$drops" -gt 0 ] ||
		return 1
	echo "the peer dropped $drops SYNs; $unfinished connects still in SYN backoff at the end"
}

# need_int OPTION VALUE MIN MAX: VALUE is a whole number from MIN to MAX, or the script's
# die says so.
need_int() {
	[[ "$2" =~ ^[0-9]+$ ]] && [ "$2" -ge "$3" ] && [ "$2" -le "$4" ] || die "$1: $3 to $4"
}

# concurrency_list VALUE: a comma-separated list of connections in flight (1 to 16384 each)
# into the array CONCS.
concurrency_list() {
	local c
	[[ "$1" =~ ^[0-9]+(,[0-9]+)*$ ]] || die "--concurrency: a list like 1,4,16"
	IFS=, read -r -a CONCS <<<"$1"
	for c in "${CONCS[@]}"; do [ "$c" -ge 1 ] && [ "$c" -le 16384 ] || die "--concurrency: $c"; done
}
