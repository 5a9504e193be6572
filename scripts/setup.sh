#!/usr/bin/env bash
# Installs what building, the demo and the tests need, if it is missing (Debian; run as root or with sudo).
set -euo pipefail
packages=(postgresql postgresql-client gnupg zstd pigz libzstd-dev zlib1g-dev libssl-dev pkg-config util-linux libpq-dev gcc python3-venv redis-server time)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
command -v swift >/dev/null || { echo "setup: swift is not on PATH (expected under /opt/swift/usr/bin)" >&2; exit 1; }
