#!/usr/bin/env bash
# Builds the Linux .deb of the desktop app with the Tauri bundler (release build, a few
# minutes). Opt-in: not part of the test run. Prints the path of the package.
set -euo pipefail
cd "$(dirname "$0")/.."

[ -d ui/node_modules ] || (cd ui && npm ci --no-audit --no-fund --loglevel=error)
# The CLI runs from the repository root; tauri.conf.json there, src-tauri/tauri.conf.json links to it.
TAURI_APP_PATH=src-tauri ui/node_modules/.bin/tauri build --bundles deb "$@"
target_dir=${CARGO_TARGET_DIR:-target}
ls -1 "$target_dir"/release/bundle/deb/*.deb
