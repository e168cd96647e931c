# Copyright: Contributors to the hypervisor.networking collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""docs/performance.md and its plots from the benchmark's results (tests/benchmark/run.py)."""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  pylint: disable=wrong-import-position

TARGETS = {"tap_first_vs_floor": 1.2, "ovs_first_vs_floor": 3.0, "rerun_s": 0.5,
           "tap_loop_speedup": 30.0, "ovs_loop_speedup": 10.0, "rss_mib": 150.0}


def _row(results, group, what, n=None):
    for row in results["rows"]:
        if row["group"] == group and row["what"] == what and (n is None or row["n"] == n):
            return row
    return None


def _ns(results, group, what):
    return sorted(row["n"] for row in results["rows"] if row["group"] == group and row["what"] == what)


def _fmt(seconds):
    return "%.2f" % seconds if seconds < 100 else "%.0f" % seconds


def _plots(results, outdir):
    plt.rcParams["svg.hashsalt"] = "hypervisor.networking"  # stable ids: the SVGs diff only when figures change
    plt.rcParams["svg.fonttype"] = "none"
    written = []
    # 1. taps: floor, first run, re-run against N
    fig, axis = plt.subplots(figsize=(6.4, 4))
    for what, label, style in (("floor: ip -batch", "ip -batch (floor)", "k--o"),
                               ("vm_interface first run", "vm_interface, first run (own)", "C0-o"),
                               ("vm_interface re-run", "vm_interface, re-run (own)", "C2-o")):
        ns = _ns(results, "taps", what)
        if ns:
            axis.plot(ns, [_row(results, "taps", what, n)["own_s"] for n in ns], style, label=label)
    for what, style in (("ovs_dpdk_port first run", "C1-s"), ("floor: one ovs-vsctl transaction", "k:s"),
                        ("ovs_dpdk_port re-run", "C3-s")):
        ns = _ns(results, "ovs", what)
        if ns:
            axis.plot(ns, [_row(results, "ovs", what, n)["own_s"] for n in ns], style,
                      label=what.replace("floor: ", "") + (" (floor)" if "floor" in what else " (own)"))
    axis.set_xscale("log")
    axis.set_yscale("log")
    axis.set_xlabel("objects in one task (N)")
    axis.set_ylabel("seconds (median)")
    axis.set_title("Time against N: taps on one bridge, vhost-user ports")
    axis.grid(True, which="both", alpha=0.3)
    axis.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(outdir, "scaling.svg"))
    plt.close(fig)
    written.append("scaling.svg")

    # 2. the module's own cost per object beyond the floor
    fig, axis = plt.subplots(figsize=(6.4, 4))
    for group, what, floor, label in (("taps", "vm_interface first run", "floor: ip -batch", "taps, first run"),
                                      ("ovs", "ovs_dpdk_port first run", "floor: one ovs-vsctl transaction", "vhost-user ports, first run")):
        ns = [n for n in _ns(results, group, what) if _row(results, group, floor, n)]
        if ns:
            axis.plot(ns, [1000.0 * (_row(results, group, what, n)["own_s"] - _row(results, group, floor, n)["own_s"]) / n for n in ns],
                      "-o", label=label + ": module beyond the floor")
            axis.plot(ns, [1000.0 * _row(results, group, floor, n)["own_s"] / n for n in ns], "--x", label=label + ": the floor itself")
    for group, what, label in (("taps", "vm_interface re-run", "taps, re-run"), ("ovs", "ovs_dpdk_port re-run", "vhost-user ports, re-run")):
        ns = _ns(results, group, what)
        if ns:
            axis.plot(ns, [1000.0 * _row(results, group, what, n)["own_s"] / n for n in ns], ":^", label=label + " (own)")
    axis.set_xscale("log")
    axis.set_yscale("log")
    axis.set_xlabel("objects in one task (N)")
    axis.set_ylabel("milliseconds per object")
    axis.set_title("Cost per object")
    axis.grid(True, which="both", alpha=0.3)
    axis.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(outdir, "per_object.svg"))
    plt.close(fig)
    written.append("per_object.svg")

    # 3. one task against the loop users write
    bars = []
    for group, loop, module in (("taps", "ansible.builtin.command loop", "vm_interface first run"),
                                ("ovs", "openvswitch_port loop", "ovs_dpdk_port first run"),
                                ("nat", "community.libvirt.virt_net loop", "vm_network (libvirt) first run")):
        loop_row = _row(results, group, loop)
        if loop_row is None:
            continue
        module_row = _row(results, group, module, loop_row["n"]) or _row(results, group, module.replace("libvirt", "kernel"), loop_row["n"])
        if module_row is None:
            continue
        bars.append(("%s\nN=%d" % (group, loop_row["n"]), loop_row["own_s"], module_row["own_s"], loop_row["what"], module_row["what"]))
    if bars:
        fig, axis = plt.subplots(figsize=(6.4, 4))
        positions = range(len(bars))
        axis.bar([p - 0.2 for p in positions], [b[1] for b in bars], 0.4, label="per-item loop (own)", color="C3")
        axis.bar([p + 0.2 for p in positions], [b[2] for b in bars], 0.4, label="one task of this collection (own)", color="C0")
        axis.set_xticks(list(positions))
        axis.set_xticklabels([b[0] for b in bars])
        axis.set_yscale("log")
        axis.set_ylabel("seconds")
        axis.set_title("One task against the loop users write")
        axis.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(os.path.join(outdir, "loops.svg"))
        plt.close(fig)
        written.append("loops.svg")
    return written


