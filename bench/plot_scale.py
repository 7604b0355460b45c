#!/usr/bin/python3
"""bench/plot_scale.py: the picture of a scale run (bench/scale.sh --json writes what it reads).

    plot_scale.py scale.json scale.png [NOTE]

Left: rate(N)/rate(0) against N (symmetric-log axis, so N = 0 has a place): (a) the Linux
client's connect/close rate into dpwsk-echo with N other connections held open, and, when the
run has it, (b) dpwsk-connclose's rate to a Linux server from an engine holding N; each
divided by its rate with none, with the issue's targets (>= 0.9 at 100,000 held, >= 0.8 at
1,000,000) marked.
Right: dpwsk-echo's resident memory against N, with its growth per held connection.
NOTE (optional) goes under the title: the machine, its load. Plain matplotlib, Agg backend.
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 (the backend is chosen first)


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit("usage: plot_scale.py scale.json scale.png [NOTE]")
    r = json.load(open(sys.argv[1]))
    rows = r["results"]
    if not rows:
        sys.exit("plot_scale.py: no results in " + sys.argv[1])
    held = [x["held"] for x in rows]
    ratio = [x["ratio"] for x in rows]
    rss = [x["rss_kib"] / 1024 for x in rows]

    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4.6), dpi=100, gridspec_kw={"width_ratios": [1.5, 1]})
    title = "connect/close rate from/into an engine holding N connections open (%g s per point)" % r["duration_s"]
    if len(sys.argv) == 4:
        title += "\n" + sys.argv[3]
    fig.suptitle(title, fontsize=10)

    a.plot(held, ratio, "o-", color="#dd8452", label="(a) Linux client -> dpwsk-echo holding N")
    for x, y, c in zip(held, ratio, rows):
        a.annotate("%.2f\n%.0f/s" % (y, c["conn_per_s"]), (x, y), fontsize=7, ha="center",
                   xytext=(0, 6), textcoords="offset points")
    client = r.get("dpwsk_client") or []
    if client:
        bh = [x["held"] for x in client]
        br = [x["ratio"] for x in client]
        a.plot(bh, br, "s--", color="#55a868", label="(b) dpwsk-connclose holding N -> Linux")
        for x, y, c in zip(bh, br, client):
            a.annotate("%.0f/s" % c["conn_per_s"], (x, y), fontsize=7, ha="center",
                       xytext=(0, -12), textcoords="offset points")
        ratio = ratio + br
    a.plot([100000, 1000000], [0.9, 0.8], "v", color="#c44e52", markersize=9, label="target (at least)")
    a.axhline(1.0, color="grey", linewidth=0.8, linestyle=":")
    a.set_xscale("symlog", linthresh=10000)
    a.set_xlim(-2000, max(held) * 2)
    a.set_ylim(0, max(1.2, max(ratio) * 1.25))
    a.set_xlabel("connections held open (N)")
    a.set_ylabel("rate(N) / rate(0)")
    a.grid(True, which="major", alpha=0.3)
    a.legend(fontsize=8, loc="lower left")

    b.plot(held, rss, "s-", color="#4c72b0")
    per = [(rss[i] - rss[0]) * 1024 / held[i] for i in range(len(rows)) if held[i] > 0]
    b.set_title("resident memory; %.2f KiB per held connection" % (max(per) if per else 0), fontsize=9)
    b.set_xlabel("connections held open (N)")
    b.set_ylabel("dpwsk-echo RSS (MiB)")
    b.ticklabel_format(style="plain", axis="x")
    b.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(sys.argv[2])


if __name__ == "__main__":
    main()
