#!/bin/bash
# cat_ipv6: dpwsk-cat over IPv6 (--ip6 2001:2::2) against Linux's nc -6 (netcat-openbsd):
#   1. TCP, dpwsk-cat [2001:2::1]:5000 -> nc -6 -l: 1 MB each way, sha256-checked.
#   2. TCP, nc -6 -> dpwsk-cat --listen [::]:5001: the same.
#   3. TCP, nothing listens on [2001:2::1]:5999: the peer kernel's RST, "connection refused".
#   4. UDP, dpwsk-cat --udp [2001:2::1]:9000 -> nc -6 -u -l, and nc's reply back.
#   5. UDP, nc -6 -u -> dpwsk-cat --udp --listen [::]:9001, and the reply to that sender.
# Each run ends with the expected status, one error line exactly when it fails, every mbuf
# back and no EAL files (cat_end).
#   DPW_TOPO_IPV6=1 scripts/netns.sh run tests/apps/cat_ipv6.sh   (or run it directly)
export DPW_TOPO_IPV6=1
. "$(dirname "$0")/apps_lib.sh"
dpw_init nc sha256sum head ss
[ -x "$DPW_CAT" ] || fatal build "$DPW_CAT not built"
[ -n "${DPW_IP6_STACK:-}" ] || fatal topology "no IPv6 topology (netns.sh without DPW_TOPO_IPV6=1?)"

SIZE=$((1000 * 1000))
head -c $SIZE /dev/urandom >"$DPW_TMP/up.in"     # dpwsk-cat -> nc
head -c $SIZE /dev/urandom >"$DPW_TMP/down.in"   # nc -> dpwsk-cat

# 1. dpwsk-cat [V6]:PORT -> nc -6 -l (which quits once it reads the end of the stream: our
#    input, a fifo, stays open until nc's bytes have all arrived).
peer_bg timeout 60 nc -6 -l -N "$DPW_IP6_PEER" 5000 <"$DPW_TMP/down.in" >"$DPW_TMP/up.out"
nc_pid=$PEER_PID
wait_listen tcp 5000 || fatal connect-nc-listening "nc -6 -l did not listen"
mkfifo "$DPW_TMP/cat.in"
exec 7<>"$DPW_TMP/cat.in"
cat_bg "$DPW_TMP/cat.in" "$DPW_TMP/down.out" "[$DPW_IP6_PEER]:5000"
cat_ready connect || fatal connect-ready "see above"
grep -q "^dpwsk: ready .* cat connect tcp \[$DPW_IP6_PEER\]:5000\$" "$CAT_ERR" &&
	pass connect-ready-line || fail connect-ready-line "$(grep '^dpwsk: ready' "$CAT_ERR")"
timeout 60 cat "$DPW_TMP/up.in" >&7
assert_eq connect-stdin-written 0 "$?"
if wait_file_size "$DPW_TMP/down.out" $SIZE 60; then
	pass connect-received-all
else
	fail connect-received-all "$(stat -c %s "$DPW_TMP/down.out") of $SIZE bytes from nc"
fi
exec 7>&-
cat_end connect 60 0
if dpw_wait_exit "$nc_pid" 30; then
	assert_eq connect-nc-status 0 "$DPW_RC"
else
	dpw_kill "$nc_pid"
	fail connect-nc-status "nc -6 -l still running 30 s after dpwsk-cat ended"
fi
assert_eq connect-sha256-up "$(sha "$DPW_TMP/up.in")" "$(sha "$DPW_TMP/up.out")"
assert_eq connect-sha256-down "$(sha "$DPW_TMP/down.in")" "$(sha "$DPW_TMP/down.out")"

# 2. nc -6 -> dpwsk-cat --listen [::]:5001.
rm -f "$DPW_TMP/up.out" "$DPW_TMP/down.out"
cat_bg "$DPW_TMP/down.in" "$DPW_TMP/up.out" --listen "[::]:5001"
cat_ready listen || fatal listen-ready "see above"
peer_bg timeout 60 nc -6 -N "$DPW_IP6_STACK" 5001 <"$DPW_TMP/up.in" >"$DPW_TMP/down.out"
nc_pid=$PEER_PID
cat_end listen 60 0
if dpw_wait_exit "$nc_pid" 30; then
	assert_eq listen-nc-status 0 "$DPW_RC"
else
	dpw_kill "$nc_pid"
	fail listen-nc-status "nc -6 still running 30 s after dpwsk-cat ended"
