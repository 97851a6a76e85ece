#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for a while; fails on the first crash and prints the input that caused it.
#
#   scripts/fuzz.sh                       every target, 30 s each
#   FUZZ_SECONDS=600 scripts/fuzz.sh      longer runs
#   FUZZ_TARGETS="rtcp stun" scripts/fuzz.sh
#   FUZZ_SANITIZER=none scripts/fuzz.sh   no AddressSanitizer (about twice the executions per second)
#
# Works on the stable toolchain: cargo-fuzz passes nightly-only flags (-Zsanitizer, …) to rustc, which stable accepts
# with RUSTC_BOOTSTRAP=1 for this build only. The corpus of each target grows in fuzz/corpus/<target> (not committed);
# fuzz/seeds/<target> holds the committed real samples it starts from. See docs/fuzzing.md.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

CARGO_FUZZ_VERSION=0.13.1
FUZZ_SECONDS="${FUZZ_SECONDS:-30}"
FUZZ_SANITIZER="${FUZZ_SANITIZER:-address}"
ALL_TARGETS="signaling_parse stun rtp_packet rtcp rtp_rewrite dependency_descriptor engine_datagram"
FUZZ_TARGETS="${FUZZ_TARGETS:-$ALL_TARGETS}"

stage() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
die() { printf '\n\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

export RUSTC_BOOTSTRAP=1

# libfuzzer-sys compiles libFuzzer (C++) in its build script.
command -v c++ >/dev/null 2>&1 || die "no C++ compiler (c++): install g++ (Debian: apt-get install g++)"

if ! cargo fuzz --version 2>/dev/null | grep -q "$CARGO_FUZZ_VERSION"; then
  stage "installing cargo-fuzz $CARGO_FUZZ_VERSION"
  cargo install cargo-fuzz --locked --version "$CARGO_FUZZ_VERSION"
fi

stage "building the fuzz targets (sanitizer: $FUZZ_SANITIZER)"
cargo fuzz build --release --sanitizer "$FUZZ_SANITIZER"

for target in $FUZZ_TARGETS; do
  stage "fuzzing $target for ${FUZZ_SECONDS}s"
  corpus="fuzz/corpus/$target"
  artifacts="fuzz/artifacts/$target"
  mkdir -p "$corpus" "$artifacts"
  log="$(mktemp)"
  # -timeout: one input running 10 s is a hang, reported like a crash. Seeds are read, never written.
  if ! cargo fuzz run --release --sanitizer "$FUZZ_SANITIZER" "$target" "$corpus" "fuzz/seeds/$target" -- \
    -max_total_time="$FUZZ_SECONDS" -timeout=10 -print_final_stats=1 >"$log" 2>&1; then
    tail -n 60 "$log"
    artifact="$(grep -o 'Test unit written to [^ ]*' "$log" | tail -n 1 | sed 's/Test unit written to //')"
    rm -f "$log"
    die "$target crashed; input: ${artifact:-see the output above} (reproduce: RUSTC_BOOTSTRAP=1 cargo fuzz run $target ${artifact:-<input>})"
  fi
  grep -E 'DONE|stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "$log" || true
  rm -f "$log"
done

stage "fuzzing done: no crash in $(echo "$FUZZ_TARGETS" | wc -w) target(s)"
