#!/bin/bash
# httpd_files: dpwsk-httpd --root against curl: a 5 MiB random file byte-identical (sha256)
# with its Content-Length and Content-Type, index.html for "/", types by extension, HEAD,
# 404, and every way out of the root refused with 403 ("..", %-encoded "..", a symbolic link
# pointing outside) without a byte of the file outside. Backpressure: a client that requests
# the big file and never reads holds the server to a bounded amount sent (the sends wait for
# TCP's window, nothing is buffered beyond SEND_SLOTS chunks), while four other clients
# download it in parallel; the stalled client's RST then frees its connection. Afterwards
# the server is back to its listener alone and idle mbufs, and never sent a RST itself.
#   scripts/netns.sh run tests/apps/httpd_files.sh   (or run it directly)
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/httpd_lib.sh"
httpd_init curl python3 tcpdump sha256sum

BIG=$((5 * 1024 * 1024))
WWW=$DPW_TMP/www
mkdir -p "$WWW/sub" "$WWW/empty-dir"
head -c "$BIG" /dev/urandom >"$WWW/big.bin"
printf '<html><body>dpwsk index</body></html>\n' >"$WWW/index.html"
printf 'a page under sub/\n' >"$WWW/sub/page.txt"
printf 'body { color: black; }\n' >"$WWW/style.css"
printf 'TOP SECRET, outside the root\n' >"$DPW_TMP/secret.txt"
ln -s ../secret.txt "$WWW/link-out"
ln -s /etc/hostname "$WWW/link-abs"

stack_start --root "$WWW"
grep -q "^dpwsk: ready .* httpd port=80 root=$WWW\( queues=[0-9]*\)\?\$" "$STACK_OUT" && pass ready-line ||
	fail ready-line "$(grep '^dpwsk: ready' "$STACK_OUT")"
capture_start "tcp[tcpflags] & tcp-rst != 0 and src host $DPW_IP_STACK"

# get NAME PATH EXPECTED-"code size type" [curl args]: one GET, the body in $DPW_TMP/NAME.
get() {
	local name=$1 path=$2 want=$3 got
	shift 3
	got=$(pcurl "$@" -o "$DPW_TMP/$name.body" -w '%{http_code} %{size_download} %{content_type}' "$(url "$path")")
	assert_eq "$name" "$want" "$got"
}

# 1. The big file, whole and identical.
start=$(date +%s.%N)
get big big.bin "200 $BIG application/octet-stream"
end=$(date +%s.%N)
assert_eq big-sha256 "$(sha "$WWW/big.bin")" "$(sha "$DPW_TMP/big.body")"
echo "5 MiB in $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }') s"

# 2. Index, types, HEAD, 404.
get index "" "200 $(stat -c %s "$WWW/index.html") text/html; charset=utf-8"
assert_eq index-body "$(sha "$WWW/index.html")" "$(sha "$DPW_TMP/index.body")"
get page sub/page.txt "200 $(stat -c %s "$WWW/sub/page.txt") text/plain; charset=utf-8"
get css style.css "200 $(stat -c %s "$WWW/style.css") text/css"
pcurl -I "$(url big.bin)" >"$DPW_TMP/head" || fail head "curl -I failed"
tr -d '\r' <"$DPW_TMP/head" >"$DPW_TMP/head.txt"
grep -q '^HTTP/1.1 200 OK$' "$DPW_TMP/head.txt" && grep -q "^Content-Length: $BIG\$" "$DPW_TMP/head.txt" &&
	pass head-big "Content-Length: $BIG" || fail head-big "$(tr '\n' '|' <"$DPW_TMP/head.txt")"
get missing missing.txt "404 14 text/plain; charset=utf-8"
get missing-dir-index sub/ "404 14 text/plain; charset=utf-8"
get file-as-dir big.bin/ "404 14 text/plain; charset=utf-8"

