#!/usr/bin/python3
"""bench/report.py: the summary of one bench/run.sh run.

    report.py TMP OUT

TMP is run.sh's scratch directory: TMP/manifest (one line per measurement: kind, client,
concurrency, run, exit status) and TMP/raw (each program's output). Writes OUT/latest.json
and OUT/latest.txt and prints the text. The run's settings come from run.sh through BENCH_*
environment variables (runs, seconds, concurrency, mode, sections, build, load, commit...).

Exit status: 0, 3 when everything was measured but a program counted errors or a run failed,
1 when this script itself failed. It is a file of its own, not a here-document in run.sh, so
that it reads, lints and diffs as the Python program it is.
"""
import datetime, json, os, platform, re, statistics, sys

tmp, out = sys.argv[1], sys.argv[2]
raw = os.path.join(tmp, "raw")
E = os.environ
concs = [int(c) for c in E["BENCH_CONC"].split(",")]
sections = E["BENCH_ONLY"].split(",")


def summary(path):
    """The last JSON line a program printed (its summary), or None."""
    try:
        lines = [l for l in open(path, errors="replace") if l.startswith("{")]
        return json.loads(lines[-1]) if lines else None
    except (OSError, ValueError):
        return None


def engine(path):
    """rx_packets + tx_packets of the last 'dpwsk: stats' line (the final one), or None."""
    last = None
    for l in open(path, errors="replace"):
        if l.startswith("dpwsk: stats "):
            last = l
    if not last:
        return None
    kv = dict(x.split("=", 1) for x in last.split()[2:] if "=" in x)
    return int(kv["rx_packets"]) + int(kv["tx_packets"])


def veth(path):
    try:
        s = json.load(open(path))[0]["stats64"]
        return s["rx"]["packets"] + s["tx"]["packets"]
    except (OSError, ValueError, IndexError, KeyError):
        return None


def listen_drops(f):
    """The peer kernel's TcpExt ListenDrops over the run (None if unreadable)."""
    def read(path):
        try:
            lines = [l.split() for l in open(path) if l.startswith("TcpExt:")]
            return dict(zip(lines[0][1:], (int(x) for x in lines[1][1:])))
        except (OSError, IndexError, ValueError):
            return None
    a, b = read(f + ".n0"), read(f + ".n1")
    if not a or not b or "ListenDrops" not in a:
        return None
    return b["ListenDrops"] - a["ListenDrops"]


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


man = [l.split() for l in open(os.path.join(tmp, "manifest"))]
result = {
    "schema": "dpwsk-bench/1",
    "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    "git": {"commit": E["BENCH_COMMIT"], "dirty": E["BENCH_DIRTY"] == "true"},
    "machine": {},
    "build": {"dir": E["BENCH_BUILD"]},
    "config": {"runs": int(E["BENCH_RUNS"]), "seconds_per_run": float(E["BENCH_SECS"]),
               "concurrency": concs, "mode": E["BENCH_MODE"], "sections": sections,
               "quick": E["BENCH_QUICK"] == "1",
               "placement": "dpwsk clients and testpmd tx on CPU %s, dpwsk-echo and testpmd rx on "
                            "CPU %s, Linux programs unpinned" % (E["BENCH_CPU_B"], E["BENCH_CPU_A"]),
               "topology": "two network namespaces, one veth pair, dpwsk over net_af_packet "
                           "(framecnt=4096); stack 198.18.0.2, Linux peer 198.18.0.1, "
                           "dpwsk-echo 198.18.0.3"},
    "units": {"conn_per_s": "connections (connect+close cycles) per second",
              "cpu_us_per_conn": "CPU time (user+system, the client process) per connection, us",
              "pps": "packets per second", "packets_per_cycle": "frames (both directions) per cycle",
              "rate_tx_per_s": "request/response transactions per second",
              "*_us": "microseconds", "mb_per_s": "payload megabytes (1e6) per second",
              "gbit_s": "payload gigabits per second", "cpu_s": "CPU seconds over the run",
              "share_of_ceiling": "conn_per_s / (ceiling pps / packets per cycle)",
              "ratio": "stack figure / kernel figure"},
}
try:
    model = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
