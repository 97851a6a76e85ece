#!/usr/bin/env bash
# ferrosoup's one test command: Rust build + unit/integration tests, then the browser end-to-end suite.
#
#   scripts/test.sh              everything
#   SKIP_E2E=1 scripts/test.sh   Rust only
#   FUZZ=1 scripts/test.sh       also the fuzz smoke run (always on in CI)
#   LINT=1 scripts/test.sh       also clippy with warnings as errors (always on in CI; rustfmt is always checked)
#   E2E_ONLY=1 scripts/test.sh   e2e only (expects target/ci/ferrosoup or target/release/ferrosoup, or FERROSOUP_BIN)
#
# Builds and tests use the `ci` profile: release optimisation without LTO (see Cargo.toml), so that the ~15 test
# binaries are not each link-time optimised.
#
# The e2e suite needs root (it creates a network namespace with `ip netns add`), /usr/bin/chromium and Node >= 20.
# Failure artifacts (screenshots, page console logs, server log) land in tests/e2e/artifacts/.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO_ROOT="$PWD"

stage() { printf '\n\033[1m==> [%ss] %s\033[0m\n' "$SECONDS" "$*"; }
die() { printf '\n\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

is_root() { [ "$(id -u)" -eq 0 ]; }

# Installs Debian packages when we may (root + apt-get); otherwise fails with the command to run.
need_pkg() { # <command path or name> <debian package>
  local cmd="$1" pkg="$2"
  if command -v "$cmd" >/dev/null 2>&1; then return 0; fi
  if is_root && command -v apt-get >/dev/null 2>&1; then
    stage "installing $pkg (missing $cmd)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y --no-install-recommends "$pkg"
    command -v "$cmd" >/dev/null 2>&1 || die "$cmd still missing after installing $pkg"
  else
    die "$cmd is missing; install it with: sudo apt-get update && sudo apt-get install -y --no-install-recommends $pkg"
  fi
}

if [ -z "${E2E_ONLY:-}" ]; then
  # The Tauri plugin links GTK/WebKitGTK; it is tested on its own below (debug profile: much faster to build).
  stage "cargo build --profile ci (server and library)"
  cargo build --profile ci --workspace --exclude tauri-plugin-ferrosoup

  stage "cargo test --profile ci (server and library)"
  cargo test --profile ci --workspace --exclude tauri-plugin-ferrosoup

  # Style: rustfmt always (seconds); clippy with warnings as errors in CI, locally with LINT=1 (a check build).
  if cargo fmt --version >/dev/null 2>&1; then
    stage "cargo fmt --check"
    cargo fmt --all -- --check || die "not formatted: run cargo fmt --all"
  elif [ -n "${CI:-}" ]; then
    die "rustfmt is missing (rustup component add rustfmt)"
  fi
  if [ -n "${CI:-}" ] || [ -n "${LINT:-}" ]; then
    stage "cargo clippy -D warnings (server and library)"
    cargo clippy --profile ci --workspace --exclude tauri-plugin-ferrosoup --all-targets -- -D warnings
  fi

  # Fuzz smoke: each cargo-fuzz target briefly (longer runs: docs/fuzzing.md). In CI always; locally with FUZZ=1.
  if [ -n "${CI:-}" ] || [ -n "${FUZZ:-}" ]; then
    stage "fuzz smoke (scripts/fuzz.sh, ${FUZZ_SECONDS:-10} s per target)"
    FUZZ_SECONDS="${FUZZ_SECONDS:-10}" FUZZ_SANITIZER="${FUZZ_SANITIZER:-none}" scripts/fuzz.sh
  fi

  if pkg-config --exists webkit2gtk-4.1 gtk+-3.0 2>/dev/null; then
    stage "cargo test -p tauri-plugin-ferrosoup (Tauri mock runtime)"
    cargo test -p tauri-plugin-ferrosoup
  elif [ -n "${CI:-}" ]; then
    die "the Tauri plugin needs libwebkit2gtk-4.1-dev (and GTK 3) to build; .ci/run installs them"
  else
    stage "Tauri plugin skipped: install libwebkit2gtk-4.1-dev to build and test it"
  fi
fi

if [ -n "${SKIP_E2E:-}" ]; then
  stage "e2e skipped (SKIP_E2E set)"
  exit 0
fi

stage "e2e: prerequisites"
is_root || die "the e2e tests need root: they create a network namespace (ip netns add). Run: sudo scripts/test.sh (or SKIP_E2E=1 scripts/test.sh for the Rust tests only)"
command -v node >/dev/null 2>&1 || die "node is missing (Node.js >= 20 is needed for the e2e tests)"
node_major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$node_major" -ge 20 ] || die "Node.js >= 20 is needed for the e2e tests (found $(node --version))"
need_pkg ip iproute2
need_pkg /usr/bin/chromium chromium
need_pkg ffmpeg ffmpeg
if [ -z "${FERROSOUP_BIN:-}" ]; then
  FERROSOUP_BIN="$REPO_ROOT/target/ci/ferrosoup"
  [ -n "${E2E_ONLY:-}" ] && [ ! -x "$FERROSOUP_BIN" ] && FERROSOUP_BIN="$REPO_ROOT/target/release/ferrosoup"
fi
export FERROSOUP_BIN
[ -x "$FERROSOUP_BIN" ] || die "server binary $FERROSOUP_BIN not found (cargo build --profile ci -p ferrosoup-server)"
echo "node $(node --version), $(/usr/bin/chromium --version 2>/dev/null), server $FERROSOUP_BIN"

if [ ! -d tests/e2e/node_modules ]; then
  stage "e2e: npm ci (tests/e2e)"
  (cd tests/e2e && npm ci --no-audit --no-fund)
fi

# The server embeds crates/ferrosoup-server/assets (built from web/); make sure they match web/'s sources.
if [ -d web/node_modules ] || [ -n "${CI:-}" ]; then
  stage "demo page: committed assets match web/ sources"
  [ -d web/node_modules ] || (cd web && npm ci --no-audit --no-fund)
  assets_tmp="$(mktemp -d)"
  trap 'rm -rf "$assets_tmp"' EXIT
  (cd web && FERROSOUP_ASSETS_OUT="$assets_tmp" node build.mjs)
  if ! diff -q "$assets_tmp" crates/ferrosoup-server/assets >/dev/null; then
    diff -r "$assets_tmp" crates/ferrosoup-server/assets | head -5 || true
    die "crates/ferrosoup-server/assets is stale: run (cd web && npm ci && npm run build) and commit the result"
  fi
  echo "assets up to date"
fi

stage "e2e: node --test (tests/e2e)"
rm -rf tests/e2e/artifacts
cd tests/e2e
node --test --test-concurrency=1 --test-reporter=spec ./*.test.mjs
