#!/usr/bin/python3
"""bench/cpu_by_part.py: where a dpwsk program's CPU time went, by part of the code.

    cpu_by_part.py BUILD_DIR SCRIPT_TXT OPS SECONDS

SCRIPT_TXT is `perf script -F period,ip,sym,dso` of a `perf record -e cpu-clock` of the program
(no call graphs: the function the CPU was in, inlined code counted in its caller). Each sample
goes to a part by that function: checksums (dpwsk's and lwIP's summing functions, wherever
called from), copies (the C library's memcpy/memmove), the provider (defined in wsk_api/'s
libraries), lwIP (libdpw_lwip.a), the engine and its port (libdpw_stack.a), DPDK (librte_*),
the kernel, or the program itself (anything else in its binary). Prints one line: CPU microseconds per
operation (OPS operations in SECONDS) in all and for each part, as "part=us".

The lcore polls without sleeping, so its idle passes are counted too (mostly the engine's and
DPDK's RX polls, and the provider's look at its request ring): measure under enough load that
the passes have work, and compare builds under the same load.
"""
import collections
import glob
import os
import subprocess
import sys

PARTS = ("provider", "lwIP", "engine", "checksum", "copy", "DPDK", "kernel", "program", "other")
CHECKSUM = ("dpw_chksum", "dpw_chksum_copy", "lwip_standard_chksum", "inet_chksum",
            "inet_chksum_pbuf", "inet_chksum_pseudo", "inet_cksum_pseudo_base",
            "ip_chksum_pseudo", "ip6_chksum_pseudo", "lwip_chksum_copy")


def defined_functions(build):
    """Function name -> part, from the static libraries' symbol tables."""
    libs = [("provider", glob.glob(os.path.join(build, "wsk_api", "*.a"))),
            ("lwIP", [os.path.join(build, "stack", "libdpw_lwip.a")]),
            ("engine", [os.path.join(build, "stack", "libdpw_stack.a")])]
    where = {}
    for part, paths in libs:
        for path in paths:
            if not os.path.exists(path):
                continue
            out = subprocess.run(["nm", "--defined-only", path], capture_output=True,
                                 text=True).stdout
            for line in out.splitlines():
                f = line.split()
                if len(f) == 3 and f[1] in "tTwW":
                    where.setdefault(f[2], part)
    return where


def main():
    if len(sys.argv) != 5:
        sys.exit("usage: cpu_by_part.py BUILD_DIR SCRIPT_TXT OPS SECONDS")
    build, script, ops, secs = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    where = defined_functions(build)
    ns = collections.Counter()
    by_sym = collections.Counter()
    for line in open(script, errors="replace"):
        f = line.split()   # period, ip, symbol (or [unknown]), (dso)
        if len(f) < 3 or not f[0].isdigit():
            continue
        period, sym = int(f[0]), f[2]
        dso = line.rsplit("(", 1)[-1].rstrip(")\n ") if "(" in line else ""
        sym = sym.split("+", 1)[0]
        if sym in CHECKSUM:
            part = "checksum"
        elif "libc" in dso and ("memcpy" in sym or "memmove" in sym):
            part = "copy"
        elif sym in where:
            part = where[sym]
        elif "librte_" in dso:
            part = "DPDK"
        elif "kernel" in dso or dso.startswith("[k"):
            part = "kernel"
        elif dso and not dso.endswith(".so") and ".so." not in dso:
            part = "program"
        else:
            part = "other"
        ns[part] += period
        by_sym[(part, sym)] += period
    total = sum(ns.values())
    n = max(ops, 1)
    cells = " ".join(f"{p}={ns[p] / 1000 / n:.2f}" for p in PARTS)
    print(f"cpu_us_per_op={total / 1000 / n:.2f} {cells} ops={ops} cpu_s={total / 1e9:.2f}"
          f" wall_s={secs:g}")
    # DPW_CPU_TOP=N: the N functions that took most, for a closer look (stderr).
    for (part, sym), v in by_sym.most_common(int(os.environ.get("DPW_CPU_TOP", "0"))):
        print(f"  {part:9s} {sym:40s} {v / 1000 / n:8.3f} us/op", file=sys.stderr)


if __name__ == "__main__":
    main()
