#!/usr/bin/env bash
# Runs every test of the product: formatting and lints, the Rust workspace (server against
# SQLite and PostgreSQL, engine on real SQLite files and the real credential store, end-to-end
# tests over loopback), the UI's unit tests, the Windows compile check of the desktop app, and
# the desktop app in a real window under Xvfb.
#
# Long proofs take their size from the environment (see docs/RELIABILITY.md); the defaults are
# the CI sizes.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
bash scripts/setup.sh
echo "=== setup: $((SECONDS - started)) s"

. scripts/lib/build-dir.sh
export CARGO_TERM_COLOR=never
echo "=== build folder: $CARGO_TARGET_DIR"
failed=()
timings=()
step() {
  local name=$1; shift
  local step_started=$SECONDS
  echo
  echo "=== $name"
  if "$@"; then echo "=== $name: ok ($((SECONDS - step_started)) s)"
  else echo "=== $name: FAILED ($((SECONDS - step_started)) s)"; failed+=("$name"); fi
  timings+=("$(printf '%6d s  %s' $((SECONDS - step_started)) "$name")")
}

step "cargo fmt" cargo fmt --all -- --check
step "cargo clippy" cargo clippy --workspace --all-targets --locked -- -D warnings
# Tests run inside a D-Bus session with an unlocked Secret Service, so the terminal's
# credential tests use a real OS credential store.
step "cargo test" engine/scripts/with-keyring.sh cargo test --workspace --locked --no-fail-fast
if [ -f ui/package.json ]; then
  step "ui unit tests" bash -c 'cd ui && npx vitest run'
fi
step "back office in a real browser" bash scripts/e2e-office.sh
if [ -f scripts/check-windows.sh ]; then
  step "windows compile check" bash scripts/check-windows.sh
fi
if [ -f scripts/e2e-app.sh ]; then
  step "desktop app in a real window" bash scripts/e2e-app.sh
fi

echo
echo "=== time per step"
printf '%s\n' "${timings[@]}"
printf '%6d s  %s\n' $((SECONDS - started)) "in all"
echo
if [ "${#failed[@]}" -gt 0 ]; then
  echo "FAILED steps: ${failed[*]}"
  exit 1
fi
echo "all test steps passed"
