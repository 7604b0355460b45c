# Helpers for the connclose tests (source after tests/integration/lib.sh and dpw_init):
# bench/linux/linux-server in the peer namespace, dpwsk-connclose (or linux-connclose) runs to
# completion, their counters.
#
#   server_start MODE [PORT]   linux-server --mode MODE (discard|echo) on PORT (5000) in the
#                              peer namespace; returns once it listens (bounded, 10 s)
#   server_stop                once the server has seen every connection through (bounded),
#                              SIGTERM, bounded wait; its final counts in SERVER_COUNTS
#                              (read them with stat_get "$SERVER_COUNTS" accepted), and
#                              SERVER_LISTEN_DROPS: connections Linux dropped meanwhile
#                              because the server's accept queue was full
#   server_assert NAME KEY N   the server counted N for KEY (accepted, reset), or fewer by
#                              at most SERVER_LISTEN_DROPS (the peer's drops, not dpwsk's)
#   cc_run NAME SECONDS ARGS   dpwsk-connclose ARGS in the stack namespace on the stack's
#                              interface (--ip6 too in an IPv6 topology); waits (bounded)
#                              for it to exit; output in CC_OUT, CC_ERR, status in CC_RC,
#                              PID in CC_PID
#   cc_get KEY                 a value of the run's summary lines ("connclose: ..." key=value)
#   cc_check_clean NAME        after a dpwsk run: final stats line with mbuf_in_use=0, wsk
#                              line with sockets_open=0, no EAL runtime directory left

CONNCLOSE=$DPW_BUILD/apps/connclose/dpwsk-connclose
LINUX_SERVER=$DPW_BUILD/bench/linux-server
LINUX_CONNCLOSE=$DPW_BUILD/bench/linux-connclose
SERVER_PORT=5000
SERVER_N=0
CC_N=0

cc_need_built() {
	local f
	for f in "$@"; do
		[ -x "$f" ] || fatal built "$f not built (ninja -C $DPW_BUILD)"
	done
}

# Connections the peer namespace's kernel dropped at a full accept queue so far
# (TcpExtListenDrops: a busy machine starves linux-server of CPU, its queue fills, and Linux
# drops the handshake's last ACK; in rst mode the client's RST then ends the half-made
# connection before the server ever sees it).
peer_listen_drops() {
	peer nstat -asz TcpExtListenDrops | awk '$1 == "TcpExtListenDrops" { print $2 }'
}

server_start() {
	local i
	SERVER_DROPS_START=$(peer_listen_drops)
	SERVER_N=$((SERVER_N + 1))
	SERVER_OUT=$DPW_TMP/server$SERVER_N.out
	SERVER_PORT=${2:-5000}
	: >"$SERVER_OUT"
	# --max-time: the server ends by itself even if this test were killed outright.
	peer_bg "$LINUX_SERVER" --port "$SERVER_PORT" --mode "$1" --max-time 900 \
		>"$SERVER_OUT" 2>&1
	SERVER_PID=$PEER_PID
	for ((i = 0; i < 200; i++)); do
		grep -q '^linux-server: listening ' "$SERVER_OUT" && return 0
		dpw_alive "$SERVER_PID" || break
		sleep 0.05
	done
	fatal server-start "linux-server did not start: $(head -c 300 "$SERVER_OUT")"
}

# Connections the server has yet to see through: waiting in its accept queue (the
# listener's Recv-Q), or open in any state but TIME-WAIT (the server closes, or reads a RST
# it has not met yet). Counted by the peer namespace's kernel (ss).
server_backlog() {
	peer ss -Htan "( sport = :$SERVER_PORT )" |
		awk '$1 == "LISTEN" { n += $2; next } $1 != "TIME-WAIT" { n++ } END { print n + 0 }'
}

server_stop() {
	local i
	# The client is done, but on a busy machine the server may still be accepting and
	# reading what the kernel holds for it: let it finish (bounded, 10 s) before its counts.
	for ((i = 0; i < 200; i++)); do
		[ "$(server_backlog)" = 0 ] && break
		sleep 0.05
	done
	kill -TERM "$SERVER_PID" 2>/dev/null
	if ! dpw_wait_exit "$SERVER_PID" 10; then
		dpw_kill "$SERVER_PID"
		fatal server-stop "linux-server still running 10 s after SIGTERM (killed)"
	fi
	SERVER_COUNTS=$(grep '^linux-server: accepted=' "$SERVER_OUT" | tail -n1)
	SERVER_LISTEN_DROPS=$(($(peer_listen_drops) - SERVER_DROPS_START))
	echo "server: $SERVER_COUNTS; Linux's listen drops meanwhile: $SERVER_LISTEN_DROPS"
	[ -n "$SERVER_COUNTS" ] || fatal server-counts "no counts line from linux-server"
}

