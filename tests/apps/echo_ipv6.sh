#!/bin/bash
# echo_ipv6: dpwsk-echo with --ip6 serves IPv6 as well as IPv4, on the same ports, with
# AF_INET6 sockets of its own (four sockets: a TCP listener and a UDP socket per family).
# From the peer namespace, Linux's nc -6 (netcat-openbsd):
#   TCP: a line; 1 MiB of random bytes back sha256-identical; 10 clients at once, each
#        getting exactly its own line; and an IPv4 line in the same run (both families).
#   UDP: datagrams back to their sender, in order and whole (short ones and one of 1401
#        bytes: 1449 with the IPv6 and UDP headers, one frame); nc -6 -u's socket is
#        connected to [2001:2::2]:7, so a reply from any other address or port would not
#        reach it. Then one IPv4 datagram.
# Afterwards the server is back to its four sockets, no connection, every mbuf back.
#   DPW_TOPO_IPV6=1 scripts/netns.sh run tests/apps/echo_ipv6.sh   (or run it directly)
export DPW_TOPO_IPV6=1
. "$(dirname "$0")/apps_lib.sh"
dpw_init nc sha256sum head base64 ss
STACK_PROG=$DPW_ECHO
[ -x "$STACK_PROG" ] || fatal build "$STACK_PROG not built"
[ -n "${DPW_IP6_STACK:-}" ] || fatal topology "no IPv6 topology (netns.sh without DPW_TOPO_IPV6=1?)"

stack_start
ready=$(grep '^dpwsk: ready ' "$STACK_OUT")
assert_eq ready-ip6 "$DPW_IP6_STACK" "$(sed -n 's/.* ip6=\([^ ]*\).*/\1/p' <<<"$ready")"
grep -q ' echo tcp=7 udp=7 ipv6=on\( queues=[0-9]*\)\?$' <<<"$ready" && pass ready-ipv6-on ||
	fail ready-ipv6-on "ready line: $ready"
app_stats || fatal stats "no stats block"
idle_mbufs=$(stats_get mbuf_in_use)
# 0.0.0.0:7 and [::]:7, TCP and UDP each.
assert_eq idle-sockets-open 4 "$(wsk_get sockets_open)"

# --- TCP ---------------------------------------------------------------------------------------

# 1. One line: nc -N sends it, half-closes, and reads until the server's FIN.
line="hello over IPv6 $RANDOM$RANDOM"
got=$(echo "$line" | peer timeout 10 nc -6 -N "$DPW_IP6_STACK" 7)
assert_eq tcp6-line-nc-status 0 "$?"
assert_eq tcp6-line-echoed "$line" "$got"

# 2. 1 MiB of random bytes: many windows' worth, paced by the echo's hold bound.
head -c $((1024 * 1024)) /dev/urandom >"$DPW_TMP/big.in"
peer timeout 60 nc -6 -N "$DPW_IP6_STACK" 7 <"$DPW_TMP/big.in" >"$DPW_TMP/big.out"
assert_eq tcp6-big-nc-status 0 "$?"
assert_eq tcp6-big-size "$(stat -c %s "$DPW_TMP/big.in")" "$(stat -c %s "$DPW_TMP/big.out")"
assert_eq tcp6-big-sha256 "$(sha "$DPW_TMP/big.in")" "$(sha "$DPW_TMP/big.out")"

# 3. 10 clients connected at the same time (each holds its input open until the go file
#    appears), each must get exactly its own line back.
N=10
go=$DPW_TMP/go
# shellcheck disable=SC2016
client='{ echo "$1"; for ((i = 0; i < 600; i++)); do [ -e "$2" ] && break; sleep 0.05; done; } |
	timeout 60 nc -6 -N "$3" 7'
pids=()
for ((k = 1; k <= N; k++)); do
	peer_bg bash -c "$client" _ "v6 client $k of $N: $RANDOM$RANDOM" "$go" "$DPW_IP6_STACK" \
		>"$DPW_TMP/c$k.out" 2>"$DPW_TMP/c$k.err" </dev/null
	pids+=("$PEER_PID")
done
if app_stats_until 30 '[ "$(echo_get conns)" -ge $N ]'; then
	pass tcp6-concurrent-connected "$(echo_get conns) connections open at once"
else
	fail tcp6-concurrent-connected "server saw $(echo_get conns) of $N connections"
