#!/usr/bin/env bash
# Installs Debian's irssi and WeeChat for the tests that drive real IRC clients
# against the gateway, unless both are already on PATH.  Needs root (or sudo)
# and apt-get.
set -euo pipefail

if command -v irssi >/dev/null 2>&1 && command -v weechat >/dev/null 2>&1; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-irc-clients: irssi or weechat is missing and apt-get is not available" >&2
    exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
PACKAGES=(irssi weechat-curses)
$SUDO apt-get install -y -q --no-install-recommends "${PACKAGES[@]}" >/dev/null \
    || { $SUDO apt-get update -q >/dev/null \
         && $SUDO apt-get install -y -q --no-install-recommends "${PACKAGES[@]}" >/dev/null; }
command -v irssi >/dev/null && command -v weechat >/dev/null
