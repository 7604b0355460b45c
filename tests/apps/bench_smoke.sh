#!/bin/bash
# bench_smoke: the benchmark command runs end to end. bench/run.sh --quick (one 1-second run
# per configuration, concurrency 1 and 16) in this test's topology; its JSON must parse and
# hold every section with figures above zero and no error counted, and the table and the plot
# must be written. No performance figure is asserted on: the machine is shared, and what this
# guards is that the benchmark keeps working (programs, options, output formats), not speed.
#   scripts/netns.sh run tests/apps/bench_smoke.sh   (or run it directly)
. "$(dirname "$0")/../integration/lib.sh"
dpw_init dpdk-testpmd python3

OUTD=$DPW_TMP/bench
BENCH_LOG=$DPW_TMP/bench.log
# Inside this topology run.sh uses it as it is (DPW_NS_STACK is set) and cleans up after
# itself. Bounded: 240 s (meson's own limit is 300 s; it takes about 30 s), then SIGTERM, on
# which its trap stops what it started.
rc=
bash "$DPW_SRC/bench/run.sh" --quick --build "$DPW_BUILD" --out "$OUTD" --raw "$DPW_TMP/raw" \
	>"$BENCH_LOG" 2>&1 &
BENCH_PID=$!
dpw_track "$BENCH_PID"
if dpw_wait_exit "$BENCH_PID" 240; then
	rc=$DPW_RC
else
	dpw_kill "$BENCH_PID"
	rc=timeout
fi
assert_eq run-exit-status 0 "$rc"
if [ "$rc" != 0 ]; then
	tail -n 40 "$BENCH_LOG" | sed 's/^/  run.sh: /'
fi
# A measurement that failed is counted in the JSON (failures-0 below); what run.sh said of it:
grep -A6 'FAILED' "$BENCH_LOG" | sed 's/^/  run.sh: /'
# bench/memif.sh once failed here with no line of its own in run.sh's output and no
# memif.json (cause unknown; DPDK's memif driver had crashed in a testpmd at that moment):
# its own report, for the next time.
[ -f "$OUTD/memif.json" ] || tail -n 30 "$OUTD/memif.txt" 2>/dev/null | sed 's/^/  memif.txt: /'

grep -q 'total run time' "$BENCH_LOG" && pass progress-and-total || fail progress-and-total \
	"no 'total run time' line in run.sh's output"
assert_ge progress-lines 13 "$(grep -c '^  \[run 1/1\]' "$BENCH_LOG")"

for f in latest.json latest.txt latest.png; do
	if [ -s "$OUTD/$f" ]; then pass "written-$f"; else fail "written-$f" "$OUTD/$f missing or empty"; fi
