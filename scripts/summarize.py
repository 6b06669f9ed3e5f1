#!/usr/bin/env python3
"""Prints the summary of a scripts/bench.sh run as markdown.

Reads criterion's estimates (target/criterion/**/new/{benchmark,estimates}.json; the median of
each benchmark, in ns per iteration) and the raw output files that bench.sh saved in the report
directory given as the only argument. Every number printed comes from those files.
"""

import json
import pathlib
import re
import sys

report = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "target/bench-report")
criterion = pathlib.Path("target/criterion")

LIBS = ["langfuse", "fastrace", "tracing"]


def load_estimates():
    """{(group, function): median ns per iteration}"""
    medians = {}
    for bench in criterion.glob("**/new/benchmark.json"):
        meta = json.loads(bench.read_text())
        estimates = json.loads((bench.parent / "estimates.json").read_text())
        medians[(meta["group_id"], meta["function_id"])] = estimates["median"]["point_estimate"]
    return medians


m = load_estimates()


def get(group, function):
    return m.get((group, function))


def fmt(ns):
    if ns is None:
        return "n/a"
    if abs(ns) >= 100_000:
        return f"{ns / 1000:,.0f} µs"
    if abs(ns) >= 1000:
        return f"{ns / 1000:.2f} µs"
    if abs(ns) >= 10:
        return f"{ns:.1f} ns"
    return f"{ns:.2f} ns"


def minus(a, b):
    return None if a is None or b is None else a - b


def per(x, n):
    return None if x is None else x / n


def cost(case, lib, state="enabled"):
    """Overhead in ns per observation (or per poll), over the same code without tracing."""
    f = f"{lib}/{state}"
    if case == "root":
        return minus(get("root_only", f), get("root_only", "plain"))
    if case == "child":
        t100 = minus(get("trace_of_100", f), get("trace_of_100", "plain"))
        root = cost("root", lib, state)
        return None if t100 is None or root is None else (t100 - root) / 99
    if case == "trace_of_100":
        return per(minus(get("trace_of_100", f), get("trace_of_100", "plain")), 100)
    if case == "nested_3":
        return per(minus(get("nested_3", f), get("nested_3", "plain")), 3)
    if case == "async_call":
        return minus(get("async_call", f), get("async_call", "plain"))
    if case == "poll":
        polls = minus(get("async_100_polls", f), get("async_100_polls", "plain"))
        call = cost("async_call", lib, state)
        return None if polls is None or call is None else (polls - call) / 99
    if case == "capture_small":
        return per(minus(get("capture_small_of_100", f), get("capture_small_of_100", "plain")), 100)
    if case == "capture_1mb":
        return minus(get("capture_1mb", f), get("capture_1mb", "plain"))
    raise KeyError(case)


ROWS = [
    ("disabled, trace root", "root", "disabled"),
    ("disabled, per observation of a trace of 100", "trace_of_100", "disabled"),
    ("sampled out, trace root", "root", "sampled_out"),
    ("sampled out, per observation of a trace of 100", "trace_of_100", "sampled_out"),
    ("capture off, child of another observation", "child", "enabled"),
    ("capture off, trace root", "root", "enabled"),
    ("capture off, per observation of a trace of 100", "trace_of_100", "enabled"),
    ("capture off, per observation nested 3 deep", "nested_3", "enabled"),
    ("async fn, per call (root, one poll)", "async_call", "enabled"),
    ("async fn, per extra poll", "poll", "enabled"),
    ("capture on, small struct, per observation of a trace of 100", "capture_small", "enabled"),
    ("capture on, 1 MB argument, root", "capture_1mb", "enabled"),
    ("sampled out, 1 MB argument, root", "capture_1mb", "sampled_out"),
]


