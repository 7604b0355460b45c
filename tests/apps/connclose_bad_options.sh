#!/bin/bash
# connclose_bad_options: dpwsk-connclose and linux-connclose refuse a bad command line the
# same way: one line on stderr naming the problem, nothing on stdout, exit status 2, before
# anything starts (so no EAL, no namespace and no root needed). --help exits 0.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/connclose_lib.sh"
cc_need_built "$CONNCLOSE" "$LINUX_CONNCLOSE"
DPW_TMP=$(mktemp -d "${TMPDIR:-/tmp}/dpw-$DPW_TEST.XXXXXX") || exit 1
trap 'rm -rf "$DPW_TMP"' EXIT

# Port options every dpwsk program needs; "lo" exists in every namespace and is never
# opened: each case fails while the command line is read.
PORTOPTS=(--iface lo --ip 198.18.0.2/24 --ip6 2001:2::2/64)
T=198.18.0.1:5000

# expect_bad NAME PATTERN ARGS...: both programs, the same arguments (PROGS: which ones).
PROGS=("$CONNCLOSE" "$LINUX_CONNCLOSE")
expect_bad() {
	local name=$1 pattern=$2 prog out err rc
	shift 2
	for prog in "${PROGS[@]}"; do
		if [ "$prog" = "$CONNCLOSE" ]; then
			timeout 20 "$prog" "${PORTOPTS[@]}" "$@" >"$DPW_TMP/out" 2>"$DPW_TMP/err"
		else
			timeout 20 "$prog" "$@" >"$DPW_TMP/out" 2>"$DPW_TMP/err"
		fi
		rc=$?
		out=$(cat "$DPW_TMP/out")
		err=$(cat "$DPW_TMP/err")
		local who
		who=$(basename "$prog")
		if [ "$rc" = 2 ] && [ -z "$out" ] && [ "$(wc -l <"$DPW_TMP/err")" = 1 ] &&
			grep -q "^$who: error: .*$pattern" "$DPW_TMP/err"; then
			pass "$name-$who" "$err"
		else
			fail "$name-$who" "expected exit 2 and one line matching '$pattern'; saw exit $rc, stdout '${out:0:80}', stderr '${err:0:200}'"
		fi
	done
}

expect_bad no-target 'no target' --cycles 10
expect_bad two-targets 'one target only' --cycles 10 "$T" 198.18.0.1:5001
expect_bad target-no-port 'bad target' --cycles 10 198.18.0.1
expect_bad target-port-0 'bad target' --cycles 10 198.18.0.1:0
expect_bad target-port-big 'bad target' --cycles 10 198.18.0.1:65536
expect_bad target-any 'bad target' --cycles 10 0.0.0.0:5000
expect_bad target-name 'bad target' --cycles 10 localhost:5000
expect_bad target-broadcast 'bad target.*broadcast' --cycles 10 255.255.255.255:5000
expect_bad target-multicast4 'bad target.*multicast' --cycles 10 224.0.0.1:5000
# IPv6 targets: "[IPV6]:PORT" only, naming one host.
expect_bad target6-no-brackets 'bad target.*brackets' --cycles 10 2001:2::1:5000
expect_bad target6-bare 'bad target.*brackets' --cycles 10 2001:2::1
expect_bad target6-no-close 'bad target.*missing .\]' --cycles 10 '[2001:2::1:5000'
expect_bad target6-no-port 'bad target.*:PORT' --cycles 10 '[2001:2::1]'
expect_bad target6-port-empty 'bad target.*port' --cycles 10 '[2001:2::1]:'
expect_bad target6-port-0 'bad target.*port' --cycles 10 '[2001:2::1]:0'
expect_bad target6-port-big 'bad target.*port' --cycles 10 '[2001:2::1]:65536'
expect_bad target6-bad-address 'bad target.*not an IPv6 address' --cycles 10 '[2001:2::zz]:5000'
expect_bad target6-ipv4-inside 'bad target.*not an IPv6 address' --cycles 10 '[198.18.0.1]:5000'
expect_bad target6-empty 'bad target.*not an IPv6 address' --cycles 10 '[]:5000'
expect_bad target6-zone 'bad target.*not an IPv6 address' --cycles 10 '[fe80::1%lo]:5000'
expect_bad target6-unspecified 'bad target.*unspecified' --cycles 10 '[::]:5000'
expect_bad target6-multicast 'bad target.*multicast' --cycles 10 '[ff02::1]:5000'
expect_bad target6-v4mapped 'bad target.*IPv4-mapped' --cycles 10 '[::ffff:198.18.0.1]:5000'
expect_bad no-bound 'give --cycles' "$T"
expect_bad no-bound6 'give --cycles' "[2001:2::1]:5000"
expect_bad concurrency-0 'concurrency' --cycles 10 --concurrency 0 "$T"
expect_bad concurrency-big 'concurrency' --cycles 10 --concurrency 16385 "$T"
expect_bad concurrency-word 'concurrency' --cycles 10 --concurrency many "$T"
expect_bad cycles-0 'cycles' --cycles 0 "$T"
expect_bad cycles-negative 'cycles' --cycles -5 "$T"
expect_bad cycles-huge 'cycles' --cycles 99999999999999999999999 "$T"
expect_bad duration-0 'duration' --duration 0 "$T"
expect_bad duration-negative 'duration' --duration -1 "$T"
expect_bad duration-word 'duration' --duration soon "$T"
expect_bad duration-long 'duration' --duration 86401 "$T"
expect_bad mode 'mode' --cycles 10 --mode polite "$T"
expect_bad bytes-0 'bytes' --cycles 10 --mode exchange --bytes 0 "$T"
expect_bad bytes-big 'bytes' --cycles 10 --mode exchange --bytes 65537 "$T"
expect_bad json-value 'takes no value' --cycles 10 --json=yes "$T"
expect_bad missing-value 'needs a value' "$T" --cycles
expect_bad unknown 'unknown option' --cycles 10 --frobnicate "$T"
# dpwsk-connclose's own: holding idle connections (bench/scale.sh (b)).
PROGS=("$CONNCLOSE")
expect_bad hold-no-port 'go together' --cycles 10 --hold 100 "$T"
expect_bad hold-port-alone 'go together' --cycles 10 --hold-port 7 "$T"
expect_bad hold-0 'hold' --cycles 10 --hold-port 7 --hold 0 "$T"
expect_bad hold-port-big 'hold-port' --cycles 10 --hold-port 65536 --hold 10 "$T"
PROGS=("$LINUX_CONNCLOSE")
expect_bad hold-linux 'unknown option' --cycles 10 --hold-port 7 --hold 10 "$T"

for prog in "$CONNCLOSE" "$LINUX_CONNCLOSE"; do
	timeout 20 "$prog" --help >"$DPW_TMP/out" 2>"$DPW_TMP/err"
	rc=$?
	if [ "$rc" = 0 ] && grep -q -- '--concurrency' "$DPW_TMP/out" && grep -q -- '--mode' "$DPW_TMP/out"; then
		pass "help-$(basename "$prog")"
	else
		fail "help-$(basename "$prog")" "exit $rc, stdout '$(head -c 200 "$DPW_TMP/out")'"
	fi
done
dpw_finish
