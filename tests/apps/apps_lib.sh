# shellcheck shell=bash
# Helpers for the program tests (dpwsk-echo, dpwsk-cat), on top of tests/integration/lib.sh.
# Set STACK_PROG before sourcing this file when the test's stack is a program other than
# dpwsk-rawecho; then call dpw_init as usual.
#
#   app_stats               SIGUSR1 (stack_stats), then wait for the program's whole block:
#                           sets STATS (engine), WSK (provider), ECHO (dpwsk-echo's own line)
#   app_stats_until SECS EXPR
#                           app_stats again and again until the bash EXPR (using the values
#                           the *_get helpers read) is true; bounded; 0 if it became true
#   wsk_get KEY, echo_get KEY, stats_get KEY   one value of the last block; echo_state
#   wait_listen PROTO PORT  until a socket in the peer namespace listens there (ss), bounded
#   wait_file_size FILE N SECS / wait_file_grep FILE PATTERN SECS   bounded condition waits
#   cat_bg IN OUT ARGS...   dpwsk-cat in the stack namespace, stdin IN, stdout OUT, stderr
#                           CAT_ERR; PID in CAT_PID (tracked)
# DPW_QUEUES=N: cat_bg's dpwsk-cat runs N engines, one lcore each (suite lcores2);
# DPW_STEERING=MODE gives them --steering MODE.
# Programs started by stack_start (lib.sh) and cat_bg get --ip6 $DPW_IP6_STACK/$DPW_PREFIX6 as
# well when the topology has IPv6 (netns.sh run with DPW_TOPO_IPV6=1, as the *_ipv6 tests are).
#
# Fifos as a program's input, written by the test line by line: the test holds the write end
# on fd 7 or 8, opened read-write (exec 7<>FIFO) so that the open does not wait for the
# reader; children started meanwhile get "7>&- 8>&-" (cat_bg does it), or the reader would
# hold a write end itself and never see the end of its input.
#   cat_ready               wait (20 s) for its ready line (stderr: stdout carries data)
#   cat_end NAME SECS RC    wait for it to exit; check status RC, one error line exactly when
#                           RC is not 0, a final stats line with mbuf_in_use=0, no EAL files

. "$(dirname "$0")/../integration/lib.sh"

DPW_ECHO=$DPW_BUILD/apps/echo/dpwsk-echo
DPW_CAT=$DPW_BUILD/apps/cat/dpwsk-cat
CAT_N=0

# Complete lines of one kind in the stack's stdout (a line still being written is not one).
app_count() {
	local n
	n=$(grep -c "^dpwsk: $1 " "$STACK_OUT")
	if [ -n "$(tail -c1 "$STACK_OUT")" ] && tail -n1 "$STACK_OUT" | grep -q "^dpwsk: $1 "; then
		n=$((n - 1))
	fi
	echo "$n"
}

app_stats() {
	local i n last=stats
	STATS=$(stack_stats) || return 1
	n=$(app_count stats)
	[ "$(basename "$STACK_PROG")" = dpwsk-echo ] && last="echo"
	# The provider's line (and the echo server's) follow the engine's: wait for the last one.
	for ((i = 0; i < 200; i++)); do
		[ "$(app_count "$last")" -ge "$n" ] && break
		sleep 0.05
	done
	WSK=$(grep '^dpwsk: wsk ' "$STACK_OUT" | tail -n1 | sed 's/^dpwsk: wsk //')
	ECHO=$(grep '^dpwsk: echo ' "$STACK_OUT" | tail -n1 | sed 's/^dpwsk: echo //')
	[ "$(app_count "$last")" -ge "$n" ]
}

stats_get() { stat_get "$STATS" "$1"; }
wsk_get() { stat_get "$WSK" "$1"; }
echo_get() { stat_get "$ECHO" "$1"; }

# The echo server's state in one line, from the last block (for messages).
echo_state() {
	echo "sockets_open=$(wsk_get sockets_open) conns=$(echo_get conns)" \
		"tcp_pcbs=$(stats_get tcp_pcbs) mbuf_in_use=$(stats_get mbuf_in_use)"
}

