#!/bin/bash
# dumpcap: dpdk-dumpcap attaches to a running dpwsk program and captures both directions.
# dpdk-dumpcap is a DPDK secondary process: the program runs with a shared configuration and
# hugepages (EAL arguments without --no-shconf/--no-huge, a file prefix to find it by), which
# this test provides for its own run only: 2 MiB pages reserved on top of what the machine
# had, a hugetlbfs mount of its own, both undone in the trap. dpwsk-echo on net_tap (in a
# namespace of the test's own: 198.18.7.1 kernel, 198.18.7.2 dpwsk) with --idle-timeout 1;
# while dumpcap captures, the kernel connects with nc, sends a line and goes quiet, so dpwsk
# resets the connection after a second (WskCloseSocket on an open connection: a RST). In the
# pcapng (tcpdump -r): the kernel's SYN (received), dpwsk's SYN-ACK, the echoed line and the
# RST (sent).
#   bash tests/apps/dumpcap.sh   (as root)
. "$(dirname "$0")/apps_lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root (namespaces, hugepages)"
for t in dpdk-dumpcap tcpdump nc; do command -v $t >/dev/null || skip "$t not installed"; done
[ -x "$DPW_ECHO" ] || skip "$DPW_ECHO is not built"
[ -w /proc/sys/vm/nr_hugepages ] || skip "cannot reserve hugepages here"
DPW_TMP=$(mktemp -d "${TMPDIR:-/tmp}/dpw-$DPW_TEST.XXXXXX") || exit 1
NS=dpw-dumpcap-$$-$RANDOM
TAP=dpwtap1 KIP=198.18.7.1 SIP=198.18.7.2
PREFIX=dpw-dumpcap-$$
PAGES_BEFORE=$(cat /proc/sys/vm/nr_hugepages)
HUGE=$DPW_TMP/huge
ECHO_PID= DC_PID=
cleanup() {
	[ -n "$DC_PID" ] && kill -INT "$DC_PID" 2>/dev/null && dpw_wait_exit "$DC_PID" 10
	[ -n "$ECHO_PID" ] && kill -TERM "$ECHO_PID" 2>/dev/null && dpw_wait_exit "$ECHO_PID" 10
	ip netns del "$NS" 2>/dev/null
	mountpoint -q "$HUGE" && umount "$HUGE"
	echo "$PAGES_BEFORE" >/proc/sys/vm/nr_hugepages
	rm -rf "/var/run/dpdk/$PREFIX" "$DPW_TMP"
}
trap cleanup EXIT

# 200 pages (400 MiB) for the program's 256 MiB and dumpcap's pool.
echo $((PAGES_BEFORE + 200)) >/proc/sys/vm/nr_hugepages
free=$(awk '/HugePages_Free/ { print $2 }' /proc/meminfo)
[ "${free:-0}" -ge 200 ] || skip "only ${free:-0} free 2 MiB pages could be reserved"
mkdir "$HUGE" && mount -t hugetlbfs -o pagesize=2M none "$HUGE" || fatal hugetlbfs "mount failed"
ip netns add "$NS" || fatal netns "ip netns add failed"
ip netns exec "$NS" ip link set lo up

ECHO_OUT=$DPW_TMP/echo.out
# dpdk-dumpcap is a secondary process: it must map the hugepage memory at the very address
# the primary did. Left to chance, the primary's address (near the top of its mmap area) can be
# taken by a library in dumpcap ("Cannot get a virtual area at requested address", once under
# ASan); a base far below both mmap areas, and above ASan's shadow, is free in both.
ip netns exec "$NS" "$DPW_ECHO" --port net_tap0 --ip "$SIP/24" --tcp-port 7 --udp-port 0 \
	--idle-timeout 1 -- -l 0 -m 256 --no-pci --huge-dir "$HUGE" --file-prefix "$PREFIX" \
	--base-virtaddr 0x200000000000 \
	--log-level='*:error' "--vdev=net_tap0,iface=$TAP" >"$ECHO_OUT" 2>&1 &
ECHO_PID=$!
wait_file_grep "$ECHO_OUT" '^dpwsk: ready' 20 || fatal echo-start "$(head -c 300 "$ECHO_OUT")"
ip netns exec "$NS" ip addr add "$KIP/24" dev "$TAP"
ip netns exec "$NS" ip link set "$TAP" up
SMAC=$(sed -n 's/.* mac=\([^ ]*\).*/\1/p' "$ECHO_OUT" | head -n1)

PCAP=$DPW_TMP/cap.pcapng
ip netns exec "$NS" stdbuf -oL -eL dpdk-dumpcap --file-prefix="$PREFIX" -i net_tap0 -w "$PCAP" \
	>"$DPW_TMP/dc.out" 2>&1 &
DC_PID=$!
if wait_file_grep "$DPW_TMP/dc.out" 'Capturing on' 20; then
	pass dumpcap-attached "$(grep 'Capturing on' "$DPW_TMP/dc.out")"
else
	fatal dumpcap-attached "$(head -c 400 "$DPW_TMP/dc.out")"
fi

# A line, then silence: dpwsk echoes it and, idle a second later, resets the connection; nc
# sees the reset and ends (bounded by timeout either way).
{ echo "dumpcap line"; sleep 5; } | ip netns exec "$NS" timeout 10 nc "$SIP" 7 >"$DPW_TMP/nc.out" 2>&1
assert_eq echoed "dumpcap line" "$(head -n1 "$DPW_TMP/nc.out")"
kill -USR1 "$ECHO_PID"
wait_file_grep "$ECHO_OUT" '^dpwsk: echo ' 10
assert_eq idle-reset 1 "$(stat_get "$(grep '^dpwsk: echo ' "$ECHO_OUT" | tail -n1)" idle_closed)"

kill -INT "$DC_PID"
dpw_wait_exit "$DC_PID" 20 || { dpw_kill "$DC_PID"; fatal dumpcap-stop "still running"; }
assert_eq dumpcap-exit-status 0 "$DPW_RC"
DC_PID=
tcpdump -n -e -r "$PCAP" tcp >"$DPW_TMP/cap.txt" 2>"$DPW_TMP/cap.err" ||
	fail pcapng-readable "$(head -c 200 "$DPW_TMP/cap.err")"
# count NAME PATTERN: lines of the capture matching PATTERN (grep -E), at least one.
found() {
	local n
	n=$(grep -cE -- "$2" "$DPW_TMP/cap.txt")
	[ "$n" -ge 1 ] && pass "$1" "$n" || fail "$1" "no line matching '$2'"
}
found received-syn "$KIP\.[0-9]+ > $SIP\.7: Flags \[S\]"
found sent-syn-ack "^.*$SMAC > .*$SIP\.7 > $KIP\.[0-9]+: Flags \[S\.\]"
found sent-echo "^.*$SMAC > .*$SIP\.7 > $KIP\.[0-9]+: Flags \[P\.\].* length 13"
found sent-rst "^.*$SMAC > .*$SIP\.7 > $KIP\.[0-9]+: Flags \[R"
[ "$DPW_FAILS" = 0 ] || sed 's/^/  capture: /' "$DPW_TMP/cap.txt" | head -n 20

kill -TERM "$ECHO_PID"
dpw_wait_exit "$ECHO_PID" 20 || dpw_kill "$ECHO_PID"
assert_eq echo-exit-status 0 "$DPW_RC"
ECHO_PID=
dpw_finish
