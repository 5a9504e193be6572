#!/usr/bin/env bash
# The fault-injection suite (docs/fault-injection.md): every operation interrupted at every named step
# and aimed moment with SIGKILL, SIGTERM and SIGINT, the invariants checked after each. The full matrix
# by default; FAULT_SAMPLE=N runs the seeded sample CI runs (N cases per operation) instead.
#   scripts/fault-matrix.sh                      # full matrix, report in .build/fault-matrix-report.md
#   MXBACKUP_FAULT_SEED=7 FAULT_SAMPLE=3 scripts/fault-matrix.sh
# Extra arguments go to swift test (e.g. --filter 'FaultMatrixTests.Restore').
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/opt/swift/usr/bin"
scripts/setup.sh >/dev/null
swift build --build-tests || exit 1
if [ -n "${FAULT_SAMPLE:-}" ]; then export MXBACKUP_FAULT_SAMPLE="$FAULT_SAMPLE"; else export MXBACKUP_FAULT_FULL=1; fi
export MXBACKUP_FAULT_REPORT="${MXBACKUP_FAULT_REPORT:-$PWD/.build/fault-matrix-report.md}"
rm -f "$MXBACKUP_FAULT_REPORT"
filter=(--filter 'FaultMatrixTests|ConcurrencyTests')
[ $# -gt 0 ] && filter=("$@")
swift test --skip-build "${filter[@]}" | grep -v '^fault matrix: \|^| \|^# Fault matrix\|^$'
status=${PIPESTATUS[0]}
echo
cat "$MXBACKUP_FAULT_REPORT" 2>/dev/null || echo "no report written"
exit "$status"
