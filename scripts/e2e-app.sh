#!/usr/bin/env bash
# The desktop app end to end in a real window: builds the UI, the app and the server, starts
# Xvfb, a D-Bus session (WebKitGTK wants one) and tauri-driver (WebDriver → WebKitWebDriver), then runs ui/e2e/ with
# node's test runner. Screenshots land in docs/screenshots/. Everything it starts is stopped
# on exit; logs stay in the work folder it prints. Builds into CARGO_TARGET_DIR when it is set.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
. scripts/lib/app-window.sh

if [ "${1:-}" = "--inside-session" ]; then
  # Second half, inside the D-Bus session started below.
  app_window_start "$E2E_WORK_DIR"
  node --test --test-reporter=spec ui/e2e/app.test.mjs
  exit
fi

app_window_check_tools
echo "e2e-app: building the UI, the app and the server"
app_window_build debug

work=$(mktemp -d "${TMPDIR:-/tmp}/pos-e2e-app.XXXXXX")
echo "e2e-app: work folder $work"
export POS_SERVER_BIN="$SERVER_BIN"
export POS_APP_BIN="$APP_BIN"
export E2E_WORK_DIR="$work"
export SCREENSHOT_DIR="$root/docs/screenshots"

# The rest runs inside its own D-Bus session, so what it starts ends with it.
exec dbus-run-session -- bash "$0" --inside-session
