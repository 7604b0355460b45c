#!/bin/bash
# cat_tcp: dpwsk-cat against Linux's nc (netcat-openbsd), 10 MB of random bytes each way at
# the same time, sha256-checked, in both roles:
#   1. dpwsk-cat connects to nc -l in the peer namespace. nc -l quits as soon as it reads
#      the end of the stream, so dpwsk-cat's input (a fifo) stays open until nc's 10 MB have
#      arrived; only then does dpwsk-cat see its EOF and send its FIN.
#   2. nc connects to dpwsk-cat --listen; both read plain files, whoever ends first
#      half-closes and keeps receiving.
# Both end with exit status 0, every mbuf back, no EAL files. Then the failures: a refused
# connection, and a peer that resets mid-stream: exit 1 with one error line.
#   scripts/netns.sh run tests/apps/cat_tcp.sh   (or run it directly)
. "$(dirname "$0")/apps_lib.sh"
dpw_init nc sha256sum head ss python3
[ -x "$DPW_CAT" ] || fatal build "$DPW_CAT not built"

SIZE=$((10 * 1000 * 1000))
head -c $SIZE /dev/urandom >"$DPW_TMP/up.in"     # dpwsk-cat -> nc
head -c $SIZE /dev/urandom >"$DPW_TMP/down.in"   # nc -> dpwsk-cat

elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }'; }

# 1. dpwsk-cat HOST:PORT -> nc -l.
peer_bg timeout 120 nc -l -N "$DPW_IP_PEER" 5000 <"$DPW_TMP/down.in" >"$DPW_TMP/up.out"
nc_pid=$PEER_PID
wait_listen tcp 5000 || fatal connect-nc-listening "nc -l did not listen"
mkfifo "$DPW_TMP/cat.in"
exec 7<>"$DPW_TMP/cat.in"
cat_bg "$DPW_TMP/cat.in" "$DPW_TMP/down.out" "$DPW_IP_PEER:5000"
cat_ready connect || fatal connect-ready "see above"
start=$(date +%s.%N)
timeout 120 cat "$DPW_TMP/up.in" >&7
assert_eq connect-stdin-written 0 "$?"
if wait_file_size "$DPW_TMP/down.out" $SIZE 120; then
	pass connect-received-all
else
	fail connect-received-all "$(stat -c %s "$DPW_TMP/down.out") of $SIZE bytes from nc"
fi
exec 7>&-
cat_end connect 60 0
echo "10 MB each way in $(elapsed "$start") s (dpwsk-cat connecting)"
if dpw_wait_exit "$nc_pid" 30; then
	assert_eq connect-nc-status 0 "$DPW_RC"
else
	dpw_kill "$nc_pid"
	fail connect-nc-status "nc -l still running 30 s after dpwsk-cat ended"
fi
assert_eq connect-sha256-up "$(sha "$DPW_TMP/up.in")" "$(sha "$DPW_TMP/up.out")"
assert_eq connect-sha256-down "$(sha "$DPW_TMP/down.in")" "$(sha "$DPW_TMP/down.out")"

# 2. nc HOST:PORT -> dpwsk-cat --listen PORT.
rm -f "$DPW_TMP/up.out" "$DPW_TMP/down.out"
cat_bg "$DPW_TMP/down.in" "$DPW_TMP/up.out" --listen 5001
cat_ready listen || fatal listen-ready "see above"
start=$(date +%s.%N)
peer_bg timeout 120 nc -N "$DPW_IP_STACK" 5001 <"$DPW_TMP/up.in" >"$DPW_TMP/down.out"
nc_pid=$PEER_PID
cat_end listen 120 0
if dpw_wait_exit "$nc_pid" 30; then
	assert_eq listen-nc-status 0 "$DPW_RC"
else
	dpw_kill "$nc_pid"
	fail listen-nc-status "nc still running 30 s after dpwsk-cat ended"
fi
echo "10 MB each way in $(elapsed "$start") s (dpwsk-cat listening)"
assert_eq listen-sha256-up "$(sha "$DPW_TMP/up.in")" "$(sha "$DPW_TMP/up.out")"
assert_eq listen-sha256-down "$(sha "$DPW_TMP/down.in")" "$(sha "$DPW_TMP/down.out")"

# 3. Nothing listens: the peer's kernel answers the SYN with a RST.
cat_bg /dev/null "$DPW_TMP/refused.out" "$DPW_IP_PEER:5999"
cat_end refused 30 1
assert_eq refused-message 1 "$(grep -c 'error: connection refused$' "$CAT_ERR")"

# 4. A peer that sends, then resets. dpwsk-cat's input stays open, so the RST is the only
#    way its connection can end: it must say so and exit 1.
peer_bg timeout 60 python3 -c '
import socket, struct, sys
l = socket.socket()
l.bind((sys.argv[1], 5002))
l.listen(1)
print("listening", flush=True)
c, _ = l.accept()
c.sendall(b"some bytes before the reset\n")
c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
c.close()
' "$DPW_IP_PEER" >"$DPW_TMP/rst.py.out" 2>&1
py_pid=$PEER_PID
wait_listen tcp 5002 || fatal reset-listening "python listener did not start"
mkfifo "$DPW_TMP/cat2.in"
exec 8<>"$DPW_TMP/cat2.in"
cat_bg "$DPW_TMP/cat2.in" "$DPW_TMP/rst.out" "$DPW_IP_PEER:5002"
cat_end reset 30 1
exec 8>&-
assert_eq reset-message 1 "$(grep -c 'error: connection reset by peer$' "$CAT_ERR")"
dpw_wait_exit "$py_pid" 10 || dpw_kill "$py_pid"

dpw_finish
