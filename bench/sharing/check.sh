#!/bin/bash
# bench/sharing/check.sh TOOLDIR PROBE: sharegrind's test (meson test sharegrind). Runs
# sharing-probe under the tool with --window=window_work and checks the report:
#   shared_counter (both threads write it)             reported, written by 2, transfers
#                                                      (>= 50: it moves at each of 99 turns)
#   false_pair (each thread its own half of one line)  reported, written by 2, transfers,
#                                                      and as false sharing (no byte shared)
#   padded (each thread its own line)                  not reported
#   outside_shared (both write it, outside the window) not reported
# and that exactly the two workers counted, each entering the window at each of its turns.
# TOOLDIR holds sharegrind-amd64-linux and the core's files (it is VALGRIND_LIB). Prints ok,
# or why not and exits 1.
set -euo pipefail

[ $# -eq 2 ] || { echo "usage: check.sh TOOLDIR PROBE" >&2; exit 2; }
TOOLDIR=$1 PROBE=$2
failed=0
# A failed check: said at once; the report is shown and the exit is 1 once all have run.
fail() {
	echo "check.sh: FAILED: $*" >&2
	failed=1
}
give_up() {
	fail "$@"
	cat "$report" >&2 || true
	exit 1
}
command -v valgrind >/dev/null || { echo "check.sh: valgrind is not installed" >&2; exit 2; }
[ -x "$TOOLDIR/sharegrind-amd64-linux" ] || { echo "check.sh: no $TOOLDIR/sharegrind-amd64-linux" >&2; exit 2; }
[ -x "$PROBE" ] || { echo "check.sh: no $PROBE" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
report=$tmp/report log=$tmp/log
if ! VALGRIND_LIB=$TOOLDIR valgrind --tool=sharegrind --window=window_work \
	--read-inline-info=yes --out="$report" "$PROBE" >"$log" 2>&1; then
	cat "$log" >&2
	give_up "the probe under sharegrind exited non-zero"
fi
grep -q '^sharegrind: threads=' "$report" || give_up "no summary line"

# The header of the reported line whose data symbol is $1 (empty when not reported).
entry() { grep -E "^sharegrind: #[0-9]+ .* sym=$1\+[0-9]+ " "$report" || true; }
field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; }

for sym in shared_counter false_pair; do
	e=$(entry "$sym")
	[ -n "$e" ] || { fail "$sym is not reported"; continue; }
	[ "$(field "$e" kind)" = shared-write ] || fail "$sym is not kind=shared-write: $e"
	[ "$(field "$e" writers)" = 2 ] || fail "$sym is not written by 2 threads: $e"
	# The turns alternate the windows: the line moves at each turn (99 times).
	[ "$(field "$e" transfers)" -ge 50 ] || fail "$sym has under 50 transfers: $e"
done
[ -z "$(entry shared_counter)" ] || [ "$(field "$(entry shared_counter)" sharing)" = true ] ||
	fail "shared_counter is not reported as true sharing"
[ -z "$(entry false_pair)" ] || [ "$(field "$(entry false_pair)" sharing)" = false ] ||
	fail "false_pair is not reported as false sharing"
for sym in padded outside_shared; do
	[ -z "$(entry "$sym")" ] || fail "$sym is reported: $(entry "$sym")"
done
# Two threads counted (the workers), each entered the window at each of its 50 turns.
summary=$(grep '^sharegrind: threads=' "$report")
[ "$(field "$summary" threads)" = 2 ] || fail "not 2 threads counted: $summary"
entries=$(grep -cE '^sharegrind: thread [0-9]+: window_accesses=[1-9][0-9]* window_work=50( |$)' \
	"$report" || true)
[ "$entries" = 2 ] || fail "not 2 threads entering window_work 50 times each"
if [ "$failed" != 0 ]; then
	echo "--- report ---" >&2
	cat "$report" >&2
	exit 1
fi
echo ok
