#!/bin/bash
# bad_input: every wrong invocation gives exactly one line on stderr, "dpwsk-rawecho: error:"
# naming the problem, nothing on stdout, the documented exit status (2 bad usage/arguments,
# 1 runtime failure: EAL, port), and leaves nothing behind: no /var/run/dpdk/dpwsk-<pid>, no
# new network namespace. Runs in the stack's namespace (no traffic at all).
#   scripts/netns.sh run tests/integration/bad_input.sh   (or run it directly)
. "$(dirname "$0")/lib.sh"
dpw_init

IFACE=$DPW_IF_STACK
IP=$DPW_IP_STACK/$DPW_PREFIX
# Namespaces other than those our scripts make (netns.sh topologies, memif.sh: ours and any
# other test run's, which come and go on their own), one line: the program must add none.
other_netns() { ip netns list | awk '{print $1}' | grep -Ev '^dpw-' | sort | tr '\n' ' '; }
netns_before=$(other_netns)

# bad NAME STATUS PATTERN ARGS...: run rawecho with ARGS (bounded, 20 s); check STATUS, one
# stderr line matching "^dpwsk-rawecho: error: .*PATTERN" (grep -E), empty stdout, no
# leftovers.
bad() {
	local name=$1 want=$2 pattern=$3 pid lines err
	shift 3
	ip netns exec "$DPW_NS_STACK" "$DPW_RAWECHO" "$@" \
		>"$DPW_TMP/$name.out" 2>"$DPW_TMP/$name.err" &
	pid=$!
	dpw_track "$pid"
	if ! dpw_wait_exit "$pid" 20; then
		dpw_kill "$pid"
		fail "$name" "still running 20 s after start (killed): $*"
		return
	fi
	assert_eq "$name-status" "$want" "$DPW_RC"
	lines=$(wc -l <"$DPW_TMP/$name.err")
	err=$(tail -n1 "$DPW_TMP/$name.err")
	if [ "$lines" -eq 1 ] && grep -qE "^dpwsk-rawecho: error: .*$pattern" "$DPW_TMP/$name.err"; then
		pass "$name-stderr" "$err"
	else
		fail "$name-stderr" "expected one line 'dpwsk-rawecho: error: ...$pattern...', saw $lines line(s): $(tr '\n' '|' <"$DPW_TMP/$name.err")"
	fi
	if [ -s "$DPW_TMP/$name.out" ]; then
		fail "$name-stdout" "expected nothing on stdout, saw: $(head -c 200 "$DPW_TMP/$name.out")"
	fi
	if [ -e "$DPW_RUNDIR/dpwsk-$pid" ]; then
		fail "$name-no-runtime-dir" "$DPW_RUNDIR/dpwsk-$pid left behind"
	else
		pass "$name-no-runtime-dir"
	fi
	[ "$(other_netns)" = "$netns_before" ] ||
		fail "$name-no-new-netns" "expected namespaces '$netns_before', saw '$(other_netns)'"
}

# EAL and port: runtime failures (1).
bad eal-unknown-arg 1 "no-such-eal-opt" --iface "$IFACE" --ip "$IP" -- --no-such-eal-opt
# The same with a file prefix of our own, to check that exact runtime directory.
eal_prefix=dpwsk-badinput-$$-$RANDOM
bad eal-unknown-arg-prefixed 1 "no-such-eal-opt" --iface "$IFACE" --ip "$IP" -- \
	--file-prefix="$eal_prefix" --no-such-eal-opt
if [ -e "$DPW_RUNDIR/$eal_prefix" ]; then
	fail eal-unknown-arg-prefixed-no-dir "$DPW_RUNDIR/$eal_prefix left behind"
	rmdir "$DPW_RUNDIR/$eal_prefix" 2>/dev/null   # ours, by its unique name
else
	pass eal-unknown-arg-prefixed-no-dir
fi
bad port-not-found 1 "nosuchdev" --port nosuchdev --ip "$IP"

# Arguments: usage errors (2).
bad iface-missing 2 "nosuch0" --iface nosuch0 --ip "$IP"
bad ip-bad-octet 2 "198\.18\.0\.300/24" --iface "$IFACE" --ip 198.18.0.300/24
bad ip-no-prefix 2 "'198\.18\.0\.2'" --iface "$IFACE" --ip 198.18.0.2
bad ip-prefix-40 2 "198\.18\.0\.2/40" --iface "$IFACE" --ip 198.18.0.2/40
bad ip-no-value 2 "--ip" --iface "$IFACE" --ip
bad no-ip 2 "--ip" --iface "$IFACE"
bad no-port 2 "--iface" --ip "$IP"
bad iface-and-port 2 "--iface.*--port|--port.*--iface" --iface "$IFACE" --port net_ring0 --ip "$IP"
bad unknown-option 2 "--no-such-option" --iface "$IFACE" --ip "$IP" --no-such-option
bad stray-argument 2 "stray" --iface "$IFACE" --ip "$IP" stray
bad echo-port-0 2 "echo-port" --iface "$IFACE" --ip "$IP" --echo-port 0
bad echo-port-text 2 "echo-port" --iface "$IFACE" --ip "$IP" --echo-port seven

dpw_finish
