#!/bin/bash
# httpd_load: dpwsk-httpd under load, on --http-port 8080 with the fixed body:
#   2,000 connections open at once (each counted by the server, then each answered);
#   ab -n 10000 -c 50, a connection per request: 10,000 complete, 0 failed, 0 non-2xx;
#   ab -k, the same on keep-alive connections: also 10,000 keep-alive requests;
#   wrk -t1 -c50 -d3s (when installed): requests done, no socket errors, no non-2xx.
# Then SIGUSR1 until the server is back to its listener alone (sockets_open=1) and the
# mbufs to their idle count, within a bounded wait. Last, SIGTERM with 20 keep-alive
# connections open: each is reset, and the server exits 0 with every mbuf back.
#   scripts/netns.sh run tests/apps/httpd_load.sh   (or run it directly)
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/httpd_lib.sh"
httpd_init ab python3

HTTP_PORT=8080
stack_start --http-port 8080

# 1. Thousands at once. The client connects in batches of 100, reports, waits for the go
# file (created once the server's counters are checked), then sends one request on each
# connection and reads every answer.
MANY=2000
read -r -d '' MANY_PY <<'PY'
import os, resource, selectors, socket, sys, time
host, port, n, go = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
if soft < n + 64:
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n + 64), hard))
end = time.monotonic() + 90
socks = []
sel = selectors.DefaultSelector()
for b in range(0, n, 100):
    batch = []
    for i in range(b, min(n, b + 100)):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex((host, port))
        sel.register(s, selectors.EVENT_WRITE)
        batch.append(s)
    pending = set(batch)
    while pending and time.monotonic() < end:
        for key, _ in sel.select(timeout=1):
            s = key.fileobj
            err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                sys.exit("connect failed: errno %d" % err)
            sel.unregister(s)
            pending.discard(s)
    if pending:
        sys.exit("connect timed out")
    socks += batch
print("connected %d" % len(socks), flush=True)
while not os.path.exists(go) and time.monotonic() < end:
    time.sleep(0.02)
req = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
for s in socks:
    s.setblocking(True)
    s.settimeout(20)
    s.sendall(req)
ok = 0
for s in socks:
    buf = b""
    while b"\r\n\r\n" not in buf or len(buf.split(b"\r\n\r\n", 1)[1]) < 13:
        b = s.recv(4096)
        if not b:
            break
        buf += b
    if buf.startswith(b"HTTP/1.1 200 ") and buf.endswith(b"\r\n\r\nHello, dpwsk\n"):
        ok += 1
for s in socks:
    s.close()
print("ok=%d" % ok, flush=True)
PY
GO=$DPW_TMP/many.go
peer_bg python3 -c "$MANY_PY" "$DPW_IP_STACK" "$HTTP_PORT" "$MANY" "$GO" >"$DPW_TMP/many.out" 2>&1
MANY_PID=$PEER_PID
for ((i = 0; i < 1800; i++)); do   # 90 s
	grep -q '^connected' "$DPW_TMP/many.out" && break
	dpw_alive "$MANY_PID" || break
	sleep 0.05
done
grep -q "^connected $MANY\$" "$DPW_TMP/many.out" ||
	fatal many-connected "$(head -c 300 "$DPW_TMP/many.out")"
# The server's accept runs when the handshake's last ACK arrives, a moment after the client
# sees its connect complete: wait (bounded) for the count.
for ((i = 0; i < 50; i++)); do
	httpd_stats || fatal many-stats "no stats"
	[ "$(httpd_get connections)" = "$MANY" ] && break
	sleep 0.2
done
assert_eq many-connections-open "$MANY" "$(httpd_get connections)"
assert_eq many-sockets-open $((MANY + 1)) "$(wsk_get sockets_open)"
touch "$GO"
if dpw_wait_exit "$MANY_PID" 90; then
	assert_eq many-client-status 0 "$DPW_RC"
else
	fail many-client-status "still running after 90 s"
fi
assert_eq many-answered "ok=$MANY" "$(tail -n1 "$DPW_TMP/many.out")"

# ab's summary: NAME FILE REQUESTS [KEEPALIVE]
ab_check() {
	local name=$1 out=$2 n=$3 non2xx
	assert_eq "$name-complete" "$n" "$(awk '/^Complete requests:/ { print $3 }' "$out")"
	assert_eq "$name-failed" 0 "$(awk '/^Failed requests:/ { print $3 }' "$out")"
	non2xx=$(awk '/^Non-2xx responses:/ { print $3 }' "$out")
	assert_eq "$name-non-2xx" 0 "${non2xx:-0}"
	if [ -n "${4:-}" ]; then
		assert_eq "$name-keep-alive-requests" "$n" "$(awk '/^Keep-Alive requests:/ { print $3 }' "$out")"
	fi
	grep -E '^(Requests per second|Time taken)' "$out" | sed "s/^/  $name: /"
}