except (OSError, StopIteration):
    model = platform.processor() or "unknown"
ls, le = [float(x) for x in E["BENCH_LOAD_START"].split()], [float(x) for x in E["BENCH_LOAD_END"].split()]
result["machine"] = {
    "nproc": os.cpu_count(), "kernel": platform.release(), "cpu_model": model,
    "loadavg_start": ls, "loadavg_end": le,
    "loadavg_high": ls[0] >= 0.5 * os.cpu_count(),
    "note": "a small shared machine (other work may run at the same time): figures move run "
            "to run; compare within one run. loadavg_high: the 1-minute load average was at "
            "least half the CPUs when the run started (loadavg_end includes the benchmark's own "
            "load: it keeps both CPUs busy)",
}
try:
    o = {x["name"]: x["value"] for x in
         json.load(open(os.path.join(E["BENCH_BUILD"], "meson-info", "intro-buildoptions.json")))}
    result["build"].update(buildtype=o.get("buildtype"), sanitize=o.get("b_sanitize"),
                           optimization=o.get("optimization"))
except (OSError, ValueError):
    pass
failures = int(E["BENCH_FAILS"])

# 2. the ceiling
ceil = None
if "ceiling" in sections:
    runs = [{"run": int(m[3]), "exit_status": int(m[4]), "rx_pps": float(m[5]),
             "tx_peak_pps": float(m[6])} for m in man if m[0] == "ceiling"]
    ceil = med([r["rx_pps"] for r in runs if r["rx_pps"] > 0])
    result["ceiling"] = {
        "how": "dpdk-testpmd --forward-mode=txonly on the stack's veth end -> rxonly on the "
               "peer's, both net_af_packet framecnt=4096, 64-byte UDP frames; the rate the far "
               "side received (median of its per-second samples while the sender ran)",
        "runs": runs, "median_pps": ceil}

# 1. connect/close
LABEL = {"linux": "Linux -> Linux", "dpwsk": "dpwsk -> Linux", "dpwsk-echo": "dpwsk -> dpwsk-echo"}
PROGRAM = {"linux": "linux-connclose -> linux-server", "dpwsk": "dpwsk-connclose -> linux-server",
           "dpwsk-echo": "dpwsk-connclose -> dpwsk-echo (second DPDK process)"}
