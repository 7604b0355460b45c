#!/bin/bash
# lcore_placement: where the polling threads run. Without --lcores each engine may run on any
# CPU the process may use, a taskset included; with --lcores 0-1 --queues 2, engine N polls on
# CPU N alone. Until 2026-12-06 every engine polled on CPU 0 whatever was asked (threads
# inherit the EAL main lcore's pinning): two engines shared one CPU, and test programs beside
# each other all polled on CPU 0.
#   scripts/netns.sh run tests/integration/lcore_placement.sh
. "$(dirname "$0")/lib.sh"
dpw_init taskset ping
[ "$(nproc)" -ge 2 ] || skip "needs 2 CPUs (has $(nproc))"
unset DPW_QUEUES   # this test says how many engines

# The CPUs thread NAME of the stack may run on (Cpus_allowed_list), one line per thread.
thread_cpus() {
	local t
	for t in /proc/"$STACK_PID"/task/*; do
		[ "$(cat "$t/comm" 2>/dev/null)" = "$1" ] &&
			sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' "$t/status"
	done
}
# A sure answer from the stack: it is up and polling (not just started).
answers() {
	peer timeout 10 ping -n -c 1 -W 5 "$DPW_IP_STACK" >/dev/null && pass "$1-answers" ||
		fail "$1-answers" "no echo reply"
}

allowed=$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' /proc/self/status)
main=$(basename "$STACK_PROG" | cut -c1-15)   # the kernel's 15-byte thread name

# 1. One engine, no --lcores: it polls on the main thread, free on every allowed CPU.
stack_start
answers default
assert_eq default-cpus "$allowed" "$(thread_cpus "$main")"
stack_stop

# 2. The same under taskset -c LAST: the EAL keeps to it (it used to move to CPU 0).
last=$(tr ',' '\n' <<<"$allowed" | tail -n1 | sed 's/.*-//')
taskset -pc "$last" $$ >/dev/null || fatal taskset "cannot restrict this shell to CPU $last"
stack_start
taskset -pc "$allowed" $$ >/dev/null
answers taskset
assert_eq taskset-cpus "$last" "$(thread_cpus "$main")"
stack_stop

# 3. Two engines, no --lcores: each free on every allowed CPU (the scheduler spreads them).
stack_start --queues 2
answers two-default
assert_eq two-default-engine-0 "$allowed" "$(thread_cpus dpw-engine-0)"
assert_eq two-default-engine-1 "$allowed" "$(thread_cpus dpw-engine-1)"
stack_stop

# 4. Two engines on --lcores 0-1: engine N on CPU N alone.
if [[ ",$allowed," =~ ,0(-|,) ]] && [ "$(taskset -c 0-1 true 2>&1)" = "" ]; then
	stack_start --queues 2 --lcores 0-1
	answers two-pinned
	assert_eq two-pinned-engine-0 0 "$(thread_cpus dpw-engine-0)"
	assert_eq two-pinned-engine-1 1 "$(thread_cpus dpw-engine-1)"
	stack_stop
else
	echo "CPUs 0 and 1 are not both usable here ($allowed): pinned case not run"
fi
dpw_finish
