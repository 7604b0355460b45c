#!/bin/bash
# echo_udp: dpwsk-echo over UDP against Linux's nc -u: datagrams come back to their sender,
# one by one, whole: short lines, and one of 1401 bytes (a full frame). nc -u's socket is
# connected to 198.18.0.2:7, so a reply from any other address or port would not reach it.
# Not fragmented datagrams: on this topology the kernel reassembles fragments before
# net_af_packet sees them (its PACKET_FANOUT_FLAG_DEFRAG), and cuts the result at the PMD's
# 2048-byte frame, so the stack gets a truncated datagram that no program could echo.
#   scripts/netns.sh run tests/apps/echo_udp.sh   (or run it directly)
. "$(dirname "$0")/apps_lib.sh"
dpw_init nc head base64
STACK_PROG=$DPW_ECHO
[ -x "$STACK_PROG" ] || fatal build "$STACK_PROG not built"

stack_start

# nc reads the fifo; each line written (and waited for) is one read, hence one datagram.
mkfifo "$DPW_TMP/udp.in"
: >"$DPW_TMP/udp.out"
exec 7<>"$DPW_TMP/udp.in"
peer_bg timeout 60 nc -u -q 0 "$DPW_IP_STACK" 7 <"$DPW_TMP/udp.in" >"$DPW_TMP/udp.out" 7>&-
nc_pid=$PEER_PID

big=$(head -c 1050 /dev/urandom | base64 -w0)   # 1400 characters, one line
msgs=("datagram one $RANDOM" "datagram two $RANDOM" "$big" "datagram four $RANDOM")
bytes=0
for ((k = 0; k < ${#msgs[@]}; k++)); do
	m=${msgs[$k]}
	bytes=$((bytes + ${#m} + 1))
	echo "$m" >&7
	if wait_file_grep "$DPW_TMP/udp.out" "^$m\$" 10; then
		pass "datagram-$((k + 1))-echoed" "${#m} + 1 bytes"
	else
		fail "datagram-$((k + 1))-echoed" "no reply within 10 s"
	fi
done
exec 7>&-
assert_eq replies-in-order "$(printf '%s\n' "${msgs[@]}")" "$(cat "$DPW_TMP/udp.out")"
if dpw_wait_exit "$nc_pid" 10; then
	pass nc-exit
else
	dpw_kill "$nc_pid"
	fail nc-exit "nc -u still running 10 s after its input ended"
fi

app_stats || fatal stats "no stats block"
assert_eq udp-datagrams "${#msgs[@]}" "$(echo_get udp_datagrams)"
assert_eq udp-bytes "$bytes" "$(echo_get udp_bytes)"
assert_eq udp-dropped 0 "$(echo_get udp_dropped)"
assert_eq drop-udp 0 "$(( $(stats_get drop_udp_chksum) + $(stats_get drop_udp_other) ))"

stack_stop
dpw_finish
