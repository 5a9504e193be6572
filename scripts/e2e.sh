#!/usr/bin/env bash
# The end-to-end suite against a real Synapse from PyPI, in a cached virtualenv (.venv).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv
stamp=$venv/.requirements.sha256
want=$(sha256sum e2e/requirements.txt | cut -d' ' -f1)
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r e2e/requirements.txt
  echo "$want" >"$stamp"
fi
exec "$venv/bin/python" -m pytest -q -p no:cacheprovider e2e "$@"
