#!/bin/bash
# eal_files: the stack leaves nothing in /var/run/dpdk, also when the EAL arguments are given
# explicitly (after --, replacing the defaults, so DPDK telemetry is on): after a clean run
# stopped by SIGTERM, and after a runtime failure (port not found).
#
# Regression test (fixed in 15959c8): with telemetry on, the runtime directory used to stay
# behind, empty. DPDK removes its telemetry socket (dpdk_telemetry.v2) only in an atexit()
# handler (lib/telemetry/telemetry.c: atexit(unlink_sockets)), so an rmdir() right after
# rte_eal_cleanup() found the directory not yet empty. Telemetry is on by default now, so
# every test covers this; this one also covers explicit EAL arguments.
#   scripts/netns.sh run tests/integration/eal_files.sh   (or run it directly)
. "$(dirname "$0")/lib.sh"
dpw_init

prefix="dpwsk-eal-$$-$RANDOM"
eal=(--no-huge --no-pci --no-shconf -m 256 -l0)

# 1. A clean run with explicit EAL arguments.
stack_start -- "${eal[@]}" --file-prefix="$prefix-run"
if [ -d "$DPW_RUNDIR/$prefix-run" ]; then
	pass runtime-dir-while-running "$(ls -A "$DPW_RUNDIR/$prefix-run" | tr '\n' ' ')"
else
	fail runtime-dir-while-running "expected $DPW_RUNDIR/$prefix-run to exist while running"
fi
stack_stop
if [ -e "$DPW_RUNDIR/$prefix-run" ]; then
	fail run-no-runtime-dir "$DPW_RUNDIR/$prefix-run left behind (contents: '$(ls -A "$DPW_RUNDIR/$prefix-run" | tr '\n' ' ')')"
	rmdir "$DPW_RUNDIR/$prefix-run" 2>/dev/null   # ours, by its unique name
else
	pass run-no-runtime-dir
fi

# 2. A runtime failure after EAL came up: the port does not exist.
ip netns exec "$DPW_NS_STACK" "$DPW_RAWECHO" --port nosuchdev --ip "$DPW_IP_STACK/$DPW_PREFIX" \
	-- "${eal[@]}" --file-prefix="$prefix-fail" >"$DPW_TMP/fail.out" 2>"$DPW_TMP/fail.err" &
pid=$!
dpw_track "$pid"
dpw_wait_exit "$pid" 20 || { dpw_kill "$pid"; DPW_RC=killed; }
assert_eq fail-status 1 "$DPW_RC"
assert_eq fail-stderr-lines 1 "$(wc -l <"$DPW_TMP/fail.err")"
if [ -e "$DPW_RUNDIR/$prefix-fail" ]; then
	fail fail-no-runtime-dir "$DPW_RUNDIR/$prefix-fail left behind (contents: '$(ls -A "$DPW_RUNDIR/$prefix-fail" | tr '\n' ' ')')"
	rmdir "$DPW_RUNDIR/$prefix-fail" 2>/dev/null
else
	pass fail-no-runtime-dir
fi
dpw_finish
