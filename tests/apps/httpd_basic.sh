#!/bin/bash
# httpd_basic: bad command lines (one error line, status 2), then dpwsk-httpd's HTTP/1.1
# with the fixed body, against curl and a raw Python client: GET, keep-alive (one connection
# for two transfers), HEAD (no body, yet the Content-Length of GET), HTTP/1.0 with and
# without keep-alive, Connection: close, pipelined requests in one segment answered in order
# (a request body skipped, nothing answered after Connection: close), 405, the malformed
# requests (400, 431, 501, 505, each followed by the server's close), a client port reused
# while the server holds it in TIME_WAIT; then --body-size over several chunks, and the idle
# (graceful) and linger (reset) timeouts. Every connection the server ends normally goes out
# with FIN, never RST (WSK-C3 graceful close: WskDisconnect, the peer's FIN, then
# WskCloseSocket): a capture of the stack's RSTs must stay empty. Afterwards the server is
# back to its listener alone and idle mbufs.
#   scripts/netns.sh run tests/apps/httpd_basic.sh   (or run it directly)
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/httpd_lib.sh"
httpd_init curl python3 tcpdump sha256sum

# 0. Bad command lines: one "dpwsk-httpd: error: ..." line, exit status 2, nothing started.
badopt() {   # badopt NAME ARGS...
	local name=$1 rc lines
	shift
	ip netns exec "$DPW_NS_STACK" timeout 20 "$DPW_HTTPD" --iface "$DPW_IF_STACK" \
		--ip "$DPW_IP_STACK/$DPW_PREFIX" "$@" >"$DPW_TMP/badopt.out" 2>"$DPW_TMP/badopt.err"
	rc=$?
	lines=$(grep -c . "$DPW_TMP/badopt.err")
	if [ "$rc" = 2 ] && [ "$lines" = 1 ] && grep -q '^dpwsk-httpd: error: ' "$DPW_TMP/badopt.err"; then
		pass "badopt-$name" "$(cat "$DPW_TMP/badopt.err")"
	else
		fail "badopt-$name" "status $rc, stderr: $(head -c 300 "$DPW_TMP/badopt.err")"
	fi
}
badopt body-and-root --body-size 5 --root /
badopt root-and-body --root / --body-size 5
badopt root-missing --root "$DPW_TMP/no-such-dir"
badopt port-0 --http-port 0
badopt port-too-big --http-port 65536
badopt body-too-big --body-size 999999999999
badopt idle-0 --idle-timeout 0
"$DPW_HTTPD" --help >"$DPW_TMP/help.out" 2>&1
assert_eq help-status 0 "$?"
grep -q -- '--root DIR' "$DPW_TMP/help.out" && pass help-lists-options ||
	fail help-lists-options "$(head -c 300 "$DPW_TMP/help.out")"

stack_start   # the defaults: port 80, "Hello, dpwsk\n"
grep -q '^dpwsk: ready .* httpd port=80 body=13\( queues=[0-9]*\)\?$' "$STACK_OUT" && pass ready-line ||
	fail ready-line "$(grep '^dpwsk: ready' "$STACK_OUT")"
capture_start "tcp[tcpflags] & tcp-rst != 0 and src host $DPW_IP_STACK"

HELLO_SHA=$(printf 'Hello, dpwsk\n' | sha256sum | cut -d' ' -f1)
EMPTY=$(printf '' | sha256sum | cut -c1-16)
HELLO=${HELLO_SHA:0:16}

# 1. GET with curl.
got=$(pcurl -o "$DPW_TMP/body" -w '%{http_code} %{size_download} %{content_type} %{http_version}' "$(url)")
assert_eq get-curl "200 13 text/plain; charset=utf-8 1.1" "$got"
assert_eq get-body "$HELLO_SHA" "$(sha "$DPW_TMP/body")"
got=$(pcurl -o /dev/null -w '%{http_code}' "$(url any/path?query=1)")
assert_eq get-any-path 200 "$got"

# 2. Keep-alive: two transfers, one connection.
got=$(pcurl -o /dev/null -o /dev/null -w '%{num_connects} ' "$(url a)" "$(url b)")
assert_eq keep-alive-one-connection "1 0 " "$got"