ppc_engine = []
cc = {}
if "connclose" in sections:
    for client in ("linux", "dpwsk", "dpwsk-echo"):
        byc = {}
        for c in concs:
            runs = []
            for m in man:
                if m[0] != "connclose" or m[1] != client or m[2] != str(c):
                    continue
                f = os.path.join(raw, "connclose.%s.%d.%s" % (client, c, m[3]))
                s = summary(f + ".out")
                r = {"run": int(m[3]), "exit_status": int(m[4])}
                if s is None:
                    r["error"] = "no summary"
                    runs.append(r)
                    continue
                v0, v1 = veth(f + ".v0"), veth(f + ".v1")
                r.update(cycles=s["cycles"], errors=s["errors"], conn_per_s=s["conn_per_s"],
                         cpu_us_per_conn=s["cpu_us_per_conn"],
                         connect_p50_us=s["connect_us"]["p50"], connect_p99_us=s["connect_us"]["p99"],
                         connect_max_us=s["connect_us"]["max"],
                         close_p50_us=s["close_us"]["p50"], close_p99_us=s["close_us"]["p99"])
                if s["errors_by_status"]:
                    r["errors_by_status"] = s["errors_by_status"]
                drops = listen_drops(f)
                if drops is not None:
                    r["peer_listen_drops"] = drops
                if v0 is not None and v1 is not None and s["cycles"]:
                    r["wire_packets_per_cycle"] = round((v1 - v0) / s["cycles"], 3)
                if client != "linux":
                    e = engine(f + ".out")
                    if e is not None and s["cycles"]:
                        r["engine_packets_per_cycle"] = round(e / s["cycles"], 3)
                        ppc_engine.append(e / s["cycles"])
                runs.append(r)
            ok = [r for r in runs if "error" not in r]
            byc[str(c)] = {
                "runs": runs,
                "conn_per_s": med([r["conn_per_s"] for r in ok]),
                "cpu_us_per_conn": med([r["cpu_us_per_conn"] for r in ok]),
                "connect_p50_us": med([r["connect_p50_us"] for r in ok]),
                "connect_p99_us": med([r["connect_p99_us"] for r in ok]),
                "connect_max_us": max([r["connect_max_us"] for r in ok], default=None),
                "close_p50_us": med([r["close_p50_us"] for r in ok]),
                "wire_packets_per_cycle": med([r.get("wire_packets_per_cycle") for r in ok]),
                "errors": sum(r["errors"] for r in ok),
                "runs_failed": len(runs) - len(ok) + sum(1 for r in ok if r["exit_status"] != 0),
                "peer_listen_drops": sum(r.get("peer_listen_drops", 0) for r in ok),
            }
        cc[client] = {"label": LABEL[client], "programs": PROGRAM[client], "by_concurrency": byc}
    ppc = med(ppc_engine)
    result["packets_per_cycle"] = {
        "measured": round(ppc, 3) if ppc else None, "expected_rst": 4,
        "how": "dpwsk-connclose's engine counters (rx_packets + tx_packets of its final stats "
               "line) over its cycles, median of its runs; per-run figures and the veth's own "
               "counters (wire_packets_per_cycle) in each connclose run"}
    per_cycle_ceiling = ceil / ppc if ceil and ppc else None
    result["packets_per_cycle"]["ceiling_cycles_per_s"] = per_cycle_ceiling
    for client in cc:
        for c, d in cc[client]["by_concurrency"].items():
            d["share_of_ceiling"] = (round(d["conn_per_s"] / per_cycle_ceiling, 4)
                                     if per_cycle_ceiling and d["conn_per_s"] else None)
    result["connclose"] = {"mode": E["BENCH_MODE"], "clients": cc}

    # the targets
    ratios = []

    def ratio(name, a, b, key, target, better):
        for c in concs:
            x = cc[a]["by_concurrency"][str(c)][key]
            y = cc[b]["by_concurrency"][str(c)][key]
            v = x / y if x and y else None
            met = None if v is None else (v >= target if better == "higher" else v <= target)
            ratios.append({"name": name, "concurrency": c, "value": round(v, 3) if v else None,
                           "target": ("%s %g" % (">=" if better == "higher" else "<=", target)),
                           "met": met})
    ratio("(dpwsk->Linux)/(Linux->Linux) conn/s", "dpwsk", "linux", "conn_per_s", 1.5, "higher")
    ratio("(dpwsk->Linux)/(Linux->Linux) CPU us/conn", "dpwsk", "linux", "cpu_us_per_conn", 0.2, "lower")
    ratio("(dpwsk->dpwsk-echo)/(Linux->Linux) conn/s", "dpwsk-echo", "linux", "conn_per_s", 5, "higher")
    result["targets"] = {"ratios": ratios, "all_met": all(r["met"] for r in ratios)}


def rr_like(kind, clients, fields):
    d = {}
    for client, label in clients:
        runs = []
        for m in man:
            if m[0] != kind or m[1] != client:
                continue
            s = summary(os.path.join(raw, "%s.%s.-.%s.out" % (kind, client, m[3])))
            r = {"run": int(m[3]), "exit_status": int(m[4])}
            if s is None:
                r["error"] = "no summary"
            else:
                r.update({k: s[src] for k, src in fields.items()})
                r["errors"] = s["errors"]
            runs.append(r)
        ok = [r for r in runs if "error" not in r]
        e = {"label": label, "runs": runs, "errors": sum(r["errors"] for r in ok),
             "runs_failed": len(runs) - len(ok) + sum(1 for r in ok if r["exit_status"] != 0)}
        for k in fields:
            e[k] = med([r[k] for r in ok])
        d[client] = e
    return d


