"""A transfer through the stack's echo port survives the link going away for a while.

    python3 link_flap.py OUTAGE_SECONDS

Run in the peer namespace. One connection to DPW_IP_STACK:7 streams 8 MiB of random bytes
and reads the echo back. Once the first MiB has come back, the peer's end of the veth goes
down for OUTAGE_SECONDS (frames both ways are lost: what the stack sends meets a link without
carrier) and comes back up. Both TCPs must retransmit what was lost, and the echo must end
byte-identical. Prints one line per event; exit 0 when all came back intact within 60 s.
"""
import hashlib
import os
import selectors
import socket
import subprocess
import sys
import time

TOTAL = 8 << 20
FLAP_AFTER = 1 << 20


def link(state):
    subprocess.run(["ip", "link", "set", "dev", os.environ["DPW_IF_PEER"], state], check=True)


def main():
    outage = float(sys.argv[1])
    data = os.urandom(TOTAL)
    conn = socket.create_connection((os.environ["DPW_IP_STACK"], 7), timeout=5)
    conn.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(conn, selectors.EVENT_READ | selectors.EVENT_WRITE)
    sent, got = 0, hashlib.sha256()
    received = 0
    flap_state, up_at = "before", 0.0
    deadline = time.monotonic() + 60
    while received < TOTAL and time.monotonic() < deadline:
        if flap_state == "before" and received >= FLAP_AFTER:
            link("down")
            flap_state, up_at = "down", time.monotonic() + outage
            print("link down at %d bytes echoed, %d sent" % (received, sent), flush=True)
        if flap_state == "down" and time.monotonic() >= up_at:
            link("up")
            flap_state = "up"
            print("link up after %.1f s" % outage, flush=True)
        for key, events in sel.select(timeout=0.05):
            if events & selectors.EVENT_READ:
                try:
                    b = conn.recv(1 << 16)
                except BlockingIOError:
                    b = None
                if b == b"":
                    print("FAIL: the stack closed the connection after %d bytes" % received)
                    return 1
                if b:
                    got.update(b)
                    received += len(b)
            if events & selectors.EVENT_WRITE and sent < TOTAL:
                try:
                    sent += conn.send(data[sent:sent + (1 << 16)])
                except BlockingIOError:
                    pass
                if sent == TOTAL:
                    sel.modify(conn, selectors.EVENT_READ)
    if flap_state == "down":
        link("up")
    if received < TOTAL:
        print("FAIL: %d of %d bytes echoed within 60 s (link %s)" % (received, TOTAL, flap_state))
        return 1
    if got.hexdigest() != hashlib.sha256(data).hexdigest():
        print("FAIL: the echo differs from what was sent")
        return 1
    print("echoed %d bytes intact" % received, flush=True)
    conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
