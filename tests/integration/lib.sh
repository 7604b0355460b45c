# Helpers for the integration tests: a dpwsk program (dpwsk-rawecho unless STACK_PROG
# names another) in one network namespace, Linux tools in the other (scripts/netns.sh
# builds the topology). Source it, then call dpw_init:
#
#   . "$(dirname "$0")/lib.sh"
#   dpw_init TOOL...      skip (77) unless root and TOOLs exist; enter a fresh topology
#                         through scripts/netns.sh if not already inside one; temp dir + trap
#   stack_start [ARGS]    start $STACK_PROG (default dpwsk-rawecho) on DPW_IF_STACK (with
#                         --ip6 too when the topology has IPv6: DPW_IP6_STACK), wait for
#                         its ready line (any dpwsk program prints one)
#   stack_stats           SIGUSR1, wait for the new stats line, print it
#   stat_get LINE KEY     one value of a stats line
#   stack_stop            SIGTERM, bounded wait, check status 0, mbuf_in_use=0, no EAL files
#   peer CMD...           run CMD in the peer namespace
#   peer_bg CMD...        the same in the background: PEER_PID is CMD's own PID, tracked
#   capture_start ARGS    tcpdump -n -l -U ARGS on DPW_IF_PEER into CAPTURE (text), running
#   holder_start MODE     a Python TCP client in the peer namespace holding a connection to
#                         the echo port open ("idle": one echoed line; "stall": never reads,
#                         so the stack ends up holding data); holder_reset_wait
#   pass/fail/fatal/assert_eq/assert_ge, dpw_finish
#
# Every check prints "PASS: test/check" or "FAIL: test/check: reason"; the test exits 0 only
# if every check passed, 77 if it cannot run here (not root, a tool missing).
# Every wait is bounded in count and time; the trap stops only the PIDs this test started.

DPW_TEST=$(basename "$0" .sh)
DPW_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DPW_SRC=${DPW_SRC:-$(cd "$DPW_LIB_DIR/../.." && pwd)}
DPW_BUILD=${DPW_BUILD:-$DPW_SRC/build}
DPW_RAWECHO=$DPW_BUILD/apps/rawecho/dpwsk-rawecho
STACK_PROG=${STACK_PROG:-$DPW_RAWECHO}   # the dpwsk program stack_start runs
DPW_RUNDIR=/var/run/dpdk

DPW_FAILS=0
DPW_CHECKS=0
DPW_PIDS=()        # every background process this test started, until reaped
DPW_TMP=
STACK_PID=
STACK_OUT=
STACK_ERR=
STACK_RC=
STACK_FINAL=
STACK_MAC=
STACK_N=0

# --- reporting -----------------------------------------------------------------------------

pass() {
	DPW_CHECKS=$((DPW_CHECKS + 1))
	echo "PASS: $DPW_TEST/$1${2:+ ($2)}"
}

fail() {
	DPW_CHECKS=$((DPW_CHECKS + 1))
	DPW_FAILS=$((DPW_FAILS + 1))
	echo "FAIL: $DPW_TEST/$1: $2"
}

# A failure the rest of the test cannot go on from.
fatal() {
	fail "$1" "$2"
	[ -n "$STACK_ERR" ] && [ -s "$STACK_ERR" ] && sed 's/^/  stack stderr: /' "$STACK_ERR"
	exit 1
}

# assert_eq NAME EXPECTED SEEN
assert_eq() {
	if [ "$2" = "$3" ]; then
		pass "$1" "$3"
	else
		fail "$1" "expected '$2', saw '$3'"
	fi
}

# assert_ge NAME MIN SEEN (integers)
assert_ge() {
	if [[ "$3" =~ ^-?[0-9]+$ ]] && [ "$3" -ge "$2" ]; then
		pass "$1" "$3 >= $2"
	else
		fail "$1" "expected >= $2, saw '$3'"
	fi
}

dpw_finish() {
	if [ "$DPW_CHECKS" -eq 0 ]; then
		echo "FAIL: $DPW_TEST: no checks ran"
		exit 1
	fi
	if [ "$DPW_FAILS" -ne 0 ]; then
		echo "$DPW_TEST: $DPW_FAILS of $DPW_CHECKS checks failed"
		exit 1
	fi
	echo "$DPW_TEST: all $DPW_CHECKS checks passed"
	exit 0
}