# 3. HEAD: the head of GET, no body: a GET after it on the same connection parses cleanly.
pcurl -I "$(url)" >"$DPW_TMP/head" || fail head-curl "curl -I failed"
grep -q '^HTTP/1.1 200 OK' "$DPW_TMP/head" && grep -qi '^Content-Length: 13' "$DPW_TMP/head" &&
	pass head-curl || fail head-curl "$(tr -d '\r' <"$DPW_TMP/head" | tr '\n' '|')"
got=$(printf 'HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' |
	http_raw HG | tr '\n' '|')
assert_eq head-then-get "resp 1: 200 cl=13 conn=- body=$EMPTY|resp 2: 200 cl=13 conn=close body=$HELLO text=Hello,_dpwsk|end=eof extra=0|" "$got"

# 4. HTTP/1.0: closes unless asked, keeps the connection when asked.
pcurl -0 -D "$DPW_TMP/h10" -o "$DPW_TMP/body" "$(url)"
grep -qi '^Connection: close' "$DPW_TMP/h10" && pass http10-curl-close ||
	fail http10-curl-close "$(tr -d '\r' <"$DPW_TMP/h10" | tr '\n' '|')"
assert_eq http10-curl-body "$HELLO_SHA" "$(sha "$DPW_TMP/body")"
got=$(printf 'GET / HTTP/1.0\r\n\r\n' | http_raw G | tr '\n' '|')
assert_eq http10-closes "resp 1: 200 cl=13 conn=close body=$HELLO text=Hello,_dpwsk|end=eof extra=0|" "$got"
got=$(printf 'GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET / HTTP/1.0\r\n\r\n' | http_raw GG | tr '\n' '|')
assert_eq http10-keep-alive "resp 1: 200 cl=13 conn=keep-alive body=$HELLO text=Hello,_dpwsk|resp 2: 200 cl=13 conn=close body=$HELLO text=Hello,_dpwsk|end=eof extra=0|" "$got"

