#!/usr/bin/env bash
# Runs every measurement behind BENCHMARKS.md and prints the summary tables.
#
#   scripts/bench.sh            # everything (about 20 minutes)
#   scripts/bench.sh quick      # shorter runs, for a look (about 6 minutes)
#
# Raw output goes to target/bench-report/; the summary is printed at the end and written to
# target/bench-report/summary.md. Run it on a quiet machine: other work on the cores shows up
# in every number.
set -euo pipefail
cd "$(dirname "$0")/.."

mode="${1:-full}"
out=target/bench-report
mkdir -p "$out"
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost

if [[ "$mode" == quick ]]; then
    criterion_args=(--warm-up-time 1 --measurement-time 2)
    load_args=(--rounds 1 --duration 5)
    memory_args=(--duration 20)
    cold_runs=7
else
    criterion_args=()
    load_args=(--rounds 3 --duration 10)
    memory_args=(--duration 60)
    cold_runs=21
fi

step() { printf '\n==> %s\n' "$*" >&2; }

{
    echo "## Machine"
    echo
    echo '```text'
    echo "date:    $(date -u +%Y-%m-%dT%H:%MZ)"
    echo "nproc:   $(nproc)"
    echo "cpu:     $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    echo "memory:  $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
    echo "kernel:  $(uname -r)"
    echo "rustc:   $(rustc --version)"
    echo "commit:  $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
    echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min, before the run)"
    echo '```'
} > "$out/machine.md"

step "building benches and the load example (release)"
cargo bench -p langfuse-benches --no-run --locked --bench overhead --bench exporter 2>&1 | tail -n 2 >&2
cargo build -p langfuse-benches --release --locked --example load --example instructions 2>&1 | tail -n 1 >&2

if command -v valgrind >/dev/null; then
    step "hot path in instructions: callgrind on benches/examples/instructions.rs"
    : > "$out/instructions.txt"
    for case in plain disabled sampled_out root child capture_root capture_small capture_1mb \
        async_plain_1_poll async_1_poll async_plain_2_polls async_2_polls; do
        probe=$(valgrind --tool=callgrind --toggle-collect='*probe_loop*' \
            --callgrind-out-file=/dev/null target/release/examples/instructions "$case" 1000 2>&1)
        collected=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' <<<"$probe")
        allocations=$(sed -n 's/.*allocations_per_iteration=\([0-9.]*\).*/\1/p' <<<"$probe")
        echo "instructions case=$case iterations=1000 collected=$collected allocations_per_iteration=$allocations" |
            tee -a "$out/instructions.txt" >&2
    done
else
    echo "valgrind not found: skipping instruction counts" >&2
fi

step "hot path: cargo bench -p langfuse-benches --bench overhead"
cargo bench -p langfuse-benches --locked --bench overhead -- "${criterion_args[@]}" 2>&1 | tee "$out/overhead.txt" >&2

step "exporter: cargo bench -p langfuse-benches --bench exporter"
cargo bench -p langfuse-benches --locked --bench exporter -- "${criterion_args[@]}" 2>&1 | tee "$out/exporter.txt" >&2

step "loaded service: load ${load_args[*]}"
target/release/examples/load "${load_args[@]}" 2>&1 | tee "$out/load.txt" >&2

step "memory: load --mode memory ${memory_args[*]}"
target/release/examples/load --mode memory "${memory_args[@]}" 2>&1 | tee "$out/memory.txt" >&2

step "cold start: load --mode cold-start --runs $cold_runs"
target/release/examples/load --mode cold-start --runs "$cold_runs" 2>&1 | tee "$out/cold.txt" >&2

step "summary"
python3 scripts/summarize.py "$out" | tee "$out/summary.md"
