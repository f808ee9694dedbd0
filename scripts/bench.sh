#!/usr/bin/env bash
# Runs every benchmark, one after the other, and prints their output: Markdown tables ready for
# docs/PERFORMANCE.md, each with its method, the machine, the build and the commit.
#
# Usage: scripts/bench.sh [BENCH...]          (default: audit monitor http export)
#        scripts/bench.sh http | tee bench-$(git rev-parse --short HEAD).md
#
# The defaults produce the real figures and take a while (http about 10 minutes, export with a
# 1,000,000-record vault about 4 minutes, most of it the import, and 2.5 GB of disk). For a quick
# development run, shrink them, for example:
#   HRVAULT_BENCH_SECS=2 HRVAULT_BENCH_ENTRIES=100000 \
#   HRVAULT_BENCH_HTTP_SECS=3 HRVAULT_BENCH_HTTP_WARMUP_SECS=1 HRVAULT_BENCH_HTTP_LOGIN_SECS=2 \
#   HRVAULT_BENCH_HTTP_ALERT_SECS=5 HRVAULT_BENCH_HTTP_UNSEAL_RUNS=2 HRVAULT_BENCH_HTTP_RECORDS=2000 \
#   HRVAULT_BENCH_HTTP_DRAIN_SECS=10 HRVAULT_BENCH_EXPORT_SIZES=10000 HRVAULT_BENCH_EXPORT_RUNS=1 \
#   scripts/bench.sh
# Every variable is listed at the top of its bench (benches/*.rs).
#
# Run on a quiet machine: the server and the load generator share its cores. Nothing else
# (builds, tests) should run meanwhile; the script builds everything first for that reason.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
BENCHES=("$@")
if [[ ${#BENCHES[@]} -eq 0 ]]; then
    BENCHES=(audit monitor http export)
fi

echo "Building the benches (bench profile)..." >&2
cargo bench --no-run "${BENCHES[@]/#/--bench=}" >&2

for b in "${BENCHES[@]}"; do
    echo
    echo "<!-- cargo bench --bench $b, started $(date -u +%Y-%m-%dT%H:%M:%SZ) -->"
    start=$(date +%s)
    cargo bench -q --bench "$b"
    echo
    echo "<!-- $b took $(( $(date +%s) - start )) s -->"
done
