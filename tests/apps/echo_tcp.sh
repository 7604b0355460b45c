#!/bin/bash
# echo_tcp: dpwsk-echo over TCP against Linux's nc (netcat-openbsd): a line; 4 MiB of random
# bytes back sha256-identical; 50 nc clients connected at the same time, each with its own
# line. Afterwards the server holds only its two sockets, no connection, and every mbuf it
# took is back.
#   scripts/netns.sh run tests/apps/echo_tcp.sh   (or run it directly)
. "$(dirname "$0")/apps_lib.sh"
dpw_init nc sha256sum head ss
STACK_PROG=$DPW_ECHO
[ -x "$STACK_PROG" ] || fatal build "$STACK_PROG not built"

stack_start
app_stats || fatal stats "no stats block"
idle_mbufs=$(stats_get mbuf_in_use)
assert_eq idle-sockets-open 2 "$(wsk_get sockets_open)"   # the TCP listener and the UDP socket

# 1. One line: nc -N sends it, half-closes, and reads until the server's FIN.
line="hello dpwsk-echo $RANDOM$RANDOM"
got=$(echo "$line" | peer timeout 10 nc -N "$DPW_IP_STACK" 7)
assert_eq line-nc-status 0 "$?"
assert_eq line-echoed "$line" "$got"

# 2. 4 MiB of random bytes: far more than the windows and the per-connection hold bound, so
#    the echo paces the sender (how often: "held" in the echo line) and must lose nothing.
head -c $((4 * 1024 * 1024)) /dev/urandom >"$DPW_TMP/big.in"
start=$(date +%s.%N)
peer timeout 60 nc -N "$DPW_IP_STACK" 7 <"$DPW_TMP/big.in" >"$DPW_TMP/big.out"
rc=$?
end=$(date +%s.%N)
assert_eq big-nc-status 0 "$rc"
assert_eq big-size "$(stat -c %s "$DPW_TMP/big.in")" "$(stat -c %s "$DPW_TMP/big.out")"
assert_eq big-sha256 "$(sha "$DPW_TMP/big.in")" "$(sha "$DPW_TMP/big.out")"
echo "4 MiB echoed in $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }') s"

# 3. 50 clients at once. Each sends its line and then keeps its input open until the go file
#    appears, so all 50 are connected together (the server must count 50 connections); then
#    each half-closes and must get exactly its own line back.
N=50
go=$DPW_TMP/go
# shellcheck disable=SC2016
client='{ echo "$1"; for ((i = 0; i < 600; i++)); do [ -e "$2" ] && break; sleep 0.05; done; } |
	timeout 60 nc -N "$3" 7'
pids=()
for ((k = 1; k <= N; k++)); do
	peer_bg bash -c "$client" _ "client $k of $N: $RANDOM$RANDOM" "$go" "$DPW_IP_STACK" \
		>"$DPW_TMP/c$k.out" 2>"$DPW_TMP/c$k.err" </dev/null
	pids+=("$PEER_PID")
done
if app_stats_until 30 '[ "$(echo_get conns)" -ge $N ]'; then
	pass concurrent-50-connected "$(echo_get conns) connections open at once"
else
	fail concurrent-50-connected "server saw $(echo_get conns) of $N connections"
fi
touch "$go"
ok=0
bad=
for ((k = 1; k <= N; k++)); do
	if dpw_wait_exit "${pids[$((k - 1))]}" 60 && [ "$DPW_RC" = 0 ] &&
		grep -q "^client $k of $N: [0-9]*\$" "$DPW_TMP/c$k.out" &&
		[ "$(wc -l <"$DPW_TMP/c$k.out")" = 1 ]; then
		ok=$((ok + 1))
	else
		bad+="#$k(status ${DPW_RC:-running}, got '$(head -c 40 "$DPW_TMP/c$k.out")') "
		dpw_kill "${pids[$((k - 1))]}"
	fi
done
if [ "$ok" -eq $N ]; then
	pass concurrent-50-echoed "$N of $N"
else
	fail concurrent-50-echoed "expected $N of $N, saw $ok; failed: $bad"
fi

# 4. Everything given back: the server closes each connection after its FIN exchange.
if app_stats_until 10 '[ "$(wsk_get sockets_open)" = 2 ] && [ "$(echo_get conns)" = 0 ] &&
	[ "$(stats_get mbuf_in_use)" -le "$idle_mbufs" ]'; then
	pass after-all-released "$(echo_state)"
else
	fail after-all-released "$(echo_state) (idle mbufs: $idle_mbufs)"
fi
assert_eq accepted-all $((1 + 1 + N)) "$(echo_get accepted)"
# 5. Over several engines (DPW_QUEUES=N): the listener is spread, and each lane took
#    connections of its own (52 flows hashed over N lanes: none empty but by a 2^-51 chance).
for ((q = 0; q < ${DPW_QUEUES:-0}; q++)); do
	lane=$(grep "^dpwsk: lane $q echo " "$STACK_OUT" | tail -n1)
	n=$(sed -n 's/.* accepted=\([0-9]*\).*/\1/p' <<<"$lane")
	assert_ge "lane-$q-accepted" 1 "${n:-0}"
done
echo "echo server: $ECHO"
assert_eq tx-dropped 0 "$(stats_get tx_dropped)"

stack_stop
dpw_finish
