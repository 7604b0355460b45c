#!/bin/bash
# shutdown_rst_zero_window: stopping the stack also tells a peer whose receive window is
# closed: the peer (a 4 KiB receive buffer, never reads) must see the stack's RST.
#
# Regression test (fixed in 15959c8 by a patch to lwIP's tcp_abandon): once lwIP has sent a
# zero-window probe, its abort RST was not accepted by Linux. tcp_zero_window_probe()
# (tcp_out.c) sends one byte of new data and advances snd_nxt past it, although a peer with a
# zero window does not take that byte; tcp_abandon() (tcp.c) then sent the RST with
# seq = snd_nxt = the peer's rcv_nxt + 1, outside the peer's (empty) window, and Linux dropped
# it (RFC 793/5961 checks): the peer kept probing a stack that was gone. The test waits for
# the probe on the wire, so it checks that case every time, not only when the persist timer
# happens to fire before the shutdown.
#   scripts/netns.sh run tests/integration/shutdown_rst_zero_window.sh   (or run it directly)
. "$(dirname "$0")/lib.sh"
dpw_init python3 tcpdump

capture_start -S "tcp port 7"

stack_start
holder_start stall

# The stack's zero-window probe: one byte from port 7 (lwIP's persist timer, first after
# about 0.6 s). Wait for it, bounded at 10 s.
probe="$DPW_IP_STACK\.7 > .*length 1\$"
if capture_wait "$probe" 10; then
	pass zero-window-probe "$(grep "$probe" "$CAPTURE" | head -n1)"
else
	fail zero-window-probe "no 1-byte probe from the stack within 10 s"
fi

stack_stop
seen=$(holder_reset_wait 5)
if [ "$seen" = "reset errno=104" ]; then
	pass peer-sees-reset "$seen"
else
	fail peer-sees-reset "expected 'reset errno=104', saw '$seen'; last frames: $(grep -E 'Flags \[R|length 1$' "$CAPTURE" | tail -n 3 | sed 's/^[0-9:.]* IP //' | tr '\n' '|')"
fi
dpw_kill "$CAPTURE_PID"
dpw_finish
