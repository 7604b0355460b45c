#!/bin/bash
# echo_capture: --capture FILE (every program's engine option) writes what the port received
# and what the stack sent as pcapng, which tcpdump -r reads back: one nc exchange with
# dpwsk-echo is in the file both ways, the handshake, the echoed line and both FINs, every
# frame dpwsk sent with correct checksums, timestamps of today; the stats line counts what
# went in. With --capture-limit 1 (MB), 4 MB of traffic leaves a file that stopped growing
# near 1 MB and counted the rest as skipped.
#   scripts/netns.sh run tests/apps/echo_capture.sh   (or run it directly)
. "$(dirname "$0")/apps_lib.sh"
dpw_init nc tcpdump head
STACK_PROG=$DPW_ECHO
[ -x "$STACK_PROG" ] || fatal build "$STACK_PROG not built"

# 1. One exchange, captured.
cap=$DPW_TMP/one.pcapng
stack_start --capture "$cap"
line="hello capture $RANDOM$RANDOM"
got=$(echo "$line" | peer timeout 10 nc -N "$DPW_IP_STACK" 7)
assert_eq line-echoed "$line" "$got"
stack_stop
frames=$(stat_get "$STACK_FINAL" capture_frames)
assert_eq no-frame-skipped 0 "$(stat_get "$STACK_FINAL" capture_skipped)"
tcpdump -nn -tttt -vv -r "$cap" >"$DPW_TMP/one.txt" 2>"$DPW_TMP/one.err"
assert_eq tcpdump-reads-it 0 "$?"
assert_eq every-frame-in-file "$frames" "$(grep -c '^[0-9]\{4\}-' "$DPW_TMP/one.txt")"
S=$DPW_IP_STACK P=$DPW_IP_PEER
has() {   # has NAME PATTERN: a line of the decoded capture matches (grep -E)
	if grep -Eq -- "$2" "$DPW_TMP/one.txt"; then pass "$1"; else fail "$1" "no line matching '$2'"; fi
}
has syn-in "$P\\.[0-9]+ > $S\\.7: Flags \\[S\\]"
has synack-out "$S\\.7 > $P\\.[0-9]+: Flags \\[S\\.\\]"
has data-in "$P\\.[0-9]+ > $S\\.7: Flags \\[P\\.\\].* length $(( ${#line} + 1 ))"
has data-out "$S\\.7 > $P\\.[0-9]+: Flags \\[[FP]\\.+\\].* length $(( ${#line} + 1 ))"
has fin-in "$P\\.[0-9]+ > $S\\.7: Flags \\[F\\.\\]"
has fin-out "$S\\.7 > $P\\.[0-9]+: Flags \\[F?P?F\\.\\]"
has arp-reply-out "Reply $S is-at"
# dpwsk computes its checksums itself: tcpdump finds every one of them correct.
bad=$(grep -A1 "^[0-9-]* [0-9:.]* IP .*" "$DPW_TMP/one.txt" | grep -E "^ +$S\\.7 >" | grep -c incorrect)
assert_eq sent-checksums-correct 0 "$bad"
assert_ge sent-frames-checked 3 "$(grep -cE "^ +$S\\.7 > .*cksum .* \\(correct\\)" "$DPW_TMP/one.txt")"
assert_eq timestamps-today "$(date -u +%F)" "$(TZ=UTC tcpdump -nn -tttt -r "$cap" 2>/dev/null | head -n1 | cut -d' ' -f1)"

# 2. A limit: 4 MB echoed, a file of about 1 MB, the rest counted as skipped.
cap=$DPW_TMP/limited.pcapng
stack_start --capture "$cap" --capture-limit 1
head -c $((4 * 1000 * 1000)) /dev/urandom >"$DPW_TMP/big.in"
peer timeout 60 nc -N "$DPW_IP_STACK" 7 <"$DPW_TMP/big.in" >"$DPW_TMP/big.out"
assert_eq big-echoed "$(stat -c %s "$DPW_TMP/big.in")" "$(stat -c %s "$DPW_TMP/big.out")"
stack_stop
size=$(stat -c %s "$cap")
# A burst in progress when the limit is reached still goes in whole: at most 64 frames more.
if [ "$size" -ge 1000000 ] && [ "$size" -le $((1000000 + 64 * 9400)) ]; then
	pass limit-kept "$size bytes"
else
	fail limit-kept "$size bytes for a 1 MB limit"
fi
assert_ge limit-skipped-counted 1 "$(stat_get "$STACK_FINAL" capture_skipped)"
tcpdump -nn -r "$cap" >/dev/null 2>&1
assert_eq limited-file-readable 0 "$?"
dpw_finish