def hot_path():
    print("## Hot path (benches/overhead.rs)")
    print()
    print("Overhead over the same code without tracing, from criterion's medians; per observation")
    print("unless said. `n/a`: the library has no such state (see BENCHMARKS.md).")
    print()
    print("| case | langfuse | fastrace | tracing + otel | tracing / langfuse | fastrace / langfuse |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for label, case, state in ROWS:
        values = [cost(case, lib, state) for lib in LIBS]
        ours = values[0]

        def ratio(v):
            if v is None or ours is None or ours <= 0.5:
                return "-"
            return f"{v / ours:.1f}x"

        print(
            f"| {label} | {fmt(values[0])} | {fmt(values[1])} | {fmt(values[2])} "
            f"| {ratio(values[2])} | {ratio(values[1])} |"
        )
    print()


BUDGETS = [
    ("tracing disabled", "root", "disabled", 2),
    ("enabled, trace sampled out", "root", "sampled_out", 10),
    ("enabled, capture off, sync, child of another observation", "child", "enabled", 40),
    ("enabled, capture off, sync, new trace (a request's root)", "root", "enabled", 100),
    ("enabled, async fn, per poll of the wrapper", "poll", "enabled", 10),
]


def budgets():
    print("## DESIGN section 3 budgets")
    print()
    print("| case | budget | measured (langfuse) | met |")
    print("| --- | ---: | ---: | --- |")
    for label, case, state, budget in BUDGETS:
        value = cost(case, "langfuse", state)
        met = "n/a" if value is None else ("yes" if value <= budget else "no")
        print(f"| {label} | <= {budget} ns | {fmt(value)} | {met} |")
    alloc_path = report / "instructions.txt"
    measured, met = "n/a", "n/a"
    if alloc_path.exists():
        counts = [
            float(x)
            for case, x in re.findall(r"case=(\w+) .*allocations_per_iteration=([\d.]+)", alloc_path.read_text())
            if case in ("disabled", "sampled_out", "root", "child", "async_1_poll", "async_2_polls")
        ]
        if counts:
            measured = f"{max(counts):g}"
            met = "yes" if max(counts) == 0 else "no"
    print(f"| allocations per observation, steady state, capture off | 0 | {measured} | {met} |")
    print()


def instructions():
    path = report / "instructions.txt"
    if not path.exists():
        return
    per_call = {}
    allocations = {}
    for line in path.read_text().splitlines():
        found = re.match(
            r"instructions case=(\w+) iterations=(\d+) collected=(\d+) allocations_per_iteration=([\d.]+)",
            line,
        )
        if found:
            per_call[found.group(1)] = int(found.group(3)) / int(found.group(2))
            allocations[found.group(1)] = float(found.group(4))
    if "plain" not in per_call:
        return

    def over(case, base):
        if case not in per_call or base not in per_call:
            return "n/a"
        return f"{per_call[case] - per_call[base]:.0f}"

    poll = "n/a"
    needed = ["async_2_polls", "async_1_poll", "async_plain_2_polls", "async_plain_1_poll"]
    if all(k in per_call for k in needed):
        extra = (per_call["async_2_polls"] - per_call["async_1_poll"]) - (
            per_call["async_plain_2_polls"] - per_call["async_plain_1_poll"]
        )
        poll = f"{extra:.0f}"
    print("## Hot path in instructions (callgrind, benches/examples/instructions.rs)")
    print()
    print("Instructions executed on the calling thread per observation, over the untraced")
    print("function; deterministic, so a busy machine does not move them.")
    print()
    def allocs(case):
        return f"{allocations[case]:g}" if case in allocations else "n/a"

    print("| case | instructions | heap allocations |")
    print("| --- | ---: | ---: |")
    print(f"| disabled | {over('disabled', 'plain')} | {allocs('disabled')} |")
    print(f"| sampled out (trace root) | {over('sampled_out', 'plain')} | {allocs('sampled_out')} |")
    print(f"| capture off, trace root | {over('root', 'plain')} | {allocs('root')} |")
    print(f"| capture off, child of another observation | {over('child', 'plain')} | {allocs('child')} |")
    print(
        f"| capture on (two small arguments, a number returned), trace root "
        f"| {over('capture_root', 'plain')} | {allocs('capture_root')} |"
    )
    print(
        f"| capture on (a small struct in, a number out), child of another observation "
        f"| {over('capture_small', 'plain')} | {allocs('capture_small')} |"
    )
    print(
        f"| capture on (a 1 MB string, cut at the budget), trace root "
        f"| {over('capture_1mb', 'plain')} | {allocs('capture_1mb')} |"
    )
    print(
        f"| async fn, one poll (root) | {over('async_1_poll', 'async_plain_1_poll')} "
        f"| {allocs('async_1_poll')} |"
    )
    print(f"| async fn, per extra poll | {poll} | {allocs('async_2_polls')} (per call, 2 polls) |")
    print()


def exporter():
    print("## Exporter (benches/exporter.rs)")
    print()
    wire = {}
    path = report / "exporter.txt"
    if path.exists():
        for line in path.read_text().splitlines():
            found = re.match(r"wire: (\w+): .*?: ([\d.]+) protobuf bytes and ([\d.]+) gzip bytes", line)
            if found:
                wire[found.group(1)] = (float(found.group(2)), float(found.group(3)))
    print("Exporter-thread CPU per observation (criterion median / 512) and bytes per observation.")
    print()
    print("| observation | encode | encode + gzip | protobuf bytes | gzip bytes on the wire |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for shape in ["typical", "input_4kb"]:
        enc = per(get("export", f"encode/{shape}"), 512)
        ns = per(get("export", f"encode_gzip/{shape}"), 512)
        pb, gz = wire.get(shape, (None, None))
        print(
            f"| {shape} | {fmt(enc)} | {fmt(ns)} | {pb if pb is not None else 'n/a'} "
            f"| {gz if gz is not None else 'n/a'} |"
        )
    print()


def copy_tables(title, name, start):
    """Copies the lines from each line starting with `start` to the next blank line."""
    path = report / name
    print(f"## {title}")
    print()
    if not path.exists():
        print(f"(no {name})")
        print()
        return
    lines = path.read_text().splitlines()
    copying = False
    for line in lines:
        if line.startswith(start):
            copying = True
        if copying:
            print(line)
            if not line.strip():
                copying = False
    print()


machine = report / "machine.md"
if machine.exists():
    print(machine.read_text())
hot_path()
budgets()
instructions()
exporter()
copy_tables("Loaded service (benches/examples/load.rs)", "load.txt", "summary receiver=")
copy_tables("Memory with the receiver down (load --mode memory)", "memory.txt", "summary memory")
copy_tables("Cold start (load --mode cold-start)", "cold.txt", "cold start:")
