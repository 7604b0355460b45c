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

cc_run stuck 120 --duration 1 --concurrency 8 198.18.0.77:5000
assert_eq stuck-exit-status 1 "$CC_RC"
assert_eq stuck-cycles 8 "$(cc_get cycles)"
assert_eq stuck-errors 8 "$(cc_get errors)"
assert_eq stuck-error-kind "connclose: error unfinished_at_end=8" \
	"$(grep '^connclose: error ' "$CC_OUT")"
cc_check_clean stuck
dpw_finish