# 3. Out of the root: refused, and the secret never sent.
get dotdot ../secret.txt "403 14 text/plain; charset=utf-8" --path-as-is
get dotdot-deep sub/../../secret.txt "403 14 text/plain; charset=utf-8" --path-as-is
get dotdot-inside sub/../index.html "403 14 text/plain; charset=utf-8" --path-as-is
get dotdot-encoded %2e%2e/secret.txt "403 14 text/plain; charset=utf-8" --path-as-is
get dotdot-encoded-slash sub%2F..%2F..%2Fsecret.txt "403 14 text/plain; charset=utf-8" --path-as-is
get symlink-out link-out "403 14 text/plain; charset=utf-8"
get symlink-absolute link-abs "403 14 text/plain; charset=utf-8"
if grep -q SECRET "$DPW_TMP"/*.body; then
	fail secret-never-sent "$(grep -l SECRET "$DPW_TMP"/*.body)"
else
	pass secret-never-sent
fi

# 4. Backpressure: a client that asks for the big file and never reads.
read -r -d '' STALL_PY <<'PY'
import signal, socket, struct, sys, time
stop = []
signal.signal(signal.SIGUSR1, lambda *a: stop.append(1))
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.settimeout(10)
s.connect((sys.argv[1], int(sys.argv[2])))
s.sendall(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
print("requested", flush=True)
end = time.monotonic() + 60
while not stop and time.monotonic() < end:
    time.sleep(0.02)
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()
print("reset" if stop else "nothing happened in 60 s", flush=True)
PY
httpd_stats || fatal stall "no stats"
sent0=$(httpd_get bytes_sent)
peer_bg python3 -c "$STALL_PY" "$DPW_IP_STACK" "$HTTP_PORT" >"$DPW_TMP/stall.out" 2>&1
STALL_PID=$PEER_PID
for ((i = 0; i < 200; i++)); do
	grep -q requested "$DPW_TMP/stall.out" && break
	sleep 0.05
done
grep -q requested "$DPW_TMP/stall.out" || fatal stall "stalled client not started: $(cat "$DPW_TMP/stall.out")"
# The server sends until TCP's windows are full, then its sends wait: bytes handed over
# stop far below the file's size (lwIP's 128 KiB send buffer, two 64 KiB chunks pending).
for ((i = 0; i < 50; i++)); do
	httpd_stats || break
	[ $(($(httpd_get bytes_sent) - sent0)) -ge 65536 ] && break
	sleep 0.1
done
stalled=$(($(httpd_get bytes_sent) - sent0))
assert_ge stall-sending-started 65536 "$stalled"
[ "$stalled" -le $((1024 * 1024)) ] && pass stall-bounded "$stalled bytes handed to TCP" ||
	fail stall-bounded "$stalled bytes handed to TCP for a client that reads nothing"
assert_eq stall-connection-open 1 "$(httpd_get connections)"

# Meanwhile four clients download the big file in parallel.
pids=()
for k in 1 2 3 4; do
	peer_bg curl -s --max-time 60 -o "$DPW_TMP/par$k.body" "$(url big.bin)"
	pids+=("$PEER_PID")
done
want=$(sha "$WWW/big.bin")
for k in 1 2 3 4; do
	if dpw_wait_exit "${pids[$((k - 1))]}" 90; then
		assert_eq "parallel-$k-status" 0 "$DPW_RC"
	else
		fail "parallel-$k-status" "curl still running after 90 s"
	fi
	assert_eq "parallel-$k-sha256" "$want" "$(sha "$DPW_TMP/par$k.body")"
done

# The stalled client resets: the server closes that connection (WskCloseSocket after the
# failed I/O) and is idle again.
kill -USR1 "$STALL_PID"
dpw_wait_exit "$STALL_PID" 10 || fail stall-reset "stalled client did not exit"
assert_eq stall-reset reset "$(tail -n1 "$DPW_TMP/stall.out")"
httpd_settle files 20
assert_ge stall-reset-seen 1 "$(httpd_get resets)"
assert_eq files-no-5xx 0 "$(httpd_get responses_5xx)"
assert_eq files-no-rst-from-stack 0 "$(grep -c . "$CAPTURE")"
[ -s "$CAPTURE" ] && sed 's/^/  RST: /' "$CAPTURE" | head -5
stack_stop
dpw_finish
