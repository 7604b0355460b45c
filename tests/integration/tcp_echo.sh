#!/bin/bash
# tcp_echo: the stack's TCP echo listener against Linux's nc (netcat-openbsd): a short line,
# 4 MiB of random bytes back byte-identical, and 20 sequential short connections.
#   scripts/netns.sh run tests/integration/tcp_echo.sh   (or run it directly)
. "$(dirname "$0")/lib.sh"
dpw_init nc sha256sum head

stack_start

# nc -N: shut down the sending side at EOF on stdin, then read until the stack closes (it
# closes once it has echoed everything). timeout bounds each transfer.
echo_nc() {   # echo_nc SECONDS <in >out
	peer timeout "$1" nc -N "$DPW_IP_STACK" 7
}

# 1. One short line.
line="hello dpwsk $RANDOM$RANDOM"
got=$(echo "$line" | echo_nc 10)
rc=$?
assert_eq line-nc-status 0 "$rc"
assert_eq line-echoed "$line" "$got"

# 2. 4 MiB of random bytes, through and back.
head -c $((4 * 1024 * 1024)) /dev/urandom >"$DPW_TMP/big.in"
start=$(date +%s.%N)
echo_nc 30 <"$DPW_TMP/big.in" >"$DPW_TMP/big.out"
rc=$?
end=$(date +%s.%N)
assert_eq big-nc-status 0 "$rc"
assert_eq big-size "$(stat -c %s "$DPW_TMP/big.in")" "$(stat -c %s "$DPW_TMP/big.out")"
assert_eq big-sha256 "$(sha256sum <"$DPW_TMP/big.in" | cut -d' ' -f1)" \
	"$(sha256sum <"$DPW_TMP/big.out" | cut -d' ' -f1)"
echo "4 MiB echoed in $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }') s"

# 3. 20 sequential short connections, each with its own payload.
ok=0
bad=
for ((i = 1; i <= 20; i++)); do
	msg="connection $i of 20: $RANDOM$RANDOM"
	got=$(echo "$msg" | echo_nc 10)
	rc=$?
	if [ "$rc" -eq 0 ] && [ "$got" = "$msg" ]; then
		ok=$((ok + 1))
	else
		bad+="#$i(status $rc, got '${got:0:40}') "
	fi
done
if [ "$ok" -eq 20 ]; then
	pass sequential-20 "20 of 20 echoed"
else
	fail sequential-20 "expected 20 of 20 echoed, saw $ok; failed: $bad"
fi

s=$(stack_stats) || fatal stats "no stats line"
assert_eq tx-dropped 0 "$(stat_get "$s" tx_dropped)"
assert_eq drop-tcp 0 "$(( $(stat_get "$s" drop_tcp_chksum) + $(stat_get "$s" drop_tcp_other) ))"

stack_stop
dpw_finish
