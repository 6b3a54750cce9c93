#!/usr/bin/env bash
# `make serve`: the production-shaped stack on this machine, configured by environment variables
# (README, "Deployment"): gunicorn (web) + a Celery worker (+ celery beat) on PostgreSQL and Redis.
#
# 1. refuses (exit 2, a message naming each variable) unless SECRET_KEY, ALLOWED_HOSTS, a PostgreSQL
#    DATABASE_URL and a Redis CELERY_BROKER_URL are set;
# 2. sets up .venv if needed, checks the settings (`manage.py check --deploy`: warnings are shown,
#    errors stop it), migrates (unless QSCHED_SKIP_MIGRATE=1), collects static files;
# 3. runs gunicorn (platform/qsched_platform/gunicorn.conf.py), the worker and beat (unless
#    QSCHED_BEAT=0) until Ctrl-C or SIGTERM, which stop all of them; if one of them exits, the
#    others are stopped too and the script exits non-zero.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=.venv/bin/python

problems=()
[ -n "${SECRET_KEY:-}" ] || problems+=("SECRET_KEY is not set (the same long random value on every node, e.g. \$(python3 -c 'import secrets; print(secrets.token_urlsafe(50))'))")
[ -n "${ALLOWED_HOSTS:-}" ] || problems+=("ALLOWED_HOSTS is not set (the host names the study is served under, comma-separated)")
case "${DATABASE_URL:-}" in
    postgres://*|postgresql://*|pgsql://*) ;;
    "") problems+=("DATABASE_URL is not set (PostgreSQL, e.g. postgres://qsched:PASSWORD@127.0.0.1:5432/qsched)") ;;
    *) problems+=("DATABASE_URL must point to PostgreSQL (postgres://...), not ${DATABASE_URL%%:*}: SQLite is for one machine and a demo (make demo)") ;;
esac
case "${CELERY_BROKER_URL:-}" in
    redis://*|rediss://*) ;;
    "") problems+=("CELERY_BROKER_URL is not set (Redis, e.g. redis://127.0.0.1:6379/0)") ;;
    *) problems+=("CELERY_BROKER_URL must point to Redis (redis://...), not ${CELERY_BROKER_URL%%:*}") ;;
esac
if [ ${#problems[@]} -gt 0 ]; then
    echo "serve: refusing to start the production server:" >&2
    for p in "${problems[@]}"; do echo "  - $p" >&2; done
    echo "See README.md, section Deployment (scripts/production.env.example lists every variable)." >&2
    exit 2
fi
if [ -z "${REDIS_URL:-}${CACHE_URL:-}" ]; then
    export REDIS_URL=$CELERY_BROKER_URL  # the cache (rate limits) shares the broker's Redis; its keys are prefixed
fi
export QSCHED_REQUIRE_SECRET_KEY=1
export PYTHONPATH="$ROOT/platform:$ROOT${PYTHONPATH:+:$PYTHONPATH}"
export DJANGO_SETTINGS_MODULE=qsched_platform.settings
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}

pids=()
stopping=0
stop() {
    [ "$stopping" = 1 ] && return
    stopping=1
    trap - INT TERM
    echo "==> stopping the web server and the Celery processes" >&2
    for pid in ${pids[@]+"${pids[@]}"}; do kill -TERM "$pid" 2>/dev/null || true; done
    # Give running requests and tasks QSCHED_STOP_TIMEOUT_S to finish; a task cut off later is
    # redelivered (acks_late), so killing is safe.
    local deadline=$((SECONDS + ${QSCHED_STOP_TIMEOUT_S:-30}))
    for pid in ${pids[@]+"${pids[@]}"}; do
        while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
}
trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM
trap stop EXIT

QSCHED_SKIP_CHROMIUM=${QSCHED_SKIP_CHROMIUM:-1} scripts/bootstrap.sh  # the browser is only for the tests
echo "==> checking the settings (manage.py check --deploy)"
$PY manage.py check --deploy --fail-level ERROR
if [ "${QSCHED_SKIP_MIGRATE:-0}" != 1 ]; then
    echo "==> migrating the database"
    $PY manage.py migrate --noinput -v 0
fi
$PY manage.py collectstatic --noinput -v 0

VAR=${QSCHED_VAR_DIR:-$ROOT/var}
mkdir -p "$VAR"

echo "==> starting gunicorn on ${QSCHED_BIND:-127.0.0.1:8000}"
$PY -m gunicorn -c platform/qsched_platform/gunicorn.conf.py qsched_platform.wsgi:application &
pids+=($!)
echo "==> starting the Celery worker"
.venv/bin/celery -A qsched_platform worker -l INFO --concurrency "${CELERY_CONCURRENCY:-2}" \
    -n "${QSCHED_WORKER_NAME:-qsched@%h}" &
pids+=($!)
if [ "${QSCHED_BEAT:-1}" != 0 ]; then
    echo "==> starting celery beat (periodic tasks of CELERY_BEAT_SCHEDULE; QSCHED_BEAT=0 on all but one node)"
    .venv/bin/celery -A qsched_platform beat -l INFO -s "$VAR/celerybeat-schedule" &
    pids+=($!)
fi

bind=${QSCHED_BIND:-127.0.0.1:8000}
bind=${bind%%,*}
if [[ "$bind" != unix:* ]]; then
    for _ in $(seq 1 60); do
        # any HTTP answer will do (behind TLS it is a redirect; an unlisted Host is a 400)
        if $PY -c "import http.client as h, sys; c = h.HTTPConnection(sys.argv[1], timeout=2); c.request('GET', '/login/'); c.getresponse()" "${bind/0.0.0.0/127.0.0.1}" 2>/dev/null; then
            echo "==> serving on http://$bind (researchers: /login/; first account: manage.py createsuperuser)"
            break
        fi
        kill -0 "${pids[0]}" 2>/dev/null || break
        sleep 1
    done
fi

# Run until a signal, or until one of the processes exits (then stop the others).
set +e
wait -n "${pids[@]}"
status=$?
set -e
echo "==> a process of the stack exited (status $status); stopping the others" >&2
stop
exit $(( status == 0 ? 1 : status ))