def _targets(results):
    meta = results["meta"]
    lines = []

    def add(what, target, value, unit, met):
        if value is None:
            lines.append("| %s | %s | not measured | - |" % (what, target))
        else:
            lines.append("| %s | %s | %s%s | %s |" % (what, target, value, unit, "met" if met else "**not met**"))

    n = max(_ns(results, "taps", "vm_interface first run") or [0])
    headline = 500 if _row(results, "taps", "vm_interface first run", 500) else n
    first, floor = _row(results, "taps", "vm_interface first run", headline), _row(results, "taps", "floor: ip -batch", headline)
    ratio = first["own_s"] / floor["own_s"] if first and floor else None
    add("taps, first run against the ip -batch floor (N=%d)" % headline, "<= 1.2x", ratio and "%.2f" % ratio, "x",
        ratio is not None and ratio <= TARGETS["tap_first_vs_floor"])
    rerun = _row(results, "taps", "vm_interface re-run", headline)
    add("taps, re-run with nothing to change (N=%d)" % headline, "<= 0.5 s", rerun and _fmt(rerun["own_s"]), " s",
        rerun is not None and rerun["own_s"] <= TARGETS["rerun_s"])
    loop = _row(results, "taps", "ansible.builtin.command loop")
    module = loop and _row(results, "taps", "vm_interface first run", loop["n"])
    speedup = loop["own_s"] / module["own_s"] if loop and module and module["own_s"] > 0 else None
    add("taps, command loop against one task (N=%d)" % (loop["n"] if loop else 0), ">= 30x faster", speedup and "%.0f" % speedup, "x",
        speedup is not None and speedup >= TARGETS["tap_loop_speedup"])
    ovs_n = 100 if _row(results, "ovs", "ovs_dpdk_port first run", 100) else max(_ns(results, "ovs", "ovs_dpdk_port first run") or [0])
    first, floor = _row(results, "ovs", "ovs_dpdk_port first run", ovs_n), _row(results, "ovs", "floor: one ovs-vsctl transaction", ovs_n)
    ratio = first["own_s"] / floor["own_s"] if first and floor else None
    add("vhost-user ports, first run against one ovs-vsctl transaction (N=%d)" % ovs_n, "<= 3x", ratio and "%.1f" % ratio, "x",
        ratio is not None and ratio <= TARGETS["ovs_first_vs_floor"])
    rerun = _row(results, "ovs", "ovs_dpdk_port re-run", ovs_n)
    add("vhost-user ports, re-run with nothing to change (N=%d)" % ovs_n, "<= 0.5 s", rerun and _fmt(rerun["own_s"]), " s",
        rerun is not None and rerun["own_s"] <= TARGETS["rerun_s"])
    loop = _row(results, "ovs", "openvswitch_port loop")
    module = loop and _row(results, "ovs", "ovs_dpdk_port first run", loop["n"])
    speedup = loop["own_s"] / module["own_s"] if loop and module and module["own_s"] > 0 else None
    add("vhost-user ports, openvswitch_port loop against one task (N=%d)" % (loop["n"] if loop else 0), ">= 10x faster",
        speedup and "%.0f" % speedup, "x", speedup is not None and speedup >= TARGETS["ovs_loop_speedup"])
    rss_keys = sorted(key for key in meta if key.startswith("peak_rss_mib_n") and not key.endswith("_rerun"))
    rss = meta.get(rss_keys[-1]) if rss_keys else None
    add("peak RSS of the module process, %s" % (rss_keys[-1][len("peak_rss_mib_"):].replace("n", "N=") if rss_keys else "N=1000"),
        "< 150 MiB", rss and "%.0f" % rss, " MiB", rss is not None and rss < TARGETS["rss_mib"])
    return lines


