#!/usr/bin/env bash
# The desktop app end to end in a real window: builds the UI, the app and the server, starts
# Xvfb, a D-Bus session (WebKitGTK wants one) and tauri-driver (WebDriver → WebKitWebDriver), then runs ui/e2e/ with
# node's test runner. Screenshots land in docs/screenshots/. Everything it starts is stopped
# on exit; logs stay in the work folder it prints.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

if [ "${1:-}" = "--inside-session" ]; then
  # Second half, inside the D-Bus session started below.
  work=$E2E_WORK_DIR
  pids=()
  cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
  }
  trap cleanup EXIT

  # The engine's own tests cover the OS credential store; here the till uses the documented
  # file fallback, so a keyring prompt or a locked collection cannot stall the window test.
  export POS_TERMINAL_CREDENTIALS=file

  display=:$(( 90 + RANDOM % 400 ))
  Xvfb "$display" -screen 0 1366x900x24 -nolisten tcp >"$work/xvfb.log" 2>&1 &
  pids+=($!)
  export DISPLAY=$display
  for _ in $(seq 1 50); do [ -e "/tmp/.X11-unix/X${display#:}" ] && break; sleep 0.1; done

  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  native=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  tauri-driver --port "$port" --native-port "$native" >"$work/tauri-driver.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/status" >/dev/null && break; sleep 0.1; done
  export WEBDRIVER_URL="http://127.0.0.1:$port"

  node --test --test-reporter=spec ui/e2e/app.test.mjs
  exit
fi

for tool in Xvfb WebKitWebDriver tauri-driver dbus-run-session node; do
  command -v "$tool" >/dev/null || { echo "e2e-app: $tool is missing (bash scripts/setup.sh installs it)" >&2; exit 1; }
done

echo "e2e-app: building the UI, the app and the server"
[ -d ui/node_modules ] || (cd ui && npm ci --no-audit --no-fund --loglevel=error)
# The Tauri CLI builds the UI (beforeBuildCommand) and the app with its assets embedded; a plain
# `cargo build` is a development build that loads the Vite dev server instead.
TAURI_APP_PATH=src-tauri ui/node_modules/.bin/tauri build --debug --no-bundle --ci >/dev/null
cargo build --locked -q -p pos-server
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')

work=$(mktemp -d "${TMPDIR:-/tmp}/pos-e2e-app.XXXXXX")
echo "e2e-app: work folder $work"
export POS_SERVER_BIN="$target_dir/debug/pos-server"
export POS_APP_BIN="$target_dir/debug/pos-terminal-app"
export E2E_WORK_DIR="$work"
export SCREENSHOT_DIR="$root/docs/screenshots"

# The rest runs inside its own D-Bus session, so what it starts ends with it.
exec dbus-run-session -- bash "$0" --inside-session