skip() {
	echo "SKIP: $DPW_TEST: $1"
	exit 77
}

# --- processes ---------------------------------------------------------------------------------

# Running (not exited, not a zombie waiting to be reaped)?
dpw_alive() {
	local st
	st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

dpw_track() { DPW_PIDS+=("$1"); }

dpw_untrack() {
	local p keep=()
	for p in "${DPW_PIDS[@]}"; do
		[ "$p" = "$1" ] || keep+=("$p")
	done
	DPW_PIDS=("${keep[@]}")
}

# dpw_wait_exit PID SECONDS: wait (bounded) for a child started by this test to exit; 0 and
# its status in DPW_RC, or 1 if it is still running at the deadline.
dpw_wait_exit() {
	local pid=$1 i n=$(($2 * 20))
	DPW_RC=
	for ((i = 0; i < n; i++)); do
		dpw_alive "$pid" || break
		sleep 0.05
	done
	dpw_alive "$pid" && return 1
	wait "$pid" 2>/dev/null
	DPW_RC=$?
	dpw_untrack "$pid"
	return 0
}

# Stop one of our children: SIGTERM, a bounded grace period, then SIGKILL.
dpw_kill() {
	local pid=$1
	dpw_alive "$pid" && kill -TERM "$pid" 2>/dev/null
	if ! dpw_wait_exit "$pid" 5; then
		kill -KILL "$pid" 2>/dev/null
		dpw_wait_exit "$pid" 5 || true
	fi
}

dpw_cleanup() {
	local p
	for p in "${DPW_PIDS[@]}"; do
		dpw_kill "$p"
	done
	[ -n "$DPW_TMP" ] && rm -rf "$DPW_TMP"
}

# --- set-up --------------------------------------------------------------------------------------

# dpw_init TOOL...: the checks that decide "cannot run here" (77), then the topology.
dpw_init() {
	local t
	[ "$(id -u)" = 0 ] || skip "needs root (network namespaces, AF_PACKET)"
	for t in ip ethtool sed awk timeout "$@"; do
		command -v "$t" >/dev/null 2>&1 || skip "'$t' is not installed (see scripts/setup.sh)"
	done
	if [ ! -x "$STACK_PROG" ]; then
		echo "FAIL: $DPW_TEST: $STACK_PROG not built (ninja -C $DPW_BUILD)"
		exit 1
	fi
	# Run directly (meson): re-enter through netns.sh, which builds a fresh topology for this
	# test and tears it down afterwards. Run through netns.sh: the topology is in the env.
	if [ -z "${DPW_NS_STACK:-}" ]; then
		export DPW_BUILD
		exec bash "$DPW_SRC/scripts/netns.sh" run bash "$0"
	fi
	for t in DPW_NS_STACK DPW_NS_PEER DPW_IF_STACK DPW_IF_PEER DPW_IP_STACK DPW_IP_PEER \
		DPW_PREFIX DPW_MAC_STACK DPW_MAC_PEER; do
		[ -n "${!t:-}" ] || { echo "FAIL: $DPW_TEST: $t not set (run via scripts/netns.sh)"; exit 1; }
	done
	DPW_TMP=$(mktemp -d "${TMPDIR:-/tmp}/dpw-$DPW_TEST.XXXXXX") || exit 1
	trap dpw_cleanup EXIT
	trap 'echo "FAIL: $DPW_TEST: interrupted"; exit 130' INT TERM
}

peer() { ip netns exec "$DPW_NS_PEER" "$@"; }

# Not "peer CMD &": that backgrounds a subshell, and its PID is not CMD's. ip netns exec
# execs CMD, so here $! is CMD itself, which the trap can stop. Redirections given to peer_bg
# apply; "<&0" keeps the caller's stdin (bash gives background jobs /dev/null otherwise).
peer_bg() {
	ip netns exec "$DPW_NS_PEER" "$@" <&0 &
	PEER_PID=$!
	dpw_track "$PEER_PID"
}

# capture_start TCPDUMP-ARGS: a capture on the peer's interface, text in $CAPTURE, PID in
# CAPTURE_PID; returns once tcpdump reports "listening on" (its socket is open), at most 10 s.
capture_start() {
	local i
	CAPTURE=$DPW_TMP/capture.txt
	: >"$CAPTURE"
	: >"$DPW_TMP/capture.err"
	peer_bg tcpdump -i "$DPW_IF_PEER" -n -l -U "$@" >"$CAPTURE" 2>"$DPW_TMP/capture.err"
	CAPTURE_PID=$PEER_PID
	for ((i = 0; i < 200; i++)); do
		grep -q 'listening on' "$DPW_TMP/capture.err" && return 0
		dpw_alive "$CAPTURE_PID" || break
		sleep 0.05
	done
	fatal capture "tcpdump did not start: $(cat "$DPW_TMP/capture.err")"
}

# capture_wait PATTERN SECONDS: wait (bounded) until a line of the capture matches (grep).
capture_wait() {
	local i n=$(($2 * 20))
	for ((i = 0; i < n; i++)); do
		grep -q -- "$1" "$CAPTURE" && return 0
		sleep 0.05
	done
	grep -q -- "$1" "$CAPTURE"
}

# --- the stack -------------------------------------------------------------------------------------

# stack_start [ARGS]: $STACK_PROG on the stack side, stdout/stderr to files in DPW_TMP; returns
# once the ready line is there (an event, polled with a 20 s bound), else the test fails.
stack_start() {
	local i line
	STACK_N=$((STACK_N + 1))
	STACK_OUT=$DPW_TMP/stack$STACK_N.out
	STACK_ERR=$DPW_TMP/stack$STACK_N.err
	STACK_FINAL=
	STACK_RC=
	: >"$STACK_OUT"   # exists before the first poll below
	# ip netns exec execs the program: $! is its own PID (its EAL file prefix too). An IPv6
	# topology (netns.sh with DPW_TOPO_IPV6=1) gives the stack its IPv6 address as well.
	# DPW_QUEUES=N (dpwsk-rawecho, -host, -echo, -httpd): N engines on N queue pairs, one
	# thread each; DPW_STEERING=MODE steers them so (--steering).
	local queues=()
	[ -n "${DPW_QUEUES:-}" ] && case $STACK_PROG in "$DPW_RAWECHO" | */dpwsk-host | */dpwsk-echo | */dpwsk-httpd)
		queues=(--queues "$DPW_QUEUES" ${DPW_STEERING:+--steering "$DPW_STEERING"}) ;; esac
	ip netns exec "$DPW_NS_STACK" "$STACK_PROG" --iface "$DPW_IF_STACK" \
		--ip "$DPW_IP_STACK/$DPW_PREFIX" \
		${DPW_IP6_STACK:+--ip6 "$DPW_IP6_STACK/$DPW_PREFIX6"} "${queues[@]}" "$@" \
		>"$STACK_OUT" 2>"$STACK_ERR" &
	STACK_PID=$!
	dpw_track "$STACK_PID"
	# 20 s; 60 s for several engines (DPW_QUEUES): on a loaded 2-CPU machine with other
	# polling lcores running, such a start once took 10 s where it usually takes 1.5.
	local tries=400
	[ -n "${DPW_QUEUES:-}" ] && tries=1200
	for ((i = 0; i < tries; i++)); do        # x 0.05 s
		if grep -q '^dpwsk: ready ' "$STACK_OUT"; then
			line=$(grep '^dpwsk: ready ' "$STACK_OUT")
			STACK_MAC=$(sed -n 's/.* mac=\([^ ]*\).*/\1/p' <<<"$line")
			echo "stack: pid $STACK_PID: $line"
			# Steered as asked (DPW_STEERING), so the test runs the path it is meant for.
			[ ${#queues[@]} = 0 ] || [ -z "${DPW_STEERING:-}" ] ||
				[[ "$line " == *" steering=$DPW_STEERING "* ]] ||
				fail start-steering "not steered by $DPW_STEERING: $line"
			return 0
		fi
		if ! dpw_alive "$STACK_PID"; then
			dpw_wait_exit "$STACK_PID" 1
			fatal start "$(basename "$STACK_PROG") exited with status $DPW_RC before its ready line"
		fi
		sleep 0.05
	done
	dpw_kill "$STACK_PID"
	fatal start "no ready line from $(basename "$STACK_PROG") within $((tries / 20)) s"
}

# Complete "dpwsk: stats" lines in the stack's stdout (a line being written is not counted).
stack_stats_count() {
	local n
	n=$(grep -c '^dpwsk: stats ' "$STACK_OUT")
	if [ -n "$(tail -c1 "$STACK_OUT")" ]; then
		# the last line has no newline yet: still being written
		tail -n1 "$STACK_OUT" | grep -q '^dpwsk: stats ' && n=$((n - 1))
	fi
	echo "$n"
}

# stack_stats: SIGUSR1, wait (bounded, 10 s) for one more complete stats line, print it.
# Fails (status 1, reason on stderr) if none comes; callers: s=$(stack_stats) || fatal ...
stack_stats() {
	local before i
	before=$(stack_stats_count)
	kill -USR1 "$STACK_PID" 2>/dev/null || { echo "stack_stats: stack not running" >&2; return 1; }
	for ((i = 0; i < 200; i++)); do
		if [ "$(stack_stats_count)" -gt "$before" ]; then
			grep '^dpwsk: stats ' "$STACK_OUT" | sed -n "$((before + 1))p" | sed 's/^dpwsk: stats //'
			return 0
		fi
		dpw_alive "$STACK_PID" || { echo "stack_stats: stack exited" >&2; return 1; }
		sleep 0.05
	done
	echo "stack_stats: no stats line within 10 s of SIGUSR1" >&2
	return 1
}

# stat_get LINE KEY: the value of KEY in a stats line (status 1 if absent).
# Frames the kernel dropped before any socket saw them, on every CPU (the second column of
# /proc/net/softnet_stat: a CPU's input backlog full). Machine-wide: on a machine busy with
# other veth traffic, a frame can die there on its way to dpwsk's packet socket
# (ping.sh, syn_flood.sh use it to tell the kernel's losses from dpwsk's).
softnet_drops() {
	local sum=0 line
	while read -r -a line; do sum=$((sum + 16#${line[1]})); done </proc/net/softnet_stat
	echo "$sum"
}

# assert_answered NAME N PING-OUTPUT: `ping -c N -w DEADLINE` stops once N requests are
# answered, but replies that arrive together (requests the kernel held while it resolved the
# address, sent at once) are all counted, so more than N may be: at least N answered, no more
# than were sent, no duplicates.
assert_answered() {
	local tx rx dup
	tx=$(sed -n 's/^\([0-9]\+\) packets transmitted.*/\1/p' <<<"$3")
	rx=$(sed -n 's/.* \([0-9]\+\) received.*/\1/p' <<<"$3")
	dup=$(sed -n 's/.*+\([0-9]\+\) duplicates.*/\1/p' <<<"$3")
	if [[ "$rx" =~ ^[0-9]+$ && "$tx" =~ ^[0-9]+$ ]] && [ "$rx" -ge "$2" ] &&
		[ "$rx" -le "$tx" ] && [ "${dup:-0}" = 0 ]; then
		pass "$1" "$rx answered of $tx sent"
	else
		fail "$1" "expected >= $2 answered, none twice: $(tail -n 2 <<<"$3" | head -n 1)"
	fi
}

stat_get() {
	local kv
	for kv in $1; do
		if [ "${kv%%=*}" = "$2" ]; then
			echo "${kv#*=}"
			return 0
		fi
	done
	echo "stat_get: no key '$2' in stats line" >&2
	return 1
}

# stack_stop: SIGTERM by PID, bounded wait; checks exit status 0, a final stats line with
# mbuf_in_use=0 and lwip_errors=0, and no EAL runtime directory left. The final line is in STACK_FINAL.
stack_stop() {
	local before pid=$STACK_PID
	before=$(stack_stats_count)
	kill -TERM "$pid" 2>/dev/null
	if ! dpw_wait_exit "$pid" 20; then
		dpw_kill "$pid"
		fatal stop-exit "$(basename "$STACK_PROG") still running 20 s after SIGTERM (killed)"
	fi
	STACK_RC=$DPW_RC
	assert_eq stop-exit-status 0 "$STACK_RC"
	if [ "$(stack_stats_count)" -gt "$before" ]; then
		STACK_FINAL=$(grep '^dpwsk: stats ' "$STACK_OUT" | tail -n1 | sed 's/^dpwsk: stats //')
		pass stop-final-stats
		echo "stack: final: $STACK_FINAL"
		assert_eq stop-mbuf-in-use-0 0 "$(stat_get "$STACK_FINAL" mbuf_in_use)"
		# a recovered LWIP_ERROR is still a bug (stack/arch/cc.h)
		assert_eq stop-lwip-errors-0 0 "$(stat_get "$STACK_FINAL" lwip_errors)"
	else
		fail stop-final-stats "no stats line printed after SIGTERM"
	fi
	if [ -e "$DPW_RUNDIR/dpwsk-$pid" ]; then
		fail stop-no-runtime-dir "$DPW_RUNDIR/dpwsk-$pid left behind: $(ls -A "$DPW_RUNDIR/dpwsk-$pid" | tr '\n' ' ')"
	else
		pass stop-no-runtime-dir
	fi
	if [ -s "$STACK_ERR" ]; then
		sed 's/^/  stack stderr: /' "$STACK_ERR"
	fi
	STACK_PID=
}

# --- a peer connection held open ---------------------------------------------------------------

# python3 -c "$DPW_HOLDER_PY" MODE: connect to the echo port, then
#   idle:  send one line, read it back, print "echoed"
#   stall: a 4 KiB receive buffer and never read; send until the sends stay blocked 0.3 s
#          (both windows closed: the stack holds a full receive window of mbufs), print
#          "stalled sent=N"
# then, for at most 30 s: on SIGUSR1 close with a RST (SO_LINGER 0), print "closed with RST";
# on a reset from the stack (SO_ERROR set), print "reset errno=N". Exit 0 on either.
read -r -d '' DPW_HOLDER_PY <<'PY'
import os, signal, socket, sys, time
mode = sys.argv[1]
stop = []
signal.signal(signal.SIGUSR1, lambda *a: stop.append(1))
s = socket.socket()
if mode == "stall":
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.settimeout(5)
s.connect((os.environ["DPW_IP_STACK"], 7))
if mode == "idle":
    s.sendall(b"held connection\n")
    got = b""
    while not got.endswith(b"\n"):
        b = s.recv(100)
        if not b:
            sys.exit("echo connection closed early")
        got += b
    print("echoed", flush=True)
else:
    s.setblocking(False)
    chunk, sent = b"\xa5" * 65536, 0
    now = time.monotonic()
    last, end = now, now + 10
    while sent < (8 << 20) and time.monotonic() < end:
        try:
            sent += s.send(chunk)
            last = time.monotonic()
        except BlockingIOError:
            if time.monotonic() - last > 0.3:
                break
            time.sleep(0.01)
    print("stalled sent=%d" % sent, flush=True)
end = time.monotonic() + 30
while time.monotonic() < end:
    if stop:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
        s.close()
        print("closed with RST", flush=True)
        sys.exit(0)
    err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    if err:
        print("reset errno=%d" % err, flush=True)
        sys.exit(0)
    time.sleep(0.02)
print("nothing happened in 30 s", flush=True)
sys.exit(1)
PY

# holder_start MODE: start a holder (HOLDER_PID, output in HOLDER_OUT); wait (bounded, 40 s:
# its stall mode alone may send for 10 s, and a starved machine slows it) for its
# "echoed"/"stalled" line.
holder_start() {
	local i
	HOLDER_OUT=$DPW_TMP/holder.$1.$RANDOM
	: >"$HOLDER_OUT"
	ip netns exec "$DPW_NS_PEER" python3 -c "$DPW_HOLDER_PY" "$1" >"$HOLDER_OUT" 2>&1 &
	HOLDER_PID=$!
	dpw_track "$HOLDER_PID"
	for ((i = 0; i < 800; i++)); do
		grep -qE '^(echoed|stalled)' "$HOLDER_OUT" && break
		dpw_alive "$HOLDER_PID" || break
		sleep 0.05
	done
	grep -qE '^(echoed|stalled)' "$HOLDER_OUT" ||
		fatal "holder-$1" "peer connection not set up: $(head -c 300 "$HOLDER_OUT")"
	echo "holder $1: $(head -n1 "$HOLDER_OUT")"
}

# holder_reset_wait SECONDS: wait (bounded) for the holder to exit; print its last line.
holder_reset_wait() {
	if dpw_wait_exit "$HOLDER_PID" "$1"; then
		tail -n1 "$HOLDER_OUT"
	else
		dpw_kill "$HOLDER_PID"
		echo "no reset within $1 s"
	fi
}