if "rr" in sections:
    rr = rr_like("rr", [("dpwsk", "dpwsk -> Linux"), ("linux", "Linux -> Linux (epoll, sleeping)"),
                        ("linux-spin", "Linux -> Linux (epoll, spinning)"),
                        ("dpwsk-echo", "dpwsk -> dpwsk-echo")],
                 {"rate_tx_per_s": "rate", "p50_us": "p50_us", "p99_us": "p99_us",
                  "p999_us": "p999_us", "cpu_s": "cpu_s"})
    rat = {}
    for k in ("linux", "linux-spin"):
        for q in ("p50_us", "p99_us", "rate_tx_per_s"):
            a, b = rr["dpwsk"][q], rr[k][q]
            rat["dpwsk/%s %s" % (k, q)] = round(a / b, 3) if a and b else None
    result["rr"] = {"how": "1-byte request, 1-byte echo, one persistent connection, back to back",
                    "pairs": rr, "ratios": rat}
if "bulk" in sections:
    bk = rr_like("bulk", [("dpwsk", "dpwsk -> Linux"), ("linux", "Linux -> Linux")],
                 {"mb_per_s": "rate", "gbit_s": "gbit_s", "cpu_s": "cpu_s"})
    a, b = bk["dpwsk"]["mb_per_s"], bk["linux"]["mb_per_s"]
    result["bulk"] = {"how": "one connection, 64 KiB sends, to a discarding linux-server",
                      "pairs": bk, "ratios": {"dpwsk/linux mb_per_s": round(a / b, 3) if a and b else None}}

# Every error the programs counted, and every run that did not finish cleanly.
errors = 0
for sec in ("rr", "bulk"):
    for p in result.get(sec, {}).get("pairs", {}).values():
        errors += p["errors"]
        failures += p["runs_failed"]
for cl in cc.values():
    for d in cl["by_concurrency"].values():
        errors += d["errors"]
        failures += d["runs_failed"]
result["errors"] = errors
result["failures"] = failures
result["elapsed_s"] = float(E["BENCH_ELAPSED"])


# --- the text ---
def n(x, fmt="%.0f"):
    return "-" if x is None else fmt % x


L = []
g = result["git"]
b = result["build"]
mach = result["machine"]
L.append("dpwsk benchmark, %s, commit %s%s, %s build (sanitize=%s)" % (
    result["date"], g["commit"][:12], " (uncommitted changes)" if g["dirty"] else "",
    b.get("buildtype", "?"), b.get("sanitize", "?")))
L.append("machine: %d CPUs (%s), Linux %s; load average %.2f at the start%s, %.2f at the end "
         "(the benchmark's own load included)" % (
    mach["nproc"], mach["cpu_model"], mach["kernel"], ls[0],
    " (HIGH: other work was running)" if mach["loadavg_high"] else "", le[0]))
L.append("medians of %d run(s) of %g s; namespace topology, one veth, dpwsk over net_af_packet; "
         "a shared 2-core machine: rough figures" % (result["config"]["runs"], result["config"]["seconds_per_run"]))
if "connclose" in result:
    pc = result["packets_per_cycle"]
    L.append("")
    L.append("1. connect/close rate, mode %s (conn/s; CPU us per connection of the client process;"
             " share = conn/s / (ceiling / packets per cycle))" % E["BENCH_MODE"])
    L.append("%-20s %5s %8s %11s %18s %8s %6s %7s %6s %5s" % ("client", "conc", "conn/s", "CPU us/conn",
             "connect p50/p99 us", "max ms", "share", "pkt/cyc", "errors", "drops"))
    for client, cl in cc.items():
        for c in concs:
            d = cl["by_concurrency"][str(c)]
            L.append("%-20s %5d %8s %11s %18s %8s %6s %7s %6d %5s" % (
                cl["label"], c, n(d["conn_per_s"]), n(d["cpu_us_per_conn"], "%.2f"),
                "%s/%s" % (n(d["connect_p50_us"], "%.0f"), n(d["connect_p99_us"], "%.0f")),
                n(d["connect_max_us"] and d["connect_max_us"] / 1000, "%.1f"),
                n(d["share_of_ceiling"] and 100 * d["share_of_ceiling"], "%.1f%%"),
                n(d["wire_packets_per_cycle"], "%.2f"), d["errors"],
                "-" if client == "dpwsk-echo" else d["peer_listen_drops"]))
    L.append("packets per cycle (dpwsk-connclose's engine rx+tx / cycles, measured): %s%s" % (
        n(pc["measured"], "%.2f"), "" if not pc["ceiling_cycles_per_s"] else
        " -> ceiling / ppc = %s cycles/s" % n(pc["ceiling_cycles_per_s"])))
    L.append("(max ms: the slowest connect of all runs; about 1000 (Linux) or 3000 (lwIP) is a lost SYN"
             " or SYN-ACK waiting out the initial retransmission timeout.")
    L.append(" pkt/cyc: frames on the stack's veth per cycle, from the kernel's own counters.")
    L.append(" drops: SYNs the Linux server's kernel dropped (ListenDrops), all runs.)")
