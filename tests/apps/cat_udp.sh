#!/bin/bash
# cat_udp: dpwsk-cat --udp against Linux's nc -u.
#   1. dpwsk-cat --udp HOST:PORT sends a datagram to nc -u -l; nc, now talking to that
#      sender, answers with one of its own, which dpwsk-cat writes to stdout.
#   2. dpwsk-cat --udp --listen PORT receives nc -u's datagram and answers its sender.
# Each input is a fifo written line by line, and the next step waits until the other side
# has the line: what is checked is what arrived, not how fast. After its input ends
# dpwsk-cat keeps receiving for --wait ms, then exits 0.
#   scripts/netns.sh run tests/apps/cat_udp.sh   (or run it directly)
. "$(dirname "$0")/apps_lib.sh"
dpw_init nc ss
[ -x "$DPW_CAT" ] || fatal build "$DPW_CAT not built"

# 1. dpwsk-cat --udp HOST:PORT -> nc -u -l
mkfifo "$DPW_TMP/nc.in" "$DPW_TMP/cat.in"
: >"$DPW_TMP/nc.out"
: >"$DPW_TMP/cat.out"
exec 7<>"$DPW_TMP/nc.in"
peer_bg timeout 60 nc -u -l -q 0 "$DPW_IP_PEER" 9000 <"$DPW_TMP/nc.in" >"$DPW_TMP/nc.out" 7>&-
nc_pid=$PEER_PID
wait_listen udp 9000 || fatal send-nc-listening "nc -u -l did not bind"
exec 8<>"$DPW_TMP/cat.in"
cat_bg "$DPW_TMP/cat.in" "$DPW_TMP/cat.out" --udp --wait 100 "$DPW_IP_PEER:9000"
cat_ready send || fatal send-ready "see above"
msg="datagram from dpwsk-cat $RANDOM"
echo "$msg" >&8
if wait_file_grep "$DPW_TMP/nc.out" "^$msg\$" 10; then
	pass send-delivered
else
	fail send-delivered "nc -u -l got '$(head -c 100 "$DPW_TMP/nc.out")'"
fi
reply="reply from nc $RANDOM"
echo "$reply" >&7
if wait_file_grep "$DPW_TMP/cat.out" "^$reply\$" 10; then
	pass send-reply-received
else
	fail send-reply-received "dpwsk-cat wrote '$(head -c 100 "$DPW_TMP/cat.out")'"
fi
exec 8>&-
cat_end send 30 0
assert_eq send-stdout-exact "$reply" "$(cat "$DPW_TMP/cat.out")"
exec 7>&-
dpw_wait_exit "$nc_pid" 10 || dpw_kill "$nc_pid"

# 2. nc -u HOST:PORT -> dpwsk-cat --udp --listen PORT
rm -f "$DPW_TMP/nc.in" "$DPW_TMP/cat.in"
mkfifo "$DPW_TMP/nc.in" "$DPW_TMP/cat.in"
: >"$DPW_TMP/nc.out"
: >"$DPW_TMP/cat.out"
exec 8<>"$DPW_TMP/cat.in"
cat_bg "$DPW_TMP/cat.in" "$DPW_TMP/cat.out" --udp --listen 9001 --wait 100
cat_ready listen || fatal listen-ready "see above"
exec 7<>"$DPW_TMP/nc.in"
peer_bg timeout 60 nc -u -q 0 "$DPW_IP_STACK" 9001 <"$DPW_TMP/nc.in" >"$DPW_TMP/nc.out" 7>&- 8>&-
nc_pid=$PEER_PID
msg="datagram from nc $RANDOM"
echo "$msg" >&7
if wait_file_grep "$DPW_TMP/cat.out" "^$msg\$" 10; then
	pass listen-received
else
	fail listen-received "dpwsk-cat wrote '$(head -c 100 "$DPW_TMP/cat.out")'"
fi
reply="reply from dpwsk-cat $RANDOM"
echo "$reply" >&8
if wait_file_grep "$DPW_TMP/nc.out" "^$reply\$" 10; then
	pass listen-reply-delivered
else
	fail listen-reply-delivered "nc -u got '$(head -c 100 "$DPW_TMP/nc.out")'"
fi
exec 8>&-
cat_end listen 30 0
exec 7>&-
dpw_wait_exit "$nc_pid" 10 || dpw_kill "$nc_pid"

dpw_finish
