#!/usr/bin/env bash
# Make sure a headless-capable chromium is installed (Debian's package, through apt-get).
# Prints the browser's path. Exits non-zero only when it is missing and cannot be installed
# (no apt-get, not root, or the package registry is unreachable). Never downloads a browser
# from anywhere else.
set -euo pipefail
for name in chromium chromium-browser; do
    if command -v "$name" >/dev/null 2>&1; then
        command -v "$name"
        exit 0
    fi
done
if ! command -v apt-get >/dev/null 2>&1; then
    echo "chromium is missing and there is no apt-get to install it with" >&2
    exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "chromium is missing and installing it with apt-get needs root" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2 && apt-get install -y -qq chromium >&2
command -v chromium
