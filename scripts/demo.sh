#!/usr/bin/env bash
# The main job: the server on its embedded SQLite file with the demo business, and a terminal
# against it. The terminal is the desktop app when a display is available (and POS_DEMO_CLI is
# not set), otherwise the `pos-terminal` CLI walks through a sale: sign in, look up, sell, sync.
#
# Everything lives in .data/demo/ (delete it to start over). The server keeps running until
# Ctrl-C; with CI=true or POS_DEMO_EXIT=1 the script stops it after the walk-through.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
bash scripts/setup.sh
. scripts/lib/build-dir.sh

data="$root/.data/demo"
mkdir -p "$data/server" "$data/terminal"
bind="${POS_BIND:-127.0.0.1:8700}"
url="http://$bind"

echo "== building the server and the terminal"
cargo build --quiet -p pos-server -p pos-engine --bins
bin="$CARGO_TARGET_DIR/debug"

echo "== demo data (idempotent)"
(cd "$data/server" && unset DATABASE_URL && "$bin/pos-server" seed-demo)

echo "== starting the server on $url (SQLite file $data/server/pos-server.db)"
(cd "$data/server" && unset DATABASE_URL && POS_BIND="$bind" exec "$bin/pos-server" serve) \
  >"$data/server.log" 2>&1 &
server_pid=$!
trap 'kill $server_pid 2>/dev/null || true; wait $server_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -fsS "$url/api/v1/sync/health" >/dev/null 2>&1 && break
  kill -0 $server_pid 2>/dev/null || { cat "$data/server.log"; exit 1; }
  sleep 0.1
done
curl -fsS "$url/api/v1/sync/health"; echo

if [ -n "${DISPLAY:-}" ] && [ -z "${POS_DEMO_CLI:-}" ]; then
  . scripts/lib/app-window.sh
  echo "== building the desktop app (the UI is built and embedded)"
  app_window_build debug
  # The till signs in once from the command line on the app's own data folder, so the app
  # opens on the selling screen; if the desktop has no credential store it opens on sign-in.
  "$bin/pos-terminal" --data-dir "$data/app" --server "$url" login --email cashier@demo.test \
    --password demo-pass-1 --device-name "Demo till" \
    || echo "(sign in from the app: cashier@demo.test / demo-pass-1)"
  echo "== the desktop app against $url (close its window to stop the demo)"
  POS_TERMINAL_DATA_DIR="$data/app" POS_TERMINAL_SERVER="$url" "$APP_BIN"
  exit 0
fi

# No display: the CLI over the same engine. A headless machine has no credential store, so the
# demo uses the documented file fallback for the token.
export POS_TERMINAL_CREDENTIALS=file
term() { echo "\$ pos-terminal $*" >&2; "$bin/pos-terminal" --data-dir "$data/terminal" --server "$url" "$@"; }
term login --email cashier@demo.test --password demo-pass-1 --device-name "Demo till"
term products search milk
code=$(term --json products search milk | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["productCode"])')
term sell --item "$code:2" --pay Cash --paid 100
term sync || echo "(sync answered with exit code $?)"
term sales
term status --json

if [ "${CI:-}" = true ] || [ -n "${POS_DEMO_EXIT:-}" ]; then exit 0; fi
echo
echo "The server is running at $url (log: $data/server.log). Try:"
echo "  curl -s -X POST $url/api/v1/sign-in -H 'Content-Type: application/json' -d '{\"email\":\"manager@demo.test\",\"password\":\"demo-pass-1\"}'"
echo "  $bin/pos-terminal --data-dir $data/terminal --server $url products search bread"
echo "Ctrl-C stops it."
wait $server_pid