# 5. HTTP/1.1 keep-alive, then Connection: close ends it with a FIN.
got=$(printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\n' | http_raw G | tr '\n' '|')
assert_eq http11-stays-open "resp 1: 200 cl=13 conn=- body=$HELLO text=Hello,_dpwsk|end=open extra=0|" "$got"
got=$(printf 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' | http_raw G | tr '\n' '|')
assert_eq http11-close "resp 1: 200 cl=13 conn=close body=$HELLO text=Hello,_dpwsk|end=eof extra=0|" "$got"

# 6. Pipelined, all in one segment: answered in order; the GET with a body has it skipped;
# POST gets 405 (framing intact, the connection goes on); nothing after Connection: close.
printf '%b' 'GET /1 HTTP/1.1\r\nHost: x\r\n\r\n' \
	'HEAD /2 HTTP/1.1\r\nHost: x\r\n\r\n' \
	'GET /3 HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nabcd' \
	'POST /4 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nxyz' \
	'\r\nGET /5 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' \
	'GET /6 HTTP/1.1\r\nHost: x\r\n\r\n' >"$DPW_TMP/pipelined"
size=$(stat -c %s "$DPW_TMP/pipelined")   # one write under the MSS: one segment
[ "$size" -lt 1400 ] && pass pipelined-fits-one-segment "$size bytes" ||
	fail pipelined-fits-one-segment "$size bytes"
got=$(http_raw GHGGG <"$DPW_TMP/pipelined" | tr '\n' '|')
NA=$(printf '405 Method Not Allowed\n' | sha256sum | cut -c1-16)
assert_eq pipelined "resp 1: 200 cl=13 conn=- body=$HELLO text=Hello,_dpwsk|resp 2: 200 cl=13 conn=- body=$EMPTY|resp 3: 200 cl=13 conn=- body=$HELLO text=Hello,_dpwsk|resp 4: 405 cl=23 conn=- body=$NA text=405_Method_Not_Allowed|resp 5: 200 cl=13 conn=close body=$HELLO text=Hello,_dpwsk|end=eof extra=0|" "$got"

# 7. Other methods: 405 with Allow.
got=$(pcurl -X DELETE -D "$DPW_TMP/h405" -o /dev/null -w '%{http_code}' "$(url)")
assert_eq method-405 405 "$got"
grep -qi '^Allow: GET, HEAD' "$DPW_TMP/h405" && pass method-405-allow ||
	fail method-405-allow "$(tr -d '\r' <"$DPW_TMP/h405" | tr '\n' '|')"

# 8. Malformed requests: the status, then the server closes (with a FIN).
bad() {   # bad NAME STATUS PRINTF-FORMAT
	local got
	got=$(printf "$3" | http_raw G | tr '\n' '|')
	if [[ "$got" == "resp 1: $2 "*" conn=close "*"|end=eof extra=0|" ]]; then
		pass "bad-$1" "$2"
	else
		fail "bad-$1" "expected $2 and the server's close, saw '$got'"
	fi
}
bad garbage 400 'GARBAGE\r\n\r\n'
bad no-host 400 'GET / HTTP/1.1\r\nAccept: */*\r\n\r\n'
bad space-before-colon 400 'GET / HTTP/1.1\r\nHost : x\r\n\r\n'
bad folded 400 'GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n'
bad bare-cr 400 'GET / HTTP/1.1\r\nHost: x\rX: y\r\n\r\n'
bad bad-content-length 400 'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n'
bad target-not-a-path 400 'GET * HTTP/1.1\r\nHost: x\r\n\r\n'
bad bad-escape 400 'GET /%%zz HTTP/1.1\r\nHost: x\r\n\r\n'
bad version-2 505 'GET / HTTP/2.0\r\nHost: x\r\n\r\n'
bad chunked-body 501 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n'
# A head longer than the 8 KiB buffer, and one with too many lines.
bad head-too-large 431 "GET / HTTP/1.1\r\nHost: x\r\nX-Fill: $(head -c 9000 /dev/zero | tr '\0' a)\r\n\r\n"
bad too-many-lines 431 "GET / HTTP/1.1\r\nHost: x\r\n$(for i in $(seq 110); do printf 'X-%d: v\\r\\n' "$i"; done)\r\n"

# 9. A client port reused while the server still holds the old connection in TIME_WAIT (the
# server closed first): the new SYN opens a new connection at once (RFC 1122 4.2.2.13), not
# an ACK that the client resets and a connect stalled until a retransmitted SYN.
read -r -d '' REUSE_PY <<'PY'
import errno, socket, sys, time
host, port, lport = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for rnd in range(2):
    end = time.monotonic() + 5
    while True:   # the previous socket may be in LAST_ACK for a moment: retry, bounded
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.settimeout(10)
        try:
            s.bind(("", lport))
            s.connect((host, port))
            break
        except OSError as e:
            s.close()
            if e.errno not in (errno.EADDRINUSE, errno.EADDRNOTAVAIL) or time.monotonic() > end:
                raise
            time.sleep(0.01)
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    data = b""
    while True:
        b = s.recv(4096)
        if not b:
            break
        data += b
    s.close()
    print("round %d: %s" % (rnd, data.split(b"\r\n")[0].decode()), flush=True)
PY
tap_start "$DPW_TMP/reuse.txt" tcp port 40123
got=$(peer python3 -c "$REUSE_PY" "$DPW_IP_STACK" "$HTTP_PORT" 40123 2>&1 | tr '\n' '|')
assert_eq reuse-two-rounds "round 0: HTTP/1.1 200 OK|round 1: HTTP/1.1 200 OK|" "$got"
wait_tap() {   # until the capture shows N lines matching PATTERN (bounded, 5 s)
	local i
	for ((i = 0; i < 100; i++)); do
		[ "$(grep -c -- "$2" "$DPW_TMP/reuse.txt")" -ge "$1" ] && return 0
		sleep 0.05
	done
	return 1
}
wait_tap 2 "$DPW_IP_STACK.$HTTP_PORT > .*Flags \[S\.\]"
assert_eq reuse-syn-ack-each "2" "$(grep -c "$DPW_IP_STACK.$HTTP_PORT > .*Flags \[S\.\]" "$DPW_TMP/reuse.txt")"
assert_eq reuse-one-syn-each "2" "$(grep -c "> $DPW_IP_STACK.$HTTP_PORT: Flags \[S\]" "$DPW_TMP/reuse.txt")"
assert_eq reuse-no-reset "0" "$(grep -c 'Flags \[R' "$DPW_TMP/reuse.txt")"

# 10. Back to idle; no RST from the stack at any point; counters agree.
httpd_settle basic 20
assert_eq basic-no-resets-seen 0 "$(httpd_get resets)"
assert_eq basic-no-timeouts 0 "$(httpd_get timeouts)"
assert_eq basic-5xx-are-the-505-and-501 2 "$(httpd_get responses_5xx)"
assert_eq basic-no-rst-from-stack 0 "$(grep -c . "$CAPTURE")"
[ -s "$CAPTURE" ] && sed 's/^/  RST: /' "$CAPTURE" | head -5
stack_stop

# 11. --body-size over several 64 KiB chunks, on another port.
HTTP_PORT=8080
stack_start --http-port 8080 --body-size 300000 --idle-timeout 1
grep -q ' httpd port=8080 body=300000\( queues=[0-9]*\)\?$' "$STACK_OUT" && pass body-size-ready ||
	fail body-size-ready "$(grep '^dpwsk: ready' "$STACK_OUT")"
python3 -c 'import sys; sys.stdout.buffer.write((b"Hello, dpwsk\n" * 30000)[:300000])' >"$DPW_TMP/expected"
got=$(pcurl -o "$DPW_TMP/body" -w '%{http_code} %{size_download}' "$(url)")
assert_eq body-size-get "200 300000" "$got"
assert_eq body-size-sha256 "$(sha "$DPW_TMP/expected")" "$(sha "$DPW_TMP/body")"
pcurl -I "$(url)" | grep -qi '^Content-Length: 300000' && pass body-size-head ||
	fail body-size-head "no Content-Length: 300000"

# 12. Timeouts (this server: --idle-timeout 1). An idle keep-alive connection is ended
# gracefully: the client reads EOF. A client that never sends its FIN after ours is reset
# once the server has waited LINGER_MS (5 s) for it.
read -r -d '' TIMEOUT_PY <<'PY'
import socket, sys, time
host, port, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.create_connection((host, port), timeout=20)
req = b"HEAD / HTTP/1.1\r\nHost: x\r\n" + (b"Connection: close\r\n" if mode == "linger" else b"") + b"\r\n"
s.sendall(req)
buf = b""
while b"\r\n\r\n" not in buf:
    b = s.recv(4096)
    if not b:
        sys.exit("closed before the response")
    buf += b
if s.recv(4096) != b"":   # idle: after 1 s idle; linger: at once (Connection: close)
    sys.exit("data instead of the end of the stream")
if mode == "idle":
    print("eof", flush=True)
    sys.exit(0)
end = time.monotonic() + 20   # keep our side open and wait for the server's RST
while time.monotonic() < end:
    err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    if err:
        print("reset errno=%d" % err, flush=True)
        sys.exit(0)
    try:
        s.send(b"")
    except OSError as e:
        print("reset errno=%d" % e.errno, flush=True)
        sys.exit(0)
    time.sleep(0.05)
print("no reset in 20 s", flush=True)
PY
got=$(peer python3 -c "$TIMEOUT_PY" "$DPW_IP_STACK" "$HTTP_PORT" idle 2>&1)
assert_eq idle-timeout-eof eof "$got"
got=$(peer python3 -c "$TIMEOUT_PY" "$DPW_IP_STACK" "$HTTP_PORT" linger 2>&1)
# ECONNRESET, or EPIPE: a send on a connection the RST has already closed.
[[ "$got" =~ ^reset\ errno=(104|32)$ ]] && pass linger-timeout-reset "$got" ||
	fail linger-timeout-reset "expected the server's RST, saw '$got'"
httpd_settle body-size 20
assert_eq timeouts-counted 2 "$(httpd_get timeouts)"
stack_stop
dpw_finish
