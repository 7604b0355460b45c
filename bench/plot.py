#!/usr/bin/python3
"""bench/plot.py: the picture of one benchmark run (bench/run.sh writes the JSON it reads).

    plot.py latest.json latest.png

Left, the large panel: connections per second against concurrency for the three clients
(Linux -> Linux, dpwsk -> Linux, dpwsk -> dpwsk-echo), with the link's ceiling divided by the
packets per cycle as a dashed line: the rate the veth itself would allow. Right, two small
panels: request/response latency p50 and p99 per pair, and one connection's bulk throughput.
Sections the run left out are left out of the picture. Plain matplotlib, Agg backend (no display).
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 (the backend is chosen first)

def label_bars(ax, bars, fmt):
    for bar in bars:
        h = bar.get_height()
        ax.annotate(fmt % h, (bar.get_x() + bar.get_width() / 2, h), ha="center", va="bottom",
                    fontsize=7, xytext=(0, 1), textcoords="offset points")


COLOURS = {"linux": "#4c72b0", "linux-spin": "#8172b2", "dpwsk": "#dd8452", "dpwsk-echo": "#55a868"}


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: plot.py RESULT.json OUT.png")
    r = json.load(open(sys.argv[1]))
    fig = plt.figure(figsize=(12, 6.5), dpi=100)
    grid = fig.add_gridspec(2, 2, width_ratios=[2.1, 1], hspace=0.45, wspace=0.25, bottom=0.17)
    m, g, b = r["machine"], r["git"], r.get("build", {})
    fig.suptitle("dpwsk benchmark  %s  commit %s%s  %s build\n%d CPUs (%s), Linux %s, load %.1f -> %.1f;"
                 " medians of %d x %g s" % (
                     r["date"][:16].replace("T", " "), g["commit"][:10], "+" if g["dirty"] else "",
                     b.get("buildtype", "?"), m["nproc"], m["cpu_model"], m["kernel"],
                     m["loadavg_start"][0], m["loadavg_end"][0], r["config"]["runs"],
                     r["config"]["seconds_per_run"]), fontsize=9)

    ax = fig.add_subplot(grid[:, 0])
    cc = r.get("connclose")
    if cc:
        concs = r["config"]["concurrency"]
        for client, cl in cc["clients"].items():
            ys = [cl["by_concurrency"][str(c)]["conn_per_s"] for c in concs]
            pts = [(c, y) for c, y in zip(concs, ys) if y]
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-", label=cl["label"],
                        color=COLOURS.get(client))
        pc = r.get("packets_per_cycle", {})
        if pc.get("ceiling_cycles_per_s"):
            ax.axhline(pc["ceiling_cycles_per_s"], ls="--", color="grey",
                       label="link ceiling (testpmd, %.0f packets/s) / %.2f packets per cycle"
                       % (r["ceiling"]["median_pps"], pc["measured"]))
        ax.set_xscale("log", base=2)
        ax.set_xticks(concs)
        ax.set_xticklabels([str(c) for c in concs])
        ax.set_ylim(bottom=0)
        ax.set_xlabel("connections in flight")
        ax.set_ylabel("connections per second (connect + close, mode %s)" % cc["mode"])
        ax.set_title("1. connect/close rate")
        ax.grid(alpha=0.3)
        # Below the axes: inside, it would hide a line whatever the figures.
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.09), ncol=2, frameon=False)
    else:
        ax.set_axis_off()

    ax = fig.add_subplot(grid[0, 1])
    rr = r.get("rr")
    if rr:
        pairs = [(k, p) for k, p in rr["pairs"].items() if p["p50_us"]]
        xs = range(len(pairs))
        label_bars(ax, ax.bar([x - 0.2 for x in xs], [p["p50_us"] for _, p in pairs], 0.4,
                              label="p50", color=[COLOURS.get(k) for k, _ in pairs]), "%.0f")
        label_bars(ax, ax.bar([x + 0.2 for x in xs], [p["p99_us"] for _, p in pairs], 0.4,
                              label="p99", color=[COLOURS.get(k) for k, _ in pairs], alpha=0.45), "%.0f")
        ax.margins(y=0.15)
        ax.set_xticks(list(xs))
        ax.set_xticklabels([p["label"].replace(" (epoll, ", "\n(").replace(" -> ", "->\n", 1)
                            for _, p in pairs], fontsize=7)
        ax.set_ylabel("round trip, us")
        ax.set_title("3. 1-byte request/response (solid p50, pale p99)", fontsize=9)
        ax.grid(axis="y", alpha=0.3)
    else:
        ax.set_axis_off()

    ax = fig.add_subplot(grid[1, 1])
    bk = r.get("bulk")
    if bk:
        pairs = [(k, p) for k, p in bk["pairs"].items() if p["mb_per_s"]]
        label_bars(ax, ax.bar(range(len(pairs)), [p["mb_per_s"] for _, p in pairs],
                              color=[COLOURS.get(k) for k, _ in pairs]), "%.0f")
        ax.margins(y=0.15)
        ax.set_xticks(list(range(len(pairs))))
        ax.set_xticklabels([p["label"] for _, p in pairs], fontsize=8)
        ax.set_ylabel("MB/s")
        ax.set_title("4. bulk, one connection", fontsize=9)
        ax.grid(axis="y", alpha=0.3)
    else:
        ax.set_axis_off()

    fig.savefig(sys.argv[2])


if __name__ == "__main__":
    main()
