#!/usr/bin/env bash
# The console's browser tests drive Debian's Chromium (playwright-core cannot download a browser here).
# Installs it from Debian's packages when it is missing; CHROMIUM_PATH names another browser instead.
set -euo pipefail
browser="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ -x "$browser" ]; then exit 0; fi
if [ -n "${CHROMIUM_PATH:-}" ]; then
  echo "CHROMIUM_PATH=$CHROMIUM_PATH is not an executable browser" >&2
  exit 1
fi
echo "Chromium is missing: installing Debian's chromium package for the console's browser tests …"
if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo)
else
  echo "Installing Chromium needs root: run 'apt-get install chromium' as root, or set CHROMIUM_PATH" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq chromium >/dev/null
"$browser" --version
