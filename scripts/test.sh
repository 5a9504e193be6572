#!/usr/bin/env bash
# Runs every test. The tests start their own PostgreSQL cluster and make their own GPG keys.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/opt/swift/usr/bin"
scripts/setup.sh
swift build --build-tests
swift test --skip-build "$@"
