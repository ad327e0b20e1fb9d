#!/usr/bin/env bash
# The till's Windows installer, built on Linux: cross-builds the desktop app and the CLI for
# x86_64-pc-windows-gnu (release) and writes target/windows/pos-terminal-<version>-x64.msi with
# wixl (msitools) from src-tauri/windows/pos-terminal.wxs. Product name, version, publisher and
# upgrade code come from tauri.conf.json, so this MSI and the one Tauri builds on the Windows
# runner (.github/workflows/windows-msi.yml) are the same product.
#
#   bash scripts/package-windows.sh          # build the MSI
#   bash scripts/package-windows.sh --test   # then prove it under Wine (tests/tests/windows_installer.rs):
#                                            # msiinfo, install, the CLI scenario, upgrade, uninstall
set -euo pipefail
cd "$(dirname "$0")/.."

target=x86_64-pc-windows-gnu
for tool in x86_64-w64-mingw32-gcc wixl msiinfo; do
  command -v "$tool" >/dev/null || {
    echo "package-windows: $tool is missing (bash scripts/setup.sh installs it)" >&2
    exit 1
  }
done
rustup target list --installed | grep -qx "$target" || rustup target add "$target"

conf() { sed -n "s/^ *\"$1\": \"\\([^\"]*\\)\".*/\\1/p" tauri.conf.json | head -1; }
product=$(conf productName)
version=$(conf version)
publisher=$(conf publisher)
upgrade_code=$(conf upgradeCode)
for value in product version publisher upgrade_code; do
  [ -n "${!value}" ] || { echo "package-windows: no $value in tauri.conf.json" >&2; exit 1; }
done

target_dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
out="$target_dir/windows"
mkdir -p "$out/stage"

started=$(date +%s)
# The app embeds the built UI.
(cd ui && { [ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error; } && npm run build --silent)
cargo build --locked --release --target "$target" -p pos-terminal-app -p pos-engine --bins
cp "$target_dir/$target/release/pos-terminal-app.exe" "$target_dir/$target/release/pos-terminal.exe" "$out/stage/"
built=$(date +%s)
echo "package-windows: release cross build in $((built - started)) s"

# wixl resolves sources relative to the current folder.
build_msi() { # VERSION MSI
  local stage
  stage=$(realpath --relative-to=. "$out/stage")
  wixl --arch x64 \
    -D ProductName="$product" -D Version="$1" -D Manufacturer="$publisher" -D UpgradeCode="$upgrade_code" \
    -D AppExe="$stage/pos-terminal-app.exe" -D CliExe="$stage/pos-terminal.exe" \
    -D Icon=src-tauri/icons/icon.ico \
    -o "$2" src-tauri/windows/pos-terminal.wxs
}
msi="$out/pos-terminal-$version-x64.msi"
build_msi "$version" "$msi"
echo "package-windows: wrote $msi ($(du -h "$msi" | cut -f1))"

if [ "${1:-}" = "--test" ]; then
  # Version N+1 of the same build, for the upgrade proof only.
  next=$(echo "$version" | awk -F. '{ printf "%d.%d.%d", $1, $2, $3 + 1 }')
  mkdir -p "$out/test"
  next_msi="$out/test/pos-terminal-$next-x64.msi"
  build_msi "$next" "$next_msi"
  test_started=$(date +%s)
  POS_WINDOWS_MSI="$msi" POS_WINDOWS_MSI_NEXT="$next_msi" \
    cargo test --locked -p pos-e2e --test windows_installer -- --ignored
  echo "package-windows: installer proofs under Wine in $(($(date +%s) - test_started)) s"
fi
