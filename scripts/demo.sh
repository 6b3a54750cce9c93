#!/usr/bin/env bash
# `make demo`: set up .venv, migrate, load the demo study, then run the web server and a
# real Celery worker until Ctrl-C. Needs only Python 3.11. PORT (default 8000) picks the port.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PORT=${PORT:-8000}
PY=.venv/bin/python
export PYTHONPATH="$ROOT/platform:$ROOT${PYTHONPATH:+:$PYTHONPATH}"
export DJANGO_SETTINGS_MODULE=qsched_platform.settings
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}

scripts/bootstrap.sh
if ! $PY -c "import socket; socket.socket().bind(('127.0.0.1', $PORT))" 2>/dev/null; then
    echo "port $PORT is taken; choose another, e.g. PORT=8001 make demo" >&2
    exit 1
fi
echo "==> migrating the database"
$PY manage.py migrate --noinput -v 0
$PY manage.py collectstatic --noinput -v 0
echo "==> loading the demo study"
$PY manage.py load_demo

LOG_DIR=${QSCHED_VAR_DIR:-$ROOT/var}/logs
mkdir -p "$LOG_DIR"
pids=()
stop() {
    trap - INT TERM EXIT
    echo
    echo "==> stopping web server and worker"
    for pid in ${pids[@]+"${pids[@]}"}; do kill "$pid" 2>/dev/null || true; done
    for pid in ${pids[@]+"${pids[@]}"}; do wait "$pid" 2>/dev/null || true; done
}
trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM
trap stop EXIT

echo "==> starting the Celery worker (log: $LOG_DIR/worker.log)"
.venv/bin/celery -A qsched_platform worker --pool=solo --loglevel=INFO >"$LOG_DIR/worker.log" 2>&1 &
pids+=($!)
echo "==> starting the web server on 127.0.0.1:$PORT (log: $LOG_DIR/web.log)"
$PY manage.py runserver "127.0.0.1:$PORT" --noreload >"$LOG_DIR/web.log" 2>&1 &
pids+=($!)

up=0
for _ in $(seq 1 90); do
    if $PY -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$PORT/login/', timeout=2)" 2>/dev/null; then
        up=1
        break
    fi
    kill -0 "${pids[1]}" 2>/dev/null || break
    sleep 1
done
if [ "$up" != 1 ]; then
    echo "the web server did not come up; the end of $LOG_DIR/web.log:" >&2
    tail -n 20 "$LOG_DIR/web.log" >&2
    exit 1
fi

CREDS=${QSCHED_VAR_DIR:-$ROOT/var}/demo-credentials.txt
cat <<INFO

  qsched-eval demo is running.

  Annotator link:   http://127.0.0.1:$PORT/a/demo/
  Researcher page:  http://127.0.0.1:$PORT/   (login: $(sed -n 1p "$CREDS") / $(sed -n 2p "$CREDS"))

  The demo images come from the project's own small reference model (generation/reference/).
  Press Ctrl-C to stop the web server and the worker.

INFO
# Stop both when either one exits.
while kill -0 "${pids[0]}" 2>/dev/null && kill -0 "${pids[1]}" 2>/dev/null; do
    sleep 1
done
echo "==> the web server or the worker exited (logs: $LOG_DIR/web.log, $LOG_DIR/worker.log)"
