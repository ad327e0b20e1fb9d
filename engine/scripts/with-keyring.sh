#!/bin/sh
# Runs a command inside a private D-Bus session with an unlocked GNOME Keyring, so the
# terminal's credential-store code talks to a real Secret Service (as on a Linux desktop).
# Needs the Debian packages dbus-x11 and gnome-keyring.
#   engine/scripts/with-keyring.sh cargo test -p pos-engine
set -eu
if [ "$#" -eq 0 ]; then
    echo "usage: $0 COMMAND [ARGS...]" >&2
    exit 64
fi
exec dbus-run-session -- sh -c '
    echo -n "test-keyring-password" | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1
    exec "$@"
' with-keyring "$@"