app_stats_until() {
	local i n=$(($1 * 5))
	for ((i = 0; i < n; i++)); do
		app_stats || return 1
		eval "$2" && return 0
		sleep 0.2
	done
	return 1
}

wait_listen() {
	local i flag=-Hltn
	[ "$1" = udp ] && flag=-Hlun
	for ((i = 0; i < 200; i++)); do
		[ -n "$(peer ss $flag "sport = :$2")" ] && return 0
		sleep 0.05
	done
	return 1
}

wait_file_size() {
	local i n=$(($3 * 20))
	for ((i = 0; i < n; i++)); do
		[ "$(stat -c %s "$1" 2>/dev/null || echo 0)" -ge "$2" ] && return 0
		sleep 0.05
	done
	return 1
}

wait_file_grep() {
	local i n=$(($3 * 20))
	for ((i = 0; i < n; i++)); do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

cat_bg() {
	local in=$1 out=$2
	shift 2
	CAT_N=$((CAT_N + 1))
	CAT_ERR=$DPW_TMP/cat$CAT_N.err
	: >"$CAT_ERR"
	ip netns exec "$DPW_NS_STACK" "$DPW_CAT" --iface "$DPW_IF_STACK" \
		--ip "$DPW_IP_STACK/$DPW_PREFIX" ${DPW_IP6_STACK:+--ip6 "$DPW_IP6_STACK/$DPW_PREFIX6"} \
		${DPW_QUEUES:+--queues "$DPW_QUEUES"} ${DPW_STEERING:+--steering "$DPW_STEERING"} \
		"$@" <"$in" >"$out" 2>"$CAT_ERR" 7>&- 8>&- &
	CAT_PID=$!
	dpw_track "$CAT_PID"
}

cat_ready() {
	local i
	for ((i = 0; i < 400; i++)); do
		if grep -q '^dpwsk: ready ' "$CAT_ERR"; then
			# Steered as asked (DPW_STEERING), so the test runs the path it is meant for.
			[ -z "${DPW_STEERING:-}" ] || grep -q " steering=$DPW_STEERING " "$CAT_ERR" ||
				fail "$1-steering" "not $DPW_STEERING: $(grep '^dpwsk: ready ' "$CAT_ERR")"
			return 0
		fi
		dpw_alive "$CAT_PID" || break
		sleep 0.05
	done
	fail "$1-ready" "no ready line from dpwsk-cat: $(head -c 400 "$CAT_ERR")"
	return 1
}

cat_end() {
	local name=$1 secs=$2 want=$3 final errs
	if ! dpw_wait_exit "$CAT_PID" "$secs"; then
		dpw_kill "$CAT_PID"
		fail "$name-exit" "dpwsk-cat still running after $secs s (killed)"
		sed 's/^/  dpwsk-cat stderr: /' "$CAT_ERR"
		return 1
	fi
	assert_eq "$name-exit-status" "$want" "$DPW_RC"
	# (not the stats lines, the total's or an engine's: their counters include lwip_errors=0)
	errs=$(grep -Ev '^dpwsk: (queue [0-9]+ )?stats ' "$CAT_ERR" | grep -c 'error')
	if [ "$want" = 0 ]; then
		assert_eq "$name-no-error-line" 0 "$errs"
	else
		assert_eq "$name-one-error-line" 1 "$errs"
	fi
	final=$(grep '^dpwsk: stats ' "$CAT_ERR" | tail -n1 | sed 's/^dpwsk: stats //')
	if [ -n "$final" ]; then
		assert_eq "$name-mbuf-in-use-0" 0 "$(stat_get "$final" mbuf_in_use)"
	else
		fail "$name-final-stats" "no final stats line"
	fi
	if [ -e "$DPW_RUNDIR/dpwsk-$CAT_PID" ]; then
		fail "$name-no-runtime-dir" "$DPW_RUNDIR/dpwsk-$CAT_PID left behind"
	fi
	if [ "$DPW_RC" != "$want" ] || grep -q 'ERROR\|Sanitizer' "$CAT_ERR"; then
		sed 's/^/  dpwsk-cat stderr: /' "$CAT_ERR"
	fi
}

sha() { sha256sum <"$1" | cut -d' ' -f1; }