if "ceiling" in result:
    L.append("")
    L.append("2. link ceiling: dpdk-testpmd txonly -> rxonly on the same veth (net_af_packet), "
             "64-byte frames: %s packets/s received (runs: %s)" % (
                 n(ceil), ", ".join(n(r["rx_pps"]) for r in result["ceiling"]["runs"])))
if "targets" in result:
    L.append("")
    L.append("targets (stack / kernel, medians)")
    L.append("%-44s %5s %8s %8s  %s" % ("ratio", "conc", "value", "target", ""))
    for r in result["targets"]["ratios"]:
        L.append("%-44s %5d %8s %8s  %s" % (r["name"], r["concurrency"], n(r["value"], "%.2f"),
                                            r["target"], {True: "MET", False: "MISSED", None: "-"}[r["met"]]))
if "rr" in result:
    L.append("")
    L.append("3. request/response: 1 byte each way, one persistent connection")
    L.append("%-34s %10s %9s %9s %9s %7s %6s" % ("pair", "tx/s", "p50 us", "p99 us", "p99.9 us", "CPU s", "errors"))
    for p in result["rr"]["pairs"].values():
        L.append("%-34s %10s %9s %9s %9s %7s %6d" % (p["label"], n(p["rate_tx_per_s"]), n(p["p50_us"], "%.1f"),
                 n(p["p99_us"], "%.1f"), n(p["p999_us"], "%.1f"), n(p["cpu_s"], "%.2f"), p["errors"]))
    r = result["rr"]["ratios"]
    L.append("stack/kernel: p50 %s, p99 %s, tx/s %s (vs sleeping epoll); p50 %s, p99 %s, tx/s %s (vs spinning)" % tuple(
        n(r[k], "%.2f") for k in ("dpwsk/linux p50_us", "dpwsk/linux p99_us", "dpwsk/linux rate_tx_per_s",
                                  "dpwsk/linux-spin p50_us", "dpwsk/linux-spin p99_us",
                                  "dpwsk/linux-spin rate_tx_per_s")))
if "bulk" in result:
    L.append("")
    L.append("4. bulk: one connection, 64 KiB sends, to a discarding server")
    L.append("%-34s %10s %8s %7s %6s" % ("pair", "MB/s", "Gbit/s", "CPU s", "errors"))
    for p in result["bulk"]["pairs"].values():
        L.append("%-34s %10s %8s %7s %6d" % (p["label"], n(p["mb_per_s"], "%.1f"), n(p["gbit_s"], "%.2f"),
                                             n(p["cpu_s"], "%.2f"), p["errors"]))
    L.append("stack/kernel: %s" % n(result["bulk"]["ratios"]["dpwsk/linux mb_per_s"], "%.2f"))
L.append("")
L.append("errors counted by the programs: %d; runs that failed: %d" % (errors, failures))
text = "\n".join(L) + "\n"
json.dump(result, open(os.path.join(out, "latest.json"), "w"), indent=1)
open(os.path.join(out, "latest.txt"), "w").write(text)
print(text, end="")
sys.exit(3 if errors or failures else 0)   # 3: measured, with errors; 1: this script failed