def write(results, docs_dir):
    outdir = os.path.join(docs_dir, "performance")
    os.makedirs(outdir, exist_ok=True)
    plots = _plots(results, outdir)
    meta = results["meta"]
    out = []
    out.append("# Performance")
    out.append("")
    out.append("How long one task of this collection takes against the fastest way to do the same thing by hand (the")
    out.append("*floor*) and against the per-item loops users write, measured side by side in one run of")
    out.append("")
    out.append("```sh")
    out.append("scripts/benchmark.sh            # as root; about 10 minutes on 2 cores; --quick: a smoke run with small N")
    out.append("```")
    out.append("")
    out.append("It works in throwaway network namespaces (`hvb-*`), makes its own virtualenv `.venv-bench`")
    out.append("(matplotlib, and the `ansible` 10.x package installed `--no-deps` for `openvswitch.openvswitch` and")
    out.append("`community.libvirt`), and rewrites this page, its plots (`docs/performance/*.svg`) and the raw")
    out.append("figures (`build/benchmark/results.json`). It is not part of `scripts/test.sh`: timings are no test.")
    out.append("")
    out.append("**This run:** %s, `%s`, %s repetition(s) per figure (medians), %s. Load average before: %s, after: %s." % (
        meta.get("date"), meta.get("command"), meta.get("reps"), meta.get("machine"),
        " ".join("%.1f" % v for v in meta.get("load_before", [])), " ".join("%.1f" % v for v in meta.get("load_after", []))))
    out.append("Run it on a quiet machine. On 2 cores absolute figures still move from run to run (the load")
    out.append("averages above say how quiet it was); the ratios within one run are what holds.")
    out.append("")
    out.append("## What is measured, exactly")
    out.append("")
    out.append("- **Wall time** of one `ansible-playbook` command (connection `local`, no fact gathering) that runs the task,")
    out.append("  inside the namespace, from start to exit.")
    out.append("- **The module's own time** (*own* below) = that wall time minus the median wall time of the same")
    out.append("  `ansible-playbook` command on a play with no task (%.2f s in this run: Python and ansible start-up," % meta.get("empty_playbook_s", 0))
    out.append("  inventory, play set-up). It holds what the task costs: templating its arguments, AnsiballZ")
    out.append("  packing, starting the module's Python, the module itself, and handling its result. Every row is")
    ping_s = meta.get("ping_task_own_s", 0.0)
    out.append("  measured so, the loops included. For scale: one `ansible.builtin.ping` task costs %.2f s own in this run," % ping_s)
    out.append("  the least any module task costs through ansible on this machine.")
    ovs_keys = sorted(key for key in meta if key.startswith("ovs_empty_playbook_s_n"))
    if ovs_keys:
        out.append("  The OVS-DPDK rows subtract an empty play timed while their ovs-vswitchd runs (its PMD thread")
        out.append("  polls one of the two cores): %s s; a ping task costs %s s own there." % (
            ", ".join("%.2f" % meta[key] for key in ovs_keys),
            ", ".join("%.2f" % meta[key.replace("empty_playbook_s", "ping_task_own_s")] for key in ovs_keys)))
    out.append("- **Floors** are timed as the command alone (no ansible): `ip -batch` with one `tuntap add ... multi_queue`")
    out.append("  and one `link set ... master ... up` line per tap; one `ovs-vsctl` transaction adding every port.")
    out.append("- **Per object beyond the floor** = (own - floor) / N: what the module adds to what the kernel or OVS")
    out.append("  has to do anyway.")
    out.append("- **Peak RSS** = `ru_maxrss` (VmHWM) of the module's process, read by a wrapper given as")
    out.append("  `ansible_python_interpreter` (tests/benchmark/peak_rss.py).")
    out.append("- First runs start each repetition in a fresh namespace; a re-run repeats the same task with")
    out.append("  nothing to change (it must report `changed=0`, the benchmark checks it, and that the objects exist).")
    out.append("")
    out.append("## Against the targets")
    out.append("")
    out.append("| target | wanted | this run | |")
    out.append("|---|---|---|---|")
    out.extend(_targets(results))
    out.append("")
    profile = results.get("profile") or {}
    rerun = profile and _row(results, "taps", "vm_interface re-run", profile["n"])
    if rerun:
        out.append("Reading the re-run figures: of the %d-tap re-run's own %.2f s, the module's `main()` run in-process" % (
            profile["n"], rerun["own_s"]))
        out.append("takes %.2f s (its imports included), and a task that does nothing (`ansible.builtin.ping`) costs" % profile["in_process_s"])
        out.append("%.2f s own on this machine; the rest is ansible moving a %d-item argument and result (see" % (
            meta.get("ping_task_own_s", 0.0), profile["n"]))
        out.append("*Where a no-op re-run goes*). The per-item loops ran once each (they take minutes); every other figure is a median.")
        out.append("")
    for group, what in (("taps", "vm_interface re-run"), ("taps", "vm_interface first run"), ("ovs", "ovs_dpdk_port re-run")):
        ns = _ns(results, group, what)
        slower = [(small, large) for small, large in zip(ns, ns[1:])
                  if _row(results, group, what, large)["own_s"] < _row(results, group, what, small)["own_s"]]
        if slower:
            out.append("Noise made visible: the %s of %s took less own time at N=%d than at N=%d in this run; no"
                       % (what, group, slower[0][1], slower[0][0]))
            out.append("figure of this page is more precise than that spread.")
            out.append("")
    out.append("## All figures")
    out.append("")
    out.append("| objects | what | N | wall (s) | own (s) | own / floor | own beyond the floor, per object (ms) |")
    out.append("|---|---|---|---|---|---|---|")
    floors = {"taps": "floor: ip -batch", "ovs": "floor: one ovs-vsctl transaction"}
    for row in results["rows"]:
        floor = _row(results, row["group"], floors.get(row["group"], ""), row["n"])
        ratio = per = ""
        if floor and row is not floor and ("first run" in row["what"] or "loop" in row["what"]):
            ratio = "%.1f" % (row["own_s"] / floor["own_s"])
            per = "%.2f" % (1000.0 * (row["own_s"] - floor["own_s"]) / row["n"])
        elif floor and "re-run" in row["what"]:
            per = "%.2f (all of it)" % (1000.0 * row["own_s"] / row["n"])
        what = row["what"] + (" (%s)" % row["note"] if row["note"] else "")
        out.append("| %s | %s | %d | %s | %s | %s | %s |" % (row["group"], what, row["n"], _fmt(row["wall_s"]), _fmt(row["own_s"]), ratio, per))
    out.append("")
    rss = {key: value for key, value in meta.items() if key.startswith("peak_rss_mib")}
    if rss:
        out.append("Peak RSS of the module process: " + "; ".join(
            "%s %.0f MiB" % ("re-run" if key.endswith("_rerun") else "first run", value) for key, value in sorted(rss.items()))
            + " (N=%s taps)." % sorted(rss)[0].split("_n")[1].split("_")[0])
        out.append("")
    for plot in plots:
        out.append("![%s](performance/%s)" % (plot[:-4].replace("_", " "), plot))
        out.append("")
    profile = results.get("profile") or {}
    out.append("## Where a no-op re-run goes")
    out.append("")
    if profile:
        rerun = _row(results, "taps", "vm_interface re-run", profile["n"])
        out.append("%d taps, nothing to change. The module's own time, %s s, splits into:" % (profile["n"], _fmt(rerun["own_s"]) if rerun else "?"))
        out.append("")
        out.append("- the module in-process (tests/benchmark/inprocess.py: its `main()` with the same arguments, no ansible")
        out.append("  around it): %.2f s, of which %.2f s importing ansible's `basic` and the collection;" % (profile["in_process_s"], profile["import_s"]))
        if rerun:
            out.append("- the rest, %.2f s: ansible templating the %d-item argument, AnsiballZ packing and unpacking, a new" % (
                max(rerun["own_s"] - profile["in_process_s"], 0.0), profile["n"]))
            out.append("  Python, and the controller handling the result (before/after of every object).")
        out.append("")
        out.append("Inside the module, cProfile (total %.2f s with the profiler's own overhead):" % profile["profiled_total_s"])
        out.append("")
        for label, seconds in sorted(profile["profiled_phases_s"].items(), key=lambda item: -item[1]):
            out.append("- %s: %.2f s" % (label, seconds))
        out.append("")
    out.append(REMAINING)
    if results["skipped"]:
        out.append("## Not measured in this run")
        out.append("")
        for skipped in results["skipped"]:
            out.append("- %s, %s: %s." % (skipped["group"], skipped["what"], skipped["reason"]))
        out.append("")
    with open(os.path.join(docs_dir, "performance.md"), "w", encoding="utf-8") as handle:
        handle.write("\n".join(out).rstrip() + "\n")


