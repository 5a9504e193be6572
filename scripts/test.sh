#!/usr/bin/env bash
# Runs every test: the Swift suites (their own PostgreSQL cluster, their own GPG keys), then the end-to-end
# suite against a real Synapse. Arguments go to swift test (e.g. --filter RestoreTests).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/opt/swift/usr/bin"
scripts/setup.sh
swift build --build-tests
swift test --skip-build "$@"
# End to end against a real Synapse (needs the binary built above).
scripts/e2e.sh
