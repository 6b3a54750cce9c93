#!/usr/bin/env bash
# Create .venv and install the pinned dependencies of pyproject.toml (idempotent:
# does nothing when pyproject.toml has not changed since the last install).
# On a machine where we are root and Chromium is missing, install Debian's
# chromium for the end-to-end browser test.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
if [ ! -x .venv/bin/python ]; then
    echo "==> creating .venv with $($PY --version)"
    "$PY" -m venv .venv
fi
stamp=.venv/.qsched-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "==> installing pinned dependencies (torch is large: a few minutes the first time)"
    quiet_pip() {  # pip warns once per package about this machine's empty local index dirs
        .venv/bin/python -m pip "$@" 2>&1 | { grep -v "is ignored: it is neither a file nor a directory" || true; }
        return "${PIPESTATUS[0]}"
    }
    quiet_pip install --quiet --upgrade "pip>=24"
    .venv/bin/python - <<'PY' > .venv/requirements.txt
import tomllib
p = tomllib.load(open("pyproject.toml", "rb"))["project"]
print("\n".join(p["dependencies"] + p["optional-dependencies"]["test"]))
PY
    quiet_pip install --quiet -r .venv/requirements.txt
    echo "$want" > "$stamp"
fi
if [ "${QSCHED_SKIP_CHROMIUM:-0}" != 1 ] && [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "==> installing Debian's chromium for the browser test"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
