#!/bin/bash
# The stack-to-stack topology: two dpwsk processes joined by net_memif (packet rings in shared
# memory, no kernel in the data path), so that what is measured is the stack itself. Starts the
# server end, waits until it is ready, runs the client end against it, stops the server by its
# PID and prints the server's output on stderr. Both run in a network namespace of their own
# (memif needs no network, but nothing they do can then reach one), the socket lives in a
# temporary directory, and everything goes in a trap.
#
#   scripts/memif.sh SERVER-PROGRAM [ARGS...] -- CLIENT-PROGRAM [ARGS...]     (as root)
#
# Each program gets its port options first: the server --memif server:SOCKET --ip
# 198.18.4.1/24, the client --memif client:SOCKET --ip 198.18.4.2/24; "@SERVER@" in the
# client's arguments becomes 198.18.4.1. One polling lcore each: the server on CPU 0, the
# client on CPU 1 (DPW_MEMIF_LCORES="S C" to choose). The status is the client's, or 1 if the
# server did not outlive it and end with status 0 on SIGTERM, or 3 if the server died inside
# DPDK's memif driver as the client left (a DPDK 22.11 race, told apart by the kernel's log).
#   e.g. scripts/memif.sh build/apps/echo/dpwsk-echo -- \
#          build/apps/connclose/dpwsk-connclose --duration 3 --concurrency 64 @SERVER@:7
#
# The EAL arguments are the programs' defaults (--no-huge --no-shconf, a file prefix per
# process): memif in copy mode needs no hugepages and no shared configuration.
set -uo pipefail

die() { echo "memif.sh: error: $*" >&2; exit 2; }
SERVER_IP=198.18.4.1 CLIENT_IP=198.18.4.2 PREFIX=24

server=() client=() seen_sep=0
for a in "$@"; do
	if [ $seen_sep = 0 ] && [ "$a" = -- ]; then seen_sep=1; continue; fi
	if [ $seen_sep = 0 ]; then server+=("$a"); else client+=("${a//@SERVER@/$SERVER_IP}"); fi
done
[ ${#server[@]} -gt 0 ] && [ ${#client[@]} -gt 0 ] ||
	die "usage: memif.sh SERVER-PROGRAM [ARGS...] -- CLIENT-PROGRAM [ARGS...]"
for p in "${server[0]}" "${client[0]}"; do [ -x "$p" ] || die "$p is not an executable"; done
[ "$(id -u)" = 0 ] || die "needs root (ip netns add)"
command -v ip >/dev/null || die "ip (iproute2) not installed; run scripts/setup.sh"

if [ -n "${DPW_MEMIF_LCORES:-}" ]; then
	read -r server_lcore client_lcore <<<"$DPW_MEMIF_LCORES"
else
	server_lcore=0 client_lcore=$(($(nproc) > 1 ? 1 : 0))
fi
[[ "${server_lcore:-}" =~ ^[0-9]+$ && "${client_lcore:-}" =~ ^[0-9]+$ ]] ||
	die "DPW_MEMIF_LCORES must be two CPU numbers, 'S C'"

ns=dpw-memif-$$-$RANDOM
dir=$(mktemp -d "${TMPDIR:-/tmp}/dpw-memif.XXXXXX") || die "mktemp failed"
spid=
cleanup() {
	if [ -n "$spid" ] && kill -0 "$spid" 2>/dev/null; then
		kill -TERM "$spid" 2>/dev/null
		for _ in $(seq 1 100); do kill -0 "$spid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$spid" 2>/dev/null
	fi
	[ -f "$dir/server.out" ] && sed 's/^/server: /' "$dir/server.out" >&2
	ip netns del "$ns" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ip netns add "$ns" || die "ip netns add $ns failed"

sock=$dir/memif.sock
ip netns exec "$ns" "${server[0]}" --memif "server:$sock" --ip "$SERVER_IP/$PREFIX" \
	--lcores "$server_lcore" "${server[@]:1}" >"$dir/server.out" 2>&1 &
spid=$!
# Ready when the program says so (its port is up and it listens); 30 s at most.
for _ in $(seq 1 300); do
	grep -q '^dpwsk: ready' "$dir/server.out" && break
	kill -0 "$spid" 2>/dev/null || die "the server exited before it was ready"
	sleep 0.1
done
grep -q '^dpwsk: ready' "$dir/server.out" || die "the server was not ready within 30 s"

ip netns exec "$ns" "${client[0]}" --memif "client:$sock" --ip "$CLIENT_IP/$PREFIX" \
	--lcores "$client_lcore" "${client[@]:1}"
rc=$?
# DPDK 22.11's net_memif unmaps the shared rings when the peer leaves without stopping the
# lcore that polls them (README, known limits): the server may die there as the client
# leaves, or while it closes the port after SIGTERM. A crash there, and only there, is told
# apart (status 3), by the kernel's own record of where the fault was.
exit_if_memif_race() {   # exit_if_memif_race STATUS WHEN
	local fault
	fault=$(dmesg 2>/dev/null | grep -E "\[$spid\]: segfault .* in librte_net_memif" | tail -n1)
	if [ "$1" = 139 ] && [ -n "$fault" ]; then
		echo "memif.sh: the server died in DPDK's net_memif $2 (DPDK 22.11's memif" \
			"disconnect race, README: known limits): $fault" >&2
		spid=
		exit 3
	fi
}

# The server must have outlived the client and must end clean on SIGTERM: its status counts.
if ! kill -0 "$spid" 2>/dev/null; then
	wait "$spid"
	src=$?
	exit_if_memif_race "$src" "as the client left"
	echo "memif.sh: error: the server did not outlive the client (its status: $src)" >&2
	spid=
	exit 1
fi
kill -TERM "$spid"
wait "$spid"
src=$?
exit_if_memif_race "$src" "as it stopped, the client gone"
spid=
if [ $src != 0 ]; then
	echo "memif.sh: error: the server's exit status was $src" >&2
	[ $rc = 0 ] && rc=1
fi
exit $rc
