"""Hold TCP connections open to a server, from one source address (bench/scale.sh).

    python3 hold.py SRC_IP FIRST_PORT HOST PORT COUNT MAX_SECONDS

Opens COUNT connections from SRC_IP, local ports FIRST_PORT, FIRST_PORT + 1, ..., to
HOST:PORT, one after the other, printing "holding N" every 2,000 and "held N in S s" at the end; then keeps them
open, without traffic, until SIGTERM or MAX_SECONDS, and closes them (FIN). A connect that
fails or takes over 5 s ends it with "failed after N: reason" and status 1.
"""
import resource
import signal
import socket
import sys
import time


def main():
    src, first, host, port, count, max_s = sys.argv[1], int(sys.argv[2]), sys.argv[3], \
        int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6])
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    stop = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    deadline = time.monotonic() + max_s
    socks = []
    t0 = time.monotonic()
    while len(socks) < count and not stop and time.monotonic() < deadline:
        s = socket.socket()
        # Ports of our own, outside the ephemeral range the measuring client draws from:
        # Linux looks for a free ephemeral port among every socket of the namespace, and
        # hundreds of thousands of them there would make the client, not dpwsk, the limit.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.settimeout(5)
        try:
            s.bind((src, first + len(socks)))
            s.connect((host, port))
        except OSError as e:
            print("failed after %d: %s" % (len(socks), e), flush=True)
            return 1
        socks.append(s)
        if len(socks) % 2000 == 0:
            print("holding %d" % len(socks), flush=True)
    print("held %d in %.1f s" % (len(socks), time.monotonic() - t0), flush=True)
    while not stop and time.monotonic() < deadline:
        time.sleep(0.5)   # holding, not waiting for anything: SIGTERM interrupts it
    for s in socks:
        s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
