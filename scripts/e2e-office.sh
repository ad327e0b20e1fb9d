#!/usr/bin/env bash
# The back office in a real browser: builds office/ (npm ci when its lock file changed) and runs
# its unit tests, builds the server and the till's CLI, starts chromedriver on a free loopback
# port, then runs office/e2e/office.test.mjs with node's test runner. The test starts
# pos-server itself (demo data, a fresh SQLite file, a free loopback port). Screenshots land in
# docs/screenshots/office-*.png. Builds into CARGO_TARGET_DIR when it is set.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

for tool in node npm cargo chromium chromedriver; do
  command -v "$tool" >/dev/null || { echo "e2e-office: $tool is missing (run scripts/setup.sh)"; exit 1; }
done

started=$SECONDS
stamp=office/node_modules/.installed-from-lock
if ! cmp -s office/package-lock.json "$stamp"; then
  echo "e2e-office: npm ci"
  (cd office && npm ci --no-audit --no-fund --loglevel=error)
  cp office/package-lock.json "$stamp"
fi
(cd office && npm run --silent build && npx vitest run)
echo "e2e-office: app built and unit-tested in $((SECONDS - started)) s"

cargo build --locked -p pos-server -p pos-engine --bin pos-server --bin pos-terminal
target=${CARGO_TARGET_DIR:-$root/target}

work=$(mktemp -d "${TMPDIR:-/tmp}/pos-e2e-office.XXXXXX")
echo "e2e-office: work folder $work"
port=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
chromedriver --port="$port" >"$work/chromedriver.log" 2>&1 &
driver=$!
trap 'kill "$driver" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$port/status" >/dev/null && break
  sleep 0.1
done

POS_SERVER_BIN="$target/debug/pos-server" \
POS_TERMINAL_BIN="$target/debug/pos-terminal" \
WEBDRIVER_URL="http://127.0.0.1:$port" \
E2E_WORK_DIR="$work" \
SCREENSHOT_DIR="$root/docs/screenshots" \
  node --test --test-reporter=spec office/e2e/office.test.mjs
