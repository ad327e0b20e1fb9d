# Sourced by scripts/e2e-app.sh and scripts/bench-app-start.sh: what a real-window run of the
# desktop app needs. Expects the repository root as the current folder.

# Fails early, naming the first tool that a real-window run needs and this machine lacks.
app_window_check_tools() {
  local tool
  for tool in Xvfb WebKitWebDriver tauri-driver dbus-run-session node; do
    command -v "$tool" >/dev/null || { echo "$0: $tool is missing (bash scripts/setup.sh installs it)" >&2; exit 1; }
  done
}

# Builds the app with the UI embedded (`debug` or `release`) and the server. The Tauri CLI builds
# the UI (beforeBuildCommand) and embeds it; a plain `cargo build` of the app is a development
# build that loads the Vite dev server instead. Sets APP_BIN, SERVER_BIN and TARGET_DIR (which
# honours CARGO_TARGET_DIR).
app_window_build() {
  local profile=$1 tauri_flags=() cargo_flags=()
  if [ "$profile" = debug ]; then tauri_flags=(--debug); else cargo_flags=(--release); fi
  [ -d ui/node_modules ] || (cd ui && npm ci --no-audit --no-fund --loglevel=error)
  TAURI_APP_PATH=src-tauri ui/node_modules/.bin/tauri build "${tauri_flags[@]}" --no-bundle --ci >/dev/null
  cargo build --locked -q -p pos-server "${cargo_flags[@]}"
  TARGET_DIR=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
  APP_BIN="$TARGET_DIR/$profile/pos-terminal-app"
  SERVER_BIN="$TARGET_DIR/$profile/pos-server"
}

# Inside a D-Bus session (WebKitGTK wants one): starts Xvfb and tauri-driver (WebDriver →
# WebKitWebDriver), exports DISPLAY and WEBDRIVER_URL, and stops both when the shell exits.
# Logs go to $1.
app_window_start() {
  local work=$1
  APP_WINDOW_PIDS=()
  trap 'for pid in "${APP_WINDOW_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true' EXIT

  # The engine's own tests cover the OS credential store; here the till uses the documented
  # file fallback, so a keyring prompt or a locked collection cannot stall the window.
  export POS_TERMINAL_CREDENTIALS=file

  local display=:$(( 90 + RANDOM % 400 ))
  Xvfb "$display" -screen 0 1366x900x24 -nolisten tcp >"$work/xvfb.log" 2>&1 &
  APP_WINDOW_PIDS+=($!)
  export DISPLAY=$display
  for _ in $(seq 1 50); do [ -e "/tmp/.X11-unix/X${display#:}" ] && break; sleep 0.1; done

  local port native
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  native=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  tauri-driver --port "$port" --native-port "$native" >"$work/tauri-driver.log" 2>&1 &
  APP_WINDOW_PIDS+=($!)
  for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/status" >/dev/null && break; sleep 0.1; done
  export WEBDRIVER_URL="http://127.0.0.1:$port"
}