done
if [ "$(head -c 8 "$OUTD/latest.png" 2>/dev/null | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]; then
	pass png-signature
else
	fail png-signature "latest.png is not a PNG"
fi
grep -q 'MET\|MISSED' "$OUTD/latest.txt" && pass table-targets || fail table-targets \
	"latest.txt has no target lines"

# The JSON: one line per check, "ok NAME" or "bad NAME: why".
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
"$PY" - "$OUTD/latest.json" >"$DPW_TMP/checks" 2>&1 <<'PY'
import json, sys

def check(name, cond, why=""):
    print(("ok %s" if cond else "bad %s: " + why) % name)

def pos(x):
    return isinstance(x, (int, float)) and x > 0

try:
    r = json.load(open(sys.argv[1]))
except (OSError, ValueError) as e:
    check("json-parses", False, str(e))
    sys.exit()
check("json-parses", True)
for k in ("date", "git", "machine", "build", "config", "units", "ceiling", "packets_per_cycle",
          "connclose", "targets", "rr", "bulk", "errors", "failures", "elapsed_s"):
    check("has-" + k, k in r, "no '%s' section" % k)
m = r.get("machine", {})
check("machine", pos(m.get("nproc")) and m.get("kernel") and m.get("cpu_model")
      and len(m.get("loadavg_start", [])) == 3 and len(m.get("loadavg_end", [])) == 3, str(m))
check("git-commit", len(r.get("git", {}).get("commit", "")) >= 7, str(r.get("git")))
check("errors-0", r.get("errors") == 0, "errors=%s" % r.get("errors"))
check("failures-0", r.get("failures") == 0, "failures=%s" % r.get("failures"))
c = r.get("ceiling", {})
check("ceiling-pps", pos(c.get("median_pps")), str(c.get("runs")))
p = r.get("packets_per_cycle", {})
check("packets-per-cycle", pos(p.get("measured")) and pos(p.get("ceiling_cycles_per_s")), str(p))
cc = r.get("connclose", {}).get("clients", {})
check("connclose-clients", sorted(cc) == ["dpwsk", "dpwsk-echo", "linux"], str(sorted(cc)))
for client, cl in cc.items():
    for conc in ("1", "16"):
        d = cl.get("by_concurrency", {}).get(conc, {})
        name = "connclose-%s-c%s" % (client, conc)
        check(name, all(pos(d.get(k)) for k in ("conn_per_s", "cpu_us_per_conn", "connect_p50_us",
                                                   "share_of_ceiling", "wire_packets_per_cycle"))
              and d.get("errors") == 0 and d.get("runs_failed") == 0,
              json.dumps({k: v for k, v in d.items() if k != "runs"}))
t = r.get("targets", {}).get("ratios", [])
check("targets", len(t) == 6 and all(pos(x.get("value")) and x.get("met") in (True, False) for x in t),
      json.dumps(t))
for sec, keys in (("rr", ("rate_tx_per_s", "p50_us", "p99_us", "cpu_s")),
                  ("bulk", ("mb_per_s", "gbit_s", "cpu_s"))):
    pairs = r.get(sec, {}).get("pairs", {})
    want = ["dpwsk", "dpwsk-echo", "linux", "linux-spin"] if sec == "rr" else ["dpwsk", "linux"]
    check(sec + "-pairs", sorted(pairs) == want, str(sorted(pairs)))
    for k, d in pairs.items():
        check("%s-%s" % (sec, k), all(pos(d.get(x)) for x in keys) and d.get("errors") == 0
              and d.get("runs_failed") == 0, json.dumps({x: v for x, v in d.items() if x != "runs"}))
    check(sec + "-ratios", all(pos(v) for v in r.get(sec, {}).get("ratios", {}).values())
          and r.get(sec, {}).get("ratios"), str(r.get(sec, {}).get("ratios")))
PY
if ! grep -q '^ok json-parses' "$DPW_TMP/checks"; then
	fail json-parses "$(head -c 300 "$DPW_TMP/checks")"
fi
while read -r verdict name why; do
	case "$verdict" in
	ok) pass "$name" ;;
	bad) fail "${name%:}" "$why" ;;
	*) fail json-check "unexpected checker output: $verdict $name $why" ;;
	esac
done <"$DPW_TMP/checks"
if [ "$DPW_FAILS" != 0 ]; then
	sed 's/^/  latest.txt: /' "$OUTD/latest.txt" 2>/dev/null
fi

# Section 7, bench/memif.sh: its own memif.json, figures above zero, four targets judged.
"$PY" - "$OUTD/memif.json" >"$DPW_TMP/memif-checks" 2>&1 <<'PY'
import json, sys
def check(name, cond, why=""):
    print(("ok %s" if cond else "bad %s: " + why) % name)
def pos(x):
    return isinstance(x, (int, float)) and x > 0
try:
    r = json.load(open(sys.argv[1]))
except (OSError, ValueError) as e:
    check("memif-json-parses", False, str(e))
    sys.exit()
check("memif-json-parses", True)
check("memif-ceiling", pos(r.get("ceiling_pps")), str(r.get("ceiling_pps")))
cc = r.get("connclose", [])
check("memif-connclose", len(cc) >= 1 and all(pos(x.get("dpwsk")) and pos(x.get("linux")) for x in cc),
      json.dumps(cc))
rr = r.get("rr", {})
check("memif-rr", all(pos(rr.get(k)) for k in ("dpwsk_p50", "dpwsk_p99", "linux_p50", "linux_p99")),
      json.dumps(rr))
b = r.get("bulk", {})
check("memif-bulk", pos(b.get("dpwsk_mb_s")) and pos(b.get("linux_mb_s")), json.dumps(b))
t = r.get("targets", [])
check("memif-targets", len(t) == 4 and all(x.get("met") in (True, False) for x in t), json.dumps(t))
PY
while read -r verdict name why; do
	case "$verdict" in
	ok) pass "$name" ;;
	bad) fail "${name%:}" "$why" ;;
	*) fail memif-json-check "unexpected checker output: $verdict $name $why" ;;
	esac
done <"$DPW_TMP/memif-checks"

# run.sh cleaned up: nothing of it still runs in our namespaces, no kernel address left on
# the stack's side, no EAL runtime directories of its DPDK processes.
assert_eq no-processes-left "" "$(ip netns pids "$DPW_NS_STACK"; ip netns pids "$DPW_NS_PEER")"
assert_eq no-kernel-address "" "$(ip -n "$DPW_NS_STACK" -4 -br addr show dev "$DPW_IF_STACK" | awk '{print $3}')"
left=$(ls -d "$DPW_RUNDIR"/dpw-bench-*-"$BENCH_PID" 2>/dev/null || true)
assert_eq no-testpmd-runtime-dir "" "$left"
dpw_finish