server_assert() {
	local name=$1 want=$3 got
	got=$(stat_get "$SERVER_COUNTS" "$2")
	if [ "$got" = "$want" ]; then
		pass "$name" "$got"
	elif [[ "$got" =~ ^[0-9]+$ ]] && [ "$got" -lt "$want" ] &&
		[ $((want - got)) -le "$SERVER_LISTEN_DROPS" ]; then
		pass "$name" "$got of $want: the $((want - got)) missing were dropped by the peer's full accept queue (TcpExtListenDrops $SERVER_LISTEN_DROPS), not by dpwsk"
	else
		fail "$name" "expected $want (or fewer by at most the peer's $SERVER_LISTEN_DROPS listen drops), saw '$got'"
	fi
}

# cc_launch PROGRAM NS ARGS...: start PROGRAM in namespace NS in the background (CC_PID is
# its own PID: ip netns exec execs it).
cc_launch() {
	local prog=$1 ns=$2
	shift 2
	CC_N=$((CC_N + 1))
	CC_OUT=$DPW_TMP/cc$CC_N.out
	CC_ERR=$DPW_TMP/cc$CC_N.err
	ip netns exec "$ns" "$prog" "$@" >"$CC_OUT" 2>"$CC_ERR" &
	CC_PID=$!
	dpw_track "$CC_PID"
}

# cc_wait NAME SECONDS: bounded wait for the launched run; CC_RC its status.
cc_wait() {
	if ! dpw_wait_exit "$CC_PID" "$2"; then
		dpw_kill "$CC_PID"
		fail "$1-finished" "still running after $2 s (killed); last lines: $(tail -n3 "$CC_OUT" | tr '\n' '|')"
		CC_RC=timeout
		return 1
	fi
	CC_RC=$DPW_RC
	[ -s "$CC_ERR" ] && sed 's/^/  stderr: /' "$CC_ERR"
	grep '^connclose: ' "$CC_OUT" | grep -v '^connclose: t=' | sed 's/^/  /'
	return 0
}

cc_run() {
	local name=$1 secs=$2
	shift 2
	# DPW_QUEUES=N: over N engines, a lane each (DPW_STEERING=MODE: --steering MODE).
	cc_launch "$CONNCLOSE" "$DPW_NS_STACK" --iface "$DPW_IF_STACK" \
		--ip "$DPW_IP_STACK/$DPW_PREFIX" \
		${DPW_IP6_STACK:+--ip6 "$DPW_IP6_STACK/$DPW_PREFIX6"} \
		${DPW_QUEUES:+--queues "$DPW_QUEUES"} ${DPW_STEERING:+--steering "$DPW_STEERING"} "$@"
	cc_wait "$name" "$secs"
}

cc_get() {
	local line
	line=$(grep -E '^connclose: (cycles|done)=?' "$CC_OUT" | tr '\n' ' ')
	stat_get "$line" "$1"
}

cc_check_clean() {
	local final wsk
	final=$(grep '^dpwsk: stats ' "$CC_OUT" | tail -n1)
	wsk=$(grep '^dpwsk: wsk ' "$CC_OUT" | tail -n1)
	if [ -n "$final" ]; then
		assert_eq "$1-mbuf-in-use-0" 0 "$(stat_get "$final" mbuf_in_use)"
		assert_eq "$1-tcp-pcbs-0" 0 "$(stat_get "$final" tcp_pcbs)"
	else
		fail "$1-final-stats" "no final stats line"
	fi
	if [ -n "$wsk" ]; then
		assert_eq "$1-sockets-open-0" 0 "$(stat_get "$wsk" sockets_open)"
	else
		fail "$1-wsk-stats" "no wsk stats line"
	fi
	if [ -e "$DPW_RUNDIR/dpwsk-$CC_PID" ]; then
		fail "$1-no-runtime-dir" "$DPW_RUNDIR/dpwsk-$CC_PID left behind"
	else
		pass "$1-no-runtime-dir"
	fi
}
