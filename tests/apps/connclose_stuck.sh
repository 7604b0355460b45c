#!/bin/bash
# connclose_stuck: a run whose connects never complete (an address nobody answers ARP for).
# --duration 1 ends the run, the cycles still in flight 5 s later are cut short: each pending
# WskSocketConnect is cancelled (IoCancelIrp), fails as "unfinished_at_end", and the socket
# the client never got goes with its IRP, so nothing is left open (WSK-C8, R2) and the exit
# status says the run failed.
#   scripts/netns.sh run tests/apps/connclose_stuck.sh   (or run it directly)
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/connclose_lib.sh"
dpw_init
cc_need_built "$CONNCLOSE"

# --fixed-window: exactly the 8 slots' connects, each waiting for its own.
cc_run stuck 120 --duration 1 --concurrency 8 --fixed-window 198.18.0.77:5000
assert_eq stuck-exit-status 1 "$CC_RC"
assert_eq stuck-cycles 8 "$(cc_get cycles)"
assert_eq stuck-errors 8 "$(cc_get errors)"
assert_eq stuck-error-kind "connclose: error unfinished_at_end=8" \
	"$(grep '^connclose: error ' "$CC_OUT")"
cc_check_clean stuck

# The window (apps/connclose/window.h): the 8 connects are taken as lost after 2 ms, spare
# slots probe on with the window halving to one and the wait doubling (4, 8, ... 128 ms), so
# a second brings a few more connects, not hundreds; every one is cut short at the end.
cc_run window 120 --duration 1 --concurrency 8 198.18.0.77:5000
assert_eq window-exit-status 1 "$CC_RC"
cycles=$(cc_get cycles)
assert_eq window-errors "$cycles" "$(cc_get errors)"
assert_eq window-error-kind "connclose: error unfinished_at_end=$cycles" \
	"$(grep '^connclose: error ' "$CC_OUT")"
assert_eq window-all-late "$cycles" \
	"$(sed -n 's/^connclose: window late_connects=\([0-9]*\) .*/\1/p' "$CC_OUT")"
# 8, then 4, 2, 1 a round, then one a doubling wait up to 128 ms: about 27 by 1 s; 40 leaves
# room for a slow start-up, and 500 a second (no backoff) would be far above it.
assert_ge window-probes-beyond-the-slots 9 "$cycles"
assert_ge window-probes-bounded 40 "$((80 - cycles))"   # i.e. cycles <= 40
cc_check_clean window
dpw_finish
