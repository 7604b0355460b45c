# Helpers for the dpwsk-httpd tests, on top of tests/integration/lib.sh (source that first).
#
#   httpd_init TOOL...      dpw_init, with dpwsk-httpd as the stack program (must be built)
#   httpd_stats             SIGUSR1, then wait (bounded) for the program's whole block of
#                           lines: sets STATS (engine), WSK (provider), HTTPD (the server's)
#   stats_get / wsk_get / httpd_get KEY   one value of the last block
#   httpd_settle NAME SECS  httpd_stats until sockets_open=1 (the listener alone) and
#                           mbuf_in_use=mbuf_idle, at most SECS seconds; pass or fail NAME
#   pcurl ARGS...           curl in the peer namespace, silent, each transfer bounded
#   http_raw KINDS          python3 in the peer: stdin's bytes in one write to the server,
#                           then the responses parsed (see DPW_HTTP_RAW_PY)
#   url PATH                http://stack-address:HTTP_PORT/PATH
#   tap_start FILE FILTER   a second capture (lib.sh's capture_start has one file only):
#                           tcpdump text of FILTER on the peer's interface into FILE, running
#   sha FILE                its sha256

DPW_HTTPD=$DPW_BUILD/apps/httpd/dpwsk-httpd
STACK_PROG=$DPW_HTTPD
HTTP_PORT=80

httpd_init() {
	dpw_init "$@"
	if [ ! -x "$DPW_HTTPD" ]; then
		echo "FAIL: $DPW_TEST: $DPW_HTTPD not built (ninja -C $DPW_BUILD)"
		exit 1
	fi
}

# Complete lines of one kind in the stack's stdout (a line still being written is not one).
httpd_count() {
	local n
	n=$(grep -c "^dpwsk: $1 " "$STACK_OUT")
	if [ -n "$(tail -c1 "$STACK_OUT")" ] && tail -n1 "$STACK_OUT" | grep -q "^dpwsk: $1 "; then
		n=$((n - 1))
	fi
	echo "$n"
}

# The server prints its own line after the engine's and the provider's: wait for that one.
httpd_stats() {
	local i n
	STATS=$(stack_stats) || return 1
	n=$(httpd_count stats)
	for ((i = 0; i < 200; i++)); do
		[ "$(httpd_count httpd)" -ge "$n" ] && break
		sleep 0.05
	done
	WSK=$(grep '^dpwsk: wsk ' "$STACK_OUT" | tail -n1 | sed 's/^dpwsk: wsk //')
	HTTPD=$(grep '^dpwsk: httpd ' "$STACK_OUT" | tail -n1 | sed 's/^dpwsk: httpd //')
	[ "$(httpd_count httpd)" -ge "$n" ]
}

stats_get() { stat_get "$STATS" "$1"; }
wsk_get() { stat_get "$WSK" "$1"; }
httpd_get() { stat_get "$HTTPD" "$1"; }

httpd_settle() {
	local name=$1 i n=$(($2 * 5)) open inuse idle
	for ((i = 0; i < n; i++)); do
		httpd_stats || fatal "$name" "no stats from dpwsk-httpd"
		open=$(wsk_get sockets_open)
		inuse=$(stats_get mbuf_in_use)
		idle=$(stats_get mbuf_idle)
		[ "$open" = 1 ] && [ "$inuse" = "$idle" ] && break
		sleep 0.2
	done
	assert_eq "$name-sockets-open-1" 1 "$open"
	assert_eq "$name-mbufs-idle" "$idle" "$inuse"
	assert_eq "$name-connections-0" 0 "$(httpd_get connections)"
	echo "httpd: $HTTPD"
}

url() { echo "http://$DPW_IP_STACK:$HTTP_PORT/$1"; }

pcurl() { peer curl -s --max-time 30 "$@"; }

sha() { sha256sum <"$1" | cut -d' ' -f1; }

# python3 -c "$DPW_HTTP_RAW_PY" HOST PORT KINDS < request bytes
# Connects, sends stdin's bytes in one write (TCP_NODELAY: one segment when short), then
# reads one response per letter of KINDS (G: has a body of Content-Length bytes, H: the
# answer to HEAD, no body) and prints a line per response:
#   resp N: STATUS cl=LENGTH conn=CONNECTION|- body=SHA256-PREFIX [text=BODY if short]
# If the last response says "Connection: close", it then waits (10 s at most) for the
# server's end of the stream; either way it ends with one line
#   end=eof|reset|timeout|open extra=BYTES-BEYOND-THE-RESPONSES
read -r -d '' DPW_HTTP_RAW_PY <<'PY'
import hashlib, socket, sys, time
host, port, kinds = sys.argv[1], int(sys.argv[2]), sys.argv[3]
data = sys.stdin.buffer.read()
s = socket.create_connection((host, port), timeout=10)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
s.sendall(data)
buf, state = b"", None
def more():
    global buf, state
    try:
        b = s.recv(65536)
    except ConnectionResetError:
        state = "reset"; return False
    except socket.timeout:
        state = "timeout"; return False
    if not b:
        state = "eof"; return False
    buf += b
    return True
last_conn = "-"
for n, kind in enumerate(kinds, 1):
    while b"\r\n\r\n" not in buf:
        if not more():
            print("resp %d: none (%s)" % (n, state)); print("end=%s extra=%d" % (state, len(buf))); sys.exit(0)
    head, buf = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    fields = {}
    for l in lines[1:]:
        k, _, v = l.partition(":")
        fields[k.strip().lower()] = v.strip()
    cl = int(fields.get("content-length", "0"))
    blen = cl if kind == "G" else 0
    while len(buf) < blen:
        if not more():
            break
    body, buf = buf[:blen], buf[blen:]
    last_conn = fields.get("connection", "-")
    text = body.decode("latin-1").strip() if 0 < len(body) <= 60 else ""
    print("resp %d: %s cl=%d conn=%s body=%s%s" % (n, lines[0].split(" ")[1], cl, last_conn,
          hashlib.sha256(body).hexdigest()[:16], (" text=" + text.replace(" ", "_")) if text else ""))
if last_conn.lower() == "close":
    s.settimeout(10)
    while more():
        pass
    print("end=%s extra=%d" % (state, len(buf)))
else:
    print("end=open extra=%d" % len(buf))
s.close()
PY

http_raw() { peer python3 -c "$DPW_HTTP_RAW_PY" "$DPW_IP_STACK" "$HTTP_PORT" "$1"; }

tap_start() {
	local i out=$1
	shift
	: >"$out"
	: >"$out.err"
	peer_bg tcpdump -i "$DPW_IF_PEER" -n -l -U "$@" >"$out" 2>"$out.err"
	for ((i = 0; i < 200; i++)); do
		grep -q 'listening on' "$out.err" && return 0
		dpw_alive "$PEER_PID" || break
		sleep 0.05
	done
	fatal tap "tcpdump did not start: $(cat "$out.err")"
}
