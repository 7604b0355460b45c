#!/bin/bash
# host_leaks: dpwsk-host's report of what a driver left behind. tests/apps/drivers/leaky_driver.c
# leaves one of each on purpose; after SIGINT (Ctrl-C; the other host tests stop it with
# SIGTERM) and its DriverUnload the host must name each (client, socket, IRP, security
# descriptor, a datagram from nc it kept, thread handle, registry key, pool blocks with their
# tag) and exit 3.
#   scripts/netns.sh run tests/apps/host_leaks.sh   (or run it directly)
. "$(dirname "$0")/apps_lib.sh"
dpw_init nc timeout ping
STACK_PROG=$DPW_BUILD/apps/host/dpwsk-host
DRIVER=$DPW_BUILD/tests/apps/leaky_driver.so
[ -x "$STACK_PROG" ] || fatal build "$STACK_PROG not built"
[ -f "$DRIVER" ] || fatal build "$DRIVER not built"

# The leaks are the point here: LeakSanitizer (in the ASan build) must not turn them into
# its own exit status.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
stack_start "$DRIVER"
wait_file_grep "$STACK_ERR" "leaky_driver: socket: 0x00000000" 10 ||
	fail socket "the driver's socket was not made: $(tail -n 3 "$STACK_ERR" | tr '\n' '|')"
wait_file_grep "$STACK_ERR" "leaky_driver: keeper on port 7010: 0x00000000" 10 ||
	fail keeper "the driver's second client did not bind: $(tail -n 3 "$STACK_ERR" | tr '\n' '|')"
# one datagram for the keeper, which holds on to it (nc -u: one line, one datagram), once the
# peer knows the stack's MAC (the kernel holds a datagram only briefly while it asks)
assert_answered stack-reachable 1 "$(peer ping -c 1 -W 5 "$DPW_IP_STACK" 2>&1)"
echo kept | peer timeout 10 nc -u -w 1 "$DPW_IP_STACK" 7010
wait_file_grep "$STACK_ERR" "leaky_driver: kept a datagram" 10 ||
	fail kept "the keeper's receive event never ran: $(tail -n 3 "$STACK_ERR" | tr '\n' '|')"
wait_file_grep "$STACK_ERR" "leaky_driver: cached a security descriptor: 0x00000000" 1 ||
	fail cached-sd "the driver's WSK_CACHE_SD failed: $(tail -n 3 "$STACK_ERR" | tr '\n' '|')"
kill -INT "$STACK_PID"
if dpw_wait_exit "$STACK_PID" 30; then
	assert_eq exit-status-3 3 "$DPW_RC"
else
	dpw_kill "$STACK_PID"
	fatal exit "dpwsk-host still running 30 s after SIGINT"
fi
for what in "1 WSK clients never deregistered" "1 sockets never closed" \
	"1 IRPs never freed" "1 security descriptors never released" \
	"1 data indications never released" \
	"1 thread handles never closed" "1 registry keys never closed" \
	"1 pool blocks (100 bytes) never freed: 'Leak' 1 (100 bytes)"; do
	if grep -q "^leaky_driver: $what" "$STACK_ERR"; then
		pass "reported: $what"
	else
		fail "reported: $what" "$(grep '^leaky_driver' "$STACK_ERR" | tr '\n' '|')"
	fi
done
if grep -q "nothing left behind" "$STACK_ERR"; then
	fail no-clean-claim "the host said nothing was left behind"
else
	pass no-clean-claim
fi
dpw_finish
