#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine lacks to build, run and test the whole product,
# and makes sure PostgreSQL is up. Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# Debian packages: Tauri's WebKitGTK build files, Xvfb and the WebKit WebDriver for the
# real-window tests, a Secret Service for the credential store tests, mingw for the
# Windows build, Wine to run it and msitools/wixl to build and inspect its installer.
# libdbus-1-dev: the credential store's Secret Service client (keyring) links libdbus.
packages=(
  build-essential pkg-config curl wget file libssl-dev
  libwebkit2gtk-4.1-dev libxdo-dev libayatana-appindicator3-dev librsvg2-dev
  xvfb xauth webkit2gtk-driver imagemagick
  chromium chromium-driver
  dbus-x11 gnome-keyring libdbus-1-dev
  gcc-mingw-w64-x86-64 wine wine64 msitools wixl
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ] || [ "${POS_SETUP_APT_UPDATE:-0}" = 1 ]; then
  echo "setup: apt-get install ${missing[*]:-(nothing missing)}"
  as_root apt-get update -qq
  [ "${#missing[@]}" -eq 0 ] || as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# PostgreSQL on 127.0.0.1:5432 (the server's tests create and drop their own databases, as
# user postgres without a password). Debian 12 ships PostgreSQL 15; a fresh install answers
# local TCP with password authentication, so the test machine's cluster is set to trust
# connections from this machine only.
if ! command -v pg_ctlcluster >/dev/null 2>&1 || [ -z "$(ls /etc/postgresql 2>/dev/null)" ]; then
  echo "setup: installing PostgreSQL"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  hba=$(ls /etc/postgresql/*/main/pg_hba.conf | head -1)
  as_root sed -i -E 's/^(host\s+all\s+all\s+(127\.0\.0\.1\/32|::1\/128)\s+)\S+$/\1trust/' "$hba"
  as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main restart || true
fi
if ! pg_isready -h 127.0.0.1 -p 5432 -q; then
  echo "setup: starting PostgreSQL"
  as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start
  for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
  pg_isready -h 127.0.0.1 -p 5432
fi

# The Windows target for the Windows build of the till and the desktop app.
if ! rustup target list --installed | grep -qx x86_64-pc-windows-gnu; then
  rustup target add x86_64-pc-windows-gnu
fi

# tauri-driver proxies WebDriver to WebKitWebDriver for the real-window tests.
if ! command -v tauri-driver >/dev/null 2>&1; then
  cargo install tauri-driver --locked --quiet
fi

# The UI's packages, exactly as locked.
if [ -f ui/package-lock.json ]; then
  if [ ! -d ui/node_modules ] || [ ui/package-lock.json -nt ui/node_modules/.package-lock.json ]; then
    (cd ui && npm ci --no-audit --no-fund --loglevel=error)
  fi
fi
