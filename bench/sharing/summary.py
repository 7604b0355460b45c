#!/usr/bin/env python3
"""Reads one sharegrind report of a dpwsk-pathlen run and says, line by line, whose writes
share cache lines between the measured engines, and how often per connection.

    summary.py REPORT PATHLEN_LOG [--check]

Each line of interest in the report (written by one engine, used by another, inside the
counted passes) is put in a class by the stacks of its writers' first writes. The innermost
frame that is not the C library's (a mutex, memcpy) decides first:
  benchmark  dpwsk-pathlen's own code (its counters, its echo and client programs)
  nic        the test's NIC driver (DPDK's net_ring: its per-queue counters)
then any frame of the stack's own code (stack/, wsk_api/, lwIP) anywhere in those stacks
makes it
  stack      (so a DPDK helper the stack calls or inlines, a ring or a memcpy into the
             stack's memory, counts as the stack's)
and otherwise
  dpdk       DPDK's alone (the mempool's ring as caches spill)
A line is hot when it is shared per connection: for some two engines, one writes it and the
other uses it (reads or writes) at least HOT times per connection each. With --check, exits
1 when a stack line is hot: a line written by one lcore and used by another on the
connection's path, which issue 15 asks to be none; or when the report left lines out (the
report must be made with a --top large enough for all of them).
"""
import os
import re
import sys

HOT = 0.25   # uses per connection; the amortized ones here are below 0.1 (a lock per 64 sockets)

STACK_DIRS = ("stack", "wsk_api", os.path.join("subprojects", "lwip-2.1.3", "src"))
BENCH_DIRS = (os.path.join("bench", "pathlen"), os.path.join("tests", "unit"),
              os.path.join("tests", "common"))
LIBC = re.compile(r"^(pthread_|lll_|__pthread|__memcpy|__memset|memcpy|memset|__lll|_int_|"
                  r"__GI_|__libc)")
FRAME = re.compile(r"^(?P<fn>\S+) \((?P<file>[^:()]+):\d+\)$")


def source_files(root, dirs):
    names = set()
    for d in dirs:
        for _, _, files in os.walk(os.path.join(root, d)):
            names.update(f for f in files if f.endswith((".c", ".h")))
    return names


def frames(stack):
    """The frames of a 'first write' stack, innermost first (inlined ones before their
    caller), each (function, file or the object's name)."""
    out = []
    for call in stack.split(" | "):
        for part in call.split(" < "):
            part = part.strip()
            m = FRAME.match(part)
            if m:
                out.append((m.group("fn"), m.group("file")))
            else:
                obj = re.search(r"\(in ([^)]+)\)", part)
                out.append((part.split(" ")[0], os.path.basename(obj.group(1)) if obj else "?"))
    return out


def classify(stacks, stack_files, bench_files):
    """stacks: the first-write stacks of a line's writers."""
    for stack in stacks:
        inner = [(fn, where) for fn, where in frames(stack)
                 if not (LIBC.match(fn) or where.startswith("libc"))]
        if inner and inner[0][1] in bench_files:
            return "benchmark"
        if inner and inner[0][1].startswith("librte_net_"):
            return "nic"
    if any(where in stack_files for stack in stacks for _, where in frames(stack)):
        return "stack"
    return "dpdk"


def parse(report):
    lines, cur, thread = [], None, None
    for raw in open(report, encoding="utf-8", errors="replace"):
        s = raw.rstrip("\n")
        if "more lines of interest not shown" in s:
            sys.exit(f"summary.py: {report} left lines out ({s.strip()}): make it with a "
                     "larger --top")
        if s.startswith("sharegrind: #"):
            cur = {"head": s, "threads": {}}
            lines.append(cur)
            thread = None
        elif s.startswith("sharegrind:"):
            cur = thread = None
        elif cur is not None:
            m = re.match(r"^    thread (\S+): writes=(\d+) reads=(\d+)", s)
            if m:
                thread = {"writes": int(m.group(2)), "reads": int(m.group(3)), "first": "",
                          "top": ""}
                cur["threads"][m.group(1)] = thread
            elif thread is not None:
                t = s.strip()
                if t.startswith("first write: "):
                    thread["first"] = t[len("first write: "):]
                elif t.startswith("write x") and not thread["top"]:
                    thread["top"] = t.split(" at ", 1)[1]
    return lines


def main():
    args = [a for a in sys.argv[1:] if a != "--check"]
    check = "--check" in sys.argv[1:]
    if len(args) != 2:
        sys.exit(__doc__)
    report, log = args
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    stack_files = source_files(root, STACK_DIRS)
    bench_files = source_files(root, BENCH_DIRS)
    m = re.search(r"^pathlen: .* connections=(\d+) on_engines=(\d+)", open(log).read(), re.M)
    if not m:
        sys.exit(f"summary.py: no 'pathlen:' line in {log}")
    conns = max(int(m.group(2)), 1)
    hot_stack = 0
    print(f"  {'class':<9} {'kind':<12} {'symbol':<22} {'per conn':>8} {'transfers':>9}"
          "  written at")
    for ln in parse(report):
        head = ln["head"]
        kind = re.search(r"kind=(\S+)", head).group(1)
        sym = re.search(r"sym=(\S+)", head).group(1)
        transfers = int(re.search(r" transfers=(\d+)", head).group(1))
        threads = list(ln["threads"].values())
        writers = [t for t in threads if t["writes"] > 0]
        if not writers:
            continue
        # For each two engines, one writing and the other using the line: the lesser of the
        # two counts is how often per connection the line must move between them.
        rate = max((min(w["writes"], o["writes"] + o["reads"]) for w in writers
                    for o in threads if o is not w), default=0) / conns
        cls = classify([t["first"] for t in writers if t["first"]], stack_files, bench_files)
        hot = rate >= HOT
        if hot and cls == "stack":
            hot_stack += 1
        where = next((t["top"] for t in writers if t["top"]), "?")
        print(f"  {cls:<9} {kind:<12} {sym[:22]:<22} {rate:8.2f} {transfers:9d}  {where[:90]}"
              f"{'  HOT' if hot else ''}")
    print(f"summary: connections={conns} stack_lines_shared_per_connection={hot_stack}")
    if check and hot_stack:
        print("summary.py: a line of the stack's is written by one engine and used by another "
              f"at least {HOT} times per connection (above)", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
