#!/bin/bash
# The default job: set up (if needed), make the namespace topology, start dpwsk-echo (the
# WSK echo server, TCP and UDP port 7) on one side and talk to it from Linux on the other:
# ping, then a TCP and a UDP echo through nc. Leaves nothing.
#   sudo scripts/demo.sh            (add --hold to keep it running until Ctrl-C)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)

if [ "${1:-}" != "--inner" ]; then
    "$here/scripts/setup.sh"
    exec "$here/scripts/netns.sh" run "$0" --inner "$@"
fi
shift
hold=0
[ "${1:-}" = "--hold" ] && hold=1

out=$(mktemp)
stack_pid=
cleanup() {
    [ -n "$stack_pid" ] && kill -TERM "$stack_pid" 2>/dev/null && wait "$stack_pid" || true
    rm -f "$out"
}
trap cleanup EXIT

echo "== topology: Linux $DPW_IP_PEER ($DPW_NS_PEER) <-veth-> dpwsk $DPW_IP_STACK ($DPW_NS_STACK)"
ip netns exec "$DPW_NS_STACK" "$here/build/apps/echo/dpwsk-echo" \
    --iface "$DPW_IF_STACK" --ip "$DPW_IP_STACK/$DPW_PREFIX" >"$out" &
stack_pid=$!
for _ in $(seq 200); do           # up to 20 s for EAL start-up
    grep -q '^dpwsk: ready' "$out" && break
    kill -0 "$stack_pid" 2>/dev/null || { echo "dpwsk did not start" >&2; exit 1; }
    sleep 0.1
done
grep '^dpwsk: ready' "$out" || { echo "dpwsk did not become ready" >&2; exit 1; }

echo "== ping from Linux"
ip netns exec "$DPW_NS_PEER" ping -c 3 -i 0.2 "$DPW_IP_STACK"
echo "== TCP echo through nc"
echo "hello from the Linux kernel's TCP" |
    ip netns exec "$DPW_NS_PEER" timeout 10 nc -N "$DPW_IP_STACK" 7
echo "== UDP echo through nc -u"
# nc -u quits at the end of its input: keep it open a moment for the answer to come back.
{ echo "hello from the Linux kernel's UDP"; sleep 1; } |
    ip netns exec "$DPW_NS_PEER" timeout 10 nc -u -q 0 "$DPW_IP_STACK" 7

if [ $hold = 1 ]; then
    echo "== running; try: sudo ip netns exec $DPW_NS_PEER nc $DPW_IP_STACK 7   (or nc -u;"
    echo "   Ctrl-C stops)"
    wait "$stack_pid" || true
fi
kill -TERM "$stack_pid"
wait "$stack_pid" || true
stack_pid=
echo "== dpwsk counters at exit"
grep '^dpwsk: stats' "$out" | tail -1 | tr ' ' '\n' | sed -n '3,$p' | paste -sd' ' | fold -s -w 100
grep '^dpwsk: echo' "$out" | tail -1 | tr ' ' '\n' | sed -n '3,$p' | paste -sd' ' | fold -s -w 100