# 2. ab, a connection per request (HTTP/1.0: the server closes each, gracefully).
peer timeout 180 ab -q -s 20 -n 10000 -c 50 "$(url)" >"$DPW_TMP/ab.out" 2>&1
assert_eq ab-status 0 "$?"
ab_check ab "$DPW_TMP/ab.out" 10000

# 3. ab -k: HTTP/1.0 keep-alive.
peer timeout 180 ab -q -k -s 20 -n 10000 -c 50 "$(url)" >"$DPW_TMP/abk.out" 2>&1
assert_eq ab-k-status 0 "$?"
ab_check ab-k "$DPW_TMP/abk.out" 10000 keep-alive

# 4. wrk, HTTP/1.1 keep-alive for 3 s.
if command -v wrk >/dev/null 2>&1; then
	peer timeout 60 wrk -t1 -c50 -d3s --timeout 10s "$(url)" >"$DPW_TMP/wrk.out" 2>&1
	assert_eq wrk-status 0 "$?"
	reqs=$(awk '/ requests in / { print $1 }' "$DPW_TMP/wrk.out")
	assert_ge wrk-requests 1000 "$reqs"
	errs=$(sed -n 's/^ *Socket errors: connect \([0-9]*\), read \([0-9]*\), write \([0-9]*\), timeout \([0-9]*\).*/\1 \2 \3 \4/p' "$DPW_TMP/wrk.out")
	assert_eq wrk-socket-errors "0 0 0 0" "${errs:-0 0 0 0}"
	non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$DPW_TMP/wrk.out")
	assert_eq wrk-non-2xx 0 "${non2xx:-0}"
	grep -E 'Requests/sec' "$DPW_TMP/wrk.out" | sed 's/^/  wrk: /'
else
	echo "wrk not installed: its part skipped (scripts/setup.sh installs it)"
fi

# 5. All of it gone: the listener alone, the mbufs idle.
httpd_settle load 30
assert_eq load-no-5xx 0 "$(httpd_get responses_5xx)"
assert_eq load-no-4xx 0 "$(httpd_get responses_4xx)"
assert_ge load-requests $((MANY + 20000)) "$(httpd_get requests)"

# 6. SIGTERM with 20 keep-alive connections open: every one closed (reset, WSK-C3: open
# both ways), exit status 0, every mbuf back (stack_stop checks those).
read -r -d '' HOLD_PY <<'PY'
import selectors, socket, sys, time
host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
socks = []
for i in range(n):
    s = socket.create_connection((host, port), timeout=10)
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    buf = b""
    while not buf.endswith(b"Hello, dpwsk\n"):
        b = s.recv(4096)
        if not b:
            sys.exit("closed early")
        buf += b
    socks.append(s)
print("held %d" % n, flush=True)
sel = selectors.DefaultSelector()
for s in socks:
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ)
reset = eof = 0
end = time.monotonic() + 30
while reset + eof < n and time.monotonic() < end:
    for key, _ in sel.select(timeout=1):
        try:
            b = key.fileobj.recv(4096)
        except ConnectionResetError:
            reset += 1
        else:
            if b:
                continue
            eof += 1
        sel.unregister(key.fileobj)
print("reset=%d eof=%d" % (reset, eof), flush=True)
PY
peer_bg python3 -c "$HOLD_PY" "$DPW_IP_STACK" "$HTTP_PORT" 20 >"$DPW_TMP/hold.out" 2>&1
HOLD_PID=$PEER_PID
for ((i = 0; i < 400; i++)); do
	grep -q '^held' "$DPW_TMP/hold.out" && break
	dpw_alive "$HOLD_PID" || break
	sleep 0.05
done
grep -q '^held 20$' "$DPW_TMP/hold.out" || fatal hold "$(head -c 300 "$DPW_TMP/hold.out")"
httpd_stats || fatal hold-stats "no stats"
assert_eq hold-connections-open 20 "$(httpd_get connections)"
# Over several engines (DPW_QUEUES=N): the listener is spread, and each lane holds
# connections of its own (20 flows hashed over N lanes: none empty but by chance, 2^-19).
for ((q = 0; q < ${DPW_QUEUES:-0}; q++)); do
	lane=$(grep "^dpwsk: lane $q httpd " "$STACK_OUT" | tail -n1)
	assert_ge "lane-$q-holds" 1 "$(sed -n 's/.* connections=\([0-9]*\).*/\1/p' <<<"$lane")"
done
stack_stop
dpw_wait_exit "$HOLD_PID" 40 || fail hold-client-exit "still running"
assert_eq sigterm-resets-every-connection "reset=20 eof=0" "$(tail -n1 "$DPW_TMP/hold.out")"
dpw_finish