fi
touch "$go"
ok=0
bad=
for ((k = 1; k <= N; k++)); do
	if dpw_wait_exit "${pids[$((k - 1))]}" 60 && [ "$DPW_RC" = 0 ] &&
		grep -q "^v6 client $k of $N: [0-9]*\$" "$DPW_TMP/c$k.out" &&
		[ "$(wc -l <"$DPW_TMP/c$k.out")" = 1 ]; then
		ok=$((ok + 1))
	else
		bad+="#$k(status ${DPW_RC:-running}, got '$(head -c 40 "$DPW_TMP/c$k.out")') "
		dpw_kill "${pids[$((k - 1))]}"
	fi
done
if [ "$ok" -eq $N ]; then
	pass tcp6-concurrent-echoed "$N of $N"
else
	fail tcp6-concurrent-echoed "expected $N of $N, saw $ok; failed: $bad"
fi

# 4. IPv4 still served by the same process.
line4="hello over IPv4 $RANDOM$RANDOM"
got=$(echo "$line4" | peer timeout 10 nc -4 -N "$DPW_IP_STACK" 7)
assert_eq tcp4-line-nc-status 0 "$?"
assert_eq tcp4-line-echoed "$line4" "$got"

# --- UDP ---------------------------------------------------------------------------------------

# nc reads the fifo; each line written (and waited for) is one read, hence one datagram.
mkfifo "$DPW_TMP/udp.in"
: >"$DPW_TMP/udp.out"
exec 7<>"$DPW_TMP/udp.in"
peer_bg timeout 60 nc -6 -u -q 0 "$DPW_IP6_STACK" 7 <"$DPW_TMP/udp.in" >"$DPW_TMP/udp.out" 7>&-
nc_pid=$PEER_PID
big=$(head -c 1050 /dev/urandom | base64 -w0)   # 1400 characters, one line
msgs=("v6 datagram one $RANDOM" "v6 datagram two $RANDOM" "$big" "v6 datagram four $RANDOM")
bytes=0
for ((k = 0; k < ${#msgs[@]}; k++)); do
	m=${msgs[$k]}
	bytes=$((bytes + ${#m} + 1))
	echo "$m" >&7
	if wait_file_grep "$DPW_TMP/udp.out" "^$m\$" 10; then
		pass "udp6-datagram-$((k + 1))-echoed" "${#m} + 1 bytes"
	else
		fail "udp6-datagram-$((k + 1))-echoed" "no reply within 10 s"
	fi
done
exec 7>&-
if [ "$(printf '%s\n' "${msgs[@]}")" = "$(cat "$DPW_TMP/udp.out")" ]; then
	pass udp6-replies-in-order "${#msgs[@]} lines, nothing else"
else
	fail udp6-replies-in-order "nc got $(wc -l <"$DPW_TMP/udp.out") lines: $(head -c 200 "$DPW_TMP/udp.out")"
fi
if dpw_wait_exit "$nc_pid" 10; then
	pass udp6-nc-exit
else
	dpw_kill "$nc_pid"
	fail udp6-nc-exit "nc -6 -u still running 10 s after its input ended"
fi

# One IPv4 datagram: the AF_INET socket still answers.
m4="v4 datagram $RANDOM"
got=$(echo "$m4" | peer timeout 10 nc -4 -u -w 2 "$DPW_IP_STACK" 7)
assert_eq udp4-datagram-echoed "$m4" "$got"
bytes=$((bytes + ${#m4} + 1))

# --- the end -----------------------------------------------------------------------------------

if app_stats_until 10 '[ "$(wsk_get sockets_open)" = 4 ] && [ "$(echo_get conns)" = 0 ] &&
	[ "$(stats_get mbuf_in_use)" -le "$idle_mbufs" ]'; then
	pass after-all-released "$(echo_state)"
else
	fail after-all-released "$(echo_state) (idle mbufs: $idle_mbufs)"
fi
echo "echo server: $ECHO"
assert_eq accepted-all $((1 + 1 + N + 1)) "$(echo_get accepted)"
assert_eq udp-datagrams $((${#msgs[@]} + 1)) "$(echo_get udp_datagrams)"
assert_eq udp-bytes "$bytes" "$(echo_get udp_bytes)"
assert_eq udp-dropped 0 "$(echo_get udp_dropped)"
assert_eq tx-dropped 0 "$(stats_get tx_dropped)"

stack_stop
dpw_finish
