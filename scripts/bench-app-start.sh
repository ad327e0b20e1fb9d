#!/usr/bin/env bash
# Cold start of the desktop app to a usable selling screen (target ≤ 2 s, docs/BENCHMARKS.md),
# measured on the real app binary in a real window under Xvfb: pos-bench fills a till's data folder
# with the seeded catalog (POS_BENCH_PRODUCTS, default 100k products and 20k parties) and signs a
# cashier in, then ui/e2e/bench-start.mjs starts the app BENCH_RUNS times (default 5, after one
# warm-up) on a fresh copy of that folder and prints each run, the median and the max, beside the
# baseline of the same runs (the binary's own start to its webview loading the page).
# BENCH_PROFILE=release (default) or debug. Opt-in and slow; not a test. Builds into
# CARGO_TARGET_DIR when it is set.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/app-window.sh

if [ "${1:-}" = "--inside-session" ]; then
  app_window_start "$BENCH_WORK_DIR"
  node ui/e2e/bench-start.mjs
  exit
fi

app_window_check_tools
profile=${BENCH_PROFILE:-release}
echo "bench-app-start: building the app and pos-bench ($profile)"
app_window_build "$profile"
cargo_flags=()
[ "$profile" = release ] && cargo_flags=(--release)
cargo build --locked -q "${cargo_flags[@]}" -p pos-bench --bin pos-bench

work=$(mktemp -d "${TMPDIR:-/tmp}/pos-bench-app.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "bench-app-start: work folder $work; preparing the till"
POS_TERMINAL_CREDENTIALS=file "$TARGET_DIR/$profile/pos-bench" prepare-till --data-dir "$work/till"

export POS_APP_BIN="$APP_BIN"
export BENCH_TILL_DIR="$work/till"
export BENCH_WORK_DIR="$work"
dbus-run-session -- bash "$0" --inside-session