REMAINING = """## What the remaining cost is made of

- **A no-op re-run** reads the host once and stops: links and static bridge FDB entries come from
  one raw netlink dump each, decoded only for the attributes the snapshot keeps (pyroute2 decoded
  every attribute of every link, about 0.5 ms a tap: 0.4 s of a 500-tap re-run, twice, since the
  empty plan was verified by a second read; both are gone, see the changelog). What remains inside
  the module is Python work proportional to N: AnsibleModule validating the N-item argument against
  the argument spec, building and comparing N models, the intent to save for boot-time restore
  compared with the saved one, and the JSON of a result with every object before and after. Around
  the module, ansible's own share: templating the N-item argument on the controller, AnsiballZ, a
  new Python importing ansible's `basic` and the collection, and reading the result back; the
  `ansible.builtin.ping` figure above is the least of it.
  A module imports only its own code: vm_interface with nothing to change does not import
  pyroute2 (0.1 s; its links come from raw dumps and it uses no addresses or routes), and starts
  no `ovs-vsctl` when there is no OVSDB socket; the ovs_dpdk_* modules never import pyroute2.
- **A first run** is mostly the kernel: creating a multi-queue tap and enslaving it to a bridge
  cost about as much through netlink as through `ip -batch`. On top of that: one request per tap
  that marks it (the alias, set right after the tap is made so that no unmarked tap can be left
  behind), the read-back that verifies every object (which is also what `after` shows), and the
  saved intent written for boot-time restore. Port flags that are the kernel's defaults for a new
  port are not set again.
- **OVS ports** go in one `ovs-vsctl` transaction like the floor; on top of it the module reads
  OVSDB before, waits (bounded) for ovs-vswitchd to report each interface, reads it once more to
  verify, and saves the intent for boot-time restore (from a virtualenv it also checks, with one `python3 -c`,
  which interpreter can run the restore program); the fixed cost of an ansible task weighs most
  at small N.
"""
