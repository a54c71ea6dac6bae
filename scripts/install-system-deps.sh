#!/usr/bin/env bash
# Install the system packages the test suite needs: Debian's prometheus
# (prometheus + promtool) and prometheus-alertmanager (amtool).
# Idempotent: does nothing when the binaries are already there.
set -euo pipefail

missing=()
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v amtool >/dev/null 2>&1 || missing+=(prometheus-alertmanager)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  SUDO=""
elif command -v sudo >/dev/null 2>&1; then
  SUDO="sudo"
else
  echo "install-system-deps: need root or sudo to install ${missing[*]}; tests that need them will skip (and fail under CI=true)" >&2
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-system-deps: no apt-get; install ${missing[*]} yourself (promtool and amtool on PATH)" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q >/dev/null
# --no-install-recommends keeps it small; policy-rc.d stops the packages from
# starting system services during install.
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
echo "install-system-deps: installed ${missing[*]}"
