#!/usr/bin/env bash
# Runs every test: the Swift suites (their own PostgreSQL cluster, their own GPG keys), then the end-to-end
# suite against a real Synapse. Arguments go to swift test (e.g. --filter RestoreTests).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/opt/swift/usr/bin"
scripts/setup.sh
swift build --build-tests
swift test --skip-build "$@"
# The benchmark at a tiny scale, to keep it working (its numbers mean nothing at this size).
bench_dir=$(mktemp -d /tmp/mxbackup-bench-XXXXXX)
python3 bench/run.py --size-gb 0.01 --reps 1 --binary .build/debug/mxbackup --work "$bench_dir/work" --out "$bench_dir/report.md" >/dev/null
grep -q "mxbackup restore (swap)" "$bench_dir/report.md" && rm -rf "$bench_dir"
# End to end against a real Synapse (needs the binary built above). Its summary is the last line.
scripts/e2e.sh
