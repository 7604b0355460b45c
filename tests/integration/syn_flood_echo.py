# The established side of syn_flood.sh, run in the peer namespace: a few connections to the
# stack's echo port keep echoing before and during a SYN flood (syn_flood_send.py, started
# from here so the two phases are timed exactly), then a new connection is made.
#
#   python3 syn_flood_echo.py MAX_SYNS MAX_SECONDS RATE
#
# Prints "before n=N p50_us=X p99_us=Y max_us=Z", the flooder's own lines, "during ..." the
# same, "after old=K new=1". Any echo not answered in full within 5 s, a reset, or any other
# socket error ends it with "error: ..." and status 1.
import os
import select
import socket
import struct
import subprocess
import sys
import time

CONNS = 4
SIZE = 64
TIMEOUT = 5.0          # seconds one echo may take before the test calls it lost
BEFORE_SECS, BEFORE_MAX = 2.0, 2000
DURING_MAX = 100000    # echoes during the flood, a bound should the flooder hang
PACE = 0.001           # one echo a millisecond: measuring, not loading
here = os.path.dirname(os.path.abspath(__file__))
addr = (os.environ["DPW_IP_STACK"], 7)
seq = 0


def fail(msg):
    print("error: " + msg, flush=True)
    sys.exit(1)


def tcp_state(s):
    """What the peer's TCP says of s (struct tcp_info): whether its last echo was still
    unacknowledged and resent (the stack never got it) or acknowledged (the stack got it and
    its answer went missing), to tell a lost echo's side."""
    try:
        b = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
    except OSError as e:
        return "no tcp_info: %s" % e
    retransmits, backoff = b[2], b[4]
    (rto, _ato, _smss, _rmss, unacked, _sacked, lost, retrans, _fack, last_sent, _las,
     last_recv, last_ack_recv) = struct.unpack_from("=13I", b, 8)
    total_retrans = struct.unpack_from("=I", b, 100)[0]
    return ("peer tcp_info: unacked=%d retransmits=%d backoff=%d rto_us=%d lost=%d "
            "retrans=%d total_retrans=%d last_data_sent_ms=%d last_data_recv_ms=%d "
            "last_ack_recv_ms=%d" % (unacked, retransmits, backoff, rto, lost, retrans,
                                     total_retrans, last_sent, last_recv, last_ack_recv))


def connect():
    s = socket.create_connection(addr, timeout=TIMEOUT)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def echo(s, name):
    """One echo on s; its round trip in seconds."""
    global seq
    seq += 1
    msg = (b"%08d" % seq) * (SIZE // 8)
    t0 = time.monotonic()
    got = b""
    try:
        s.sendall(msg)
        while len(got) < SIZE:
            b = s.recv(SIZE - len(got))
            if not b:
                fail("%s: connection closed by the stack (echo %d)" % (name, seq))
            got += b
    except socket.timeout:
        fail("%s: echo %d not answered within %.0f s (%d of %d bytes back; %s)" %
             (name, seq, TIMEOUT, len(got), SIZE, tcp_state(s)))
    except OSError as e:   # ECONNRESET: the stack reset an established connection
        fail("%s: echo %d: %s" % (name, seq, e))
    if got != msg:
        fail("%s: echo %d came back different" % (name, seq))
    return time.monotonic() - t0


def report(phase, rtts):
    if not rtts:
        fail("%s: no echoes measured" % phase)
    v = sorted(rtts)
    pick = lambda q: v[int(q * (len(v) - 1))] * 1e6
    print("%s n=%d p50_us=%.0f p99_us=%.0f max_us=%.0f" %
          (phase, len(v), pick(0.50), pick(0.99), v[-1] * 1e6), flush=True)


def run(conns, rtts, more):
    """Echo round robin, one a PACE, while more() says so."""
    i = 0
    while more(len(rtts)):
        rtts.append(echo(conns[i % len(conns)], "conn%d" % (i % len(conns))))
        i += 1
        time.sleep(PACE)   # pacing, not synchronisation


conns = []
for _ in range(CONNS):
    try:
        conns.append(connect())
    except OSError as e:
        fail("connect before the flood: %s" % e)

before = []
end = time.monotonic() + BEFORE_SECS
run(conns, before, lambda n: n < BEFORE_MAX and time.monotonic() < end)
report("before", before)

flood = subprocess.Popen([sys.executable, os.path.join(here, "syn_flood_send.py")] +
                         sys.argv[1:4], stdout=subprocess.PIPE, text=True)
ready, _, _ = select.select([flood.stdout], [], [], 10)
line = flood.stdout.readline().strip() if ready else ""
if line != "flood started":
    flood.kill()
    fail("the flooder did not start: %r" % line)
print(line, flush=True)

during = []
run(conns, during, lambda n: n < DURING_MAX and flood.poll() is None)
try:
    out, _ = flood.communicate(timeout=10)
except subprocess.TimeoutExpired:
    flood.kill()
    fail("the flooder did not end")
print(out.strip(), flush=True)
if flood.returncode != 0:
    fail("the flooder failed, status %d" % flood.returncode)
report("during", during)

# Every established connection still echoes, and a new one from the real peer is accepted.
for i, s in enumerate(conns):
    echo(s, "conn%d after" % i)
try:
    s = connect()
except OSError as e:
    fail("a new connection after the flood: %s" % e)
echo(s, "new")
s.close()
for s in conns:
    s.close()
print("after old=%d new=1" % len(conns), flush=True)
