#!/usr/bin/env bash
# Runs the side-by-side peer: makes its virtualenv (once), installs the pinned
# atlassian-python-api into it, and collects. Credentials come from the environment
# (ATLASSIAN_SITE, ATLASSIAN_USERNAME, ATLASSIAN_TOKEN), never from arguments.
# The last line on stdout is the peer's JSON report; everything else goes to stderr.
#
# PEER_VENV overrides where the virtualenv lives (default: target/bench-peer-venv), PYTHON
# the interpreter that creates it (default: python3).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# The workspace root is three levels up (crates/bench/peer).
venv="${PEER_VENV:-$(cd "$here/../../.." && pwd)/target/bench-peer-venv}"
python="${PYTHON:-python3}"

if ! command -v "$python" >/dev/null 2>&1; then
    echo "peer: $python not found; install Python 3.9 or later" >&2
    exit 1
fi
stamp="$venv/.requirements"
if [ ! -x "$venv/bin/python" ] || ! cmp -s "$here/requirements.txt" "$stamp"; then
    echo "peer: creating $venv and installing atlassian-python-api" >&2
    "$python" -m venv "$venv" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check \
        --requirement "$here/requirements.txt" >&2
    cp "$here/requirements.txt" "$stamp"
fi
exec "$venv/bin/python" "$here/collect.py"