fi
assert_eq listen-sha256-up "$(sha "$DPW_TMP/up.in")" "$(sha "$DPW_TMP/up.out")"
assert_eq listen-sha256-down "$(sha "$DPW_TMP/down.in")" "$(sha "$DPW_TMP/down.out")"

# 3. Nothing listens: the peer's kernel answers the SYN with a RST.
cat_bg /dev/null "$DPW_TMP/refused.out" "[$DPW_IP6_PEER]:5999"
cat_end refused 30 1
assert_eq refused-message 1 "$(grep -c 'error: connection refused$' "$CAT_ERR")"

# 4. dpwsk-cat --udp [V6]:PORT -> nc -6 -u -l, and nc's answer back to that sender.
mkfifo "$DPW_TMP/nc.in" "$DPW_TMP/cat.udp.in"
: >"$DPW_TMP/nc.out"
: >"$DPW_TMP/cat.out"
exec 7<>"$DPW_TMP/nc.in"
peer_bg timeout 60 nc -6 -u -l -q 0 "$DPW_IP6_PEER" 9000 <"$DPW_TMP/nc.in" >"$DPW_TMP/nc.out" 7>&-
nc_pid=$PEER_PID
wait_listen udp 9000 || fatal send-nc-listening "nc -6 -u -l did not bind"
exec 8<>"$DPW_TMP/cat.udp.in"
cat_bg "$DPW_TMP/cat.udp.in" "$DPW_TMP/cat.out" --udp --wait 100 "[$DPW_IP6_PEER]:9000"
cat_ready send || fatal send-ready "see above"
msg="v6 datagram from dpwsk-cat $RANDOM"
echo "$msg" >&8
if wait_file_grep "$DPW_TMP/nc.out" "^$msg\$" 10; then
	pass udp-send-delivered
else
	fail udp-send-delivered "nc -6 -u -l got '$(head -c 100 "$DPW_TMP/nc.out")'"
fi
reply="v6 reply from nc $RANDOM"
echo "$reply" >&7
if wait_file_grep "$DPW_TMP/cat.out" "^$reply\$" 10; then
	pass udp-send-reply-received
else
	fail udp-send-reply-received "dpwsk-cat wrote '$(head -c 100 "$DPW_TMP/cat.out")'"
fi
exec 8>&-
cat_end udp-send 30 0
assert_eq udp-send-stdout-exact "$reply" "$(cat "$DPW_TMP/cat.out")"
exec 7>&-
dpw_wait_exit "$nc_pid" 10 || dpw_kill "$nc_pid"

# 5. nc -6 -u -> dpwsk-cat --udp --listen [::]:9001, which answers that sender.
rm -f "$DPW_TMP/nc.in" "$DPW_TMP/cat.udp.in"
mkfifo "$DPW_TMP/nc.in" "$DPW_TMP/cat.udp.in"
: >"$DPW_TMP/nc.out"
: >"$DPW_TMP/cat.out"
exec 8<>"$DPW_TMP/cat.udp.in"
cat_bg "$DPW_TMP/cat.udp.in" "$DPW_TMP/cat.out" --udp --listen "[::]:9001" --wait 100
cat_ready udp-listen || fatal udp-listen-ready "see above"
exec 7<>"$DPW_TMP/nc.in"
peer_bg timeout 60 nc -6 -u -q 0 "$DPW_IP6_STACK" 9001 <"$DPW_TMP/nc.in" >"$DPW_TMP/nc.out" 7>&- 8>&-
nc_pid=$PEER_PID
msg="v6 datagram from nc $RANDOM"
echo "$msg" >&7
if wait_file_grep "$DPW_TMP/cat.out" "^$msg\$" 10; then
	pass udp-listen-received
else
	fail udp-listen-received "dpwsk-cat wrote '$(head -c 100 "$DPW_TMP/cat.out")'"
fi
reply="v6 reply from dpwsk-cat $RANDOM"
echo "$reply" >&8
if wait_file_grep "$DPW_TMP/nc.out" "^$reply\$" 10; then
	pass udp-listen-reply-delivered
else
	fail udp-listen-reply-delivered "nc -6 -u got '$(head -c 100 "$DPW_TMP/nc.out")'"
fi
exec 8>&-
cat_end udp-listen 30 0
exec 7>&-
dpw_wait_exit "$nc_pid" 10 || dpw_kill "$nc_pid"

dpw_finish
