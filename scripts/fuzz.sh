#!/usr/bin/env bash
# libFuzzer over the decoders and parsers a hostile file reaches (docs/fault-injection.md, "Fuzzing"):
# Tests/MXBackupKitTests/FuzzTargets.swift, driven by fuzz/Harness.swift, built with -sanitize=fuzzer,address.
#   scripts/fuzz.sh build                  build .build/fuzz/mxfuzz (after `swift build`, which builds Yams)
#   scripts/fuzz.sh run TARGET SECONDS     fuzz one target at nice 19; corpus .build/fuzz/corpus/TARGET,
#                                          crashes and hangs in .build/fuzz/findings/TARGET (non-zero exit)
#   scripts/fuzz.sh all SECONDS            every target in turn, SECONDS each
# Targets: gzip zstd scanner layers manifest env. A finding is replayed with
#   MXFUZZ_TARGET=TARGET .build/fuzz/mxfuzz FILE
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=$root/.build/fuzz
bin=$out/mxfuzz
targets="gzip zstd scanner layers manifest env"
export PATH=$PATH:/opt/swift/usr/bin

build() {
  local debug=$root/.build/debug
  [ -f "$debug/Modules/Yams.swiftmodule" ] || { echo "run 'swift build' first (it builds Yams)" >&2; exit 2; }
  mkdir -p "$out"
  local includes=(-I "$root/Sources/CZstd" -I "$root/Sources/CZlib" -I "$root/Sources/CLibCrypto" -I "$debug/Modules"
                  -Xcc -fmodule-map-file="$root/.build/checkouts/Yams/Sources/CYaml/include/module.modulemap")
  local flags=(-O -sanitize=fuzzer,address -parse-as-library -swift-version 6)
  # The library as one module with coverage instrumentation (again only when a source changed), then the harness.
  [ -f "$out/MXBackupKit.o" ] && [ -z "$(find "$root/Sources/MXBackupKit" -name '*.swift' -newer "$out/MXBackupKit.o")" ] ||
  find "$root/Sources/MXBackupKit" -name '*.swift' -print0 | xargs -0 swiftc "${flags[@]}" "${includes[@]}" \
    -module-name MXBackupKit -enable-testing -wmo -c -emit-module -emit-module-path "$out/MXBackupKit.swiftmodule" \
    -o "$out/MXBackupKit.o"
  swiftc "${flags[@]}" "${includes[@]}" -I "$out" -module-name MXFuzz \
    "$root/fuzz/Harness.swift" "$root/Tests/MXBackupKitTests/FuzzTargets.swift" "$root/Tests/MXBackupKitTests/MemoryStreams.swift" \
    "$out/MXBackupKit.o" "$debug"/Yams.build/*.o "$debug"/CYaml.build/src/*.o -lzstd -lz -lcrypto -o "$bin" 2> >(grep -v 'ld.gold: warning' >&2)
  echo "built $bin"
}

run() {
  local target=${1:?TARGET} seconds=${2:?SECONDS}
  [ -x "$bin" ] || build
  local corpus=$out/corpus/$target findings=$out/findings/$target
  mkdir -p "$corpus" "$findings"
  [ -n "$(ls -A "$corpus")" ] || MXFUZZ_TARGET=$target MXFUZZ_SEEDS=$corpus "$bin" >/dev/null 2>&1
  # -timeout: an input taking 10 s is a hang; -rss_limit_mb: a decompression bomb must not take the machine;
  # no leak detection (libFuzzer and at exit): Foundation's FileManager.contents leaks 4 KiB on an empty file (toolchain, not ours).
  local TIMEFORMAT="$target: %R s wall, %U s user + %S s system CPU"
  time { ASAN_OPTIONS=detect_leaks=0 MXFUZZ_TARGET=$target nice -n 19 "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -detect_leaks=0 \
    -print_final_stats=1 -artifact_prefix="$findings/" "$corpus" 2>&1 | tee "$out/$target.log" |
    grep -E '^(#[0-9]+[[:space:]]+DONE|stat::number_of_executed_units|stat::average_exec_per_sec|==[0-9]+==|SUMMARY|artifact)' || true; }
  [ -z "$(ls -A "$findings")" ] || { echo "$target: findings in $findings" >&2; return 1; }
}

case "${1:-}" in
build) build ;;
run) run "${2:-}" "${3:-}" ;;
all) status=0; for t in $targets; do run "$t" "${2:?SECONDS}" || status=1; done; exit $status ;;
*) echo "usage: $0 build | run TARGET SECONDS | all SECONDS" >&2; exit 2 ;;
esac
